"""The token suite over SQLite, plus what only a file database or pure logic can show."""

from __future__ import annotations

import hashlib
import pickle
import secrets
import sqlite3
import string
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import aiosqlite
import pytest

from lucia import Lucia, LuciaError, TooManyRequestsError
from lucia.adapters.memory import MemoryAdapter
from lucia.testing import CONFORMANCE_USER_COLUMNS, FakeClock, fast_password_hasher
from lucia_sqlite import SQLiteAdapter
from lucia_tokens import LuciaTokenError, id_token, password_token
from lucia_tokens.testing import TokenTests, gather_outcomes
from lucia_tokens.totp import TOTPVerifier, generate_secret, generate_totp

pytestmark = pytest.mark.anyio

SECRET = secrets.token_hex(32)


async def _dump(path: Path) -> str:
    async with aiosqlite.connect(path) as conn:
        rows: list[sqlite3.Row] = []
        for table in ("auth_user", "auth_session", "auth_key"):
            rows += await conn.execute_fetchall(f"SELECT * FROM {table}")
        return repr([tuple(row) for row in rows])


class TestTokensOnSQLite(TokenTests):
    @pytest.fixture
    async def adapter(self, tmp_path: Path) -> AsyncIterator[SQLiteAdapter]:
        adapter = SQLiteAdapter(tmp_path / "auth.db")
        await adapter.create_schema(user_columns=CONFORMANCE_USER_COLUMNS)
        yield adapter
        await adapter.close()

    @pytest.fixture
    def raw_dump(self, tmp_path: Path) -> Callable[[], Awaitable[str]]:
        return lambda: _dump(tmp_path / "auth.db")


async def _memory_dump(adapter: MemoryAdapter) -> str:
    """The users, keys and sessions of ``adapter``, with each key's hashed password (its repr masks it)."""
    return repr([adapter.users, adapter.keys, adapter.sessions]) + repr(
        [(k.id, k.user_id, k.hashed_password, k.expires) for k in adapter.keys.values()]
    )


class TestTokensInMemory(TokenTests):
    @pytest.fixture
    def adapter(self) -> MemoryAdapter:
        return MemoryAdapter()

    @pytest.fixture
    def raw_dump(self, adapter: MemoryAdapter) -> Callable[[], Awaitable[str]]:
        return lambda: _memory_dump(adapter)


@pytest.fixture
async def shared_database(tmp_path: Path) -> AsyncIterator[tuple[Lucia, Lucia, FakeClock]]:
    """Two Lucia objects, each with its own SQLiteAdapter (own connections), on one file."""
    clock = FakeClock()
    first = SQLiteAdapter(tmp_path / "shared.db")
    await first.create_schema(user_columns=CONFORMANCE_USER_COLUMNS)
    second = SQLiteAdapter(tmp_path / "shared.db")
    try:
        yield (
            Lucia(adapter=first, clock=clock, password_hasher=fast_password_hasher()),
            Lucia(adapter=second, clock=clock, password_hasher=fast_password_hasher()),
            clock,
        )
    finally:
        await first.close()
        await second.close()


async def _second_lucia_refuses(shared_database: tuple[Lucia, Lucia, FakeClock], *, steps_back: int) -> None:
    """One Lucia accepts the TOTP code of now; the other refuses the code of ``steps_back`` steps earlier."""
    one, two, clock = shared_database
    user = await one.create_user(primary_key=None, attributes={"username": "ada"})
    secret = generate_secret()
    await TOTPVerifier(one).verify(user.user_id, secret, generate_totp(secret, at=clock()))
    with pytest.raises(LuciaTokenError) as refused:
        await TOTPVerifier(two).verify(user.user_id, secret, generate_totp(secret, at=clock() - 30 * steps_back))
    assert refused.value.code == "INVALID_TOKEN"


