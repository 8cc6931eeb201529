"""``RedisThrottleStore``: the throttle's state in Redis, one Lua script per attempt, cluster-safe."""

from __future__ import annotations

import zlib
from typing import Final

from lucia.adapters._lifecycle import guarded
from lucia.throttle import Backoff, ThrottleState
from lucia_redis._blocking import LuaScript, RedisStore
from lucia_redis._guard import text

__all__ = ["RedisThrottleStore"]

#: Keys are spread over this many hash-tagged buckets (slots); cleanup visits each once.
BUCKETS: Final = 16
#: Due entries one cleanup script handles per bucket before it runs again.
_CLEANUP_BATCH: Final = 500

# The per-key back-off rule of lucia.throttle.Backoff, applied atomically on one slot.
# KEYS: state hash, bucket expiry index. ARGV: now, max_failures, base_delay, max_delay,
# forget_after, index member. Integers are formatted with %.0f (exact below 2^53; Lua's
# own number-to-string conversion keeps only 14 digits).
_HIT = """
local now = tonumber(ARGV[1])
local max_failures, base, max_delay, forget = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local state = redis.call('HMGET', KEYS[1], 'failures', 'last_failure', 'expires')
local failures = tonumber(state[1] or '0')
local last = tonumber(state[2] or '0')
local expires = tonumber(state[3] or '0')
local recent = failures > 0 and expires > now and now - last < forget
local wait = 0
if recent then
    if failures >= max_failures then
        local delay = math.min(max_delay, base * 2 ^ math.min(failures - max_failures, 40))
        wait = math.max(0, last + delay - now)
    end
end
if wait == 0 then
    if recent then
        failures = failures + 1
        last = math.max(now, last)
    else
        failures = 1
        last = now
    end
    local until_ms = string.format('%.0f', now + forget)
    redis.call('HSET', KEYS[1], 'failures', string.format('%.0f', failures),
        'last_failure', string.format('%.0f', last), 'expires', until_ms)
    redis.call('ZADD', KEYS[2], until_ms, ARGV[6])
end
return wait
"""

# Record one event and count the window. KEYS: events (score: time), event expiries
# (score: expiry), bucket expiry index. ARGV: event id, at, since, expires_at, index member.
_ADD_EVENT = """
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
for _, event in ipairs(old) do
    redis.call('ZREM', KEYS[1], event)
    redis.call('ZREM', KEYS[2], event)
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
redis.call('ZADD', KEYS[3], first[2], ARGV[5])
local count = redis.call('ZCOUNT', KEYS[1], ARGV[3], '+inf')
local oldest = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[3], '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
return {count, oldest[2] or false}
"""

