"""The Redis session adapter: one key per session, one sorted set per user.

Layout (``prefix`` is the ``key_prefix`` option)::

    <prefix>session:<session id>        string, JSON of the auth_session row, PEXPIREAT idle expiry
    <prefix>user_sessions:<user id>     sorted set: session id -> idle expiry (ms), expires with its
                                        latest member

Redis Cluster: every command names exactly one key, so no command can span slots and
no hash tag is needed. Ids are escaped (``%`` -> ``%25``, ``{`` -> ``%7B``, ``}`` ->
``%7D``) so that no id can form a hash tag by accident and pin keys to one slot; the
escaping is one-to-one, so two ids never share a key. Work on several keys (listing a
user's sessions) is a pipeline of single-key commands, which a cluster client routes
per slot.

Consistency without multi-key transactions comes from the order of writes:
``set_session`` stores the session (``SET NX``: the duplicate check) *before* indexing
it, so a session whose ``set_session`` returned is always in its user's index; a call
that fails in between leaves a session whose token nobody received. Deletions remove
the session first and its index entry second; a dangling index entry (its session gone)
is pruned when the index is next read or written. Index scores never lag a session's
real expiry, so pruning by score never hides a live session.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Union

from lucia import LuciaError
from lucia.adapters import SessionRow

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster

    RedisClient = Union[Redis, RedisCluster]

__all__ = ["RedisSessionAdapter"]

# Index upkeep, on one key (one slot): add the member or raise its score to the session's
# idle expiry (GT: never lower it), drop members whose score passed on the server's clock
# (the clock that also expires the session keys), and let the index key expire with its
# latest member.
_INDEX_SCRIPT = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZADD', KEYS[1], 'GT', ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if top[2] then
    redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', tonumber(top[2])))
end
return 1
"""


def _escape(value: str) -> str:
    """Make an id safe inside a key: no ``{``/``}`` (hash tags), one-to-one (``%`` escapes too)."""
    return value.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")


