"""Fixtures for lucia-webauthn: Lucia on memory and on SQLite, a software authenticator, whole flows.

- ``adapter`` / ``auth`` / ``passkeys``: parametrised over ``MemoryAdapter`` and
  ``SQLiteAdapter`` (a file database), on a ``FakeClock``.
- ``authenticator``: a :class:`_soft_authenticator.SoftAuthenticator`.
- ``flows``: a whole registration or sign-in in one call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from _soft_authenticator import ORIGIN, RP_ID, SoftAuthenticator

from lucia import Lucia, User
from lucia.adapters.memory import MemoryAdapter
from lucia.testing import FakeClock, fast_password_hasher
from lucia_sqlite import SQLiteAdapter
from lucia_webauthn import PasskeyCredential, Passkeys


@pytest.fixture(params=["memory", "sqlite"])
async def adapter(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """Each flow runs on the reference adapter and on SQLite (the other adapters run the storage suite)."""
    if request.param == "memory":
        yield MemoryAdapter()
        return
    sqlite = SQLiteAdapter(tmp_path / "auth.db")
    await sqlite.create_schema(user_columns={"username": "string"})
    yield sqlite
    await sqlite.close()


@pytest.fixture
def auth(adapter: Any, clock: FakeClock) -> Lucia:
    return Lucia(adapter=adapter, clock=clock, password_hasher=fast_password_hasher())


@pytest.fixture
def passkeys(auth: Lucia) -> Passkeys:
    return Passkeys(auth, rp_id=RP_ID, rp_name="Example", origins=[ORIGIN])


@pytest.fixture
def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator()


@pytest.fixture
async def user(auth: Lucia) -> User:
    return await auth.create_user(primary_key=None, attributes={"username": "ada"})


class Flows:
    """Whole ceremonies in one call, for tests about what comes after."""

    def __init__(self, passkeys: Passkeys) -> None:
        self.passkeys = passkeys

    async def register(
        self, user: User, authenticator: SoftAuthenticator, *, name: str | None = None
    ) -> PasskeyCredential:
        options, challenge_id = await self.passkeys.begin_registration(user.user_id, user_name="ada@example.com")
        return await self.passkeys.finish_registration(
            user.user_id, challenge_id, authenticator.create(options), name=name
        )

    async def sign_in(
        self, authenticator: SoftAuthenticator, user_id: str | None = None, **spoil: Any
    ) -> tuple[User, PasskeyCredential]:
        options, challenge_id = await self.passkeys.begin_authentication(user_id)
        return await self.passkeys.finish_authentication(challenge_id, authenticator.get(options, **spoil))


@pytest.fixture
def flows(passkeys: Passkeys) -> Flows:
    return Flows(passkeys)
