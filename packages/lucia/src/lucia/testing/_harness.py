"""What every conformance suite class shares: fixtures, capabilities, row factories, concurrency."""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, NoReturn

import anyio
import pytest

from lucia._core import Lucia
from lucia._errors import LuciaError
from lucia.adapters import KeyRow, SessionRow, UserRow
from lucia.passwords import Argon2idHasher
from lucia.testing._clock import FakeClock

__all__ = [
    "AWKWARD_STRINGS",
    "CONFORMANCE_SESSION_COLUMNS",
    "CONFORMANCE_USER_COLUMNS",
    "DAY_MS",
    "NOW_MS",
    "Harness",
    "fast_password_hasher",
    "gather_outcomes",
    "needs",
    "new_id",
    "required_fixture",
    "stored_form",
]

#: The user columns the suite writes: give the fixture's user table these.
CONFORMANCE_USER_COLUMNS: dict[str, str] = {"username": "text"}
#: The session columns the suite writes (session attributes): give the session table these.
CONFORMANCE_SESSION_COLUMNS: dict[str, str] = {"ip_address": "text", "device": "text"}

#: Strings that break naive SQL, shells, JSON and unicode handling.
AWKWARD_STRINGS = (
    "o'brien\"; DROP TABLE auth_user; --",
    "%s %% ? $1 :name \\ \\x00-free {curly} [bracket] `tick`",
    "emoji 🧑‍💻🔐 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "שלום עולם مرحبا",
    "  leading and trailing spaces  ",
)

# A whole day about a month ahead of the real clock: stores that expire keys on their own
# clock (Redis) keep the suite's rows, whatever day the suite runs.
NOW_MS = (int(time.time()) // 86_400 + 30) * 86_400_000
DAY_MS = 86_400_000


def fast_password_hasher() -> Argon2idHasher:
    """An Argon2id hasher with tiny parameters: for test suites only, never production."""
    return Argon2idHasher(memory_cost=1024, time_cost=1, parallelism=1)


def new_id(prefix: str) -> str:
    """A fresh id for a test row."""
    return f"{prefix}_{secrets.token_hex(8)}"


def user_row(username: str | None = "ada", **extra: Any) -> UserRow:
    """A user row with a fresh id."""
    return UserRow(id=new_id("user"), attributes={"username": username, **extra})


def key_row(user_id: str, *, primary: bool = False, password: str | None = None, expires: int | None = None) -> KeyRow:
    """A key row with a fresh id."""
    return KeyRow(
        id=f"email:{new_id('k')}", user_id=user_id, primary_key=primary, hashed_password=password, expires=expires
    )


def session_row(user_id: str, *, active: int = NOW_MS + DAY_MS, idle: int = NOW_MS + 2 * DAY_MS) -> SessionRow:
    """A session row with a fresh id (the four Lucia-JS columns and a sign-in time)."""
    return SessionRow(
        id=secrets.token_hex(32), user_id=user_id, active_expires=active, idle_expires=idle, created_at=NOW_MS
    )


async def stored_form(adapter: Any, row: SessionRow) -> SessionRow:
    """``row`` as a store keeps it: fields its session table has no column for read back as defaults."""
    columns = await adapter.session_columns()
    if columns is None:
        return row
    defaults: dict[str, Any] = {
        name: None
        for name in ("created_at", "active_period", "idle_period", "absolute_period", "previous_id", "previous_expires")
        if name not in columns
    }
    kept = {name: value for name, value in row.attributes.items() if name in columns and value is not None}
    return dataclasses.replace(
        row, **defaults, attributes=kept, persistent=row.persistent or "persistent" not in columns
    )


async def gather_outcomes(count: int, call: Callable[[], Awaitable[Any]]) -> list[Any]:
    """Run ``call`` ``count`` times concurrently; return each result or the exception it raised."""
    results: list[Any] = [None] * count

    async def one(index: int) -> None:
        try:
            results[index] = await call()
        except Exception as exc:  # the outcomes are what the tests assert on
            results[index] = exc

    async with anyio.create_task_group() as group:
        for index in range(count):
            group.start_soon(one, index)
    return results


def required_fixture(name: str, doc: str) -> Any:
    """A fixture of a suite that each store's test class must supply; a test run without it fails, saying so.

    Assign it to the attribute of the same name: ``faults = required_fixture("faults", "...")``.

    Args:
        name: The fixture's name.
        doc: What the fixture gives (its docstring, and the failure's message).
    """

    def missing(self: object) -> NoReturn:
        pytest.fail(f"the suite needs a `{name}` fixture, which the store's test class supplies: {doc}")

    missing.__name__ = missing.__qualname__ = name
    missing.__doc__ = f"{doc} A store's test class must supply it."
    return pytest.fixture(name=name)(missing)


class Harness:
    """Fixtures shared by every suite class. Subclasses supply ``adapter``.

    Capabilities are declared, never guessed (:attr:`capabilities`). A suite test of a
    capability the adapter does not declare is skipped with its reason.
    """

    pytestmark = pytest.mark.anyio
    #: Optional abilities this adapter declares; see :mod:`lucia.testing`.
    capabilities: ClassVar[frozenset[str]] = frozenset(
        {"get_session_and_user", "user_foreign_key", "session_policy_columns"}
    )

    @pytest.fixture
    def anyio_backend(self) -> str:
        return "asyncio"

    @pytest.fixture(autouse=True)
    def _lucia_capabilities(self, request: pytest.FixtureRequest) -> None:
        needed = getattr(request.function, "_lucia_capability", None)
        if needed is not None and needed not in self.capabilities:
            pytest.skip(f"{type(self).__name__} does not declare the capability {needed!r}")

    @pytest.fixture
    def user_adapter(self, adapter: Any) -> Any:
        """The store for users that sessions point at; the adapter itself unless overridden."""
        return adapter

    raw_dump = required_fixture("raw_dump", "Every stored row as text (an async callable; SECURITY S2).")

    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    def auth(self, adapter: Any, user_adapter: Any, clock: FakeClock) -> Lucia:
        store: Any = adapter if user_adapter is adapter else {"user": user_adapter, "session": adapter}
        return Lucia(adapter=store, clock=clock, password_hasher=fast_password_hasher())

    async def _stored_user(self, user_adapter: Any) -> str:
        user = user_row()
        await user_adapter.set_user(user, None)
        return user.id


async def refused_with(code: str, call: Callable[..., Awaitable[object]], *args: Any, **kwargs: Any) -> None:
    """Check that ``await call(*args, **kwargs)`` raises a :class:`~lucia.LuciaError` with ``code``."""
    with pytest.raises(LuciaError) as info:
        await call(*args, **kwargs)
    assert info.value.code == code


def token_readers(auth: Lucia) -> tuple[Callable[[str], Awaitable[object]], ...]:
    """Every method of ``auth`` that looks a session token up (SECURITY S5 checks its shape first)."""
    return (
        auth.validate_session,
        auth.validate_session_user,
        auth.get_session,
        auth.get_session_user,
        auth.renew_session,
    )


def needs(capability: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a suite test as applying only to adapters that declare ``capability``."""

    def mark(test: Callable[..., Any]) -> Callable[..., Any]:
        test._lucia_capability = capability  # type: ignore[attr-defined]
        return test

    return mark
