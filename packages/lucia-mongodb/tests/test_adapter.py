"""The conformance suite and MongoDB-specific promises, on PyMongo's async client and on Motor."""

from __future__ import annotations

import gc
import secrets
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import pytest
from bson import json_util
from motor.motor_asyncio import AsyncIOMotorClient
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from lucia import Lucia, LuciaError
from lucia.adapters import KeyRow, UserRow
from lucia.testing import AdapterTests, fast_password_hasher
from lucia.testing.services import free_port, unique_name
from lucia_mongodb import MongoDBAdapter

pytestmark = pytest.mark.anyio

COLLECTIONS = ("auth_user", "auth_session", "auth_key")


async def dump_database(database: Any) -> str:
    """Every document of the three collections, as extended JSON (SECURITY S2)."""
    docs: list[Any] = []
    for name in COLLECTIONS:
        docs += [doc async for doc in database[name].find({})]
    return json_util.dumps(docs)


class _MongoSuite(AdapterTests):
    transactions: bool | None = None

    @pytest.fixture
    async def database(self, mongodb_url: str, database_name: str) -> AsyncIterator[Any]:
        client: AsyncMongoClient[Any] = AsyncMongoClient(mongodb_url)
        yield client[database_name]
        await client.close()

    @pytest.fixture
    async def adapter(self, database: Any) -> MongoDBAdapter:
        adapter = MongoDBAdapter(database, transactions=self.transactions)
        await adapter.create_indexes()
        return adapter

    @pytest.fixture
    def raw_dump(self, database: Any) -> Callable[[], Awaitable[str]]:
        return lambda: dump_database(database)


class TestPyMongo(_MongoSuite):
    """PyMongo's native async client; transactions as the server offers them."""


class TestPyMongoWithoutTransactions(_MongoSuite):
    """The standalone-server path of ``set_user``: key first, user second, compensation."""

    transactions = False


class TestMotor(_MongoSuite):
    """A Motor database, for applications that have not moved to PyMongo's async client yet."""

    @pytest.fixture
    async def database(self, mongodb_url: str, database_name: str) -> AsyncIterator[Any]:
        client = AsyncIOMotorClient(mongodb_url)
        yield client[database_name]
        client.close()


@pytest.fixture
async def database(mongodb_url: str) -> AsyncIterator[AsyncDatabase[Any]]:
    """A fresh database for one test, dropped afterwards."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongodb_url)
    name = unique_name("lucia_test")
    yield client[name]
    await client.drop_database(name)
    await client.close()


@pytest.mark.parametrize("transactions", [None, False], ids=["transactions-auto", "compensation"])
async def test_d1_fifty_concurrent_sign_ups_with_one_key_make_one_user(
    database: AsyncDatabase[Any], transactions: bool | None
) -> None:
    """Of 50 concurrent ``create_user`` calls with one primary key: 1 user, 49 ``AUTH_DUPLICATE_KEY_ID``."""
    adapter = MongoDBAdapter(database, transactions=transactions)
    await adapter.create_indexes()
    auth = Lucia(adapter=adapter, password_hasher=fast_password_hasher())
    primary_key = {"provider_id": "email", "provider_user_id": "race@example.com", "password": None}

    results: list[Any] = []

    async def sign_up() -> None:
        try:
            results.append(await auth.create_user(primary_key=primary_key, attributes={"username": "racer"}))
        except LuciaError as exc:
            results.append(exc)

    async with anyio.create_task_group() as group:
        for _ in range(50):
            group.start_soon(sign_up)
    winners = [r for r in results if not isinstance(r, LuciaError)]
    losers = [r for r in results if isinstance(r, LuciaError)]
    assert len(winners) == 1 and len(losers) == 49
    assert {e.code for e in losers} == {"AUTH_DUPLICATE_KEY_ID"}
    assert await database["auth_user"].count_documents({}) == 1
    assert (await database["auth_key"].find_one({"_id": "email:race@example.com"}))["user_id"] == winners[0].user_id


async def test_transactions_are_used_on_a_replica_set_and_not_on_a_standalone_server(
    secantus_url: str, standalone_mongodb_url: str
) -> None:
    """``set_user`` detects transactions from ``hello``: a replica set has them, a standalone server not."""
    for url, expected in ((secantus_url, True), (standalone_mongodb_url, False)):
        client: AsyncMongoClient[Any] = AsyncMongoClient(url)
        name = unique_name("lucia_test")
        try:
            adapter = MongoDBAdapter(client[name])
            assert await adapter.uses_transactions() is expected
            user = UserRow("solo", {"username": "solo"})
            await adapter.set_user(user, KeyRow("email:solo", "solo", True, None, None))
            assert await adapter.get_user("solo") == user
            with pytest.raises(LuciaError) as info:
                await adapter.set_user(UserRow("other", {}), KeyRow("email:solo", "other", True, None, None))
            assert info.value.code == "AUTH_DUPLICATE_KEY_ID"
            assert await adapter.get_user("other") is None
        finally:
            await client.drop_database(name)
            await client.close()


async def test_standalone_compensation_removes_the_key_when_the_user_insert_fails(
    database: AsyncDatabase[Any],
) -> None:
    """Without transactions, a taken user id fails ``set_user`` and the new key is deleted again."""
    adapter = MongoDBAdapter(database, transactions=False)
    await adapter.set_user(UserRow("taken", {"username": "first"}), None)
    with pytest.raises(LuciaError) as info:
        await adapter.set_user(UserRow("taken", {"username": "second"}), KeyRow("email:new", "taken", True, None, None))
    assert info.value.code == "AUTH_INVALID_USER_ID"
    assert await database["auth_key"].count_documents({}) == 0


async def test_create_indexes_indexes_user_id(database: AsyncDatabase[Any]) -> None:
    """``create_indexes`` adds a ``user_id`` index to the session and key collections, idempotently."""
    adapter = MongoDBAdapter(database)
    await adapter.create_indexes()
    await adapter.create_indexes()
    for name in ("auth_session", "auth_key"):
        keys = [dict(index["key"]) async for index in await database[name].list_indexes()]
        assert {"user_id": 1} in keys


async def test_collection_names_are_configurable(database: AsyncDatabase[Any]) -> None:
    """Custom collection names hold the documents, ``$lookup`` included."""
    from lucia.adapters.sql import TableNames

    adapter = MongoDBAdapter(database, collections=TableNames(user="people", session="visits", key="logins"))
    auth = Lucia(adapter=adapter, password_hasher=fast_password_hasher())
    user = await auth.create_user(
        primary_key={"provider_id": "email", "provider_user_id": "a@example.com", "password": None},
        attributes={"username": "ada"},
    )
    session = await auth.create_session(user.user_id)
    assert (await auth.validate_session_user(session.token or ""))[1] == user
    assert sorted(await database.list_collection_names()) == ["logins", "people", "visits"]


async def test_validate_session_user_is_one_round_trip(mongodb_url: str) -> None:
    """``validate_session_user`` sends exactly one command: an ``aggregate`` with ``$lookup``."""

    class Commands(monitoring.CommandListener):
        def __init__(self) -> None:
            self.names: list[str] = []

        def started(self, event: monitoring.CommandStartedEvent) -> None:
            self.names.append(event.command_name)

        def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
            pass

        def failed(self, event: monitoring.CommandFailedEvent) -> None:
            pass

    listener = Commands()
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongodb_url, event_listeners=[listener])
    name = unique_name("lucia_test")
    try:
        auth = Lucia(adapter=MongoDBAdapter(client[name]), password_hasher=fast_password_hasher())
        user = await auth.create_user(primary_key=None, attributes={"username": "ada"})
        session = await auth.create_session(user.user_id)
        listener.names.clear()
        _, got = await auth.validate_session_user(session.token or "")
        assert got.user_id == user.user_id
        assert listener.names == ["aggregate"]
    finally:
        await client.drop_database(name)
        await client.close()


async def test_an_id_attribute_is_refused(database: AsyncDatabase[Any]) -> None:
    """``_id`` is the user id: an attribute of that name is refused, not silently written."""
    adapter = MongoDBAdapter(database)
    with pytest.raises(LuciaError) as info:
        await adapter.set_user(UserRow("u1", {"_id": "other"}), None)
    assert info.value.code == "AUTH_INVALID_INPUT"
    await adapter.set_user(UserRow("u1", {"username": "a"}), None)
    with pytest.raises(LuciaError):
        await adapter.update_user("u1", {"_id": "other"})
    assert await adapter.get_user("u1") == UserRow("u1", {"username": "a"})


@pytest.fixture
async def dead_database() -> AsyncIterator[AsyncDatabase[Any]]:
    """A database on a port nobody listens on: every command fails after a short server selection."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{free_port()}/?directConnection=true", serverSelectionTimeoutMS=300
    )
    yield client["nowhere"]
    await client.close()
    # PyMongo's async client leaks the socket of a refused connection (seen with 4.9-4.20);
    # collect it here, quietly, rather than let its ResourceWarning land on a later test.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


