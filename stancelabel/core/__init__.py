"""Plain value types shared by every layer; no I/O, no Qt, no spaCy."""