async def test_t4_totp_replay_is_refused_across_two_lucia_instances_on_one_file(
    shared_database: tuple[Lucia, Lucia, FakeClock],
) -> None:
    """A TOTP code accepted by one process's Lucia is refused by another's on the same database."""
    await _second_lucia_refuses(shared_database, steps_back=0)


async def test_h3_earlier_totp_step_is_refused_across_two_lucia_instances_on_one_file(
    shared_database: tuple[Lucia, Lucia, FakeClock],
) -> None:
    """After one process's Lucia accepts the code of step t, another's refuses the code of step t-1."""
    await _second_lucia_refuses(shared_database, steps_back=1)


async def test_h3_one_totp_code_submitted_through_two_lucia_instances_is_accepted_once(
    shared_database: tuple[Lucia, Lucia, FakeClock],
) -> None:
    """Ten concurrent submissions of one code through each of two Lucia objects on one file: one is accepted."""
    one, two, clock = shared_database
    one.throttle = two.throttle = None  # replay, not brute force, is what this race is about
    user = await one.create_user(primary_key=None, attributes={"username": "ada"})
    secret = generate_secret()
    code = generate_totp(secret, at=clock())
    verifiers = iter([TOTPVerifier(one), TOTPVerifier(two)] * 10)
    results = await gather_outcomes(20, lambda: next(verifiers).verify(user.user_id, secret, code))
    assert [r for r in results if not isinstance(r, Exception)] == [None], results
    assert all(isinstance(r, LuciaTokenError) for r in results if r is not None), results


async def test_t1_link_token_is_used_once_across_two_lucia_instances(
    shared_database: tuple[Lucia, Lucia, FakeClock],
) -> None:
    """A link token validated through one Lucia is refused through the other."""
    one, two, _ = shared_database
    user = await one.create_user(primary_key=None, attributes={"username": "ada"})
    token = await id_token(one, "password_reset", timedelta(hours=1)).issue(user.user_id)
    assert token.value is not None
    assert (await id_token(two, "password_reset", timedelta(hours=1)).validate(token.value)).user_id == user.user_id
    with pytest.raises(LuciaTokenError):
        await id_token(one, "password_reset", timedelta(hours=1)).validate(token.value)


def _chi_square(text: str, alphabet: str) -> float:
    """Pearson's statistic of the symbol counts in ``text`` against a uniform alphabet."""
    expected = len(text) / len(alphabet)
    return sum((text.count(symbol) - expected) ** 2 / expected for symbol in alphabet)


async def test_t2_link_tokens_are_256_bit_base64url_and_unique() -> None:
    """Link tokens are 43 base64url characters, all distinct, drawn from an unbiased alphabet."""
    auth = Lucia(adapter=MemoryAdapter())
    user = await auth.create_user(primary_key=None, attributes={})
    tokens = id_token(auth, "email_verification", timedelta(hours=1), supersede=False)
    values = [(await tokens.issue(user.user_id)).value for _ in range(300)]
    assert all(v is not None and len(v) == 43 for v in values)
    assert len(set(values)) == len(values)
    alphabet = string.ascii_letters + string.digits + "-_"
    assert set("".join(v for v in values if v)) == set(alphabet)
    assert _chi_square("".join(v for v in values if v), alphabet) < 130  # 63 dof: p < 1e-6 to fail by chance


async def test_t3_codes_are_at_least_eight_digits() -> None:
    """A code is eight unbiased ASCII digits by default, and shorter codes cannot be configured."""
    auth = Lucia(adapter=MemoryAdapter())
    user = await auth.create_user(primary_key=None, attributes={})
    codes = password_token(auth, "sign_in_code", timedelta(minutes=5), supersede=False, secret=SECRET)
    values = [(await codes.issue(user.user_id)).value for _ in range(200)]
    assert all(v is not None and len(v) == 8 and v.isascii() and v.isdigit() for v in values)
    assert _chi_square("".join(v for v in values if v), string.digits) < 45  # 9 dof: p < 1e-6 to fail by chance
    with pytest.raises(ValueError):
        password_token(auth, "sign_in_code", timedelta(minutes=5), length=6)


