"""Version of lucia-mongodb."""

__version__ = "0.1.0"
