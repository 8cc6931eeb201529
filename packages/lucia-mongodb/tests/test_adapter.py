"""The conformance suites and MongoDB-specific promises, on PyMongo's async client and on Motor."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import secrets
import subprocess
import sys
import textwrap
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import pytest
from bson import json_util
from motor.motor_asyncio import AsyncIOMotorClient
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import InvalidOperation, PyMongoError

from lucia import (
    InvalidInputError,
    InvalidPasswordError,
    Lucia,
    LuciaError,
    StorageError,
    StorageUnavailableError,
    SyncLucia,
)
from lucia.adapters import KeyRow, SessionRow, UserRow
from lucia.adapters.sql import TableNames
from lucia.testing import (
    AdapterTests,
    FakeClock,
    PasskeyStoreTests,
    SyncPathTests,
    ThrottleStoreTests,
    fast_password_hasher,
)
from lucia.testing._sync_suite import _in_threads
from lucia.testing._throttle_suite import StoreRecipe
from lucia.testing.services import free_port, unique_name
from lucia.throttle import Backoff, Throttle
from lucia_mongodb import MongoDBAdapter
from lucia_testkit import FaultProxy

pytestmark = pytest.mark.anyio

DAY_MS = 86_400_000


async def dump_database(database: Any) -> str:
    """Every document of every collection, as extended JSON (SECURITY S2)."""
    docs: list[Any] = []
    for name in sorted(await database.list_collection_names()):
        docs += [doc async for doc in database[name].find({})]
    return json_util.dumps(docs)


class _MongoSuite(AdapterTests, PasskeyStoreTests, ThrottleStoreTests):
    capabilities = frozenset(
        {"get_session_and_user", "user_foreign_key", "shared_across_processes", "session_policy_columns"}
    )
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

    @pytest.fixture
    def throttle_store(self, adapter: MongoDBAdapter) -> Any:
        return adapter.throttle_store()

    @pytest.fixture
    def throttle_store_recipe(self, mongodb_url: str, database_name: str) -> StoreRecipe:
        return (
            "lucia_mongodb:MongoDBAdapter.from_url",
            {"url": mongodb_url, "database": database_name},
            "throttle_store",
        )


class TestPyMongo(_MongoSuite):
    """PyMongo's native async client; transactions as the server offers them (SecantusDB: a replica set)."""


class TestPyMongoWithoutTransactions(_MongoSuite):
    """The standalone-server paths: ``set_user`` key first with compensation, ``delete_user`` without a transaction."""

    transactions = False


class TestMotor(_MongoSuite):
    """A Motor database, for applications that have not moved to PyMongo's async client yet."""

    @pytest.fixture
    async def database(self, mongodb_url: str, database_name: str) -> AsyncIterator[Any]:
        client = AsyncIOMotorClient(mongodb_url)
        yield client[database_name]
        client.close()


class TestBlockingTwin(_MongoSuite):
    """The blocking twin (the same adapter over PyMongo's synchronous client) passes the suites it mirrors."""

    # The cross-process test counts on the server; TestPyMongo runs it, on the same documents.
    capabilities = _MongoSuite.capabilities - {"shared_across_processes"}

    @pytest.fixture
    async def adapter(self, database: Any) -> AsyncIterator[MongoDBAdapter]:
        origin = MongoDBAdapter(database)
        twin = origin.blocking_twin()
        assert twin is not None and origin.blocking_twin() is twin and twin.blocking_twin() is twin
        await twin.create_indexes()
        yield twin
        await origin.close()

    @pytest.fixture
    def throttle_store(self, adapter: MongoDBAdapter) -> Any:
        store = adapter.throttle_store()
        assert store.blocking_twin() is store
        return store


class TestMongoSyncPath(SyncPathTests):
    """SyncLucia over MongoDBAdapter: PyMongo's synchronous client in the calling thread, under real threads."""

    @pytest.fixture
    async def adapter(self, mongodb_url: str, database_name: str) -> AsyncIterator[MongoDBAdapter]:
        client: AsyncMongoClient[Any] = AsyncMongoClient(mongodb_url)
        adapter = MongoDBAdapter(client[database_name])
        await adapter.create_indexes()
        yield adapter
        await adapter.close()
        await client.close()