def test_t2_link_tokens_cannot_be_configured_below_256_bits() -> None:
    """A link-token length under 43 characters is refused."""
    with pytest.raises(ValueError):
        id_token(Lucia(adapter=MemoryAdapter()), "password_reset", timedelta(hours=1), length=42)


@pytest.mark.parametrize("name", ["", "has space", "colon:name", "x" * 65, "dot.name"])
def test_bad_names_are_refused(name: str) -> None:
    """A token name outside [A-Za-z0-9_-]{1,64} is refused when configuring."""
    with pytest.raises(ValueError):
        id_token(Lucia(adapter=MemoryAdapter()), name, timedelta(hours=1))


@pytest.mark.parametrize("expires_in", [timedelta(0), timedelta(seconds=-1), 3600])
def test_bad_lifetimes_are_refused(expires_in: object) -> None:
    """A lifetime that is not a positive timedelta is refused."""
    with pytest.raises(ValueError):
        password_token(Lucia(adapter=MemoryAdapter()), "code", expires_in)  # type: ignore[arg-type]


def test_token_error_codes() -> None:
    """LuciaTokenError carries one of the two codes and refuses others."""
    error = LuciaTokenError("EXPIRED_TOKEN")
    assert error.code == "EXPIRED_TOKEN" and "expired" in str(error)
    with pytest.raises(ValueError):
        LuciaTokenError("NOPE")  # type: ignore[arg-type]


async def test_s6_documented_password_reset_flow_signs_out_everywhere(tmp_path: Path) -> None:
    """The reset guide's flow: only the newest link works, once, and every old session is signed out."""
    adapter = SQLiteAdapter(tmp_path / "app.db")
    await adapter.create_schema(user_columns={"email": "text", "email_verified": "integer"})
    auth = Lucia(adapter=adapter, password_hasher=fast_password_hasher())
    reset = id_token(auth, "password_reset", timedelta(hours=1))
    try:
        user = await auth.create_user(
            primary_key={"provider_id": "email", "provider_user_id": "ada@example.com", "password": "old password"},
            attributes={"email": "ada@example.com", "email_verified": False},
        )
        laptop = await auth.create_session(user.user_id)
        phone = await auth.create_session(user.user_id)
        key = await auth.get_key("email", "ada@example.com")
        first = await reset.issue(key.user_id)
        second = await reset.issue(key.user_id)
        assert first.value is not None and second.value is not None
        with pytest.raises(LuciaTokenError):
            await reset.validate(first.value)
        token = await reset.validate(second.value)
        await auth.update_key_password("email", "ada@example.com", "new password")
        await auth.update_user_attributes(token.user_id, {"email_verified": True})
        await auth.invalidate_all_user_sessions(token.user_id)
        assert await auth.get_all_user_sessions(user.user_id) == []
        for session in (laptop, phone):
            assert session.token is not None
            with pytest.raises(LuciaError) as signed_out:
                await auth.validate_session(session.token)
            assert signed_out.value.code == "AUTH_INVALID_SESSION_ID"
        assert (await auth.use_key("email", "ada@example.com", "new password")).user_id == user.user_id
        with pytest.raises(LuciaTokenError):
            await reset.validate(second.value)
    finally:
        await adapter.close()


