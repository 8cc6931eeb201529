"""The version of the ``lucia`` distribution (read by hatchling; written once)."""

__version__ = "0.1.0"