@pytest.fixture
async def database(mongodb_url: str) -> AsyncIterator[AsyncDatabase[Any]]:
    """A fresh database for one test, dropped afterwards."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongodb_url)
    name = unique_name("lucia_test")
    yield client[name]
    await client.drop_database(name)
    await client.close()


@pytest.fixture
async def adapter(database: AsyncDatabase[Any]) -> MongoDBAdapter:
    """An adapter with its indexes on the fresh database."""
    adapter = MongoDBAdapter(database)
    await adapter.create_indexes()
    return adapter


class Commands(monitoring.CommandListener):
    """The names of the commands a client sends."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
async def monitored(mongodb_url: str) -> AsyncIterator[tuple[MongoDBAdapter, Commands]]:
    """An adapter whose client records every command it sends."""
    listener = Commands()
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongodb_url, event_listeners=[listener])
    name = unique_name("lucia_test")
    adapter = MongoDBAdapter(client[name])
    await adapter.create_indexes()
    yield adapter, listener
    await client.drop_database(name)
    await client.close()


def session(user_id: str, **changes: Any) -> SessionRow:
    """A live session row of ``user_id`` with a fresh id."""
    row = SessionRow(secrets.token_hex(32), user_id, 10**13, 10**13 + DAY_MS, created_at=10**12)
    return dataclasses.replace(row, **changes)


# -- sign-up -------------------------------------------------------------------------


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


@pytest.mark.parametrize("twin", [False, True], ids=["async", "blocking-twin"])
async def test_transactions_are_used_on_a_replica_set_and_not_on_a_standalone_server(
    secantus_url: str, standalone_mongodb_url: str, twin: bool
) -> None:
    """``set_user`` detects transactions from ``hello``: a replica set has them, a standalone server not."""
    for url, expected in ((secantus_url, True), (standalone_mongodb_url, False)):
        client: AsyncMongoClient[Any] = AsyncMongoClient(url)
        name = unique_name("lucia_test")
        origin = MongoDBAdapter(client[name])
        try:
            adapter = origin.blocking_twin() if twin else origin
            assert adapter is not None
            assert await adapter.uses_transactions() is expected
            user = UserRow("solo", {"username": "solo"})
            await adapter.set_user(user, KeyRow("email:solo", "solo", True, None, None))
            assert await adapter.get_user("solo") == user
            with pytest.raises(LuciaError) as info:
                await adapter.set_user(UserRow("other", {}), KeyRow("email:solo", "other", True, None, None))
            assert info.value.code == "AUTH_DUPLICATE_KEY_ID"
            assert await adapter.get_user("other") is None
            await adapter.set_session(session("solo"))
            await adapter.delete_user("solo")
            assert await adapter.get_user("solo") is None
            assert await adapter.get_sessions_by_user_id("solo") == []
        finally:
            await origin.close()
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


# -- schema --------------------------------------------------------------------------


async def test_create_indexes_indexes_what_the_queries_use(database: AsyncDatabase[Any]) -> None:
    """``create_indexes`` adds the ``user_id``, ``previous_id`` and expiry indexes, idempotently."""
    adapter = MongoDBAdapter(database)
    await adapter.create_indexes()
    await adapter.create_indexes()

    async def keys(name: str) -> list[dict[str, Any]]:
        return [dict(index["key"]) async for index in await database[name].list_indexes()]

    for name in ("auth_session", "auth_key", "auth_passkey"):
        assert {"user_id": 1} in await keys(name)
    assert {"previous_id": 1} in await keys("auth_session")
    assert {"idle_expires": 1} in await keys("auth_session")
    assert {"expires": 1} in await keys("auth_passkey_challenge")
    assert {"expires": 1} in await keys("auth_throttle")
    assert {"key": 1, "at": 1} in await keys("auth_throttle_event")


