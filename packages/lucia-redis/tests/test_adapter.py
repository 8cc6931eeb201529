"""RedisSessionAdapter on a standalone Redis and on a 3-master Redis Cluster, both real."""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import sys
import textwrap
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import anyio
import pytest
import redis.asyncio.connection
import redis.exceptions
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from lucia import InvalidPasswordError, Lucia, LuciaError, StorageError, StorageUnavailableError, SyncLucia
from lucia._blocking import run_blocking
from lucia.adapters import SessionRow
from lucia.adapters.memory import MemoryAdapter
from lucia.testing import (
    LuciaSessionTests,
    SessionAdapterTests,
    SyncPathTests,
    ThrottleStoreTests,
    fast_password_hasher,
)
from lucia.testing._throttle_suite import StoreRecipe
from lucia.testing.services import free_port
from lucia.throttle import Backoff, Throttle
from lucia_redis import RedisSessionAdapter, RedisThrottleStore
from lucia_redis._blocking import RedisStore
from lucia_testkit import FaultProxy

pytestmark = pytest.mark.anyio

DAY_MS = 86_400_000
#: Ids that break naive key building: hash-tag braces, separators, spaces, unicode, escapes.
ODD_IDS = ["{tag}", "a}b{c", "{}", "x:y:z", "with space", "ünï 🧑‍💻 {tag}", "%7B", "{", "%", "%25"]

Store = TypeVar("Store", bound=RedisStore)


async def delete_prefixed(client: Redis | RedisCluster, prefix: str) -> None:
    """Delete every key under ``prefix`` (a cluster client scans every master)."""
    async for key in client.scan_iter(match=f"{prefix}*"):
        await client.delete(key)


async def dump_prefixed(client: Redis | RedisCluster, prefix: str) -> dict[bytes, Any]:
    """Every key under ``prefix`` with its raw value: strings as stored, sorted sets with scores."""
    dump: dict[bytes, Any] = {}
    async for key in client.scan_iter(match=f"{prefix}*"):
        kind = await client.type(key)
        if kind == b"string":
            dump[key] = await client.get(key)
        elif kind == b"hash":
            dump[key] = sorted((await client.hgetall(key)).items())
        elif kind == b"zset":
            dump[key] = await client.zrange(key, 0, -1, withscores=True)
        else:
            dump[key] = kind
    return dump


async def server_now_ms(client: Redis | RedisCluster) -> int:
    """The server's clock, the one that expires keys."""
    seconds, micros = await client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def row(session_id: str, user_id: str, idle: int) -> SessionRow:
    return SessionRow(id=session_id, user_id=user_id, active_expires=idle - DAY_MS, idle_expires=idle)


@contextlib.asynccontextmanager
async def cleaned_up(store: Store, client: Redis | RedisCluster, key_prefix: str) -> AsyncIterator[Store]:
    """``store``; afterwards it is closed (its blocking twin with it) and every key under ``key_prefix`` deleted."""
    try:
        yield store
    finally:
        await store.close()
        await delete_prefixed(client, key_prefix)


def twin_of(origin: Store) -> Store:
    """The blocking twin of ``origin``, checked to be one object, the same each time."""
    twin = origin.blocking_twin()
    assert twin is not None and origin.blocking_twin() is twin
    return twin


# -- the suites, each on a single node and on a cluster, over the adapter and its twin --


class _OnStandalone:
    """Runs a suite on a single Redis server."""

    @pytest.fixture
    def client(self, standalone_client: Redis) -> Redis:
        return standalone_client

    @pytest.fixture
    def from_url_options(self, redis_url: str) -> dict[str, Any]:
        """What ``from_url`` takes to reach the same server (in the throttle suite's worker processes)."""
        return {"url": redis_url}


class _OnCluster:
    """Runs a suite on a 3-master Redis Cluster."""

    @pytest.fixture
    def client(self, cluster_client: RedisCluster) -> RedisCluster:
        return cluster_client

    @pytest.fixture
    def from_url_options(self, redis_cluster: list[int]) -> dict[str, Any]:
        """What ``from_url`` takes to reach the same cluster (in the throttle suite's worker processes)."""
        return {"url": f"redis://127.0.0.1:{redis_cluster[0]}", "cluster": True}


