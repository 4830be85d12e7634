"""The stancelabel command line."""
