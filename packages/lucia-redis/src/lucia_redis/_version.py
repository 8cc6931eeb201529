"""Version of lucia-redis."""

__version__ = "0.1.0"