class _RedisSuite(SessionAdapterTests, LuciaSessionTests):
    """The session conformance suite; users live in the in-memory adapter."""

    capabilities = frozenset({"session_policy_columns"})
    #: Run the suite over the adapter's blocking twin (its methods never suspend).
    twin = False

    @pytest.fixture
    def user_adapter(self) -> MemoryAdapter:
        return MemoryAdapter()

    @pytest.fixture
    async def adapter(self, client: Redis | RedisCluster, key_prefix: str) -> AsyncIterator[RedisSessionAdapter]:
        async with cleaned_up(RedisSessionAdapter(client, key_prefix=key_prefix), client, key_prefix) as origin:
            yield twin_of(origin) if self.twin else origin

    @pytest.fixture
    def raw_dump(self, client: Redis | RedisCluster, key_prefix: str) -> Callable[[], Awaitable[str]]:
        async def dump() -> str:
            return repr(await dump_prefixed(client, key_prefix))

        return dump


class TestRedisStandalone(_OnStandalone, _RedisSuite):
    """The session suites on a single Redis server."""


class TestRedisCluster(_OnCluster, _RedisSuite):
    """The session suites on a 3-master Redis Cluster."""


class TestRedisBlockingTwinStandalone(_OnStandalone, _RedisSuite):
    """The blocking twin on a single Redis server passes the suites of the adapter it mirrors."""

    twin = True


class TestRedisBlockingTwinCluster(_OnCluster, _RedisSuite):
    """The blocking twin on a 3-master Redis Cluster passes the suites of the adapter it mirrors."""

    twin = True


class _ThrottleSuite(ThrottleStoreTests):
    """The throttle-store suite, in this process and in four others; the store's keys are deleted afterwards."""

    #: Run the suite over the store's blocking twin (in the worker processes too).
    twin = False

    @pytest.fixture
    async def throttle_store(self, client: Redis | RedisCluster, key_prefix: str) -> AsyncIterator[RedisThrottleStore]:
        async with cleaned_up(RedisThrottleStore(client, key_prefix=key_prefix), client, key_prefix) as origin:
            yield twin_of(origin) if self.twin else origin

    @pytest.fixture
    def throttle_store_recipe(self, from_url_options: dict[str, Any], key_prefix: str) -> StoreRecipe:
        build = {**from_url_options, "key_prefix": key_prefix}
        return ("lucia_redis:RedisThrottleStore.from_url", build, "blocking_twin" if self.twin else None)


class TestRedisThrottleStandalone(_OnStandalone, _ThrottleSuite):
    """The throttle store on a single Redis server, shared by four processes."""


class TestRedisThrottleCluster(_OnCluster, _ThrottleSuite):
    """The throttle store on a 3-master Redis Cluster, shared by four processes."""


class TestRedisThrottleTwinStandalone(_OnStandalone, _ThrottleSuite):
    """The throttle store's blocking twin on a single Redis server."""

    twin = True


class TestRedisThrottleTwinCluster(_OnCluster, _ThrottleSuite):
    """The throttle store's blocking twin on a 3-master Redis Cluster."""

    twin = True


class _SyncPathSuite(SyncPathTests):
    """SyncLucia with users in memory and sessions in Redis: the native path, under real threads."""

    @pytest.fixture
    async def adapter(self, client: Redis | RedisCluster, key_prefix: str) -> AsyncIterator[dict[str, Any]]:
        async with cleaned_up(RedisSessionAdapter(client, key_prefix=key_prefix), client, key_prefix) as sessions:
            yield {"user": MemoryAdapter(), "session": sessions}


class TestRedisSyncPathStandalone(_OnStandalone, _SyncPathSuite):
    """The native sync path with sessions on a single Redis server."""


class TestRedisSyncPathCluster(_OnCluster, _SyncPathSuite):
    """The native sync path with sessions on a 3-master Redis Cluster."""


# -- Redis-specific promises, each on the single node and on the cluster --------------


@pytest.fixture(params=["standalone", "cluster"])
def client(
    request: pytest.FixtureRequest, standalone_client: Redis, cluster_client: RedisCluster
) -> Redis | RedisCluster:
    """Each test below runs on the single node and on the cluster."""
    return standalone_client if request.param == "standalone" else cluster_client


@pytest.fixture(params=["asyncio", "blocking twin"])
async def adapter(
    request: pytest.FixtureRequest, client: Redis | RedisCluster, key_prefix: str
) -> AsyncIterator[RedisSessionAdapter]:
    """An adapter under a fresh prefix, or its blocking twin (the same keys); its keys are deleted afterwards."""
    async with cleaned_up(RedisSessionAdapter(client, key_prefix=key_prefix), client, key_prefix) as origin:
        yield origin if request.param == "asyncio" else twin_of(origin)


