"""Lucia's own policy: inputs, errors, users, keys and sessions over the reference adapter."""

from __future__ import annotations

import pickle
from datetime import timedelta
from typing import Any

import pytest

from lucia import Lucia, LuciaError, SessionExpiresIn
from lucia._errors import ERROR_CODES
from lucia.adapters import SessionRow
from lucia.adapters.memory import MemoryAdapter
from lucia.testing import FakeClock, fast_password_hasher
from lucia.testing._harness import refused_with, token_readers

from .conftest import CountingAdapter

pytestmark = pytest.mark.anyio

EMAIL = {"provider_id": "email", "provider_user_id": "ada@example.com", "password": "pw"}


def test_error_codes_are_stable_and_errors_pickle() -> None:
    """Every code has its message and its own class; errors carry code and detail and survive pickling."""
    assert ERROR_CODES == set(LuciaError.messages) == set(LuciaError._class_of_code)
    for code in ERROR_CODES:
        assert LuciaError(code).code == code and type(LuciaError(code)) is not LuciaError
    error = pickle.loads(pickle.dumps(LuciaError("AUTH_INVALID_INPUT", "why")))
    assert (error.code, error.detail, str(error)) == ("AUTH_INVALID_INPUT", "why", "AUTH_INVALID_INPUT: why")
    assert repr(error) == "InvalidInputError('AUTH_INVALID_INPUT', 'why')"
    with pytest.raises(ValueError):
        LuciaError("AUTH_TYPO")  # type: ignore[arg-type]


def test_each_code_raises_its_own_class_under_the_root() -> None:
    """``LuciaError(code)`` builds the typed subclass; callers catch types, codes stay stable."""
    from lucia import (
        InvalidCredentialsError,
        InvalidInputError,
        InvalidKeyError,
        InvalidPasswordError,
        InvalidSessionError,
        StorageError,
        StorageTimeoutError,
        TooManyRequestsError,
    )

    expected = {
        "AUTH_INVALID_SESSION_ID": InvalidSessionError,
        "AUTH_INVALID_KEY_ID": InvalidKeyError,
        "AUTH_INVALID_PASSWORD": InvalidPasswordError,
        "AUTH_INVALID_INPUT": InvalidInputError,
        "AUTH_TOO_MANY_REQUESTS": TooManyRequestsError,
        "AUTH_STORAGE_TIMEOUT": StorageTimeoutError,
    }
    for code, cls in expected.items():
        error = LuciaError(code)
        assert type(error) is cls and error.code == code and isinstance(error, LuciaError)
    assert issubclass(InvalidKeyError, InvalidCredentialsError) and issubclass(
        InvalidPasswordError, InvalidCredentialsError
    )
    assert issubclass(InvalidInputError, ValueError) and issubclass(StorageTimeoutError, StorageError)
    throttled = pickle.loads(pickle.dumps(TooManyRequestsError(retry_after=2.5)))
    assert throttled.retry_after == 2.5 and throttled.code == "AUTH_TOO_MANY_REQUESTS"
    for bad in (float("inf"), float("nan"), -3.0):
        assert TooManyRequestsError(retry_after=bad).retry_after == 0.0


def test_constructor_refuses_bad_configuration() -> None:
    """Wrong env, adapters or periods fail at construction with a clear message."""
    with pytest.raises(ValueError):
        Lucia(adapter=MemoryAdapter(), env="STAGING")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Lucia(adapter=object())
    with pytest.raises(ValueError):
        Lucia(adapter={"user": MemoryAdapter()})
    with pytest.raises(ValueError):
        SessionExpiresIn(active_period=timedelta(0))
    assert "Lucia(env='DEV'" in repr(Lucia(adapter=MemoryAdapter()))


BAD_IDS: list[Any] = ["", None, 42, "x" * 256, "a\x00b"]


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_d3_bad_ids_are_refused_before_any_query(auth: Lucia, store: CountingAdapter, bad: Any) -> None:
    """Empty, non-string, oversized and NUL-carrying ids raise AUTH_INVALID_INPUT with no query."""
    calls = [
        lambda: auth.get_user(bad),
        lambda: auth.create_session(bad),
        lambda: auth.delete_user(bad),
        lambda: auth.get_all_user_sessions(bad),
        lambda: auth.get_all_user_keys(bad),
        lambda: auth.invalidate_session(bad),
        lambda: auth.invalidate_all_user_sessions(bad),
        lambda: auth.delete_dead_user_sessions(bad),
        lambda: auth.update_user_attributes(bad, {}),
        lambda: auth.get_key("email", bad),
        lambda: auth.use_key(bad, "x", None),
        lambda: auth.create_key(bad, provider_id="e", provider_user_id="x", password=None),
        lambda: auth.create_user(
            primary_key={"provider_id": "email", "provider_user_id": bad, "password": None}, attributes={}
        ),
    ]
    for call in calls:
        with pytest.raises(LuciaError) as info:
            await call()
        assert info.value.code == "AUTH_INVALID_INPUT"
    assert store.calls == []


