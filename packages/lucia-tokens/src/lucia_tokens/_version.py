"""Version of lucia-tokens."""

__version__ = "0.1.0"