async def test_session_key_and_index_expire_at_the_idle_expiry(
    adapter: RedisSessionAdapter, client: Redis | RedisCluster
) -> None:
    """The session key expires at its idle expiry; the index expires with its latest session."""
    now = await server_now_ms(client)
    early, late = row(secrets.token_hex(32), "ada", now + DAY_MS), row(secrets.token_hex(32), "ada", now + 3 * DAY_MS)
    await adapter.set_session(late)
    await adapter.set_session(early)
    assert await client.pexpiretime(adapter.session_key(early.id)) == early.idle_expires
    assert await client.pexpiretime(adapter.session_key(late.id)) == late.idle_expires
    assert await client.pexpiretime(adapter.user_sessions_key("ada")) == late.idle_expires
    await adapter.update_session(early.id, active_expires=now, idle_expires=now + 5 * DAY_MS)
    assert await client.pexpiretime(adapter.session_key(early.id)) == now + 5 * DAY_MS
    assert await client.pexpiretime(adapter.user_sessions_key("ada")) == now + 5 * DAY_MS


async def test_expired_sessions_are_pruned_from_the_index(
    adapter: RedisSessionAdapter, client: Redis | RedisCluster
) -> None:
    """An index entry whose session expired (server clock) is dropped at the next write."""
    now = await server_now_ms(client)
    dead, live = row("dead", "ada", now - 1000), row("live", "ada", now + DAY_MS)
    await adapter.set_session(dead)
    await adapter.set_session(live)
    assert await adapter.get_session("dead") is None
    assert await client.zrange(adapter.user_sessions_key("ada"), 0, -1) == [b"live"]


async def test_dangling_index_entries_are_pruned_when_listing(
    adapter: RedisSessionAdapter, client: Redis | RedisCluster
) -> None:
    """A session deleted behind the adapter's back disappears from its user's index on the next read."""
    now = await server_now_ms(client)
    session = row("gone", "ada", now + DAY_MS)
    await adapter.set_session(session)
    await client.delete(adapter.session_key("gone"))
    assert await adapter.get_sessions_by_user_id("ada") == []
    assert await client.exists(adapter.user_sessions_key("ada")) == 0


async def test_odd_ids_behave_like_plain_ids(adapter: RedisSessionAdapter, client: Redis | RedisCluster) -> None:
    """Ids with braces, colons, spaces, unicode and escape sequences round-trip, list and delete exactly."""
    now = await server_now_ms(client)
    rows = [row(session_id, user_id, now + DAY_MS) for user_id in ODD_IDS for session_id in ODD_IDS]
    rows = [SessionRow(f"{r.user_id}|{r.id}", r.user_id, r.active_expires, r.idle_expires) for r in rows]
    for session in rows:
        await adapter.set_session(session)
    for session in rows:
        assert await adapter.get_session(session.id) == session
    for user_id in ODD_IDS:
        listed = await adapter.get_sessions_by_user_id(user_id)
        assert sorted(s.id for s in listed) == sorted(r.id for r in rows if r.user_id == user_id)
    for session in rows[::2]:
        await adapter.delete_session(session.id)
    await adapter.delete_sessions_by_user_id(ODD_IDS[1])
    for session in rows:
        deleted = session in rows[::2] or session.user_id == ODD_IDS[1]
        assert (await adapter.get_session(session.id) is None) == deleted
    keys = [key.decode() for key in (await dump_prefixed(client, adapter.key_prefix))]
    assert keys and not any("{" in key or "}" in key for key in keys)


async def test_odd_ids_give_the_same_results_on_cluster_and_single_node(
    standalone_client: Redis, cluster_client: RedisCluster, key_prefix: str
) -> None:
    """The same workload over odd ids leaves the same observable state on both deployments."""

    async def workload(client: Redis | RedisCluster) -> list[Any]:
        adapter = RedisSessionAdapter(client, key_prefix=key_prefix)
        now = 1_800_000_000_000 + 30 * DAY_MS
        seen: list[Any] = []
        try:
            for index, user_id in enumerate(ODD_IDS):
                for session_id in ODD_IDS[: index + 1]:
                    await adapter.set_session(row(f"{session_id}#{user_id}", user_id, now + index))
                await adapter.delete_session(f"{ODD_IDS[0]}#{user_id}")
            await adapter.delete_sessions_by_user_id(ODD_IDS[3])
            for user_id in ODD_IDS:
                seen.append(sorted(s.id for s in await adapter.get_sessions_by_user_id(user_id)))
                seen.append(await adapter.get_session(f"{ODD_IDS[-1]}#{user_id}"))
            seen.append(sorted((await dump_prefixed(client, key_prefix)).items()))
        finally:
            await delete_prefixed(client, key_prefix)
        return seen

    assert await workload(standalone_client) == await workload(cluster_client)


