"""isletbase: a living, sourced evidence base on stem-cell therapies for diabetes, China first."""

__version__ = "0.1.0"
