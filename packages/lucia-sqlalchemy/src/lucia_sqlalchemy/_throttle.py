"""The throttle store in the adapter's database (SECURITY B1, B4), as ``lucia.adapters.sql.SQLThrottleStore``."""

from __future__ import annotations

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Executable

from lucia.throttle import Backoff, ThrottleState
from lucia_sqlalchemy._database import Database, Transaction
from lucia_sqlalchemy._statements import ID
from lucia_sqlalchemy._tables import LuciaTables

__all__ = ["SQLAlchemyThrottleStore"]


def _insert_if_missing(table: Table, dialect_name: str) -> Executable | None:
    """An ``INSERT`` of a fresh state row that leaves an existing row alone, where the dialect has one.

    On MySQL/MariaDB ``ON DUPLICATE KEY UPDATE`` (a no-op assignment) rather than
    ``INSERT IGNORE``: it takes the row's exclusive lock at once, where ``INSERT IGNORE``
    takes a shared one that two transactions would then both try to upgrade (a deadlock).
    """
    values = {"id": bindparam(ID), "failures": 0, "last_failure": 0, "expires": 0}
    if dialect_name == "postgresql":
        return postgresql.insert(table).values(values).on_conflict_do_nothing(index_elements=[table.c.id])
    if dialect_name == "sqlite":
        return sqlite.insert(table).values(values).on_conflict_do_nothing(index_elements=[table.c.id])
    if dialect_name in ("mysql", "mariadb"):
        return mysql.insert(table).values(values).on_duplicate_key_update(failures=table.c.failures)
    return None


class SQLAlchemyThrottleStore:
    """Throttle state in the adapter's database: atomic, shared by every process using it.

    A hit is one short transaction that locks the key's row (``SELECT ... FOR UPDATE``;
    SQLite locks the database), so concurrent hits from any number of processes take
    turns, and the back-off rule (:class:`lucia.throttle.Backoff`) runs in Python on the
    locked state. Client events are rows of the throttle-event table. Expired rows are
    deleted by :meth:`delete_expired`, which :class:`lucia.throttle.Throttle` calls
    about once a minute. Get one from :meth:`SQLAlchemyAdapter.throttle_store`.
    """

    def __init__(self, database: Database, tables: LuciaTables) -> None:
        t, e = tables.throttle, tables.throttle_event
        this = t.c.id == bindparam(ID)
        self._database = database
        self._get = select(t.c.failures, t.c.last_failure, t.c.expires).where(this)
        self._lock = self._get.with_for_update()
        self._ensure = _insert_if_missing(t, database.name)
        self._insert = insert(t).values(id=bindparam(ID), failures=0, last_failure=0, expires=0)
        self._update = (
            update(t)
            .where(this)
            .values(
                failures=bindparam("lucia_failures"),
                last_failure=bindparam("lucia_last"),
                expires=bindparam("lucia_expires"),
            )
        )
        self._delete = delete(t).where(this)
        self._insert_event = insert(e)
        bucket = e.c.bucket == bindparam("lucia_bucket")
        self._count_events = select(func.count(), func.min(e.c.at)).where(bucket, e.c.at >= bindparam("lucia_since"))
        self._delete_event = delete(e).where(e.c.id == bindparam(ID))
        self._delete_expired_states = delete(t).where(t.c.expires <= bindparam("lucia_now"))
        self._delete_expired_events = delete(e).where(e.c.expires <= bindparam("lucia_now"))

    def __repr__(self) -> str:
        return f"SQLAlchemyThrottleStore({self._database.engine.url.render_as_string(hide_password=True)!r})"

    async def get_state(self, key: str) -> ThrottleState | None:
        """The state of ``key``, or ``None``."""
        row = await self._database.first(self._get, {ID: key})
        return None if row is None or int(row[0]) == 0 else ThrottleState(int(row[0]), int(row[1]))

    async def hit(self, key: str, *, now: int, backoff: Backoff) -> int:
        """Refuse inside the window, else count: one transaction on the key's locked row."""

        async def count(tx: Transaction) -> int:
            failures, last, expires = await self._locked_row(tx, key)
            state = None if failures == 0 or expires <= now else ThrottleState(failures, last)
            wait = backoff.wait_ms(state, now)
            if wait == 0:
                new = backoff.counted(state, now)
                params = {
                    ID: key,
                    "lucia_failures": new.failures,
                    "lucia_last": new.last_failure,
                    "lucia_expires": now + backoff.forget_after,
                }
                await tx.write(self._update, params)
            return wait

        return await self._database.transact(count)

    async def _locked_row(self, tx: Transaction, key: str) -> tuple[int, int, int]:
        """Make sure the key's row exists, lock it, read it."""
        if self._ensure is not None:
            await tx.write(self._ensure, {ID: key})
        else:  # any other database: insert in a savepoint, a duplicate means it exists
            try:
                async with tx.conn.begin_nested():
                    await tx.conn.execute(self._insert, {ID: key})
            except IntegrityError:
                pass
        row = await tx.first(self._lock, {ID: key})
        assert row is not None  # it exists and is locked by this transaction
        return int(row[0]), int(row[1]), int(row[2])

    async def delete_state(self, key: str) -> None:
        """Forget ``key``."""
        await self._database.write(self._delete, {ID: key})

    async def add_event(self, key: str, event_id: str, at: int, *, since: int, expires_at: int) -> tuple[int, int]:
        """Record an event and count the window."""
        event = {"id": event_id, "bucket": key, "at": at, "expires": expires_at}
        await self._database.write(self._insert_event, event)
        row = await self._database.first(self._count_events, {"lucia_bucket": key, "lucia_since": since})
        assert row is not None
        return int(row[0]), int(row[1] if row[1] is not None else at)

    async def remove_event(self, key: str, event_id: str) -> None:
        """Forget one event."""
        await self._database.write(self._delete_event, {ID: event_id})

    async def delete_expired(self, now: int) -> None:
        """Delete expired states and events."""
        await self._database.write(self._delete_expired_states, {"lucia_now": now})
        await self._database.write(self._delete_expired_events, {"lucia_now": now})