async def test_keys_carry_the_prefix(adapter: RedisSessionAdapter, client: Redis | RedisCluster) -> None:
    """Every key the adapter writes starts with its key prefix."""
    await adapter.set_session(row("s1", "ada", await server_now_ms(client) + DAY_MS))
    assert sorted(await dump_prefixed(client, adapter.key_prefix)) == [
        f"{adapter.key_prefix}session:s1".encode(),
        f"{adapter.key_prefix}user_sessions:ada".encode(),
    ]


async def test_a_prefix_with_a_hash_tag_is_refused(standalone_client: Redis) -> None:
    """A prefix holding ``{`` or ``}`` would pin every key to one slot: refused."""
    with pytest.raises(ValueError):
        RedisSessionAdapter(standalone_client, key_prefix="{app}:")


async def test_d1_duplicate_session_id_changes_nothing(
    adapter: RedisSessionAdapter, client: Redis | RedisCluster
) -> None:
    """A refused duplicate session id leaves the first session and both users' indexes untouched."""
    first = row("same", "ada", await server_now_ms(client) + DAY_MS)
    await adapter.set_session(first)
    with pytest.raises(LuciaError) as info:
        await adapter.set_session(SessionRow("same", "eve", first.active_expires, first.idle_expires + 5))
    assert info.value.code == "AUTH_DUPLICATE_SESSION_ID"
    assert await adapter.get_session("same") == first
    assert await adapter.get_sessions_by_user_id("ada") == [first]
    assert await adapter.get_sessions_by_user_id("eve") == []


def _dead_client() -> Redis:
    """A client of a port nobody listens on: every command fails with ConnectionError."""
    return Redis(port=free_port(), socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))


async def test_d2_unreachable_redis_never_authenticates() -> None:
    """With Redis down, validation raises ``StorageUnavailableError`` (cause: redis-py's error), never a session."""
    users = MemoryAdapter()
    auth = Lucia(adapter={"user": users, "session": RedisSessionAdapter(_dead_client())})
    token = secrets.token_hex(20)
    for validate in (auth.validate_session, auth.validate_session_user):
        with pytest.raises(StorageUnavailableError) as info:
            await validate(token)
        assert info.value.code == "AUTH_STORAGE_UNAVAILABLE"
        assert isinstance(info.value.__cause__, redis.exceptions.ConnectionError)


async def test_d3_bounds_are_checked_before_any_redis_call() -> None:
    """Oversized or empty ids are refused by the core before the adapter talks to Redis."""
    auth = Lucia(adapter={"user": MemoryAdapter(), "session": RedisSessionAdapter(_dead_client())})
    with pytest.raises(LuciaError) as info:
        await auth.validate_session("t" * 5000)
    assert info.value.code == "AUTH_INVALID_SESSION_ID"
    for call in (
        lambda: auth.invalidate_session("s" * 300),
        lambda: auth.invalidate_all_user_sessions("u" * 300),
        lambda: auth.get_all_user_sessions(""),
        lambda: auth.create_session("\x00"),
    ):
        with pytest.raises(LuciaError) as info:
            await call()
        assert info.value.code == "AUTH_INVALID_INPUT"


async def test_client_kill_mid_workload_fails_the_call_in_flight_only(
    standalone_client: Redis, redis_url: str, key_prefix: str
) -> None:
    """Killing the adapter's connection while a call waits on it: that call raises, the next ones work."""
    name = f"lucia-fault-{secrets.token_hex(4)}"
    victim = Redis.from_url(redis_url, client_name=name, retry=Retry(NoBackoff(), 0))
    adapter = RedisSessionAdapter(victim, key_prefix=key_prefix)
    auth = Lucia(adapter={"user": MemoryAdapter(), "session": adapter}, password_hasher=fast_password_hasher())
    user = await auth.create_user(primary_key=None, attributes={"username": "ada"})
    before = await auth.create_session(user.user_id)
    outcome: list[BaseException | None] = []

    async def in_flight() -> None:
        try:
            await auth.create_session(user.user_id)
            outcome.append(None)
        except Exception as exc:
            outcome.append(exc)

    try:
        # Hold writes so the call is provably waiting on its connection when it is killed.
        await standalone_client.client_pause(10_000, all=False)
        async with anyio.create_task_group() as group:
            group.start_soon(in_flight)
            with anyio.fail_after(10):
                while not any(c["name"] == name and "b" in c["flags"] for c in await standalone_client.client_list()):
                    await anyio.sleep(0.01)
            for connection in await standalone_client.client_list():
                if connection["name"] == name:
                    await standalone_client.client_kill_filter(_id=connection["id"])
        await standalone_client.client_unpause()
        assert len(outcome) == 1 and isinstance(outcome[0], StorageUnavailableError)
        assert isinstance(outcome[0].__cause__, redis.exceptions.ConnectionError)
        assert (await auth.validate_session(before.token or "")).session_id == before.session_id
        after = await auth.create_session(user.user_id)
        assert {s.session_id for s in await auth.get_all_user_sessions(user.user_id)} >= {
            before.session_id,
            after.session_id,
        }
    finally:
        await standalone_client.client_unpause()
        close = getattr(victim, "aclose", None) or victim.close
        await close()
        await delete_prefixed(standalone_client, key_prefix)