async def test_collection_names_are_configurable(database: AsyncDatabase[Any]) -> None:
    """Custom collection names hold the documents, ``$lookup`` included."""
    adapter = MongoDBAdapter(database, collections=TableNames(user="people", session="visits", key="logins"))
    auth = Lucia(adapter=adapter, password_hasher=fast_password_hasher())
    user = await auth.create_user(
        primary_key={"provider_id": "email", "provider_user_id": "a@example.com", "password": None},
        attributes={"username": "ada"},
    )
    session_ = await auth.create_session(user.user_id)
    assert (await auth.validate_session_user(session_.token or ""))[1] == user
    assert sorted(await database.list_collection_names()) == ["logins", "people", "visits"]


async def test_validate_session_user_is_one_round_trip(monitored: tuple[MongoDBAdapter, Commands]) -> None:
    """``validate_session_user`` sends exactly one command: an ``aggregate`` with ``$lookup``."""
    adapter, listener = monitored
    auth = Lucia(adapter=adapter, password_hasher=fast_password_hasher())
    user = await auth.create_user(primary_key=None, attributes={"username": "ada"})
    created = await auth.create_session(user.user_id)
    listener.names.clear()
    _, got = await auth.validate_session_user(created.token or "")
    assert got.user_id == user.user_id
    assert listener.names == ["aggregate"]


async def test_b4_a_throttle_hit_is_one_find_and_modify(monitored: tuple[MongoDBAdapter, Commands]) -> None:
    """Once a key has its document, each ``hit`` is a single ``findAndModify``: the rule runs on the server."""
    adapter, listener = monitored
    store = adapter.throttle_store()
    backoff = Backoff(max_failures=2, base_delay=1_000, max_delay=4_000, forget_after=60_000)
    assert await store.hit("k:one", now=1_000_000, backoff=backoff) == 0
    listener.names.clear()
    waits = [await store.hit("k:one", now=1_000_000, backoff=backoff) for _ in range(3)]
    assert waits == [0, 1_000, 1_000]
    assert listener.names == ["findAndModify"] * 3


# -- sessions: documents and the renewal protocol ------------------------------------


async def test_session_attributes_are_document_fields(adapter: MongoDBAdapter, database: AsyncDatabase[Any]) -> None:
    """Session attributes are stored as fields of the session document, next to the policy fields."""
    await adapter.set_user(UserRow("ada", {}), None)
    row = session("ada", persistent=False, attributes={"device": "Firefox", "ip_address": "192.0.2.1"})
    await adapter.set_session(row)
    doc = await database["auth_session"].find_one({"_id": row.id})
    assert doc is not None
    assert (doc["device"], doc["ip_address"], doc["persistent"], doc["user_id"]) == (
        "Firefox",
        "192.0.2.1",
        False,
        "ada",
    )


@pytest.mark.parametrize("name", ["_id", "_renewal_of", "_replaced_by", "_user", "active_period", "Idle_Period"])
async def test_h5_session_attribute_names_reserved_in_documents_are_refused(
    adapter: MongoDBAdapter, database: AsyncDatabase[Any], name: str
) -> None:
    """Attribute names that would overwrite a stored or internal field are refused, nothing written."""
    await adapter.set_user(UserRow("ada", {}), None)
    with pytest.raises(InvalidInputError):
        await adapter.set_session(session("ada", attributes={name: "x"}))
    assert await database["auth_session"].count_documents({}) == 0


async def test_a_lucia_js_session_document_reads_with_the_default_policy(
    adapter: MongoDBAdapter, database: AsyncDatabase[Any]
) -> None:
    """A four-field Lucia-JS 1.x session document is a session; renewing it moves it to the new id."""
    await adapter.set_user(UserRow("js", {}), None)
    await database["auth_session"].insert_one({"_id": "old", "user_id": "js", "active_expires": 5, "idle_expires": 9})
    row = await adapter.get_session("old")
    assert row == SessionRow("old", "js", 5, 9)
    renewed = dataclasses.replace(row, id="new", active_expires=50, idle_expires=90)
    assert await adapter.renew_session("old", renewed)
    assert await adapter.get_session("new") == renewed
    assert await adapter.get_session("old") is None  # no grace asked for: the old id names nothing
    assert await database["auth_session"].count_documents({}) == 1


