"""Version of lucia-oauth."""

__version__ = "0.1.0"