async def test_d3_provider_id_and_key_id_bounds(auth: Lucia, store: CountingAdapter) -> None:
    """A ``:`` in a provider id, or a key id over 255 characters, is refused with no query."""
    for provider_id, provider_user_id in (("em:ail", "x"), ("e" * 200, "u" * 60)):
        with pytest.raises(LuciaError) as info:
            await auth.get_key(provider_id, provider_user_id)
        assert info.value.code == "AUTH_INVALID_INPUT"
    assert await auth.create_user(
        primary_key={"provider_id": "e" * 100, "provider_user_id": "u" * 154, "password": None}, attributes={}
    )
    with pytest.raises(LuciaError):
        await auth.create_user(primary_key="email:x", attributes={})  # type: ignore[arg-type]
    assert store.calls == ["set_user"]


@pytest.mark.parametrize(
    "attributes",
    [
        {"id": "x"},
        {"bad name": 1},
        {"x; DROP TABLE": 1},
        {"a": "x" * 1_048_577},
        {"a": "nul\x00"},
        {"a": {"nested": 1}},
        {"a": [1]},
        {"a": 2**64},
        {"a": b"bytes"},
        "not a mapping",
    ],
)
async def test_d3_bad_attributes_are_refused_before_any_query(
    auth: Lucia, store: CountingAdapter, attributes: Any
) -> None:
    """Attribute names must be identifiers and values plain scalars of bounded size."""
    with pytest.raises(LuciaError) as info:
        await auth.create_user(primary_key=None, attributes=attributes)
    assert info.value.code == "AUTH_INVALID_INPUT"
    assert store.calls == []


@pytest.mark.parametrize(
    "token", ["", "short", "-" * 40, "A" * 41, "a" * 39, "a" * 41, "é" * 40, "a" * 39 + "\x00", None, 7]
)
async def test_s5_malformed_tokens_are_refused_without_a_query(auth: Lucia, store: CountingAdapter, token: Any) -> None:
    """A token of the wrong length or alphabet raises AUTH_INVALID_SESSION_ID before any query."""
    for call in token_readers(auth):
        await refused_with("AUTH_INVALID_SESSION_ID", call, token)
    assert store.calls == []


async def test_lucia_js_session_ids_stay_valid_without_hashing(memory: MemoryAdapter, clock: FakeClock) -> None:
    """With ``hash_session_ids=False`` a Lucia-JS 1.x id (40 mixed-case alphanumerics) validates."""
    auth = Lucia(adapter=memory, clock=clock, hash_session_ids=False)
    user = await auth.create_user(primary_key=None, attributes={})
    js_id = "aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789AbCd"
    now = int(clock() * 1000)
    await memory.set_session(SessionRow(js_id, user.user_id, now + 1000, now + 2000))
    assert (await auth.validate_session(js_id)).session_id == js_id


async def test_s3_expiry_is_decided_on_the_server_clock(auth: Lucia, clock: FakeClock) -> None:
    """A session is active, idle then dead by the server clock alone; get_session never renews."""
    user = await auth.create_user(primary_key=None, attributes={})
    session = await auth.create_session(user.user_id)
    token = session.token or ""
    assert session.idle_period_expires_at - session.active_period_expires_at == timedelta(days=14)
    clock.advance(timedelta(days=1))
    idle = await auth.get_session(token)
    assert idle.state == "idle" and not idle.fresh and idle.token == token
    idle_pair = await auth.get_session_user(token)
    assert idle_pair[0].state == "idle"
    renewed = await auth.renew_session(token)
    assert renewed.fresh and renewed.state == "active"
    with pytest.raises(LuciaError):  # a replaced token is never renewed twice
        await auth.renew_session(token)
    clock.advance(auth.renewal_grace + timedelta(seconds=1))
    with pytest.raises(LuciaError):
        await auth.get_session(token)
    clock.advance(timedelta(days=15, seconds=1))
    with pytest.raises(LuciaError):
        await auth.renew_session(renewed.token or "")


async def test_d2_storage_error_during_validation_never_authenticates(memory: MemoryAdapter, clock: FakeClock) -> None:
    """If the store fails while validating, the error propagates: nobody is signed in."""

    class Broken(CountingAdapter):
        async def get_session_and_user(self, session_id: str) -> Any:
            raise ConnectionError("database went away")

    auth = Lucia(adapter=Broken(memory), clock=clock)
    user = await auth.create_user(primary_key=None, attributes={})
    session = await auth.create_session(user.user_id)
    with pytest.raises(ConnectionError):
        await auth.validate_session_user(session.token or "")


