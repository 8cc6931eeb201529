"""Version of lucia-sqlalchemy."""

__version__ = "0.1.0"
