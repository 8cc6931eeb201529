"""What each documentation page takes for granted, so that its blocks run as written.

A page's blocks run in one namespace (see ``test_pages.py``). ``Page`` says what that
namespace holds before them:

- ``setup``: code run before the page's first block (top-level ``await`` allowed), e.g.
  the ``auth`` and ``request`` a handler fragment uses. ``{postgres_url}``, ``{mysql_url}``,
  ``{mongodb_url}``, ``{redis_url}``, ``{postgres_sqlalchemy_url}`` and ``{prefix}`` (a
  unique key prefix) are filled in.
- ``before``: code run just before the one block containing the key, for a block that
  continues an application the page does not show (an ``app`` of another framework).
- ``replace``: a reader's placeholder in a block (``adapter=...``, a server's host name)
  and what the test runs in its place; each must still occur in the page.
- ``services``: servers the page is about (a fresh database on each).
- ``check``: an async function given the namespace after the last block, to drive what the
  page built (the getting-started guides sign up, sign in and open a protected page).
- ``run_elsewhere``: the page's blocks are run by that test instead.

Nothing here is a mock: the setups create real adapters on SQLite (or the page's server).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import _guides


@dataclass(frozen=True)
class Page:
    """The context of one page's blocks (see the module docstring)."""

    setup: str = ""
    before: Mapping[str, str] = field(default_factory=dict)
    replace: Mapping[str, str] = field(default_factory=dict)
    services: tuple[str, ...] = ()
    environ: Mapping[str, str] = field(default_factory=dict)
    check: Callable[[dict[str, Any]], Awaitable[None]] | None = None
    run_elsewhere: str | None = None


#: An application's Lucia on SQLite with the tables created: ``adapter``, ``auth``, a
#: signed-in ``user`` with its ``session``, the ``request`` of a handler (a real
#: Starlette request from this site), a form, and a ``mailer`` that keeps what it is sent.
SQLITE_APP = """
from lucia import Lucia, PrimaryKey
from lucia_sqlite import SQLiteAdapter
from _context import Mailer, starlette_request

adapter = SQLiteAdapter("context.db")
await adapter.create_schema(
    user_columns={
        "username": "string", "email": "string", "email_verified": "boolean",
        "totp_secret": "text", "totp_pending": "text",
    },
    session_columns={"ip_address": "string", "user_agent": "text"},
)
auth = Lucia(adapter=adapter, env="DEV")
email, password = "ada@example.com", "correct horse battery staple"
user = await auth.create_user(
    primary_key=PrimaryKey("email", email, password=password),
    attributes={"username": "ada", "email": email, "email_verified": True},
)
session = await auth.create_session(user.user_id)
request = starlette_request(auth)
form = {"remember": "on"}
mailer = Mailer()
"""

#: A P-256 key as Apple hands it out (``AuthKey_<key id>.p8``), for the Apple examples.
APPLE_KEY_FILE = """
from pathlib import Path
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

Path("AuthKey_KEY1234567.p8").write_bytes(
    ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
)
"""

CODE_SECRET = {"LUCIA_CODE_SECRET": "docs-test-" + "0" * 54}