async def test_d2_unreachable_database_never_authenticates(dead_database: AsyncDatabase[Any]) -> None:
    """With the server down, validation raises the driver error instead of returning a session."""
    auth = Lucia(adapter=MongoDBAdapter(dead_database))
    token = secrets.token_hex(20)
    with pytest.raises(PyMongoError):
        await auth.validate_session_user(token)
    with pytest.raises(PyMongoError):
        await auth.validate_session(token)


async def test_d3_bounds_are_checked_before_any_database_call(dead_database: AsyncDatabase[Any]) -> None:
    """Oversized, empty or NUL-carrying input is refused before the adapter talks to MongoDB."""
    auth = Lucia(adapter=MongoDBAdapter(dead_database), password_hasher=fast_password_hasher())
    with pytest.raises(LuciaError) as info:
        await auth.validate_session("t" * 5000)
    assert info.value.code == "AUTH_INVALID_SESSION_ID"
    for call in (
        lambda: auth.get_user("u" * 300),
        lambda: auth.create_session(""),
        lambda: auth.use_key("email", "x" * 300, "pw"),
        lambda: auth.use_key("email", "a@example.com", "p" * 5000),
        lambda: auth.create_user(primary_key=None, attributes={"username": "x\x00" * 600_000}),
    ):
        with pytest.raises(LuciaError) as info:
            await call()
        assert info.value.code == "AUTH_INVALID_INPUT"


async def test_delete_user_also_removes_keys_and_sessions_written_after_the_core_cleared_them(
    database: AsyncDatabase[Any],
) -> None:
    """``delete_user`` deletes the user, then any key or session of it a concurrent insert slipped in."""
    adapter = MongoDBAdapter(database)
    await adapter.set_user(UserRow("leaving", {"username": "x"}), None)
    await database["auth_key"].insert_one({"_id": "email:late", "user_id": "leaving", "primary_key": False})
    await database["auth_session"].insert_one(
        {"_id": "late", "user_id": "leaving", "active_expires": 1, "idle_expires": 2}
    )
    await adapter.delete_user("leaving")
    assert await adapter.get_user("leaving") is None
    assert await adapter.get_keys_by_user_id("leaving") == []
    assert await adapter.get_sessions_by_user_id("leaving") == []