async def test_documented_recovery_codes_are_single_use() -> None:
    """The 2FA guide's recovery codes: ten distinct codes, each accepted once, a new set replaces the old."""
    auth = Lucia(adapter=MemoryAdapter())
    user = await auth.create_user(primary_key=None, attributes={})
    recovery = password_token(
        auth, "recovery_code", timedelta(days=3650), length=12, digits_only=False, supersede=False, secret=SECRET
    )
    codes = [(await recovery.issue(user.user_id)).value for _ in range(10)]
    assert len(set(codes)) == 10 and all(c is not None and len(c) == 12 for c in codes)
    assert codes[0] is not None and codes[1] is not None
    await recovery.validate(codes[0], user.user_id)
    with pytest.raises(LuciaTokenError):
        await recovery.validate(codes[0], user.user_id)
    assert len(await recovery.get_all_user_tokens(user.user_id)) == 9
    await recovery.invalidate_all_user_tokens(user.user_id)
    with pytest.raises(LuciaTokenError):
        await recovery.validate(codes[1], user.user_id)


@pytest.mark.parametrize(
    "secret",
    [
        42,  # not str or bytes
        "too short",
        b"x" * 31,
        "x" * 64,  # a repeated pattern
        b"ab" * 32,
        "\ud800" * 32,  # not valid Unicode
    ],
)
def test_h2_a_weak_or_malformed_secret_is_refused_without_showing_it(secret: object) -> None:
    """password_token refuses secrets under 32 bytes, repeated patterns and lone surrogates, without echoing them."""
    with pytest.raises(ValueError) as refused:
        password_token(Lucia(adapter=MemoryAdapter()), "code", timedelta(minutes=5), secret=secret)  # type: ignore[arg-type]
    assert str(secret) not in str(refused.value)


def test_h2_the_secret_is_never_printed_or_pickled() -> None:
    """A keyed wrapper's repr, str and vars never show the secret, and it refuses to be pickled."""
    secret = secrets.token_hex(32)
    codes = password_token(Lucia(adapter=MemoryAdapter()), "sign_in_code", timedelta(minutes=5), secret=secret)
    shown = f"{codes!r} {codes!s} {vars(codes)!r}"
    assert secret not in shown and "keyed=True" in shown
    with pytest.raises(TypeError):
        pickle.dumps(codes)
    byte_secret = secrets.token_bytes(32)
    keyed = password_token(Lucia(adapter=MemoryAdapter()), "sign_in_code", timedelta(minutes=5), secret=byte_secret)
    assert repr(byte_secret) not in f"{keyed!r} {vars(keyed)!r}"


def test_h2_several_live_codes_need_a_secret() -> None:
    """supersede=False without a secret is refused: without one a user has exactly one code key per name."""
    with pytest.raises(ValueError):
        password_token(Lucia(adapter=MemoryAdapter()), "recovery_code", timedelta(days=1), supersede=False)


class CountingHasher:
    """The tests' Argon2id hasher, counting its verifications."""

    def __init__(self) -> None:
        self.inner = fast_password_hasher()
        self.verified = 0

    def hash(self, password: str) -> str:
        return self.inner.hash(password)

    def verify(self, hash: str, password: str) -> bool:
        self.verified += 1
        return self.inner.verify(hash, password)

    def needs_rehash(self, hash: str) -> bool:
        return self.inner.needs_rehash(hash)


async def test_h2_a_code_without_a_secret_is_checked_by_the_password_hasher() -> None:
    """Without a secret each check of a code is one verification by the Lucia object's password hasher."""
    hasher = CountingHasher()
    auth = Lucia(adapter=MemoryAdapter(), password_hasher=hasher)
    user = await auth.create_user(primary_key=None, attributes={})
    codes = password_token(auth, "sign_in_code", timedelta(minutes=5))
    token = await codes.issue(user.user_id)
    assert token.value is not None
    wrong = str((int(token.value) + 1) % 10**8).zfill(8)
    with pytest.raises(LuciaTokenError):
        await codes.validate(wrong, user.user_id)
    assert (await codes.validate(token.value, user.user_id)).user_id == user.user_id
    assert hasher.verified == 2


