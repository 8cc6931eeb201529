"""Regression tests for the external review's findings in the core (SECURITY H4-H18), by id."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lucia import (
    DuplicateKeyError,
    InvalidInputError,
    InvalidSessionError,
    Lucia,
    LuciaError,
    LuciaRequest,
    PrimaryKey,
    RequestCredentials,
    SessionCookieOptions,
)
from lucia.adapters import KeyRow, SessionRow
from lucia.adapters.memory import MemoryAdapter
from lucia.passwords import Argon2idHasher, ScryptHasher
from lucia.testing import FakeClock, fast_password_hasher
from lucia_sqlite import SQLiteAdapter

from .conftest import CountingAdapter, CountingHasher

pytestmark = pytest.mark.anyio

# Made with Node's crypto.scryptSync exactly as Lucia-JS 1.x does (N=16384, r=16, p=1, 64-byte key).
LEGACY_S2 = (
    "s2:k9w2o1n7s4ypq3z8:135c09c5f9710349d27290aeb9e318e1ca6b1a54ae6f323b7f1324e59845be1e"
    "6fb3f445873333da36c91393161374b24c5c3e0df5bbb3909911ee4a8bf7846a"
)
LEGACY_S2_PASSWORD = "pässwörd ﬁ"


async def test_h4_no_repr_or_log_shows_a_token_with_unhashed_session_ids(
    memory: MemoryAdapter, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """With ``hash_session_ids=False`` the stored id is the token: no repr, str or log line shows it."""
    caplog.set_level(logging.DEBUG)
    auth = Lucia(adapter=memory, clock=clock, hash_session_ids=False, password_hasher=fast_password_hasher())
    password = "hunter2-hunter2"
    user = await auth.create_user(primary_key=PrimaryKey("email", "h4@x", password), attributes={})
    session = await auth.create_session(user.user_id)
    assert session.token is not None and session.session_id == session.token
    clock.advance(86_401)
    renewed = await auth.validate_session(session.token)
    stored = await memory.get_session(renewed.session_id)
    request = auth.read_request(LuciaRequest("GET", "http://x/", [("cookie", f"auth_session={renewed.token}")]))
    shown = [
        repr(session),
        str(session),
        repr(renewed),
        repr(stored),
        repr(auth.create_session_cookie(renewed)),
        repr(request),
        repr(PrimaryKey("email", "h4@x", password)),
        repr(KeyRow("email:h4@x", user.user_id, True, "$argon2id$hash", None)),
        repr(await auth.get_all_user_sessions(user.user_id)),
        "\n".join(r.getMessage() + repr(r.args) for r in caplog.records),
    ]
    for secret in (session.token, renewed.token, password, "$argon2id$hash"):
        assert secret is not None
        assert not [text for text in shown if secret in text], secret


def test_h4_every_public_dataclass_masks_its_secret_fields() -> None:
    """A dataclass field that holds a secret is declared so, and its repr masks it."""
    token = "t" * 40
    assert token not in repr(RequestCredentials(token, "cookie"))
    assert token not in repr(SessionRow(token, "u", 1, 2, previous_id=token))
    assert "'**********'" in repr(PrimaryKey("p", "u", "pw"))
    assert "password=None" in repr(PrimaryKey("p", "u", None))


@pytest.mark.parametrize("name", ["ID", "Id", "iD", "id"])
async def test_h5_reserved_user_attribute_names_are_refused_in_any_case(
    auth: Lucia, store: CountingAdapter, name: str
) -> None:
    """``ID`` is ``id`` on case-insensitive databases: refused before any write."""
    store.calls.clear()
    with pytest.raises(InvalidInputError):
        await auth.create_user(primary_key=None, attributes={name: "taken-over"})
    user = await auth.create_user(primary_key=None, attributes={})
    with pytest.raises(InvalidInputError):
        await auth.update_user_attributes(user.user_id, {name: "taken-over"})
    assert store.calls == ["set_user"]


async def test_h5_sqlite_primary_key_cannot_be_rewritten_through_an_attribute(tmp_path: Path) -> None:
    """On SQLite (case-insensitive identifiers) ``{"ID": ...}`` never reaches the id column."""
    async with SQLiteAdapter(tmp_path / "h5.db") as adapter:
        await adapter.create_schema(user_columns={"username": "text"})
        auth = Lucia(adapter=adapter, password_hasher=fast_password_hasher())
        with pytest.raises(InvalidInputError):
            await auth.create_user(primary_key=None, attributes={"ID": "admin", "username": "x"})
        assert await adapter.get_user("admin") is None


def test_h7_needs_rehash_never_downgrades() -> None:
    """A hash stronger than the configuration stays; a weaker one or a legacy one is upgraded."""
    default = Argon2idHasher()
    stronger = Argon2idHasher(memory_cost=65536, time_cost=3, parallelism=2).hash("pw")
    weaker = Argon2idHasher(memory_cost=8192, time_cost=1).hash("pw")
    assert default.needs_rehash(stronger) is False
    assert default.needs_rehash(weaker) is True
    assert default.needs_rehash(LEGACY_S2) is True
    assert default.needs_rehash("$argon2i$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo") is True


async def test_h7_a_sign_in_keeps_a_stronger_hash(memory: MemoryAdapter, clock: FakeClock) -> None:
    """Signing in with a password hashed more strongly than configured leaves its hash alone."""
    auth = Lucia(adapter=memory, clock=clock, password_hasher=fast_password_hasher())
    user = await auth.create_user(primary_key=None, attributes={})
    strong = Argon2idHasher(memory_cost=4096, time_cost=3).hash("pw")
    await memory.set_key(KeyRow("email:s@x", user.user_id, False, strong, None))
    await auth.use_key("email", "s@x", "pw")
    assert (await memory.get_key("email:s@x")).hashed_password == strong  # type: ignore[union-attr]


async def test_h9_a_legacy_hash_costs_one_verification_like_an_unknown_key(
    memory: MemoryAdapter, clock: FakeClock
) -> None:
    """An unknown key, a wrong password on a legacy hash and on an Argon2id hash: one verify each."""
    hasher = CountingHasher(Argon2idHasher(memory_cost=1024, time_cost=1))
    auth = Lucia(adapter=memory, clock=clock, password_hasher=hasher, throttle=None)
    user = await auth.create_user(primary_key=PrimaryKey("email", "new@x", "pw"), attributes={})
    await memory.set_key(KeyRow("email:old@x", user.user_id, False, LEGACY_S2, None))
    for key in ("nobody@x", "old@x", "new@x"):
        before = hasher.verifies
        with pytest.raises(LuciaError):
            await auth.use_key("email", key, "wrong")
        assert hasher.verifies - before == 1, key


def test_h11_host_prefix_cookie() -> None:
    """``host_prefix=True``: ``__Host-`` name, Secure even in DEV, Path=/, no Domain; only that name is read."""
    auth = Lucia(adapter=MemoryAdapter(), session_cookie=SessionCookieOptions(host_prefix=True))
    cookie = auth.create_session_cookie(None)
    header = cookie.serialize()
    assert header.startswith("__Host-auth_session=;") and "Secure" in header and "Path=/" in header
    assert "Domain" not in header
    token = "a" * 40
    assert auth.read_session_cookie(f"auth_session={token}") is None
    assert auth.read_session_cookie(f"__Host-auth_session={token}") == token
    with pytest.raises(ValueError):
        SessionCookieOptions(host_prefix=True, domain="example.com")
    with pytest.raises(ValueError):
        SessionCookieOptions(host_prefix=True, path="/app")


@pytest.mark.parametrize("query", ["?q=a b", "?next=\\\\evil", "?x=%00", "#frag ment", "/path with space?y"])
def test_h15_own_origin_parsing_tolerates_any_query(query: str) -> None:
    """The request's own URL is judged by scheme, host and port only; its query is its business."""
    auth = Lucia(adapter=MemoryAdapter())
    request = LuciaRequest("POST", f"https://app.example/form{query}", [("origin", "https://app.example")])
    assert auth.read_request(request).csrf_trusted
    evil = LuciaRequest("POST", f"https://app.example/form{query}", [("origin", "https://evil.example")])
    assert not auth.read_request(evil).csrf_trusted


