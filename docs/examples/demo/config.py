"""What the environment decides: where data lives, the public URL, the OAuth providers, passkeys.

Every adapter and provider is imported only when it is used: install only what you need.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from lucia import Lucia
from lucia.throttle import Throttle

#: The columns the demo stores on users and on sessions (``create_schema`` adds them to new tables).
USER_COLUMNS = {"email": "string", "email_verified": "boolean", "totp_secret": "string", "totp_pending": "string"}
SESSION_COLUMNS = {"user_agent": "text", "ip_address": "string"}


@dataclass(frozen=True)
class Settings:
    """The demo's configuration, read from environment variables by :meth:`from_env`.

    Attributes:
        host: The address to listen on (``HOST``, default ``127.0.0.1``).
        port: The port to listen on (``PORT``, default 8000).
        base_url: The public URL (``BASE_URL``): mailed links and OAuth redirects are built
            from it, never from the request's ``Host`` header, which a client chooses.
        database_url: ``sqlite:///file.db`` (default), ``postgresql://``, ``mysql://``, ``mongodb://``.
        redis_url: ``REDIS_URL``: keep sessions in Redis (users and keys stay in the database).
        oidc: ``OIDC_ISSUER``, ``OIDC_CLIENT_ID``, ``OIDC_CLIENT_SECRET`` and ``OIDC_NAME`` (button label).
        github: ``GITHUB_CLIENT_ID`` and ``GITHUB_CLIENT_SECRET``.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    base_url: str = "http://127.0.0.1:8000"
    database_url: str = "sqlite:///lucia-demo.db"
    redis_url: str | None = None
    oidc: Mapping[str, str] | None = None
    github: Mapping[str, str] | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """The settings of the environment variables named in the class docstring."""
        host, port = environ.get("HOST", "127.0.0.1"), int(environ.get("PORT", "8000"))
        public_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        oidc = github = None
        if environ.get("OIDC_ISSUER") and environ.get("OIDC_CLIENT_ID"):
            oidc = {
                "issuer": environ["OIDC_ISSUER"],
                "client_id": environ["OIDC_CLIENT_ID"],
                "client_secret": environ.get("OIDC_CLIENT_SECRET", ""),
                "label": environ.get("OIDC_NAME", "OpenID Connect"),
            }
        if environ.get("GITHUB_CLIENT_ID") and environ.get("GITHUB_CLIENT_SECRET"):
            github = {"client_id": environ["GITHUB_CLIENT_ID"], "client_secret": environ["GITHUB_CLIENT_SECRET"]}
        return cls(
            host=host,
            port=port,
            base_url=environ.get("BASE_URL", f"http://{public_host}:{port}").rstrip("/"),
            database_url=environ.get("DATABASE_URL", cls.database_url),
            redis_url=environ.get("REDIS_URL") or None,
            oidc=oidc,
            github=github,
        )

    @property
    def storage_name(self) -> str:
        """What to print about the storage: the URL scheme only (a URL may carry a password)."""
        scheme = self.database_url.split("://", 1)[0] if "://" in self.database_url else "sqlite"
        return scheme + (" + redis sessions" if self.redis_url else "")


def adapter_from_url(database_url: str, redis_url: str | None = None) -> Any:
    """The adapter for ``DATABASE_URL``, with sessions in Redis when ``REDIS_URL`` is set."""
    if database_url.startswith("sqlite:///") or "://" not in database_url:
        from lucia_sqlite import SQLiteAdapter

        adapter: Any = SQLiteAdapter(database_url.removeprefix("sqlite:///"))
    elif database_url.startswith(("postgresql://", "postgres://")):
        from lucia_postgresql import PostgresAdapter

        adapter = PostgresAdapter(database_url)
    elif database_url.startswith(("mysql://", "mariadb://")):
        from lucia_mysql import MySQLAdapter

        adapter = MySQLAdapter(database_url)
    elif database_url.startswith(("mongodb://", "mongodb+srv://")):
        from lucia_mongodb import MongoDBAdapter

        adapter = MongoDBAdapter.from_url(database_url)
    else:
        raise SystemExit(f"unsupported DATABASE_URL scheme: {database_url.split(':', 1)[0]}")
    if redis_url is None:
        return adapter
    from lucia_redis import RedisSessionAdapter

    return {"user": adapter, "session": RedisSessionAdapter.from_url(redis_url, key_prefix="lucia-demo:")}


