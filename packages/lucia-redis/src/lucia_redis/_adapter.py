"""The Redis session adapter: one hash per session, one sorted set per user, single-key atomic steps.

Layout (``prefix`` is the ``key_prefix`` option)::

    <prefix>session:<session id>     hash, expires at the idle expiry (PEXPIREAT):
                                       row             JSON: id, user_id, created_at, persistent, periods,
                                                       previous_id, previous_expires, attributes
                                       active_expires  idle_expires   (ms, integers)
                                       renewal_of      on a renewal not yet confirmed: the id it renews
                                       replaced_by     on a renewed session: the id of its renewal
    <prefix>user_sessions:<user id>  sorted set: session id -> idle expiry (ms), expires with its
                                     latest member

Redis Cluster: every command and every Lua script names exactly one key, so nothing
spans slots and no hash tag is needed. Ids are escaped (``%`` -> ``%25``, ``{`` ->
``%7B``, ``}`` -> ``%7D``) so no id can form a hash tag by accident; the escaping is
one-to-one. Work on several keys is a pipeline of single-key reads, or single-key
scripts run side by side, which a cluster client routes per slot.

The protocol (linearizable with every revocation, on one node and on a cluster):

* **Create** (``set_session``): store the hash (a script: only if the key is new), then
  index it. A session whose ``set_session`` returned is always in its user's index.
* **Renew** (``renew_session(old, renewed)``), four single-key steps:

  1. store the renewal's hash marked ``renewal_of=old`` (*pending*: visible to no one)
     and index it;
  2. **commit**: a script on the old key sets ``replaced_by=new`` only if the old
     session exists and is neither pending nor replaced. If it does nothing, the
     renewal deletes its pending hash and reports ``False``: of concurrent renewals
     of one session exactly one commits;
  3. confirm the renewal (a script clears ``renewal_of`` only if it is still there);
  4. with the grace window, keep the old hash as a forwarding stub that expires when
     the window ends (``PEXPIREAT previous_expires``); without it, delete it. Then
     drop the old id from the index.

  A pending hash is visible exactly when its old hash points at it; a replaced hash
  is never a session itself: reading the old id follows the pointer and finds the
  renewal (grace), or nothing (grace off). The old hash is the commit record, so every
  reader sees the renewal either before or after its commit, never half of it.
* **Revoke one** (``delete_session(id)``): take the hash (``HGETALL`` + ``DEL`` in one
  script), then take the renewal it points at, and so on; drop them from the index.
  A renewal committed before the take is found through its pointer; one committing
  after finds the old hash gone and aborts (step 2).
* **Revoke all** (``delete_sessions_by_user_id``): read the index, take every member
  (except the kept one), follow pointers as above. Every session that existed when the
  call started is in the index (created sessions and pending renewals are indexed
  before they can be used or committed, and an old id leaves the index only after its
  renewal was indexed), so each is taken, or its renewal is found through the pointer
  of its old hash, or its renewal aborts.
* **Cap** (``max_per_user``): create, list, revoke all but the newest N (by
  ``created_at``, then id). The last creator to list sees every surviving session.

A renewal interrupted between steps (a crash, a timeout) leaves an invisible pending
hash or a committed one that readers follow; both expire with their idle expiry.
Dangling index entries (their session expired or deleted) are pruned when the index is
next read or written; index scores never lag a session's real expiry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from lucia import DuplicateSessionError, InvalidInputError
from lucia.adapters import SESSION_POLICY_COLUMNS, SessionRow
from lucia.adapters._lifecycle import RecordSessions, guarded
from lucia_redis._blocking import LuaScript, RedisStore
from lucia_redis._guard import text

__all__ = ["RedisSessionAdapter"]

#: Pointers followed from one revoked hash (a renewal of a renewal ...).
_MAX_CHAIN: Final = 8
_RENEWAL_OF: Final = "renewal_of"
_REPLACED_BY: Final = "replaced_by"

# Store a session hash unless the key exists; a renewal carries renewal_of.
_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'row', ARGV[1], 'active_expires', ARGV[2], 'idle_expires', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'renewal_of', ARGV[4]) end
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return 1
"""

