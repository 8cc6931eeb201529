"""Checked by ``mypy --strict`` (``nox -s typecheck``), never run: the public API types as documented.

A change that breaks a user's type-checked code breaks this file first.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from lucia import (
    AuthRequest,
    Cookie,
    CsrfProtection,
    InvalidCredentialsError,
    InvalidInputError,
    Key,
    Lucia,
    LuciaError,
    LuciaRequest,
    PrimaryKey,
    ProxyHeaders,
    Session,
    SessionCookieOptions,
    SessionExpiresIn,
    StorageError,
    SyncLucia,
    TooManyRequestsError,
    User,
)
from lucia.adapters import Adapter, SessionRow
from lucia.adapters.memory import MemoryAdapter
from lucia.passwords import Argon2idHasher, ScryptHasher
from lucia.throttle import MemoryThrottleStore, Throttle


async def sign_up_and_in(adapter: MemoryAdapter) -> tuple[Session, User]:
    auth = Lucia(
        adapter=adapter,
        env="PROD",
        session_expires_in=SessionExpiresIn(timedelta(hours=1), timedelta(days=7), timedelta(days=30)),
        session_cookie=SessionCookieOptions(host_prefix=True),
        csrf_protection=CsrfProtection(allowed_origins=["https://partner.example"]),
        password_hasher=Argon2idHasher(memory_cost=65536),
        renewal_grace=timedelta(seconds=10),
        max_sessions_per_user=5,
        throttle=Throttle(store=MemoryThrottleStore(), per_client_limit=50),
        proxy_headers=ProxyHeaders(trusted_hops=1),
    )
    created: User = await auth.create_user(primary_key=PrimaryKey("email", "ada@example.com", "pw"), attributes={})
    assert created.user_id
    try:
        key: Key = await auth.use_key("email", "ada@example.com", "pw", client="203.0.113.1")
    except TooManyRequestsError as error:
        wait: float = error.retry_after
        raise RuntimeError(wait) from error
    except InvalidCredentialsError:
        raise
    session = await auth.create_session(key.user_id, attributes={"device": "phone"}, persistent=False)
    signed_in: datetime | None = session.created_at
    attributes: Mapping[str, Any] = session.attributes
    assert signed_in is None or attributes is not None
    cookie: Cookie = auth.create_session_cookie(session)
    header: str = cookie.serialize()
    assert header
    return await auth.validate_session_user(session.token or "")


async def a_request(auth: Lucia) -> str | None:
    request = LuciaRequest("POST", "https://app.example/", [("cookie", "auth_session=x")], client="203.0.113.1")
    bound: AuthRequest = auth.handle_request(request, set_cookie=lambda cookie: None)
    session, user = await bound.validate_user()
    client: str | None = bound.client
    return None if session is None or user is None else client


def sync_code(auth: Lucia) -> list[Session]:
    with SyncLucia(auth) as sync:
        user = sync.create_user(primary_key=None, attributes={"name": "x"})
        sync.create_session(user.user_id, expires_in=SessionExpiresIn())
        return sync.get_all_user_sessions(user.user_id)


def errors(error: LuciaError) -> str:
    if isinstance(error, StorageError):
        return "503"
    if isinstance(error, InvalidInputError):
        bad: ValueError = error
        return str(bad)
    return error.code


def adapters_satisfy_the_protocol() -> Adapter:
    row = SessionRow("id", "user", 1, 2)
    assert row.previous_id is None
    legacy = Lucia(adapter=MemoryAdapter(), password_hasher=ScryptHasher(), hash_session_ids=False)
    assert legacy
    return MemoryAdapter()