async def test_a_client_with_decode_responses_works_the_same(redis_url: str, key_prefix: str) -> None:
    """A client that decodes replies to ``str`` stores, lists and deletes sessions like one that does not."""
    client = Redis.from_url(redis_url, decode_responses=True)
    adapter = RedisSessionAdapter(client, key_prefix=key_prefix)
    try:
        session = row("s-ü", "ünï", await server_now_ms(client) + DAY_MS)
        await adapter.set_session(session)
        assert await adapter.get_session("s-ü") == session
        assert await adapter.get_sessions_by_user_id("ünï") == [session]
        await adapter.delete_sessions_by_user_id("ünï")
        assert await adapter.get_session("s-ü") is None
    finally:
        await delete_prefixed(client, key_prefix)
        close = getattr(client, "aclose", None) or client.close
        await close()


# -- the renewal protocol, stopped between its steps ---------------------------------


async def _store_raw(adapter: RedisSessionAdapter, row: SessionRow, **internal: str) -> None:
    """Write a session hash and index entry as a renewal step would, bypassing the adapter."""
    client = adapter._redis
    await adapter._store(row, renewal_of=internal.pop("renewal_of", ""))
    if internal:
        await client.hset(adapter.session_key(row.id), mapping=internal)
    await adapter._index(row.user_id, row.id, row.idle_expires)


def _renewal(old: SessionRow) -> SessionRow:
    return dataclasses.replace(
        old,
        id=secrets.token_hex(32),
        active_expires=old.active_expires + DAY_MS,
        idle_expires=old.idle_expires + DAY_MS,
        previous_id=old.id,
        previous_expires=old.idle_expires,
    )


async def test_s7_an_uncommitted_renewal_is_invisible(
    adapter: RedisSessionAdapter, client: Redis | RedisCluster
) -> None:
    """A renewal stopped before its commit (a pending hash only) changes nothing anyone sees."""
    old = row(secrets.token_hex(32), "ada", await server_now_ms(client) + DAY_MS)
    await adapter.set_session(old)
    pending = _renewal(old)
    await _store_raw(adapter, pending, renewal_of=old.id)
    assert await adapter.get_session(old.id) == old
    assert await adapter.get_session(pending.id) is None
    assert await adapter.get_sessions_by_user_id("ada") == [old]
    assert await adapter.renew_session(old.id, dataclasses.replace(pending, id=secrets.token_hex(32)))


async def test_s7_a_committed_renewal_is_the_session_before_it_is_confirmed(
    adapter: RedisSessionAdapter, client: Redis | RedisCluster
) -> None:
    """After the commit, the old id finds the renewal (grace), the list shows it once, renewing again fails."""
    old = row(secrets.token_hex(32), "ada", await server_now_ms(client) + DAY_MS)
    renewed = _renewal(old)
    await _store_raw(adapter, renewed, renewal_of=old.id)
    await _store_raw(adapter, old, replaced_by=renewed.id)
    assert await adapter.get_session(old.id) == renewed
    assert await adapter.get_session(renewed.id) == renewed
    assert await adapter.get_sessions_by_user_id("ada") == [renewed]
    assert not await adapter.renew_session(old.id, dataclasses.replace(renewed, id=secrets.token_hex(32)))


@pytest.mark.parametrize("confirmed", [False, True], ids=["committed", "confirmed"])
@pytest.mark.parametrize("revoke", ["delete_session", "delete_sessions_by_user_id"])
async def test_s7_revoking_during_a_renewal_revokes_the_renewal(
    adapter: RedisSessionAdapter, client: Redis | RedisCluster, revoke: str, confirmed: bool
) -> None:
    """A revocation of a session whose renewal committed (or was confirmed) but did not finish removes both hashes."""
    old = row(secrets.token_hex(32), "ada", await server_now_ms(client) + DAY_MS)
    renewed = _renewal(old)
    await _store_raw(adapter, renewed, **({} if confirmed else {"renewal_of": old.id}))
    await _store_raw(adapter, old, replaced_by=renewed.id)
    assert await adapter.get_session(old.id) == renewed
    if revoke == "delete_session":
        await adapter.delete_session(old.id)
    else:
        await adapter.delete_sessions_by_user_id("ada")
    assert await adapter.get_session(old.id) is None
    assert await adapter.get_session(renewed.id) is None
    assert await dump_prefixed(client, adapter.key_prefix) == {}