async def test_h16_a_session_of_a_deleted_user_never_authenticates(clock: FakeClock) -> None:
    """With separate user and session stores, a ghost session (its user gone) is invalid."""
    users, sessions = MemoryAdapter(), MemoryAdapter()
    auth = Lucia(adapter={"user": users, "session": sessions}, clock=clock, password_hasher=fast_password_hasher())
    user = await auth.create_user(primary_key=None, attributes={})
    sessions.users[user.user_id] = users.users[user.user_id]  # the session store's own foreign-key check
    session = await auth.create_session(user.user_id)
    await users.delete_user(user.user_id)  # the user goes, the session store is not told
    for call in (auth.validate_session, auth.get_session, auth.validate_session_user, auth.get_session_user):
        with pytest.raises(InvalidSessionError):
            await call(session.token or "")


LONE = "\ud800"


@pytest.mark.parametrize(
    "call",
    [
        lambda a: a.create_user(primary_key=PrimaryKey("email", f"x{LONE}@x", "pw"), attributes={}),
        lambda a: a.create_user(primary_key=PrimaryKey("email", "x@x", f"pw{LONE}"), attributes={}),
        lambda a: a.create_user(primary_key=None, attributes={"name": f"a{LONE}"}),
        lambda a: a.use_key("email", f"x{LONE}", "pw"),
        lambda a: a.use_key("email", "x@x", LONE),
        lambda a: a.get_key(f"e{LONE}", "x"),
    ],
)
async def test_h17_lone_surrogates_are_invalid_input_before_any_call(
    auth: Lucia, store: CountingAdapter, hasher: CountingHasher, call: Any
) -> None:
    """A lone surrogate (valid JSON, invalid UTF-8) is refused before any database or hashing call."""
    store.calls.clear()
    with pytest.raises(InvalidInputError):
        await call(auth)
    assert store.calls == [] and hasher.hashes == 0 and hasher.verifies == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40))
