"""The MongoDB throttle store: one atomic ``findAndModify`` per attempt."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from lucia.adapters._lifecycle import guarded
from lucia.throttle import Backoff, ThrottleState
from lucia_mongodb._blocking import BlockingCollection
from lucia_mongodb._guard import DEFAULT_TIMEOUT_MS, Guard, resolve

if TYPE_CHECKING:
    from lucia_mongodb._adapter import MongoDBAdapter

__all__ = ["MongoDBThrottleStore", "backoff_pipeline"]

#: Tries of a hit whose state document a concurrent cleanup keeps deleting.
_ATTEMPTS: Final = 4
#: The longest exponent of the reference rule (:meth:`lucia.throttle.Backoff.delay`).
_MAX_DOUBLINGS: Final = 40


def _delays(backoff: Backoff) -> list[int]:
    """``delay(max_failures + k)`` for ``k = 0, 1, ...`` until it stops growing (exact integers)."""
    delays: list[int] = []
    for doublings in range(_MAX_DOUBLINGS + 1):
        delays.append(min(backoff.max_delay, backoff.base_delay << doublings))
        if delays[-1] == backoff.max_delay:
            break
    return delays


def backoff_pipeline(now: int, backoff: Backoff) -> list[dict[str, Any]]:
    """The update pipeline that applies :class:`lucia.throttle.Backoff` to a state document at ``now``.

    It sets ``wait`` to ``backoff.wait_ms(state, now)`` and, when that is 0, the state to
    ``backoff.counted(state, now)`` kept until ``now + forget_after``; a missing, emptied
    or expired document is no state. The windows are integers computed here (``delays``)
    and indexed in the pipeline, so no floating point is involved.
    """
    failures = {"$ifNull": ["$failures", 0]}
    last = {"$ifNull": ["$last_failure", 0]}
    expires = {"$ifNull": ["$expires", 0]}
    delays = _delays(backoff)
    recent = {
        "$and": [
            {"$gt": [failures, 0]},
            {"$gt": [expires, now]},
            {"$lt": [{"$subtract": [now, last]}, backoff.forget_after]},
        ]
    }
    delay = {
        "$cond": [
            {"$lt": [failures, backoff.max_failures]},
            0,
            {"$arrayElemAt": [delays, {"$min": [{"$subtract": [failures, backoff.max_failures]}, len(delays) - 1]}]},
        ]
    }
    refused = {"$gt": ["$wait", 0]}
    counted_last = {"$cond": ["$_recent", {"$max": [now, last]}, now]}
    return [
        {
            "$set": {
                "wait": {
                    "$cond": [
                        {"$and": [recent, {"$gt": [delay, 0]}]},
                        {"$max": [0, {"$subtract": [{"$add": [last, delay]}, now]}]},
                        0,
                    ]
                },
                "_recent": recent,
            }
        },
        {
            "$set": {
                "failures": {"$cond": [refused, "$failures", {"$cond": ["$_recent", {"$add": [failures, 1]}, 1]}]},
                "last_failure": {"$cond": [refused, "$last_failure", counted_last]},
                "expires": {"$cond": [refused, "$expires", now + backoff.forget_after]},
            }
        },
        {"$unset": "_recent"},
    ]


class MongoDBThrottleStore:
    """Throttle state in MongoDB: atomic per attempt, shared by every process (SECURITY B4).

    A hit is one ``find_one_and_update`` whose update pipeline applies the back-off
    rule on the server (:func:`backoff_pipeline`), so concurrent hits from any
    number of processes take turns on the key's document. Client events are documents
    of their own collection, counted with one aggregation. Nothing expires by TTL
    index: :meth:`delete_expired`, which :class:`lucia.throttle.Throttle` calls about once
    a minute, deletes what expired on the ``Lucia`` clock.

    Usually obtained with ``MongoDBAdapter.throttle_store()``; such a store has a
    blocking twin (:meth:`blocking_twin`) for :class:`lucia.SyncLucia`'s native path.

    Args:
        states: The collection of per-key states (``auth_throttle``).
        events: The collection of per-client events (``auth_throttle_event``).
        timeout_ms: The deadline of each call (see ``MongoDBAdapter``).
    """

    def __init__(self, states: Any, events: Any, *, timeout_ms: int | None = DEFAULT_TIMEOUT_MS) -> None:
        self._blocking = isinstance(states, BlockingCollection)
        self._guard = Guard(timeout_ms, backstop=not self._blocking)
        self._states = states
        self._events = events
        #: The adapter's ``blocking_twin`` when ``MongoDBAdapter.throttle_store`` made this store.
        self._twin_of: Callable[[], MongoDBAdapter | None] | None = None
        self._twin: MongoDBThrottleStore | None = None

    def __repr__(self) -> str:
        blocking = ", blocking" if self._blocking else ""
        return f"MongoDBThrottleStore(states={self._states.name!r}, events={self._events.name!r}{blocking})"

    def blocking_twin(self) -> MongoDBThrottleStore | None:
        """This store over the adapter's blocking twin (its synchronous ``MongoClient``), the same object each time.

        ``None`` for a store built directly from collections (it has no client to
        close), or when the adapter has no twin: :class:`lucia.SyncLucia` then falls
        back to its loop thread.
        """
        if self._blocking:
            return self
        if self._twin is None and self._twin_of is not None:
            adapter = self._twin_of()
            if adapter is not None:
                self._twin = MongoDBThrottleStore(
                    adapter._db[self._states.name], adapter._db[self._events.name], timeout_ms=adapter._timeout_ms
                )
        return self._twin

    async def create_indexes(self) -> None:
        """The ``expires`` indexes for cleanup and the ``(key, at)`` index for counting events (not time-bound)."""
        with Guard(None)():
            await self._create_indexes()

    async def _create_indexes(self) -> None:
        await self._states.create_index("expires")
        await self._events.create_index([("key", 1), ("at", 1)])
        await self._events.create_index("expires")

    @guarded
    async def get_state(self, key: str) -> ThrottleState | None:
        """The state of ``key``, or ``None``."""
        doc = await self._states.find_one({"_id": key})
        if doc is None or not doc.get("failures"):
            return None
        return ThrottleState(int(doc["failures"]), int(doc["last_failure"]))

    @guarded
    async def hit(self, key: str, *, now: int, backoff: Backoff) -> int:
        """Refuse inside the window, else count: one ``find_one_and_update`` with an update pipeline.

        A key's first hit creates its empty state document first (an insert that a
        concurrent first hit may win), so the atomic step itself never upserts.
        """
        pipeline = backoff_pipeline(now, backoff)
        for _ in range(_ATTEMPTS):
            doc = await self._states.find_one_and_update({"_id": key}, pipeline, return_document=ReturnDocument.AFTER)
            if doc is not None:
                return int(doc["wait"])
            with contextlib.suppress(DuplicateKeyError):
                await self._states.insert_one({"_id": key, "failures": 0, "last_failure": 0, "expires": 0})
        raise RuntimeError("the throttle state kept disappearing")  # pragma: no cover

    @guarded
    async def delete_state(self, key: str) -> None:
        """Forget ``key``."""
        await self._states.delete_one({"_id": key})

    @guarded
    async def add_event(self, key: str, event_id: str, at: int, *, since: int, expires_at: int) -> tuple[int, int]:
        """Record an event, then count the key's events at or after ``since`` and find the oldest."""
        await self._events.update_one(
            {"_id": {"key": key, "event": event_id}},
            {"$set": {"key": key, "at": at, "expires": expires_at}},
            upsert=True,
        )
        pipeline = [
            {"$match": {"key": key, "at": {"$gte": since}}},
            {"$group": {"_id": None, "count": {"$sum": 1}, "oldest": {"$min": "$at"}}},
        ]
        cursor = await resolve(self._events.aggregate(pipeline))
        found = await cursor.to_list(length=None)
        if not found:
            return 0, at
        return int(found[0]["count"]), int(found[0]["oldest"])

    @guarded
    async def remove_event(self, key: str, event_id: str) -> None:
        """Forget one event."""
        await self._events.delete_one({"_id": {"key": key, "event": event_id}})

    @guarded
    async def delete_expired(self, now: int) -> None:
        """Delete states and events whose expiry passed."""
        await self._states.delete_many({"expires": {"$lte": now}})
        await self._events.delete_many({"expires": {"$lte": now}})
