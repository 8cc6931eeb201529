"""``python manage.py lucia create_schema`` and ``python manage.py lucia check``.

``create_schema`` creates Lucia's tables (``CREATE TABLE IF NOT EXISTS``, with the
``settings.LUCIA_SCHEMA`` options such as ``{"user_columns": {"username": "text"}}``)
and checks them; ``check`` connects and checks that the storage has what Lucia is
configured for. Run ``create_schema`` as a deployment step, as you run ``migrate``.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any, ClassVar

from django.core.management.base import BaseCommand, CommandError

from lucia._errors import ConfigurationError, LuciaError
from lucia.integrations._common import start_sync
from lucia.integrations.django import _configured_sync, _schema_options


class Command(BaseCommand):  # type: ignore[misc, unused-ignore]
    """Set up and check the storage of ``settings.LUCIA_AUTH``."""

    help = "Lucia: 'create_schema' creates the tables and checks them; 'check' checks them."
    requires_system_checks: ClassVar[list[str]] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        """The action: ``create_schema`` or ``check``."""
        parser.add_argument("action", choices=["create_schema", "check"])

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the action on the configured Lucia, then close what it opened."""
        create = options["action"] == "create_schema"
        sync, owned = _configured_sync()
        try:
            start_sync(sync, create_schema=create, schema=_schema_options())
        except (ConfigurationError, LuciaError) as error:
            raise CommandError(str(error)) from error
        finally:
            if owned:
                sync.close()
        self.stdout.write("Lucia: the schema is ready." if create else "Lucia: the schema is as configured.")
