"""Version of lucia-mysql."""

__version__ = "0.1.0"
