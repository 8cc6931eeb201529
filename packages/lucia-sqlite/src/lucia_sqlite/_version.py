"""Version of lucia-sqlite."""

__version__ = "0.1.0"