async def test_h2_codes_stored_unkeyed_by_earlier_versions_never_validate_and_are_cleaned_up() -> None:
    """A code stored the earlier way (unkeyed SHA-256 of user id and code) is refused, never listed, and deleted."""
    auth = Lucia(adapter=MemoryAdapter(), password_hasher=fast_password_hasher())
    user = await auth.create_user(primary_key=None, attributes={})
    legacy = hashlib.sha256(f"{user.user_id}\x0012345678".encode()).hexdigest()
    await auth.create_key(
        user.user_id,
        provider_id="lucia-code.sign_in_code",
        provider_user_id=legacy,
        password=None,
        expires_in=timedelta(minutes=5),
    )
    for secret in (None, SECRET):
        codes = password_token(auth, "sign_in_code", timedelta(minutes=5), secret=secret)
        with pytest.raises(LuciaTokenError):
            await codes.validate("12345678", user.user_id)
    codes = password_token(auth, "sign_in_code", timedelta(minutes=5))
    assert await codes.get_all_user_tokens(user.user_id) == []
    assert [k for k in await auth.get_all_user_keys(user.user_id) if k.provider_user_id == legacy] == []


async def test_h14_documented_email_change_invalidates_the_verification_link() -> None:
    """The verification guide's flow: a link bound to the old address fails after the user changed it."""
    auth = Lucia(adapter=MemoryAdapter(), password_hasher=fast_password_hasher())
    verification = id_token(auth, "email_verification", timedelta(hours=24))
    user = await auth.create_user(
        primary_key=None, attributes={"email": "mallory@example.net", "email_verified": False}
    )
    token = await verification.issue(user.user_id, bind=user.attributes["email"])  # mailed to mallory@example.net
    assert token.value is not None
    user = await auth.update_user_attributes(user.user_id, {"email": "victim@example.com"})
    with pytest.raises(LuciaTokenError) as refused:
        await verification.validate(token.value, bind=user.attributes["email"])
    assert refused.value.code == "INVALID_TOKEN"
    assert not (await auth.get_user(user.user_id)).attributes["email_verified"]


async def test_b3_totp_guesses_share_the_core_throttle(shared_database: tuple[Lucia, Lucia, FakeClock]) -> None:
    """Wrong TOTP codes count like wrong passwords: after five, refused without checking, then back-off."""
    one, _, clock = shared_database
    user = await one.create_user(primary_key=None, attributes={"username": "ada"})
    secret = generate_secret()
    verifier = TOTPVerifier(one)
    right = generate_totp(secret, at=clock())
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    for _ in range(5):
        with pytest.raises(LuciaTokenError):
            await verifier.verify(user.user_id, secret, wrong)
    with pytest.raises(TooManyRequestsError) as info:
        await verifier.verify(user.user_id, secret, right)  # even the right code waits
    assert 0 < info.value.retry_after <= 1
    clock.advance(1)
    await verifier.verify(user.user_id, secret, generate_totp(secret, at=clock()))


async def test_b3_keyed_code_guesses_share_the_core_throttle(shared_database: tuple[Lucia, Lucia, FakeClock]) -> None:
    """A spent code answers INVALID_TOKEN (its own limit first); while a new code is live, the throttle applies."""
    one, _, clock = shared_database
    user = await one.create_user(primary_key=None, attributes={"username": "ada"})
    codes = password_token(one, "sign_in", timedelta(minutes=10), secret=SECRET)
    first = await codes.issue(user.user_id)
    assert first.value is not None
    wrong = "0" * len(first.value) if first.value != "0" * len(first.value) else "1" * len(first.value)
    for _ in range(6):  # five use up the code's own attempts; the sixth finds no live code
        with pytest.raises(LuciaTokenError):
            await codes.validate(wrong, user.user_id)
    second = await codes.issue(user.user_id)
    assert second.value is not None
    with pytest.raises(TooManyRequestsError):
        await codes.validate(second.value, user.user_id)  # five failures: back-off, even for the right code
    clock.advance(1)
    assert (await codes.validate(second.value, user.user_id)).user_id == user.user_id