def create_auth(settings: Settings) -> Lucia:
    """The demo's :class:`~lucia.Lucia`."""
    return Lucia(
        adapter=adapter_from_url(settings.database_url, settings.redis_url),
        # PROD makes every cookie Secure, which a browser only sends over https.
        env="PROD" if settings.base_url.startswith("https://") else "DEV",
        # Five wrong passwords in a row, then 30 s, 60 s, ... before the next try (per account);
        # at most 100 failures a minute from one address across all accounts (password spraying).
        # The store is in memory: one process. With several workers, share
        # Throttle(store=adapter.throttle_store()) so that every process counts every failure.
        throttle=Throttle(base_delay=timedelta(seconds=30), per_client_limit=100),
    )


async def prepare_storage(auth: Lucia) -> None:
    """Create what the adapters need, idempotently: SQL tables with the demo's columns, MongoDB indexes."""
    adapters = [auth.users] if auth.users is auth.sessions else [auth.users, auth.sessions]  # type: ignore[comparison-overlap]
    for adapter in adapters:
        if hasattr(adapter, "create_schema"):
            await adapter.create_schema(user_columns=USER_COLUMNS, session_columns=SESSION_COLUMNS)
        elif hasattr(adapter, "create_indexes"):
            await adapter.create_indexes()


def oauth_providers(auth: Lucia, settings: Settings) -> dict[str, tuple[str, Any]]:
    """The configured OAuth providers: URL name -> (button label, provider)."""
    providers: dict[str, tuple[str, Any]] = {}
    if settings.oidc is not None:
        from lucia_oauth import OIDCProvider

        provider = OIDCProvider(
            auth,
            issuer=settings.oidc["issuer"],
            client_id=settings.oidc["client_id"],
            client_secret=settings.oidc["client_secret"] or None,
            redirect_uri=f"{settings.base_url}/oauth/oidc/callback",
            scope=["openid", "email", "profile"],
        )
        providers["oidc"] = (settings.oidc["label"], provider)
    if settings.github is not None:
        from lucia_oauth import GitHub

        github = GitHub(
            auth,
            client_id=settings.github["client_id"],
            client_secret=settings.github["client_secret"],
            redirect_uri=f"{settings.base_url}/oauth/github/callback",
        )
        providers["github"] = ("GitHub", github)
    return providers


def passkey_origin(base_url: str) -> str:
    """The origin passkeys work on: ``base_url``, or ``localhost`` instead of a loopback IP address.

    WebAuthn binds a passkey to a domain name (the RP ID), never to an IP address, so the
    demo served at http://127.0.0.1:8000 offers passkeys at http://localhost:8000.
    """
    parts = urlsplit(base_url)
    try:
        ipaddress.ip_address((parts.hostname or "").strip("[]"))
    except ValueError:
        return f"{parts.scheme}://{parts.netloc}"
    return f"{parts.scheme}://localhost" + (f":{parts.port}" if parts.port else "")


def create_passkeys(auth: Lucia, settings: Settings) -> Any:
    """Passkeys for the demo's users, or ``None`` when the adapter stores none."""
    from lucia.adapters import PasskeyAdapter
    from lucia_webauthn import Passkeys

    if not isinstance(auth.users, PasskeyAdapter):
        return None
    origin = passkey_origin(settings.base_url)
    return Passkeys(auth, rp_id=urlsplit(origin).hostname or "localhost", rp_name="Lucia demo", origins=[origin])
