"""The version of lucia-testkit (unpublished: it only moves with the repository)."""

__version__ = "0.1.0"