# Renewal step 2, the commit: mark a live session as replaced by its renewal.
_COMMIT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[1], 'replaced_by') == 1 or redis.call('HEXISTS', KEYS[1], 'renewal_of') == 1 then
    return 0
end
redis.call('HSET', KEYS[1], 'replaced_by', ARGV[1])
return 1
"""

# Renewal step 3: the pending renewal becomes an ordinary session, if it is still there.
_CONFIRM = """
if redis.call('HGET', KEYS[1], 'renewal_of') == ARGV[1] then
    redis.call('HDEL', KEYS[1], 'renewal_of')
    return 1
end
return 0
"""

# Read and delete a session hash in one step.
_TAKE = """
local fields = redis.call('HGETALL', KEYS[1])
if #fields > 0 then redis.call('DEL', KEYS[1]) end
return fields
"""

# Move a session's expiry, if it exists.
_UPDATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'active_expires', ARGV[1], 'idle_expires', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
"""

# Index upkeep, on one key (one slot): add the member or raise its score to the session's
# idle expiry (GT: never lower it), drop members whose score passed on the server's clock
# (the clock that also expires the session keys), and let the index key expire with its
# latest member.
_INDEX = """
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


Hash = dict[str, str]


def _escape(value: str) -> str:
    """Make an id safe inside a key: no ``{``/``}`` (hash tags), one-to-one (``%`` escapes too)."""
    return value.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")


def _hash(reply: Any) -> Hash:
    """An ``HGETALL`` reply (a dict, or the flat list a script returns) as ``str`` -> ``str``."""
    if isinstance(reply, Mapping):
        return {text(k): text(v) for k, v in reply.items()}
    items = [text(item) for item in reply or ()]
    return dict(zip(items[::2], items[1::2], strict=True))


def _encode(row: SessionRow) -> str:
    data: dict[str, Any] = {"id": row.id, "user_id": row.user_id}
    data.update((name, getattr(row, name)) for name in SESSION_POLICY_COLUMNS)
    data["attributes"] = dict(row.attributes)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _decode(fields: Hash) -> SessionRow:
    data = json.loads(fields["row"])
    return SessionRow(
        id=str(data["id"]),
        user_id=str(data["user_id"]),
        active_expires=int(fields["active_expires"]),
        idle_expires=int(fields["idle_expires"]),
        created_at=data.get("created_at"),
        persistent=bool(data.get("persistent", True)),
        active_period=data.get("active_period"),
        idle_period=data.get("idle_period"),
        absolute_period=data.get("absolute_period"),
        previous_id=data.get("previous_id"),
        previous_expires=data.get("previous_expires"),
        attributes=data.get("attributes") or {},
    )


def _is_live(fields: Hash) -> bool:
    return _RENEWAL_OF not in fields and _REPLACED_BY not in fields


def _previous_id(fields: Hash) -> str | None:
    previous: str | None = json.loads(fields["row"]).get("previous_id")
    return previous


class RedisSessionAdapter(RedisStore, RecordSessions[Hash]):
    """Sessions in Redis or Redis Cluster; users live in another adapter.

    ::

        sessions = RedisSessionAdapter.from_url("redis://127.0.0.1:6379/0", key_prefix="myapp:")
        auth = Lucia(adapter={"user": SQLiteAdapter("app.db"), "session": sessions})

    Each session is a hash that Redis expires at the session's idle expiry; a sorted set
    per user, scored by idle expiry, lists and deletes a user's sessions. Renewal,
    revocation and the session cap follow the single-key protocol of the module notes,
    the same on a single node and on a cluster. Redis 6.2 or newer.

    A session store cannot see the user table, so ``set_session`` does not check that
    the user exists: :class:`lucia.Lucia` checks it before creating a session when the
    user and session stores are separate.

    Every call runs under ``timeout_ms`` (a client-side deadline); Redis errors become
    :class:`lucia.StorageTimeoutError` / :class:`lucia.StorageUnavailableError` with the
    driver's error as ``__cause__``. Give the client you build ``socket_timeout`` and
    ``socket_connect_timeout`` too (:meth:`from_url` sets 5 s each), and a cluster client
    a ``max_connections`` above redis-py's default of 100 per node.

    :class:`lucia.SyncLucia` runs natively over :meth:`blocking_twin`: this adapter on
    redis-py's synchronous client, built from the same settings.

    Args:
        redis: A ``redis.asyncio.Redis`` or ``redis.asyncio.cluster.RedisCluster`` client,
            with or without ``decode_responses``. You keep ownership: close it yourself.
        key_prefix: Prepended to every key (``"myapp:"``). It must not contain ``{`` or
            ``}``: a hash tag in the prefix would put every key in one cluster slot.
        timeout_ms: The deadline of each call, all its round trips included (default
            5000); ``None`` leaves timing to the client's socket timeouts.

    Raises:
        ValueError: A prefix with a hash tag, or a ``timeout_ms`` that is not a positive
            integer or ``None``.
    """

    _create = LuaScript(_CREATE)
    _commit = LuaScript(_COMMIT)
    _confirm = LuaScript(_CONFIRM)
    _take = LuaScript(_TAKE)
    _update = LuaScript(_UPDATE)
    _index_script = LuaScript(_INDEX)

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

    # -- single-key steps -------------------------------------------------------------

    async def _read(self, session_id: str) -> Hash:
        return _hash(await self._redis.hgetall(self.session_key(session_id)))

    async def _store(self, row: SessionRow, *, renewal_of: str = "") -> bool:
        args: list[str | int] = [_encode(row), row.active_expires, row.idle_expires, renewal_of]
        return bool(await self._create(keys=[self.session_key(row.id)], args=args))

    async def _index(self, user_id: str, session_id: str, idle_expires: int) -> None:
        await self._index_script(keys=[self.user_sessions_key(user_id)], args=[idle_expires, session_id])

    async def _unindex(self, user_id: str, *session_ids: str) -> None:
        if session_ids:
            await self._redis.zrem(self.user_sessions_key(user_id), *session_ids)

    async def _take_one(self, session_id: str) -> Hash:
        return _hash(await self._take(keys=[self.session_key(session_id)]))

    # -- reads -----------------------------------------------------------------------

    async def _visible(self, session_id: str) -> Hash | None:
        """The hash ``session_id`` names now: its own, or its renewal's (see the module notes)."""
        own = await self._read(session_id)
        if not own:
            return None
        if _is_live(own):
            return own
        renewal_of = own.get(_RENEWAL_OF)
        if renewal_of is not None:  # a pending renewal, named by its own id
            old = await self._redis.hget(self.session_key(renewal_of), _REPLACED_BY)
            if old is not None and text(old) == session_id:
                return own
            again = await self._read(session_id)
            return again if again and _is_live(again) else None
        renewal = await self._read(own[_REPLACED_BY])
        return renewal if renewal and _previous_id(renewal) == session_id else None

    async def _user_hashes(self, user_id: str) -> list[Hash]:
        """One visible hash per session of the user; index entries of vanished sessions are pruned."""
        members = [text(m) for m in await self._redis.zrange(self.user_sessions_key(user_id), 0, -1)]
        if not members:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for session_id in members:
            pipe.hgetall(self.session_key(session_id))
        hashes = dict(zip(members, [_hash(reply) for reply in await pipe.execute()], strict=True))
        visible: dict[str, Hash] = {}
        gone: list[str] = []
        for session_id, fields in hashes.items():
            if not fields:
                # Safe to prune: a member is indexed only after its hash was stored, so a
                # missing hash expired or was deleted; it is not about to appear.
                gone.append(session_id)
            elif _is_live(fields):
                visible[session_id] = fields
            elif _REPLACED_BY in fields:
                renewal_id = fields[_REPLACED_BY]
                renewal = hashes.get(renewal_id) or await self._read(renewal_id)
                if renewal and _REPLACED_BY not in renewal and json.loads(renewal["row"])["user_id"] == user_id:
                    visible[renewal_id] = renewal
            else:
                old = hashes.get(fields[_RENEWAL_OF])
                if old is None:  # the old hash was deleted after it was read: re-read this one
                    again = await self._read(session_id)
                    if again and _is_live(again):
                        visible[session_id] = again
        for session_id, fields in list(visible.items()):
            # A session read live just before its renewal committed, next to that renewal.
            previous = _previous_id(fields)
            if previous is not None and previous in visible and previous != session_id:
                del visible[previous]
        await self._unindex(user_id, *gone)
        return list(visible.values())

    # -- the SessionAdapter contract (reads, set_session and delete_session: RecordSessions) ----

    def _session_row(self, record: Hash) -> SessionRow:
        return _decode(record)

    async def _visible_session(self, session_id: str) -> Hash | None:
        return await self._visible(session_id)

    async def _visible_user_sessions(self, user_id: str) -> list[Hash]:
        return await self._user_hashes(user_id)

    async def _insert_session(self, session: SessionRow) -> None:
        """Store a session, then index it (``InvalidInputError`` for attributes that do not encode as JSON)."""
        try:
            stored = await self._store(session)
        except ValueError as exc:
            raise InvalidInputError(None, "session attributes must encode as JSON") from exc
        if not stored:
            raise DuplicateSessionError(None, "a session with this id already exists")
        await self._index(session.user_id, session.id, session.idle_expires)

    @guarded
    async def renew_session(self, session_id: str, renewed: SessionRow) -> bool:
        """Replace a session by its renewal: store pending, commit, confirm, retire (see the module notes)."""
        if not await self._store(renewed, renewal_of=session_id):
            raise DuplicateSessionError(None, "a session with this id already exists")
        await self._index(renewed.user_id, renewed.id, renewed.idle_expires)
        if not await self._commit(keys=[self.session_key(session_id)], args=[renewed.id]):
            await self._redis.delete(self.session_key(renewed.id))
            await self._unindex(renewed.user_id, renewed.id)
            return False
        confirmed = await self._confirm(keys=[self.session_key(renewed.id)], args=[session_id])
        old_key = self.session_key(session_id)
        if renewed.previous_id == session_id and renewed.previous_expires is not None:
            await self._redis.pexpireat(old_key, renewed.previous_expires)  # the forwarding stub of the grace window
        else:
            await self._redis.delete(old_key)
        await self._unindex(renewed.user_id, session_id)
        # Not confirmed: a revocation took the renewal after the commit.
        return bool(confirmed)

    @guarded
    async def update_session(self, session_id: str, *, active_expires: int, idle_expires: int) -> None:
        """Move a session's expiry; an unknown session is left alone.

        The index score is raised first, so it never falls behind the session's expiry.
        """
        fields = await self._read(session_id)
        if not fields:
            return
        await self._index(json.loads(fields["row"])["user_id"], session_id, idle_expires)
        await self._update(keys=[self.session_key(session_id)], args=[active_expires, idle_expires])

    async def _revoke_sessions(self, session_ids: Sequence[str]) -> None:
        """Take each session and every renewal its hash points at, then drop them from the indexes.

        One take after another: a call never needs more than one connection, so a burst
        of sign-outs cannot exhaust the client's pool.
        """
        taken: dict[str, list[str]] = {}
        for session_id in session_ids:
            target: str | None = session_id
            for _ in range(_MAX_CHAIN):
                fields = None if target is None else await self._take_one(target)
                if target is None or not fields:
                    break
                taken.setdefault(json.loads(fields["row"])["user_id"], []).append(target)
                target = fields.get(_REPLACED_BY)
        for user_id, ids in taken.items():
            await self._unindex(user_id, *ids)

    @guarded
    async def delete_sessions_by_user_id(self, user_id: str, *, except_session_id: str | None = None) -> None:
        """Delete every session of a user, or all but the one named ``except_session_id`` (id or previous id)."""
        members = [text(m) for m in await self._redis.zrange(self.user_sessions_key(user_id), 0, -1)]
        if except_session_id is not None and members:
            pipe = self._redis.pipeline(transaction=False)
            for session_id in members:
                pipe.hgetall(self.session_key(session_id))
            kept = {
                session_id
                for session_id, fields in zip(members, [_hash(r) for r in await pipe.execute()], strict=True)
                if session_id == except_session_id or (fields and _previous_id(fields) == except_session_id)
            }
            members = [m for m in members if m not in kept]
        await self._revoke_sessions(members)
