"""Password hashing policy: Argon2id, NFKC, no truncation, legacy scrypt, rehash, no enumeration."""

from __future__ import annotations

import logging
import threading
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lucia import Lucia, LuciaError
from lucia.passwords import MAX_PASSWORD_LENGTH, Argon2idHasher
from lucia.testing import FakeClock, fast_password_hasher

from .conftest import CountingAdapter, CountingHasher

pytestmark = pytest.mark.anyio

# Made with Node's crypto.scryptSync exactly as Lucia-JS 1.x does (N=16384, p=1, 64-byte key).
LEGACY_S2 = (
    "s2:k9w2o1n7s4ypq3z8:135c09c5f9710349d27290aeb9e318e1ca6b1a54ae6f323b7f1324e59845be1e"
    "6fb3f445873333da36c91393161374b24c5c3e0df5bbb3909911ee4a8bf7846a"
)
LEGACY_S2_PASSWORD = "pässwörd ﬁ"
LEGACY_R8 = (
    "oldsalt123:bbf045e7a8fba8c2a0db846a9489fc478ae0a7615685ada357d209e8d6a775ed18ddf1ae09344fcf878d"
    "df1bbdd4ba365f3744e4af487f566e48623791c0ccfa"
)

FAST = fast_password_hasher()


def test_p1_default_is_argon2id_at_owasp_parameters() -> None:
    """The default hash is an Argon2id PHC string with m=19456 KiB, t=2, p=1."""
    hashed = Argon2idHasher().hash("correct horse")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert Argon2idHasher().verify(hashed, "correct horse")
    assert not Argon2idHasher().needs_rehash(hashed)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=64))
def test_p2_any_password_round_trips_and_its_nfkc_twin_verifies(password: str) -> None:
    """Every password verifies, and so does its NFKC-normalised form (normalised on both sides)."""
    hashed = FAST.hash(password)
    assert FAST.verify(hashed, password)
    assert FAST.verify(hashed, unicodedata.normalize("NFKC", password))
    assert not FAST.verify(hashed, password + "x")


def test_p2_nothing_is_truncated_and_nul_is_significant() -> None:
    """Passwords that differ only after 1000 characters, or by a NUL, are different."""
    long = "a" * 1000
    assert not FAST.verify(FAST.hash(long + "b"), long + "c")
    assert not FAST.verify(FAST.hash("pass\x00word"), "pass")
    assert FAST.verify(FAST.hash("pass\x00word"), "pass\x00word")


async def test_p2_maximum_length_is_checked_before_hashing(auth: Lucia, hasher: CountingHasher) -> None:
    """A password over the documented maximum is refused before any hashing; the maximum itself works."""
    assert MAX_PASSWORD_LENGTH >= 256
    with pytest.raises(LuciaError) as info:
        await auth.create_user(
            primary_key={
                "provider_id": "email",
                "provider_user_id": "a@x",
                "password": "x" * (MAX_PASSWORD_LENGTH + 1),
            },
            attributes={},
        )
    assert info.value.code == "AUTH_INVALID_INPUT"
    assert hasher.hashes == 0
    user = await auth.create_user(
        primary_key={"provider_id": "email", "provider_user_id": "b@x", "password": "x" * MAX_PASSWORD_LENGTH},
        attributes={},
    )
    assert (await auth.use_key("email", "b@x", "x" * MAX_PASSWORD_LENGTH)).user_id == user.user_id


def test_legacy_lucia_js_scrypt_hashes_verify_and_need_rehash() -> None:
    """Hashes made by Lucia-JS (``s2:`` with r=16 and the older bare form with r=8) verify."""
    hasher = Argon2idHasher()
    assert hasher.verify(LEGACY_S2, LEGACY_S2_PASSWORD)
    assert hasher.verify(LEGACY_S2, unicodedata.normalize("NFKC", LEGACY_S2_PASSWORD))
    assert not hasher.verify(LEGACY_S2, "pässwörd")
    assert hasher.verify(LEGACY_R8, "hunter2")
    assert not hasher.verify(LEGACY_R8, "hunter3")
    assert hasher.needs_rehash(LEGACY_S2) and hasher.needs_rehash(LEGACY_R8)
    for garbage in ("", "s2:only", "a:b:c:d", "salt:short", "$argon2id$garbage"):
        assert not hasher.verify(garbage, "x")


async def test_p3_rehash_after_success_never_after_failure(auth: Lucia, memory: object) -> None:
    """A legacy hash is replaced by Argon2id after a correct password, untouched after a wrong one."""
    user = await auth.create_user(
        primary_key={"provider_id": "email", "provider_user_id": "js@x", "password": None}, attributes={}
    )
    await auth.users.update_key("email:js@x", hashed_password=LEGACY_R8)
    with pytest.raises(LuciaError):
        await auth.use_key("email", "js@x", "wrong")
    assert (await auth.users.get_key("email:js@x")).hashed_password == LEGACY_R8  # type: ignore[union-attr]
    key = await auth.use_key("email", "js@x", "hunter2")
    assert key.user_id == user.user_id
    stored = (await auth.users.get_key("email:js@x")).hashed_password  # type: ignore[union-attr]
    assert stored is not None and stored.startswith("$argon2id$")
    assert (await auth.use_key("email", "js@x", "hunter2")).user_id == user.user_id


