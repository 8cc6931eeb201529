"""Version of lucia-webauthn."""

__version__ = "0.1.0"