async def _committed_but_unconfirmed(
    database: AsyncDatabase[Any], user_id: str, *, confirmed: bool = False
) -> tuple[SessionRow, SessionRow]:
    """The documents a renewal leaves when it stops right after its commit (or its confirmation)."""
    old = session(user_id)
    renewed = dataclasses.replace(
        old,
        id=secrets.token_hex(32),
        active_expires=old.active_expires + DAY_MS,
        idle_expires=old.idle_expires + DAY_MS,
        previous_id=old.id,
        previous_expires=10**13,
    )
    sessions = database["auth_session"]
    await sessions.insert_one({**_fields(old), "_replaced_by": renewed.id})
    await sessions.insert_one({**_fields(renewed), **({} if confirmed else {"_renewal_of": old.id})})
    return old, renewed


def _fields(row: SessionRow) -> dict[str, Any]:
    doc = {k: v for k, v in dataclasses.asdict(row).items() if v is not None and k not in ("id", "attributes")}
    return {**doc, "_id": row.id}


async def test_s7_an_uncommitted_renewal_is_invisible(adapter: MongoDBAdapter, database: AsyncDatabase[Any]) -> None:
    """A renewal stopped before its commit (a pending document only) changes nothing anyone sees."""
    await adapter.set_user(UserRow("ada", {}), None)
    old = session("ada")
    await adapter.set_session(old)
    pending = dataclasses.replace(old, id=secrets.token_hex(32), previous_id=old.id, previous_expires=10**13)
    await database["auth_session"].insert_one({**_fields(pending), "_renewal_of": old.id})
    assert await adapter.get_session(old.id) == old
    assert await adapter.get_session(pending.id) is None
    assert await adapter.get_sessions_by_user_id("ada") == [old]
    assert await adapter.get_session_and_user(old.id) == (old, UserRow("ada", {}))
    assert await adapter.renew_session(old.id, dataclasses.replace(pending, id=secrets.token_hex(32)))


async def test_s7_a_committed_renewal_is_the_session_before_it_is_confirmed(
    adapter: MongoDBAdapter, database: AsyncDatabase[Any]
) -> None:
    """After the commit, the old id finds the renewal (grace), the list shows it once, renewing again fails."""
    await adapter.set_user(UserRow("ada", {}), None)
    old, renewed = await _committed_but_unconfirmed(database, "ada")
    assert await adapter.get_session(old.id) == renewed
    assert await adapter.get_session(renewed.id) == renewed
    assert await adapter.get_sessions_by_user_id("ada") == [renewed]
    assert await adapter.get_session_and_user(old.id) == (renewed, UserRow("ada", {}))
    assert not await adapter.renew_session(old.id, dataclasses.replace(renewed, id=secrets.token_hex(32)))


@pytest.mark.parametrize("confirmed", [False, True], ids=["committed", "confirmed"])
@pytest.mark.parametrize("revoke", ["delete_session", "delete_sessions_by_user_id", "delete_user"])
async def test_s7_revoking_during_a_renewal_revokes_the_renewal(
    adapter: MongoDBAdapter, database: AsyncDatabase[Any], revoke: str, confirmed: bool
) -> None:
    """Every revocation of a session whose renewal committed (or was confirmed) but did not finish removes both."""
    await adapter.set_user(UserRow("ada", {}), None)
    old, renewed = await _committed_but_unconfirmed(database, "ada", confirmed=confirmed)
    assert await adapter.get_session(old.id) == renewed
    if revoke == "delete_session":
        await adapter.delete_session(old.id)
    elif revoke == "delete_sessions_by_user_id":
        await adapter.delete_sessions_by_user_id("ada")
    else:
        await adapter.delete_user("ada")
    assert await adapter.get_session(old.id) is None
    assert await adapter.get_session(renewed.id) is None
    assert await database["auth_session"].count_documents({}) == 0


async def test_delete_expired_keeps_an_interrupted_renewal(
    adapter: MongoDBAdapter, database: AsyncDatabase[Any]
) -> None:
    """Cleanup confirms a committed renewal before deleting its expired old document; dead sessions go."""
    await adapter.set_user(UserRow("ada", {}), None)
    old, renewed = await _committed_but_unconfirmed(database, "ada")
    dead = session("ada", active_expires=1, idle_expires=2)
    await adapter.set_session(dead)
    await adapter.delete_expired(old.idle_expires)
    assert await adapter.get_session(dead.id) is None
    assert await adapter.get_session(renewed.id) == renewed
    assert await database["auth_session"].count_documents({}) == 1