async def test_h17_any_string_is_stored_or_refused_on_a_real_database(tmp_path: Path, text: str) -> None:
    """Arbitrary ``str`` (surrogates included) in every field: success or InvalidInputError, never a crash."""
    async with SQLiteAdapter(tmp_path / "h17.db") as adapter:
        await adapter.create_schema(user_columns={"name": "text"})
        auth = Lucia(adapter=adapter, password_hasher=fast_password_hasher(), throttle=None)
        for primary_key, attributes in (
            (PrimaryKey("email", text or "x", "pw"), {}),
            (PrimaryKey("email", f"p{len(text)}{text!r}"[:200], text), {}),
            (None, {"name": text}),
        ):
            with contextlib.suppress(InvalidInputError, DuplicateKeyError):
                await auth.create_user(primary_key=primary_key, attributes=attributes)


async def test_h18_a_typo_in_the_primary_key_never_creates_a_passwordless_key(
    auth: Lucia, store: CountingAdapter
) -> None:
    """``{"pasword": ...}`` is refused; nothing is created; ``PrimaryKey`` is the typed way."""
    store.calls.clear()
    with pytest.raises(InvalidInputError) as info:
        await auth.create_user(
            primary_key={"provider_id": "email", "provider_user_id": "h18@x", "pasword": "secret"}, attributes={}
        )
    assert "pasword" in str(info.value) and "secret" not in str(info.value)
    assert store.calls == []
    user = await auth.create_user(primary_key=PrimaryKey("email", "h18@x", "secret"), attributes={})
    assert (await auth.use_key("email", "h18@x", "secret")).user_id == user.user_id
    with pytest.raises(LuciaError):
        await auth.use_key("email", "h18@x", None)


def test_scrypt_hasher_writes_and_reads_lucia_js_hashes() -> None:
    """``ScryptHasher`` writes ``s2:<16 [A-Za-z0-9]>:<128 hex>``, verifies Node's hashes, never rehashes ``s2:``."""
    hasher = ScryptHasher()
    assert hasher.verify(LEGACY_S2, LEGACY_S2_PASSWORD) and not hasher.verify(LEGACY_S2, "nope")
    made = hasher.hash(LEGACY_S2_PASSWORD)
    prefix, salt, key = made.split(":")
    assert prefix == "s2" and len(salt) == 16 and salt.isalnum() and salt.isascii() and len(key) == 128
    assert hasher.verify(made, LEGACY_S2_PASSWORD) and Argon2idHasher().verify(made, LEGACY_S2_PASSWORD)
    assert hasher.needs_rehash(made) is False and hasher.needs_rehash("salt:" + "0" * 128) is True
    argon = Argon2idHasher(memory_cost=1024, time_cost=1).hash("pw")
    assert hasher.verify(argon, "pw") and hasher.needs_rehash(argon) is False  # never downgraded
    assert Argon2idHasher().needs_rehash(made) is True  # phase 2: upgraded on the next sign-in


async def test_scrypt_hasher_keeps_a_shared_database_usable_from_both_sides(
    memory: MemoryAdapter, clock: FakeClock
) -> None:
    """With ``ScryptHasher`` a Node user's hash survives a Python sign-in unchanged (no lock-out)."""
    auth = Lucia(adapter=memory, clock=clock, password_hasher=ScryptHasher())
    user = await auth.create_user(primary_key=None, attributes={})
    await memory.set_key(KeyRow("email:node@x", user.user_id, False, LEGACY_S2, None))
    await auth.use_key("email", "node@x", LEGACY_S2_PASSWORD)
    assert (await memory.get_key("email:node@x")).hashed_password == LEGACY_S2  # type: ignore[union-attr]
    created = await auth.create_user(primary_key=PrimaryKey("email", "py@x", "pw"), attributes={})
    stored = await memory.get_key("email:py@x")
    assert stored is not None and stored.hashed_password.startswith("s2:") and stored.user_id == created.user_id  # type: ignore[union-attr]


async def test_lucia_js_mixed_case_session_ids_validate_without_hashing(
    memory: MemoryAdapter, clock: FakeClock
) -> None:
    """Node's 40-character ``[A-Za-z0-9]`` session ids are valid input with ``hash_session_ids=False``."""
    auth = Lucia(adapter=memory, clock=clock, hash_session_ids=False)
    user = await auth.create_user(primary_key=None, attributes={})
    node_id = "Zx9QwErTy7UiOpAsDfGhJkLzXcVbNm1234567890"
    now = int(clock() * 1000)
    await memory.set_session(SessionRow(node_id, user.user_id, now + 1000, now + 2000))
    assert (await auth.validate_session(node_id)).user_id == user.user_id