async def test_p3_weaker_argon2_parameters_are_upgraded(store: CountingAdapter, clock: FakeClock) -> None:
    """A hash made with weaker parameters is rehashed with the current ones after sign-in."""
    weak = Argon2idHasher(memory_cost=1024, time_cost=1)
    strong = Argon2idHasher(memory_cost=2048, time_cost=2)
    before = Lucia(adapter=store, clock=clock, password_hasher=weak)
    await before.create_user(
        primary_key={"provider_id": "email", "provider_user_id": "u@x", "password": "pw"}, attributes={}
    )
    after = Lucia(adapter=store, clock=clock, password_hasher=strong)
    await after.use_key("email", "u@x", "pw")
    stored = (await store.get_key("email:u@x")).hashed_password
    assert "m=2048,t=2" in stored


async def test_p4_unknown_key_costs_one_hash(auth: Lucia, hasher: CountingHasher) -> None:
    """An unknown key costs exactly one verification, like a known key; the message is the same."""
    await auth.create_user(
        primary_key={"provider_id": "email", "provider_user_id": "known@x", "password": "pw"}, attributes={}
    )
    await auth.use_key("email", "known@x", "pw")  # warms the dummy hash
    hasher.verifies = 0
    with pytest.raises(LuciaError) as unknown:
        await auth.use_key("email", "unknown@x", "pw")
    assert hasher.verifies == 1
    hasher.verifies = 0
    with pytest.raises(LuciaError) as wrong:
        await auth.use_key("email", "known@x", "not-pw")
    assert hasher.verifies == 1
    assert str(unknown.value).split(": ", 1)[1] == str(wrong.value).split(": ", 1)[1]


async def test_p4_after_connect_the_first_unknown_key_costs_one_verification(
    auth: Lucia, hasher: CountingHasher
) -> None:
    """connect() prepares the dummy hash at start-up: even the very first unknown key costs no extra hash."""
    await auth.connect()
    assert hasher.hashes == 1  # the dummy hash, once
    hasher.hashes = hasher.verifies = 0
    with pytest.raises(LuciaError):
        await auth.use_key("email", "unknown@x", "pw")
    assert (hasher.hashes, hasher.verifies) == (0, 1)


async def test_p4_passwordless_key_with_password_costs_one_hash(auth: Lucia, hasher: CountingHasher) -> None:
    """A password sent for a key without one is refused after the same single verification."""
    await auth.create_user(
        primary_key={"provider_id": "github", "provider_user_id": "42", "password": None}, attributes={}
    )
    hasher.verifies = 0
    with pytest.raises(LuciaError) as info:
        await auth.use_key("github", "42", "guess")
    assert info.value.code == "AUTH_INVALID_PASSWORD"
    assert hasher.verifies == 1


async def test_p1_hashing_runs_off_the_event_loop(auth: Lucia) -> None:
    """Sync hasher methods run in a worker thread, not the event loop's thread."""
    threads: list[int] = []

    class Recording(CountingHasher):
        def hash(self, password: str) -> str:
            threads.append(threading.get_ident())
            return super().hash(password)

    recording = Lucia(adapter=auth.users, clock=auth.clock, password_hasher=Recording())  # type: ignore[arg-type]
    await recording.create_user(
        primary_key={"provider_id": "e", "provider_user_id": "t", "password": "pw"}, attributes={}
    )
    assert threads and threading.get_ident() not in threads


async def test_async_hashers_are_awaited(store: CountingAdapter, clock: FakeClock) -> None:
    """A hasher with ``async`` methods works as well as a sync one."""

    class AsyncHasher:
        async def hash(self, password: str) -> str:
            return str(FAST.hash(password))

        async def verify(self, hash: str, password: str) -> bool:
            return bool(FAST.verify(hash, password))

        async def needs_rehash(self, hash: str) -> bool:
            return False

    auth = Lucia(adapter=store, clock=clock, password_hasher=AsyncHasher())
    await auth.create_user(primary_key={"provider_id": "e", "provider_user_id": "a", "password": "pw"}, attributes={})
    assert (await auth.use_key("e", "a", "pw")).provider_user_id == "a"


async def test_p5_no_secret_reaches_the_logs(auth: Lucia, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    """A full flow logged at DEBUG never shows a password, token or hash."""
    caplog.set_level(logging.DEBUG)
    password = "sup3r-secret-passphrase"
    user = await auth.create_user(
        primary_key={"provider_id": "email", "provider_user_id": "log@x", "password": password},
        attributes={"username": "log"},
    )
    await auth.use_key("email", "log@x", password)
    with pytest.raises(LuciaError):
        await auth.use_key("email", "log@x", password + "!")
    session = await auth.create_session(user.user_id)
    clock.advance(86_401)
    renewed = await auth.validate_session(session.token or "")
    hashed = (await auth.users.get_key("email:log@x")).hashed_password  # type: ignore[union-attr]
    everything = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    assert "created user" in everything  # the logs are real, and say something
    for secret in (password, session.token, renewed.token, hashed):
        assert secret is not None and secret not in everything
    for secret in (session.token, renewed.token):
        assert secret not in repr(session) and secret not in repr(renewed)
