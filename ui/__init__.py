"""Qt Designer forms, shipped as the stancelabel.ui package."""