async def test_the_old_id_of_a_renewal_stops_when_the_grace_window_ends(
    adapter: RedisSessionAdapter, client: Redis | RedisCluster
) -> None:
    """The forwarding hash of the old id expires at ``previous_expires`` on the server's clock."""
    now = await server_now_ms(client)
    old = row(secrets.token_hex(32), "ada", now + DAY_MS)
    await adapter.set_session(old)
    renewed = dataclasses.replace(_renewal(old), previous_expires=now + 30_000)
    assert await adapter.renew_session(old.id, renewed)
    assert await client.pexpiretime(adapter.session_key(old.id)) == now + 30_000
    no_grace = dataclasses.replace(renewed, id=secrets.token_hex(32), previous_id=None, previous_expires=None)
    assert await adapter.renew_session(renewed.id, no_grace)
    assert await client.exists(adapter.session_key(renewed.id)) == 0


# -- the throttle store on a cluster -------------------------------------------------


async def test_b4_throttle_keys_share_a_slot_per_key_and_spread_over_the_cluster(
    cluster_client: RedisCluster, key_prefix: str
) -> None:
    """A key's state, events and bucket index live in one slot (one script each); keys spread over the masters."""
    store = RedisThrottleStore(cluster_client, key_prefix=key_prefix)
    backoff = Backoff(max_failures=3, base_delay=1_000, max_delay=8_000, forget_after=60_000)
    try:
        for index in range(64):
            await store.hit(f"k:{index}", now=1_000_000, backoff=backoff)
            await store.add_event(f"c:{index}", "e", 1_000_000, since=0, expires_at=2_000_000)
        slots: dict[str, set[int]] = {}
        async for key in cluster_client.scan_iter(match=f"{key_prefix}*"):
            name = key.decode()
            tag = name[name.index("{") : name.index("}") + 1]
            slots.setdefault(tag, set()).add(cluster_client.keyslot(key))
        assert all(len(found) == 1 for found in slots.values())
        nodes = {cluster_client.get_node_from_key(f"{key_prefix}throttle:{tag}:") for tag in slots}
        assert len(slots) == 16 and len(nodes) >= 2
        await store.delete_expired(3_000_000)
        assert [key async for key in cluster_client.scan_iter(match=f"{key_prefix}*")] == []
    finally:
        await delete_prefixed(cluster_client, key_prefix)


# -- timeouts and construction -------------------------------------------------------


@contextlib.asynccontextmanager
async def behind_a_proxy(redis_url: str, key_prefix: str) -> AsyncIterator[tuple[FaultProxy, RedisSessionAdapter]]:
    """An adapter (``timeout_ms=500``, no retries) that reaches Redis through a :class:`FaultProxy`, and the proxy.

    Afterwards the proxy passes traffic again, the adapter's keys are deleted and the adapter is closed.
    """
    host, port = redis_url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    with FaultProxy((host, int(port))) as proxy:
        adapter = RedisSessionAdapter.from_url(
            f"redis://127.0.0.1:{proxy.port}/0", key_prefix=key_prefix, timeout_ms=500, retry=Retry(NoBackoff(), 0)
        )
        try:
            yield proxy, adapter
        finally:
            proxy.resume()
            await delete_prefixed(adapter._redis, key_prefix)
            await adapter.close()


async def test_a_stalled_server_fails_the_call_in_bounded_time(redis_url: str, key_prefix: str) -> None:
    """With Redis stalled mid-connection, a call raises a storage error within its timeout; then recovers."""
    async with behind_a_proxy(redis_url, key_prefix) as (proxy, adapter):
        await adapter.set_session(row("stall", "ada", 10**13))
        proxy.stall()
        with anyio.fail_after(10), pytest.raises(StorageError) as info:
            await adapter.get_session("stall")
        assert info.value.code == "AUTH_STORAGE_TIMEOUT"
        proxy.resume()
        with anyio.fail_after(10):
            assert await adapter.get_session("stall") == row("stall", "ada", 10**13)