PAGES: dict[str, Page] = {
    # -- getting started: the guides run as a newcomer runs them, then are driven --------
    "getting-started/index.md": Page(check=_guides.check_first_steps),
    "getting-started/fastapi-postgresql.md": Page(run_elsewhere="tests/docs/test_getting_started.py"),
    "getting-started/django-sqlite.md": Page(run_elsewhere="tests/docs/test_getting_started.py"),
    # -- concepts ---------------------------------------------------------------------------
    "concepts/keys-and-passwords.md": Page(setup=SQLITE_APP, check=_guides.check_keys_and_passwords),
    "concepts/cookies-and-csrf.md": Page(setup=SQLITE_APP, check=_guides.check_cookies_and_csrf),
    "sessions.md": Page(setup=SQLITE_APP),
    "brute-force.md": Page(setup=SQLITE_APP),
    # -- adapters ---------------------------------------------------------------------------
    "adapters/postgresql.md": Page(
        services=("postgresql",),
        setup='url = "{postgres_url}"',
        replace={'"postgresql://app@127.0.0.1/app"': '"{postgres_url}"'},
    ),
    "adapters/mysql.md": Page(
        services=("mysql",),
        setup='url = "{mysql_url}"',
        replace={'"mysql://app:secret@127.0.0.1:3306/app"': '"{mysql_url}"'},
    ),
    "adapters/mongodb.md": Page(
        services=("mongodb",),
        replace={'"mongodb://127.0.0.1:27017/app"': '"{mongodb_url}"'},
    ),
    "adapters/redis.md": Page(
        services=("redis", "postgresql"),
        replace={
            '"redis://127.0.0.1:6379/0"': '"{redis_url}"',
            'key_prefix="myapp:"': 'key_prefix="{prefix}"',
            "PostgresAdapter(...)": 'PostgresAdapter("{postgres_url}")',
        },
    ),
    "adapters/sqlalchemy.md": Page(
        services=("postgresql",),
        replace={'"postgresql+psycopg://app@localhost/app"': '"{postgres_sqlalchemy_url}"'},
    ),
    # -- frameworks -------------------------------------------------------------------------
    "frameworks/aiohttp.md": Page(
        setup=SQLITE_APP,
        # The test builds the app; it does not serve it forever (the example app's tests do).
        replace={'web.run_app(app, host="127.0.0.1", port=8000)': "runner = web.AppRunner(app)"},
    ),
    "frameworks/django.md": Page(replace={"adapter=...": 'adapter=SQLiteAdapter("auth.db")'}),
    "frameworks/flask.md": Page(replace={"adapter=...": 'adapter=SQLiteAdapter("app.db")'}),
    "frameworks/litestar.md": Page(setup=SQLITE_APP, replace={"route_handlers=[...]": "route_handlers=[]"}),
    "frameworks/quart.md": Page(setup=SQLITE_APP),
    "frameworks/starlette.md": Page(replace={"adapter=...": 'adapter=SQLiteAdapter("app.db")'}),
    # -- OAuth, tokens, passkeys ------------------------------------------------------------
    "oauth/index.md": Page(
        setup=SQLITE_APP,
        before={
            'providers = {"apple": apple, "github": github}': APPLE_KEY_FILE
            + """
from starlette.applications import Starlette
from lucia_oauth import Apple
app = Starlette()
apple = Apple(
    auth, client_id="com.example.web", team_id="TEAM123456", key_id="KEY1234567",
    private_key=Path("AuthKey_KEY1234567.p8").read_text(), redirect_uri="https://app.example/login/apple/callback",
)
"""
        },
    ),
    "oauth/providers.md": Page(setup=SQLITE_APP + APPLE_KEY_FILE),
    "tokens/email-verification.md": Page(setup=SQLITE_APP, check=_guides.check_email_verification),
    "tokens/password-reset.md": Page(setup=SQLITE_APP, check=_guides.check_password_reset),
    "tokens/storage.md": Page(setup=SQLITE_APP, environ=CODE_SECRET),
    "tokens/two-factor.md": Page(setup=SQLITE_APP, environ=CODE_SECRET),
    "passkeys/index.md": Page(
        before={
            '@app.post("/login/finish")\nasync def sign_in_finish(request: Request': """
from typing import Annotated, Any
from fastapi import Depends, FastAPI, Request
from lucia import AuthRequest
from lucia.integrations.starlette import get_auth
app = FastAPI()
Auth = Annotated[AuthRequest, Depends(get_auth)]
""",
            "from flask import jsonify, request": "import flask\napp = flask.Flask(__name__)",
        },
    ),
    # -- run by tests of their own ----------------------------------------------------------
    "guides/migrate-from-lucia-js.md": Page(run_elsewhere="tests/interop/test_migration_guide.py"),
}
