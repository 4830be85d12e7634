"""Data files (label schema, sample article, styles), shipped as stancelabel.resources."""
