"""The ``lucia`` management command."""