# -- users ---------------------------------------------------------------------------


async def test_delete_user_also_removes_keys_and_sessions_written_after_the_core_cleared_them(
    database: AsyncDatabase[Any],
) -> None:
    """``delete_user`` deletes the user, then any key, passkey or session of it a concurrent insert slipped in."""
    adapter = MongoDBAdapter(database)
    await adapter.set_user(UserRow("leaving", {"username": "x"}), None)
    await database["auth_key"].insert_one({"_id": "email:late", "user_id": "leaving", "primary_key": False})
    await database["auth_session"].insert_one(
        {"_id": "late", "user_id": "leaving", "active_expires": 1, "idle_expires": 2}
    )
    await database["auth_passkey"].insert_one({"_id": "cred", "user_id": "leaving"})
    await adapter.delete_user("leaving")
    assert await adapter.get_user("leaving") is None
    assert await adapter.get_keys_by_user_id("leaving") == []
    assert await adapter.get_sessions_by_user_id("leaving") == []
    assert await adapter.get_passkey_credentials_by_user_id("leaving") == []


# -- faults and timeouts -------------------------------------------------------------


@pytest.fixture
async def dead_database() -> AsyncIterator[AsyncDatabase[Any]]:
    """A database on a port nobody listens on."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(f"mongodb://127.0.0.1:{free_port()}/?directConnection=true")
    yield client["nowhere"]
    await client.close()
    # PyMongo's async client leaks the socket of a refused connection (seen with 4.9-4.20);
    # collect it here, quietly, rather than let its ResourceWarning land on a later test.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


async def test_d2_unreachable_database_never_authenticates(dead_database: AsyncDatabase[Any]) -> None:
    """With the server down, validation raises ``StorageUnavailableError`` (cause: PyMongo's error)."""
    auth = Lucia(adapter=MongoDBAdapter(dead_database, timeout_ms=300))
    token = secrets.token_hex(20)
    for validate in (auth.validate_session_user, auth.validate_session):
        with anyio.fail_after(10), pytest.raises(StorageUnavailableError) as info:
            await validate(token)
        assert info.value.code == "AUTH_STORAGE_UNAVAILABLE"
        assert isinstance(info.value.__cause__, PyMongoError)


@contextlib.asynccontextmanager
async def behind_a_proxy(mongodb_url: str, database_name: str) -> AsyncIterator[tuple[FaultProxy, MongoDBAdapter]]:
    """An adapter (``timeout_ms=500``) that reaches the server through a :class:`FaultProxy`, and the proxy.

    Afterwards the proxy passes traffic again and the adapter (with its client) is closed.
    """
    host, port = mongodb_url.split("//", 1)[1].split("/", 1)[0].split(":")
    with FaultProxy((host, int(port))) as proxy:
        adapter = MongoDBAdapter.from_url(
            f"mongodb://127.0.0.1:{proxy.port}/?directConnection=true", database=database_name, timeout_ms=500
        )
        try:
            yield proxy, adapter
        finally:
            proxy.resume()
            await adapter.close()


async def test_a_stalled_server_fails_the_call_in_bounded_time(mongodb_url: str, database_name: str) -> None:
    """With the server stalled mid-connection, a call raises a storage error within its timeout; then recovers."""
    async with behind_a_proxy(mongodb_url, database_name) as (proxy, adapter):
        await adapter.set_user(UserRow("stall", {}), None)
        proxy.stall()
        with anyio.fail_after(10), pytest.raises(StorageError) as info:
            await adapter.get_user("stall")
        assert info.value.code in {"AUTH_STORAGE_TIMEOUT", "AUTH_STORAGE_UNAVAILABLE"}
        assert isinstance(info.value.__cause__, (PyMongoError, TimeoutError))
        proxy.resume()
        with anyio.fail_after(10):
            assert await adapter.get_user("stall") == UserRow("stall", {})


async def test_from_url_builds_a_client_with_timeouts(mongodb_url: str, database_name: str) -> None:
    """``from_url`` sets server selection, connect and operation timeouts; ``close`` closes its client."""
    adapter = MongoDBAdapter.from_url(mongodb_url, database=database_name)
    try:
        client = adapter._db.client
        assert client.options.server_selection_timeout == 5
        assert client.options.pool_options.connect_timeout == 5
        assert client.options.timeout == 5
        await adapter.set_user(UserRow("url", {}), None)
        assert await adapter.get_user("url") == UserRow("url", {})
    finally:
        await adapter.close()


@pytest.mark.parametrize("url", ["postgresql://127.0.0.1/app", "127.0.0.1:27017", "mongodb://127.0.0.1:27017"])
def test_from_url_refuses_other_schemes_and_a_missing_database(url: str) -> None:
    """A URL of another scheme, or one that names no database, is a clear ``ValueError``."""
    with pytest.raises(ValueError, match="mongodb"):
        MongoDBAdapter.from_url(url, connect=False)


@pytest.mark.parametrize("timeout_ms", [0, -5, 1.5, True, "5000"])
async def test_timeouts_that_cannot_work_are_refused(dead_database: AsyncDatabase[Any], timeout_ms: Any) -> None:
    """A zero, negative or non-integer ``timeout_ms`` is a ``ValueError`` at construction."""
    with pytest.raises(ValueError):
        MongoDBAdapter(dead_database, timeout_ms=timeout_ms)


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


# -- the native sync path ------------------------------------------------------------


def _run(call: Callable[[], Any]) -> Awaitable[Any]:
    """``call()`` on a worker thread (the native path blocks), abandoned if the test's deadline passes."""
    return anyio.to_thread.run_sync(call, abandon_on_cancel=True)


async def test_the_twin_is_built_from_a_from_url_adapter_and_closed_with_it(mongodb_url: str) -> None:
    """``from_url``: the twin and the throttle store's twin are the same each time; closing the adapter closes them."""
    name = unique_name("lucia_test")
    adapter = MongoDBAdapter.from_url(mongodb_url, database=name)
    store = adapter.throttle_store()
    twin, store_twin = adapter.blocking_twin(), store.blocking_twin()
    assert twin is not None and adapter.blocking_twin() is twin
    assert store_twin is not None and store.blocking_twin() is store_twin
    with SyncLucia(Lucia(adapter=adapter, throttle=Throttle(store=store))) as sync:
        assert sync.native
        user = await _run(lambda: sync.create_user(primary_key=None, attributes={"username": "url"}))
    sync_database = twin._db.client.database()
    assert sync_database.client.options.server_selection_timeout == 5
    assert sync_database.client.options.timeout == 5
    assert await adapter.get_user(user.user_id) is not None
    await adapter.close()
    with pytest.raises(InvalidOperation):
        sync_database.command("ping")
    async with AsyncMongoClient(mongodb_url) as client:
        await client.drop_database(name)


async def test_a_motor_database_gets_a_native_twin(mongodb_url: str, database_name: str) -> None:
    """A Motor database: the twin is built from the settings of the client Motor wraps."""
    client = AsyncIOMotorClient(mongodb_url)
    adapter = MongoDBAdapter(client[database_name])
    try:
        with SyncLucia(Lucia(adapter=adapter, password_hasher=fast_password_hasher(), throttle=None)) as sync:
            assert sync.native

            def sign_up_and_validate() -> bool:
                user = sync.create_user(primary_key=None, attributes={"username": "motor"})
                token = sync.create_session(user.user_id).token or ""
                return sync.validate_session_user(token)[1].user_id == user.user_id

            assert await _run(sign_up_and_validate)
    finally:
        await adapter.close()
        client.close()


async def test_b4_throttle_failures_from_sixteen_threads_are_all_counted(mongodb_url: str, database_name: str) -> None:
    """16 threads x 5 wrong passwords through SyncLucia's native throttle store: all 80 failures counted."""
    adapter = MongoDBAdapter.from_url(mongodb_url, database=database_name)
    store = adapter.throttle_store()
    throttle = Throttle(store=store, max_failures=10**6)
    # One instant for every thread (as the store suite does): the counting, not the clock, is under test.
    auth = Lucia(adapter=adapter, clock=FakeClock(), password_hasher=fast_password_hasher(), throttle=throttle)
    email = f"{secrets.token_hex(6)}@example.com"
    try:
        with SyncLucia(auth) as sync:
            assert sync.native
            key = {"provider_id": "email", "provider_user_id": email, "password": "right"}
            await _run(lambda: sync.create_user(primary_key=key, attributes={}))

            def fail(n: int) -> list[object]:
                outcomes: list[object] = []
                for _ in range(5):
                    try:
                        sync.use_key("email", email, "wrong")
                    except InvalidPasswordError as exc:
                        outcomes.append(type(exc))
                return outcomes

            results = await _run(lambda: _in_threads(16, fail))
            assert results == [[InvalidPasswordError] * 5] * 16
        state = await store.get_state(throttle.key_of(f"email:{email}"))
        assert state is not None and state.failures == 80
    finally:
        await adapter.close()


async def test_d2_the_twin_of_an_unreachable_database_raises_a_storage_error(
    dead_database: AsyncDatabase[Any],
) -> None:
    """Server down: the native path raises ``StorageUnavailableError`` (cause: PyMongo's error), bounded by PyMongo."""
    adapter = MongoDBAdapter(dead_database, timeout_ms=300)
    try:
        with SyncLucia(Lucia(adapter=adapter)) as sync:
            assert sync.native
            token = secrets.token_hex(20)
            for validate in (sync.validate_session_user, sync.validate_session):
                with anyio.fail_after(10), pytest.raises(StorageUnavailableError) as info:
                    await _run(lambda validate=validate: validate(token))  # type: ignore[misc]
                assert isinstance(info.value.__cause__, PyMongoError)
    finally:
        await adapter.close()


async def test_a_stalled_server_fails_a_native_call_in_bounded_time(mongodb_url: str, database_name: str) -> None:
    """Server stalled mid-connection: the twin raises a storage error within ``timeout_ms``, then recovers."""
    async with behind_a_proxy(mongodb_url, database_name) as (proxy, adapter):
        with SyncLucia(Lucia(adapter=adapter, throttle=None)) as sync:
            assert sync.native
            user = await _run(lambda: sync.create_user(primary_key=None, attributes={"username": "stall"}))
            proxy.stall()
            with anyio.fail_after(10), pytest.raises(StorageError) as info:
                await _run(lambda: sync.get_user(user.user_id))
            assert info.value.code in {"AUTH_STORAGE_TIMEOUT", "AUTH_STORAGE_UNAVAILABLE"}
            assert isinstance(info.value.__cause__, PyMongoError)
            proxy.resume()
            with anyio.fail_after(10):
                assert (await _run(lambda: sync.get_user(user.user_id))).user_id == user.user_id


_FORKED_WORKER = """
import os, sys, warnings
warnings.simplefilter("error")  # PyMongo warns when a client opened before fork() is used
from lucia import Lucia, SyncLucia
from lucia_mongodb import MongoDBAdapter

adapter = MongoDBAdapter.from_url({url!r}, database={database!r})
sync = SyncLucia(Lucia(adapter=adapter))
user = sync.create_user(primary_key=None, attributes={{}})   # the twin's client opens before the fork
pid = os.fork()
if pid == 0:                                                   # the worker
    session = sync.create_session(user.user_id)
    assert sync.validate_session(session.token).user_id == user.user_id
    sync.close()
    os._exit(0)
_, status = os.waitpid(pid, 0)
session = sync.create_session(user.user_id)                    # the parent's client still works too
assert sync.validate_session(session.token).user_id == user.user_id
sync.close()
sys.exit(os.waitstatus_to_exitcode(status))
"""


def test_a_worker_forked_after_start_up_opens_its_own_client(mongodb_url: str, database_name: str) -> None:
    """``gunicorn --preload``: the twin used before ``fork()`` opens a new MongoClient in the child."""
    script = textwrap.dedent(_FORKED_WORKER.format(url=mongodb_url, database=database_name))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