async def test_users_attributes_and_custom_hooks(store: CountingAdapter, clock: FakeClock) -> None:
    """Custom ids and attribute mapping apply; attributes update; unknown users raise."""
    auth = Lucia(
        adapter=store,
        clock=clock,
        generate_user_id=lambda: "fixed-id",
        get_user_attributes=lambda row: {"name": str(row["username"]).title()},
    )
    user = await auth.create_user(primary_key=None, attributes={"username": "ada"})
    assert (user.user_id, user.attributes) == ("fixed-id", {"name": "Ada"})
    updated = await auth.update_user_attributes("fixed-id", {"username": "grace"})
    assert updated.attributes == {"name": "Grace"}
    with pytest.raises(LuciaError) as info:
        await auth.update_user_attributes("nobody", {"username": "x"})
    assert info.value.code == "AUTH_INVALID_USER_ID"
    with pytest.raises(LuciaError):
        await auth.create_user(primary_key=None, attributes={})  # the same generated id again


async def test_keys_lifecycle(auth: Lucia, clock: FakeClock) -> None:
    """Keys are created, listed, re-passworded and deleted; primary keys survive delete_key."""
    user = await auth.create_user(primary_key=EMAIL, attributes={})
    github = await auth.create_key(user.user_id, provider_id="github", provider_user_id="42", password=None)
    assert (github.type, github.primary, github.password_defined, github.expires_at) == (
        "persistent",
        False,
        False,
        None,
    )
    otp = await auth.create_key(
        user.user_id, provider_id="otp", provider_user_id="1", password="p", expires_in=timedelta(minutes=1)
    )
    assert otp.type == "single_use" and otp.expires_at is not None and not otp.is_expired
    assert {k.provider_id for k in await auth.get_all_user_keys(user.user_id)} == {"email", "github", "otp"}
    key = await auth.update_key_password("github", "42", "new password")
    assert key.password_defined and (await auth.use_key("github", "42", "new password")).user_id == user.user_id
    assert not (await auth.update_key_password("github", "42", None)).password_defined
    await auth.delete_key("github", "42")
    await auth.delete_key("email", "ada@example.com")
    assert {k.provider_id for k in await auth.get_all_user_keys(user.user_id)} == {"email", "otp"}
    with pytest.raises(LuciaError) as info:
        await auth.update_key_password("github", "42", "x")
    assert info.value.code == "AUTH_INVALID_KEY_ID"
    with pytest.raises(LuciaError) as info:
        await auth.use_key("email", "ada@example.com", None)
    assert info.value.code == "AUTH_INVALID_PASSWORD"
    with pytest.raises(LuciaError) as info:
        await auth.create_key(
            user.user_id, provider_id="x", provider_user_id="y", password=None, expires_in=timedelta(0)
        )
    assert info.value.code == "AUTH_INVALID_INPUT"
    with pytest.raises(LuciaError) as info:
        await auth.create_key("nobody", provider_id="x", provider_user_id="y", password=None)
    assert info.value.code == "AUTH_INVALID_USER_ID"
    with pytest.raises(LuciaError) as info:
        await auth.get_all_user_keys("nobody")
    assert info.value.code == "AUTH_INVALID_USER_ID"


async def test_sessions_listing_and_invalidation(auth: Lucia, clock: FakeClock) -> None:
    """Sessions are listed without tokens, invalidated singly, and dead ones deleted on demand."""
    user = await auth.create_user(primary_key=None, attributes={})
    first = await auth.create_session(user.user_id)
    with pytest.raises(LuciaError):
        auth.create_session_cookie((await auth.get_all_user_sessions(user.user_id))[0])
    assert all(s.token is None for s in await auth.get_all_user_sessions(user.user_id))
    await auth.invalidate_session(first.session_id)
    assert await auth.get_all_user_sessions(user.user_id) == []
    await auth.create_session(user.user_id)
    clock.advance(timedelta(days=30))
    live = await auth.create_session(user.user_id)
    await auth.delete_dead_user_sessions(user.user_id)
    assert [row.id for row in await auth.sessions.get_sessions_by_user_id(user.user_id)] == [live.session_id]
    with pytest.raises(LuciaError) as info:
        await auth.get_all_user_sessions("nobody")
    assert info.value.code == "AUTH_INVALID_USER_ID"


async def test_separate_user_and_session_stores(clock: FakeClock) -> None:
    """With ``{"user": ..., "session": ...}`` sessions check the user in the user store."""
    users, sessions = MemoryAdapter(), CountingAdapter(MemoryAdapter())
    sessions.inner.users = users.users  # the session store's FK check sees the same users
    auth = Lucia(adapter={"user": users, "session": sessions}, clock=clock, password_hasher=fast_password_hasher())
    user = await auth.create_user(primary_key=None, attributes={"username": "split"})
    session = await auth.create_session(user.user_id)
    validated, found = await auth.validate_session_user(session.token or "")
    assert found.user_id == user.user_id and validated.session_id == session.session_id
    assert "get_session_and_user" not in sessions.calls
    with pytest.raises(LuciaError) as info:
        await auth.create_session("nobody")
    assert info.value.code == "AUTH_INVALID_USER_ID"
    await users.delete_user(user.user_id)
    with pytest.raises(LuciaError):
        await auth.validate_session_user(session.token or "")
