"""Importers and exporters between files and the project store."""
