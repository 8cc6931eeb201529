"""The token suite over SQLite, plus what only a file database or pure logic can show."""

from __future__ import annotations

import sqlite3
import string
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import aiosqlite
import pytest

from lucia import Lucia, LuciaError
from lucia.adapters.memory import MemoryAdapter
from lucia.testing import CONFORMANCE_USER_COLUMNS, FakeClock, fast_password_hasher
from lucia_sqlite import SQLiteAdapter
from lucia_tokens import LuciaTokenError, id_token, password_token
from lucia_tokens.testing import TokenTests
from lucia_tokens.totp import TOTPVerifier, generate_secret, generate_totp

pytestmark = pytest.mark.anyio


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


class TestTokensInMemory(TokenTests):
    @pytest.fixture
    def adapter(self) -> MemoryAdapter:
        return MemoryAdapter()

    @pytest.fixture
    def raw_dump(self, adapter: MemoryAdapter) -> Callable[[], Awaitable[str]]:
        async def dump() -> str:
            return repr([adapter.users, adapter.keys, adapter.sessions]) + repr(
                [(k.id, k.user_id, k.hashed_password, k.expires) for k in adapter.keys.values()]
            )

        return dump


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


async def test_t4_totp_replay_is_refused_across_two_lucia_instances_on_one_file(
    shared_database: tuple[Lucia, Lucia, FakeClock],
) -> None:
    """A TOTP code accepted by one process's Lucia is refused by another's on the same database."""
    one, two, clock = shared_database
    user = await one.create_user(primary_key=None, attributes={"username": "ada"})
    secret = generate_secret()
    code = generate_totp(secret, at=clock())
    await TOTPVerifier(one).verify(user.user_id, secret, code)
    with pytest.raises(LuciaTokenError) as replayed:
        await TOTPVerifier(two).verify(user.user_id, secret, code)
    assert replayed.value.code == "INVALID_TOKEN"


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
    codes = password_token(auth, "sign_in_code", timedelta(minutes=5), supersede=False)
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
        auth, "recovery_code", timedelta(days=3650), length=12, digits_only=False, supersede=False
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
