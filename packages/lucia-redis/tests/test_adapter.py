"""RedisSessionAdapter on a standalone Redis and on a 3-master Redis Cluster, both real."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import pytest
import redis.exceptions
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from lucia import Lucia, LuciaError
from lucia.adapters import SessionRow
from lucia.adapters.memory import MemoryAdapter
from lucia.testing import LuciaSessionTests, SessionAdapterTests, fast_password_hasher
from lucia.testing.services import free_port
from lucia_redis import RedisSessionAdapter

pytestmark = pytest.mark.anyio

DAY_MS = 86_400_000
#: Ids that break naive key building: hash-tag braces, separators, spaces, unicode, escapes.
ODD_IDS = ["{tag}", "a}b{c", "{}", "x:y:z", "with space", "ünï 🧑‍💻 {tag}", "%7B", "{", "%", "%25"]


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


class _RedisSuite(SessionAdapterTests, LuciaSessionTests):
    """The session conformance suite; users live in the in-memory adapter."""

    capabilities = frozenset()

    @pytest.fixture
    def user_adapter(self) -> MemoryAdapter:
        return MemoryAdapter()

    @pytest.fixture
    async def adapter(self, client: Redis | RedisCluster, key_prefix: str) -> AsyncIterator[RedisSessionAdapter]:
        yield RedisSessionAdapter(client, key_prefix=key_prefix)
        await delete_prefixed(client, key_prefix)

    @pytest.fixture
    def raw_dump(self, client: Redis | RedisCluster, key_prefix: str) -> Callable[[], Awaitable[str]]:
        async def dump() -> str:
            return repr(await dump_prefixed(client, key_prefix))

        return dump


class TestRedisStandalone(_RedisSuite):
    @pytest.fixture
    def client(self, standalone_client: Redis) -> Redis:
        return standalone_client


class TestRedisCluster(_RedisSuite):
    @pytest.fixture
    def client(self, cluster_client: RedisCluster) -> RedisCluster:
        return cluster_client


@pytest.fixture(params=["standalone", "cluster"])
def client(
    request: pytest.FixtureRequest, standalone_client: Redis, cluster_client: RedisCluster
) -> Redis | RedisCluster:
    """Each test below runs on the single node and on the cluster."""
    return standalone_client if request.param == "standalone" else cluster_client


@pytest.fixture
async def adapter(client: Redis | RedisCluster, key_prefix: str) -> AsyncIterator[RedisSessionAdapter]:
    """An adapter under a fresh prefix; its keys are deleted afterwards."""
    yield RedisSessionAdapter(client, key_prefix=key_prefix)
    await delete_prefixed(client, key_prefix)


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
    """With Redis down, validation raises the driver error instead of returning a session."""
    users = MemoryAdapter()
    auth = Lucia(adapter={"user": users, "session": RedisSessionAdapter(_dead_client())})
    token = secrets.token_hex(20)
    with pytest.raises(redis.exceptions.ConnectionError):
        await auth.validate_session(token)
    with pytest.raises(redis.exceptions.ConnectionError):
        await auth.validate_session_user(token)


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
        assert len(outcome) == 1 and isinstance(outcome[0], redis.exceptions.ConnectionError)
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