# Forget one event. KEYS: events, event expiries, bucket index. ARGV: event id, index member.
_REMOVE_EVENT = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if first[2] then redis.call('ZADD', KEYS[3], first[2], ARGV[2]) else redis.call('ZREM', KEYS[3], ARGV[2]) end
return 1
"""

# Delete what expired in one bucket. KEYS: the bucket index; every key this touches
# carries the bucket's hash tag (one slot). ARGV: now, the bucket's key stem, batch size.
_CLEANUP = """
local now = tonumber(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do
    local kind, key = string.sub(member, 1, 1), string.sub(member, 2)
    if kind == 's' then
        local state = ARGV[2] .. 's:' .. key
        local expires = tonumber(redis.call('HGET', state, 'expires') or '0')
        if expires <= now then
            redis.call('DEL', state)
            redis.call('ZREM', KEYS[1], member)
        else
            redis.call('ZADD', KEYS[1], string.format('%.0f', expires), member)
        end
    else
        local events, expiries = ARGV[2] .. 'e:' .. key, ARGV[2] .. 'x:' .. key
        for _, event in ipairs(redis.call('ZRANGEBYSCORE', expiries, '-inf', ARGV[1])) do
            redis.call('ZREM', events, event)
            redis.call('ZREM', expiries, event)
        end
        local first = redis.call('ZRANGE', expiries, 0, 0, 'WITHSCORES')
        if first[2] then redis.call('ZADD', KEYS[1], first[2], member) else redis.call('ZREM', KEYS[1], member) end
    end
end
return #due
"""


class RedisThrottleStore(RedisStore):
    """A :class:`lucia.throttle.ThrottleStore` in Redis or Redis Cluster, shared by every process (SECURITY B4).

    ::

        store = RedisThrottleStore.from_url("redis://127.0.0.1:6379/0", key_prefix="myapp:")
        auth = Lucia(adapter=adapter, throttle=Throttle(store=store, per_client_limit=50))

    Each attempt is one Lua script on one slot that applies the back-off rule of
    :class:`lucia.throttle.Backoff` and counts the failure, so concurrent attempts from
    any number of processes take turns. A client's events are a sorted set (scored by
    time) with a companion set of their expiries. Keys carry one of 16 hash tags chosen
    from the throttle key (``<prefix>throttle:{lucia-throttle-7}:s:<key>``), so a key's
    state, its events and its bucket's expiry index share a slot while the buckets
    spread over the cluster; :meth:`delete_expired` visits each bucket's index.
    Expiry follows the ``Lucia`` clock (the ``now`` of each call), not Redis TTLs.
    :class:`lucia.SyncLucia` runs natively over :meth:`blocking_twin` (redis-py's
    synchronous client, built from the same settings).

    Args:
        redis: A ``redis.asyncio.Redis`` or ``RedisCluster`` client. You keep ownership.
        key_prefix: Prepended to every key; no ``{`` or ``}``.
        timeout_ms: The deadline of each call (default 5000); ``None`` for the client's own.

    Raises:
        ValueError: A prefix with a hash tag, or a bad ``timeout_ms``.
    """

    _hit = LuaScript(_HIT)
    _add_event = LuaScript(_ADD_EVENT)
    _remove_event = LuaScript(_REMOVE_EVENT)
    _cleanup = LuaScript(_CLEANUP)

    def _stem(self, bucket: int) -> str:
        return f"{self._prefix}throttle:{{lucia-throttle-{bucket}}}:"

    def _keys(self, key: str) -> tuple[str, str]:
        """The key's bucket stem and its bucket's expiry index."""
        stem = self._stem(zlib.crc32(key.encode("utf-8", "surrogateescape")) % BUCKETS)
        return stem, stem + "expiry"

    @guarded
    async def get_state(self, key: str) -> ThrottleState | None:
        """The state of ``key``, or ``None``."""
        stem, _ = self._keys(key)
        failures, last = await self._redis.hmget(stem + "s:" + key, ["failures", "last_failure"])
        if failures is None or int(text(failures)) == 0:
            return None
        return ThrottleState(int(text(failures)), int(text(last)))

    @guarded
    async def hit(self, key: str, *, now: int, backoff: Backoff) -> int:
        """Refuse inside the window, else count: one Lua script."""
        stem, index = self._keys(key)
        b = backoff
        args: list[str | int] = [now, b.max_failures, b.base_delay, b.max_delay, b.forget_after, "s" + key]
        return int(await self._hit(keys=[stem + "s:" + key, index], args=args))

    @guarded
    async def delete_state(self, key: str) -> None:
        """Forget ``key`` (its index entry goes at the next cleanup)."""
        stem, _ = self._keys(key)
        await self._redis.delete(stem + "s:" + key)

    @guarded
    async def add_event(self, key: str, event_id: str, at: int, *, since: int, expires_at: int) -> tuple[int, int]:
        """Record an event and count the window (one script; events older than ``since`` are dropped)."""
        stem, index = self._keys(key)
        keys = [stem + "e:" + key, stem + "x:" + key, index]
        count, oldest = await self._add_event(keys=keys, args=[event_id, at, since, expires_at, "e" + key])
        return int(count), at if oldest is None else int(float(text(oldest)))

    @guarded
    async def remove_event(self, key: str, event_id: str) -> None:
        """Forget one event."""
        stem, index = self._keys(key)
        await self._remove_event(keys=[stem + "e:" + key, stem + "x:" + key, index], args=[event_id, "e" + key])

    @guarded
    async def delete_expired(self, now: int) -> None:
        """Delete states and events whose expiry passed on the ``Lucia`` clock, bucket by bucket."""
        for bucket in range(BUCKETS):
            stem = self._stem(bucket)
            while await self._cleanup(keys=[stem + "expiry"], args=[now, stem, _CLEANUP_BATCH]) >= _CLEANUP_BATCH:
                pass