async def test_from_url_builds_clients_with_timeouts(redis_url: str, redis_cluster: list[int], key_prefix: str) -> None:
    """``from_url`` sets socket timeouts, and ``max_connections=1000`` on a cluster client and its twin's."""
    sessions = RedisSessionAdapter.from_url(redis_url, key_prefix=key_prefix)
    store = RedisThrottleStore.from_url(f"redis://127.0.0.1:{redis_cluster[0]}", key_prefix=key_prefix, cluster=True)
    try:
        kwargs = sessions._redis.connection_pool.connection_kwargs
        assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (5.0, 5.0)
        assert sessions._redis.connection_pool.max_connections == 1_000
        backoff = Backoff(max_failures=3, base_delay=1_000, max_delay=8_000, forget_after=60_000)
        assert await store.hit("k:url", now=1_000_000, backoff=backoff) == 0
        assert {node.max_connections for node in store._redis.get_nodes()} == {1_000}
        twin = store.blocking_twin()
        assert twin is not None and await twin.hit("k:url", now=1_000_000, backoff=backoff) == 0
        twin_nodes = twin._redis.client().get_nodes()
        assert {node.redis_connection.connection_pool.max_connections for node in twin_nodes} == {1_000}
        assert {node.redis_connection.connection_pool.connection_kwargs["socket_timeout"] for node in twin_nodes} == {
            5.0
        }
    finally:
        await store.delete_expired(10**13)
        await sessions.close()
        await store.close()


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "127.0.0.1:6379", "mongodb://127.0.0.1"])
async def test_from_url_refuses_other_schemes(url: str) -> None:
    """A URL that is not ``redis://``, ``rediss://`` or ``unix://`` is a clear ``ValueError``."""
    with pytest.raises(ValueError, match="redis://"):
        RedisSessionAdapter.from_url(url)
    with pytest.raises(ValueError, match="redis://"):
        RedisThrottleStore.from_url(url)


@pytest.mark.parametrize("timeout_ms", [0, -5, 1.5, True, "5000"])
async def test_timeouts_that_cannot_work_are_refused(standalone_client: Redis, timeout_ms: Any) -> None:
    """A zero, negative or non-integer ``timeout_ms`` is a ``ValueError`` at construction."""
    with pytest.raises(ValueError):
        RedisSessionAdapter(standalone_client, timeout_ms=timeout_ms)
    with pytest.raises(ValueError):
        RedisThrottleStore(standalone_client, timeout_ms=timeout_ms)


# -- the native sync path: threads, faults, settings, fork ----------------------------


