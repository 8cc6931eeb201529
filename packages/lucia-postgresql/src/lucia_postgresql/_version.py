"""Version of lucia-postgresql."""

__version__ = "0.1.0"
