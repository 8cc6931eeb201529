"""SECURITY S5 with ``hash_session_ids=False``: Lucia-JS-shaped tokens are queried, nothing else is.

Lucia-JS 1.x session ids are 40 characters of ``[A-Za-z0-9]``; Python accepts exactly that
shape as a token and refuses every other shape (a character short or long, other alphabets)
before any database call, counted at the adapter.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from typing import Any

import pytest
from _lucia_js import LuciaJSApp

from lucia import Lucia, LuciaError
from lucia.passwords import ScryptHasher
from lucia.testing._harness import token_readers

pytestmark = [pytest.mark.anyio, pytest.mark.service("node"), pytest.mark.service("postgresql")]

_NOT_QUERIES = frozenset({"connect", "close"})


def counting_adapter(database_url: str) -> Any:
    """A PostgresAdapter whose every public async method call is recorded in ``calls``."""
    from lucia_postgresql import PostgresAdapter

    def counted(name: str, method: Any) -> Any:
        async def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return await method(self, *args, **kwargs)

        return call

    namespace = {
        name: counted(name, method)
        for name, method in inspect.getmembers(PostgresAdapter, inspect.iscoroutinefunction)
        if not name.startswith("_") and name not in _NOT_QUERIES
    }
    adapter = type("CountingPostgresAdapter", (PostgresAdapter,), namespace)(database_url)
    adapter.calls = []
    return adapter


@pytest.fixture
async def counted_auth(database_url: str) -> AsyncIterator[Lucia]:
    """Phase-1 Lucia on the shared database, over an adapter that counts its calls."""
    async with counting_adapter(database_url) as adapter:
        yield Lucia(adapter=adapter, password_hasher=ScryptHasher(), hash_session_ids=False)


def half_typed(token: str) -> list[str]:
    """Near misses of a valid token: a character short or long, other alphabets, padding."""
    return [
        token[:-1],
        token + "a",
        token[:39] + "-",
        token[:39] + "_",
        token[:39] + "=",
        token[:39] + " ",
        token[:39] + "é",
        token[:39] + "０",  # a fullwidth digit: alphanumeric to str.isalnum, not to Lucia-JS
        token[:39] + "\x00",
        " " + token[1:],
        token.upper()[:20] + "😀" + token[21:],
        "",
        "A" * 64,
        "a" * 1000,
    ]


async def test_s5_half_typed_lucia_js_tokens_are_refused_without_a_query(
    lucia_js: LuciaJSApp, counted_auth: Lucia, name: str
) -> None:
    """Every near miss of a Node session id is AUTH_INVALID_SESSION_ID with no adapter call."""
    adapter: Any = counted_auth.sessions
    user = lucia_js.call("createUser", providerId="username", providerUserId=name, password=None)
    token = lucia_js.call("createSession", userId=user["userId"])["sessionId"]

    for bad in half_typed(token):
        for method in token_readers(counted_auth):
            with pytest.raises(LuciaError) as refused:
                await method(bad)
            assert refused.value.code == "AUTH_INVALID_SESSION_ID", (bad, method.__name__)
        assert counted_auth.read_session_cookie(f"auth_session={bad}") is None
    assert adapter.calls == []

    # The control: the Node id itself is well-formed, so it is looked up (and valid).
    assert counted_auth.read_session_cookie(f"auth_session={token}") == token
    assert (await counted_auth.validate_session(token)).user_id == user["userId"]
    assert adapter.calls != []
