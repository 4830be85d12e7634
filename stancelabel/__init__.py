"""StanceLabel: label the stance of attributed speakers in news text."""

__version__ = "0.1.0"