async def test_b4_threads_failing_on_the_native_path_are_all_counted(redis_url: str, key_prefix: str) -> None:
    """Sessions and the throttle in Redis: SyncLucia runs natively; 8 threads x 10 wrong passwords count 80."""
    store = RedisThrottleStore.from_url(redis_url, key_prefix=key_prefix)
    sessions = RedisSessionAdapter.from_url(redis_url, key_prefix=key_prefix)
    throttle = Throttle(store=store, max_failures=10**6)
    auth = Lucia(
        adapter={"user": MemoryAdapter(), "session": sessions},
        password_hasher=fast_password_hasher(),
        throttle=throttle,
    )
    sync = SyncLucia(auth)
    try:
        assert sync.native
        primary = {"provider_id": "email", "provider_user_id": "ada@example.com", "password": "right"}
        user = sync.create_user(primary_key=primary, attributes={})
        token = sync.create_session(user.user_id).token or ""

        def fail_ten_times() -> None:
            for _ in range(10):
                with pytest.raises(InvalidPasswordError):
                    sync.use_key("email", "ada@example.com", "wrong")

        threads = [threading.Thread(target=fail_ten_times) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            await anyio.to_thread.run_sync(thread.join, 60)
        state = await store.get_state(throttle.key_of("email:ada@example.com"))
        assert state is not None and state.failures == 80
        assert sync.validate_session(token).user_id == user.user_id
    finally:
        sync.close()
        await delete_prefixed(sessions._redis, key_prefix)
        await sessions.close()
        await store.close()


async def test_d2_unreachable_redis_fails_the_native_path_with_a_storage_error() -> None:
    """With Redis down, SyncLucia's native validation raises ``StorageUnavailableError`` (cause: redis-py's)."""
    with SyncLucia(Lucia(adapter={"user": MemoryAdapter(), "session": RedisSessionAdapter(_dead_client())})) as sync:
        assert sync.native
        with pytest.raises(StorageUnavailableError) as info:
            sync.validate_session(secrets.token_hex(20))
        assert isinstance(info.value.__cause__, redis.exceptions.ConnectionError)


async def test_a_stalled_server_fails_a_twin_call_in_bounded_time(redis_url: str, key_prefix: str) -> None:
    """With Redis stalled, a twin call raises ``StorageTimeoutError`` (its socket wait bounded by ``timeout_ms``)."""
    async with behind_a_proxy(redis_url, key_prefix) as (proxy, adapter):
        twin = adapter.blocking_twin()
        assert twin is not None
        run_blocking(twin.set_session(row("stall", "ada", 10**13)))
        proxy.stall()
        with anyio.fail_after(10), pytest.raises(StorageError) as info:
            await anyio.to_thread.run_sync(run_blocking, twin.get_session("stall"), abandon_on_cancel=True)
        assert info.value.code == "AUTH_STORAGE_TIMEOUT"
        assert isinstance(info.value.__cause__, redis.exceptions.TimeoutError)
        proxy.resume()
        assert run_blocking(twin.get_session("stall")) == row("stall", "ada", 10**13)


async def test_the_twin_copies_the_clients_settings_and_closes_with_the_adapter(
    standalone_client: Redis, redis_url: str, key_prefix: str
) -> None:
    """A given client's settings carry over (socket waits capped at ``timeout_ms``); ``close`` closes the twin's."""
    name = f"lucia-twin-{secrets.token_hex(4)}"
    client = Redis.from_url(redis_url, decode_responses=True, socket_timeout=30, client_name=name)
    origin = RedisSessionAdapter(client, key_prefix=key_prefix, timeout_ms=2_000)
    twin = origin.blocking_twin()
    assert twin is not None and twin.blocking_twin() is twin and twin.key_prefix == key_prefix

    async def twin_connections() -> int:
        return sum(c["name"] == name for c in await standalone_client.client_list())

    try:
        session = row("s-ü", "ünï", await server_now_ms(standalone_client) + DAY_MS)
        run_blocking(twin.set_session(session))
        assert await standalone_client.exists(origin.session_key("s-ü")) == 1  # the same keys as the adapter
        assert run_blocking(twin.get_sessions_by_user_id("ünï")) == [session]
        settings = twin._redis.client().connection_pool.connection_kwargs
        assert (settings["socket_timeout"], settings["socket_connect_timeout"]) == (2.0, 2.0)
        assert (settings["decode_responses"], settings["client_name"]) == (True, name)
        await origin.close()
        with anyio.fail_after(10):
            while await twin_connections():
                await anyio.sleep(0.01)
        assert run_blocking(twin.get_session("s-ü")) == session  # a closed twin reopens on its next use
    finally:
        await origin.close()
        await client.aclose()
        await delete_prefixed(standalone_client, key_prefix)


async def test_a_client_with_connections_of_its_own_has_no_twin() -> None:
    """A connection class redis-py does not ship cannot be copied: no twin, and SyncLucia falls back to its loop."""

    class TracingConnection(redis.asyncio.connection.Connection):
        pass

    client = Redis(connection_pool=redis.asyncio.ConnectionPool(connection_class=TracingConnection, port=free_port()))
    sessions = RedisSessionAdapter(client)
    assert sessions.blocking_twin() is None
    assert RedisThrottleStore(client).blocking_twin() is None
    with SyncLucia(Lucia(adapter={"user": MemoryAdapter(), "session": sessions})) as sync:
        assert not sync.native
    await client.aclose()


async def test_a_worker_forked_after_use_opens_its_own_connections(
    standalone_client: Redis, redis_url: str, key_prefix: str
) -> None:
    """``gunicorn --preload``: a twin used before ``fork()`` works in the child on new sockets; the parent's stay."""
    script = textwrap.dedent(
        f"""
        import os, sys
        from lucia import Lucia, SyncLucia
        from lucia.adapters.memory import MemoryAdapter
        from lucia_redis import RedisSessionAdapter

        sessions = RedisSessionAdapter.from_url({redis_url!r}, key_prefix={key_prefix!r})
        sync = SyncLucia(Lucia(adapter={{"user": MemoryAdapter(), "session": sessions}}))
        assert sync.native
        user = sync.create_user(primary_key=None, attributes={{}})
        sync.create_session(user.user_id)
        commands = sessions.blocking_twin()._redis
        parent_connection = commands.client().client_id()
        pid = os.fork()
        if pid == 0:                                          # the worker
            try:
                assert commands.client().client_id() != parent_connection
                session = sync.create_session(user.user_id)
                assert sync.validate_session(session.token).user_id == user.user_id
            except BaseException:
                os._exit(1)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert commands.client().client_id() == parent_connection   # untouched by the worker
        session = sync.create_session(user.user_id)
        assert sync.validate_session(session.token).user_id == user.user_id
        sync.close()
        sys.exit(os.waitstatus_to_exitcode(status))
        """
    )
    try:
        done = await anyio.run_process([sys.executable, "-c", script], check=False)
        assert done.returncode == 0, done.stderr.decode()
    finally:
        await delete_prefixed(standalone_client, key_prefix)
