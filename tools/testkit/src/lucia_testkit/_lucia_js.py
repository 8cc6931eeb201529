"""The tables of a Lucia-JS 1.x database, for the tests of migrating from Node."""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["LUCIA_JS_DDL", "lucia_js_user_id"]

#: The DDL of the Lucia-JS 1.x adapter docs (``@lucia-auth/adapter-postgresql``, ``-mysql``
#: and ``-sqlite`` 1.x), plus a ``username`` column, by dialect (``mysql`` also for MariaDB).
#: Ids use the database's default collation; the session table has the four Lucia-JS columns.
LUCIA_JS_DDL: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "postgresql": (
            "CREATE TABLE auth_user (id TEXT PRIMARY KEY, username TEXT)",
            "CREATE TABLE auth_session (id TEXT PRIMARY KEY, user_id TEXT REFERENCES auth_user(id) NOT NULL, "
            "active_expires BIGINT NOT NULL, idle_expires BIGINT NOT NULL)",
            "CREATE TABLE auth_key (id TEXT PRIMARY KEY, user_id TEXT REFERENCES auth_user(id) NOT NULL, "
            "primary_key BOOLEAN NOT NULL, hashed_password TEXT, expires BIGINT)",
        ),
        "mysql": (
            "CREATE TABLE auth_user (id VARCHAR(15) NOT NULL, username VARCHAR(255), PRIMARY KEY (id))",
            "CREATE TABLE auth_key (id VARCHAR(255) NOT NULL, user_id VARCHAR(15) NOT NULL, "
            "primary_key TINYINT UNSIGNED NOT NULL, hashed_password VARCHAR(255), expires BIGINT UNSIGNED, "
            "PRIMARY KEY (id), FOREIGN KEY (user_id) REFERENCES auth_user(id))",
            "CREATE TABLE auth_session (id VARCHAR(127) NOT NULL, user_id VARCHAR(15) NOT NULL, "
            "active_expires BIGINT UNSIGNED NOT NULL, idle_expires BIGINT UNSIGNED NOT NULL, "
            "PRIMARY KEY (id), FOREIGN KEY (user_id) REFERENCES auth_user(id))",
        ),
        "sqlite": (
            "CREATE TABLE auth_user (id TEXT NOT NULL, username TEXT, PRIMARY KEY (id))",
            "CREATE TABLE auth_key (id TEXT NOT NULL, user_id TEXT NOT NULL, primary_key INTEGER NOT NULL, "
            "hashed_password TEXT, expires INTEGER, PRIMARY KEY (id), FOREIGN KEY (user_id) REFERENCES auth_user(id))",
            "CREATE TABLE auth_session (id TEXT NOT NULL, user_id TEXT NOT NULL, active_expires INTEGER NOT NULL, "
            "idle_expires INTEGER NOT NULL, PRIMARY KEY (id), FOREIGN KEY (user_id) REFERENCES auth_user(id))",
        ),
    }
)

_ID_ALPHABET = string.ascii_lowercase + string.digits


def lucia_js_user_id() -> str:
    """A user id shaped like Lucia-JS 1.x's default (15 characters of ``[a-z0-9]``): fits ``VARCHAR(15)``."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(15))