def _text(value: object) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class RedisSessionAdapter:
    """Sessions in Redis or Redis Cluster; users live in another adapter.

    ::

        auth = Lucia(adapter={"user": SQLiteAdapter("app.db"), "session": RedisSessionAdapter(redis)})

    Each session is a key that Redis expires at the session's idle expiry; a sorted set
    per user, scored by idle expiry, lists and deletes a user's sessions. The same code
    runs on a single node and on a cluster (see the module notes for the key layout and
    the order of writes). Redis 6.2 or newer (``SET ... PXAT``, ``GETDEL``, ``ZADD GT``).

    A session store cannot see the user table, so ``set_session`` does not check that
    the user exists: :class:`lucia.Lucia` checks it before creating a session when the
    user and session stores are separate.

    Args:
        redis: A ``redis.asyncio.Redis`` or ``redis.asyncio.cluster.RedisCluster`` client,
            with or without ``decode_responses``. You keep ownership: close it yourself.
        key_prefix: Prepended to every key (``"myapp:"``). It must not contain ``{`` or
            ``}``: a hash tag in the prefix would put every key in one cluster slot.
    """

    def __init__(self, redis: RedisClient, *, key_prefix: str = "") -> None:
        if "{" in key_prefix or "}" in key_prefix:
            raise ValueError("key_prefix must not contain '{' or '}' (a hash tag would pin every key to one slot)")
        self._redis = redis
        self._prefix = key_prefix
        self._index_script = redis.register_script(_INDEX_SCRIPT)

    def __repr__(self) -> str:
        return f"RedisSessionAdapter(key_prefix={self._prefix!r})"

    @property
    def key_prefix(self) -> str:
        """The prefix of every key this adapter writes."""
        return self._prefix

    def session_key(self, session_id: str) -> str:
        """The key holding a session."""
        return f"{self._prefix}session:{_escape(session_id)}"

    def user_sessions_key(self, user_id: str) -> str:
        """The key of a user's session index (a sorted set)."""
        return f"{self._prefix}user_sessions:{_escape(user_id)}"

    # -- helpers ---------------------------------------------------------------------

    @staticmethod
    def _encode(row: SessionRow) -> str:
        return json.dumps(
            {
                "id": row.id,
                "user_id": row.user_id,
                "active_expires": row.active_expires,
                "idle_expires": row.idle_expires,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @staticmethod
    def _decode(value: bytes | str) -> SessionRow:
        data = json.loads(value)
        return SessionRow(
            id=str(data["id"]),
            user_id=str(data["user_id"]),
            active_expires=int(data["active_expires"]),
            idle_expires=int(data["idle_expires"]),
        )

    async def _index(self, user_id: str, session_id: str, idle_expires: int) -> None:
        await self._index_script(keys=[self.user_sessions_key(user_id)], args=[idle_expires, session_id])

    async def _indexed_rows(self, user_id: str) -> tuple[list[SessionRow], list[str]]:
        """The user's stored sessions and every session id its index held; prunes dangling entries."""
        index = self.user_sessions_key(user_id)
        members = [_text(m) for m in await self._redis.zrange(index, 0, -1)]
        if not members:
            return [], []
        pipe = self._redis.pipeline(transaction=False)
        for session_id in members:
            pipe.get(self.session_key(session_id))
        values = await pipe.execute()
        rows: list[SessionRow] = []
        gone: list[str] = []
        for session_id, value in zip(members, values, strict=True):
            row = None if value is None else self._decode(value)
            if row is not None and row.user_id == user_id and row.id == session_id:
                rows.append(row)
            else:
                gone.append(session_id)
        if gone:
            # Safe: a member is indexed only after its session was stored, so a missing
            # session is expired or deleted, not about to appear.
            await self._redis.zrem(index, *gone)
        return rows, members

    # -- the SessionAdapter contract -------------------------------------------------

    async def get_session(self, session_id: str) -> SessionRow | None:
        """Return the session row, or ``None`` (one ``GET``)."""
        value = await self._redis.get(self.session_key(session_id))
        return None if value is None else self._decode(value)

    async def get_sessions_by_user_id(self, user_id: str) -> list[SessionRow]:
        """Every stored session of a user; index entries of vanished sessions are pruned."""
        rows, _ = await self._indexed_rows(user_id)
        return rows

    async def set_session(self, session: SessionRow) -> None:
        """Store a session (``SET NX PXAT``), then add it to its user's index.

        Raises:
            LuciaError: ``AUTH_DUPLICATE_SESSION_ID`` if a session with this id exists.
        """
        stored = await self._redis.set(
            self.session_key(session.id), self._encode(session), nx=True, pxat=session.idle_expires
        )
        if not stored:
            raise LuciaError("AUTH_DUPLICATE_SESSION_ID", "a session with this id already exists")
        await self._index(session.user_id, session.id, session.idle_expires)

    async def update_session(self, session_id: str, *, active_expires: int, idle_expires: int) -> None:
        """Move a session's expiry; an unknown session is left alone.

        The index score is raised first, so it never falls behind the session's expiry.
        """
        key = self.session_key(session_id)
        value = await self._redis.get(key)
        if value is None:
            return
        row = self._decode(value)
        await self._index(row.user_id, session_id, idle_expires)
        updated = SessionRow(row.id, row.user_id, active_expires, idle_expires)
        await self._redis.set(key, self._encode(updated), xx=True, pxat=idle_expires)

    async def delete_session(self, session_id: str) -> None:
        """Delete one session (``GETDEL``), then its index entry."""
        value = await self._redis.getdel(self.session_key(session_id))
        if value is not None:
            await self._redis.zrem(self.user_sessions_key(self._decode(value).user_id), session_id)

    async def delete_sessions_by_user_id(self, user_id: str) -> None:
        """Delete every session of a user.

        Only the index entries read here are removed: a session created concurrently
        stays indexed, so a later sign-out still finds it.
        """
        rows, members = await self._indexed_rows(user_id)
        if rows:
            pipe = self._redis.pipeline(transaction=False)
            for row in rows:
                pipe.delete(self.session_key(row.id))
            await pipe.execute()
        if members:
            await self._redis.zrem(self.user_sessions_key(user_id), *members)
