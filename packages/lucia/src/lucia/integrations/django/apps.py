"""The Django application of Lucia: ``INSTALLED_APPS = [..., "lucia.integrations.django"]``.

Installing it gives the project the ``lucia`` management command
(``python manage.py lucia create_schema``). Lucia keeps no Django models.
"""

from __future__ import annotations

from django.apps import AppConfig

__all__ = ["LuciaConfig"]


class LuciaConfig(AppConfig):  # type: ignore[misc, unused-ignore]
    """Lucia as a Django application (label ``lucia``): its management command."""

    name = "lucia.integrations.django"
    label = "lucia"
    verbose_name = "Lucia"
    default = True
