"""The SQLAlchemy adapter: Lucia's rows through SQLAlchemy Core on an ``AsyncEngine``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Column, Dialect, bindparam, delete, event, false, insert, select, update
from sqlalchemy.engine import Engine, Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import Executable

from lucia import LuciaError
from lucia.adapters import KeyRow, SessionRow, UserRow
from lucia.adapters.sql import SQLStatements, constraint_error
from lucia_sqlalchemy._errors import violation_of
from lucia_sqlalchemy._tables import LuciaTables, lucia_tables

__all__ = ["SQLAlchemyAdapter", "enable_sqlite_foreign_keys"]

_Table = Literal["user", "session", "key"]
_ID = "lucia_id"  # bound-parameter names must not collide with column names in UPDATEs


def _sqlite_foreign_keys_on(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def enable_sqlite_foreign_keys(engine: AsyncEngine | Engine) -> None:
    """Turn SQLite's foreign keys on for every new connection of ``engine``.

    SQLite ignores ``FOREIGN KEY`` clauses unless each connection says
    ``PRAGMA foreign_keys = ON``; Lucia relies on them to refuse a key or session for an
    unknown user. :class:`SQLAlchemyAdapter` calls this for SQLite engines; call it
    yourself right after ``create_async_engine`` if the engine is used before the
    adapter exists (connections opened earlier are not changed). Calling it twice is harmless.

    Args:
        engine: The engine (async or sync).
    """
    sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    if not event.contains(sync_engine, "connect", _sqlite_foreign_keys_on):
        event.listen(sync_engine, "connect", _sqlite_foreign_keys_on)


class SQLAlchemyAdapter:
    """Users, keys and sessions in any database SQLAlchemy 2 reaches with an async driver.

    Statements are SQLAlchemy Core, built once and compiled once per dialect (SQLAlchemy
    caches them). Reads use one pooled connection and one statement each;
    :meth:`get_session_and_user` is one join. Writes run in a transaction: ``set_user``
    inserts the user and its primary key atomically, and a single-use key is consumed by
    ``DELETE ... RETURNING`` where the dialect has it (PostgreSQL, SQLite, MariaDB), else by
    ``SELECT ... FOR UPDATE`` and a ``DELETE`` whose row count decides the one winner.

    Constraint violations on the primary keys and foreign keys of the three tables become
    :class:`lucia.LuciaError`; every other error (a lost connection, a unique column of
    your own) propagates unchanged. Create the engine with ``pool_pre_ping=True`` so a
    connection the server dropped is replaced instead of failing a request.

    Args:
        engine: The ``AsyncEngine``; you own it (dispose it when the app stops).
        tables: The tables from :func:`lucia_tables`; by default ``auth_user``,
            ``auth_session`` and ``auth_key`` with no user attribute columns on a new
            ``MetaData``.
        delete_returning: Consume single-use keys with ``DELETE ... RETURNING``
            (``True``) or ``SELECT ... FOR UPDATE`` and ``DELETE`` (``False``); by default
            whatever the connected dialect supports.
    """

    def __init__(
        self, engine: AsyncEngine, *, tables: LuciaTables | None = None, delete_returning: bool | None = None
    ) -> None:
        self.engine = engine
        self.tables = lucia_tables() if tables is None else tables
        self._delete_returning = delete_returning
        if engine.dialect.name == "sqlite":
            enable_sqlite_foreign_keys(engine)
        self._sql = _Statements.for_tables(self.tables)
        # PostgreSQL reads run in autocommit: one round trip instead of BEGIN, SELECT,
        # ROLLBACK (psycopg and asyncpg switch autocommit locally; MySQL drivers would
        # send a SET per checkout, so they keep the default).
        self._reader = (
            engine.execution_options(isolation_level="AUTOCOMMIT") if engine.dialect.name == "postgresql" else engine
        )

    def __repr__(self) -> str:
        return f"SQLAlchemyAdapter({self.engine.url.render_as_string(hide_password=True)!r})"

    async def create_schema(self) -> None:
        """Create the three tables and their indexes where they do not exist yet.

        For a quick start or tests; in production let your migrations (Alembic) create
        them from the ``MetaData`` the tables are attached to.
        """
        async with self.engine.begin() as conn:
            await conn.run_sync(self.tables.metadata.create_all, tables=list(self.tables), checkfirst=True)

    # -- plumbing --------------------------------------------------------------------

    async def _first(self, statement: Executable, params: Mapping[str, Any]) -> Row[Any] | None:
        async with self._reader.connect() as conn:
            return (await conn.execute(statement, params)).first()

    async def _all(self, statement: Executable, params: Mapping[str, Any]) -> Sequence[Row[Any]]:
        async with self._reader.connect() as conn:
            return (await conn.execute(statement, params)).all()

    async def _write(self, statement: Executable, params: Mapping[str, Any], table: _Table | None = None) -> None:
        try:
            async with self.engine.begin() as conn:
                await conn.execute(statement, params)
        except IntegrityError as exc:
            raise self._translate(exc, table) from exc

    def _translate(self, exc: IntegrityError, table: _Table | None) -> Exception:
        if table is None:
            return exc
        violation = violation_of(exc, getattr(self.tables, table), self.engine.dialect.name)
        error = constraint_error(table, violation)
        return exc if error is None else error

    def _user_params(self, user_id: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
        params = {"id": user_id}
        for name, value in attributes.items():
            column = self._sql.user_columns.get(name)
            if column is None or name == "id":
                raise LuciaError("AUTH_INVALID_INPUT", f"the user table has no attribute column {name!r}"[:120])
            params[column.key] = value
        return params

    def _uses_delete_returning(self, dialect: Dialect) -> bool:
        if self._delete_returning is not None:
            return self._delete_returning
        return bool(dialect.delete_returning)

    # -- users -----------------------------------------------------------------------

    async def get_user(self, user_id: str) -> UserRow | None:
        """Return the user row, or ``None``."""
        row = await self._first(self._sql.get_user, {_ID: user_id})
        return None if row is None else SQLStatements.user_row(self._sql.user_names, tuple(row))

    async def set_user(self, user: UserRow, key: KeyRow | None) -> None:
        """Insert a user and its primary key in one transaction."""
        params = self._user_params(user.id, user.attributes)
        table: _Table = "user"
        try:
            async with self.engine.begin() as conn:
                await conn.execute(self._sql.insert_user, params)
                if key is not None:
                    table = "key"
                    await conn.execute(self._sql.insert_key, _key_params(key))
        except IntegrityError as exc:
            raise self._translate(exc, table) from exc

    async def update_user(self, user_id: str, attributes: Mapping[str, Any]) -> None:
        """Set some attribute columns of a user."""
        if not attributes:
            return
        values = self._user_params(user_id, attributes)
        del values["id"]
        statement = update(self.tables.user).where(self.tables.user.c.id == bindparam(_ID)).values(values)
        await self._write(statement, {_ID: user_id})

    async def delete_user(self, user_id: str) -> None:
        """Delete a user row."""
        await self._write(self._sql.delete_user, {_ID: user_id})

    # -- keys ------------------------------------------------------------------------

    async def get_key(self, key_id: str) -> KeyRow | None:
        """Return the key row, or ``None``."""
        row = await self._first(self._sql.get_key, {_ID: key_id})
        return None if row is None else SQLStatements.key_row(tuple(row))

    async def get_keys_by_user_id(self, user_id: str) -> list[KeyRow]:
        """Every key of a user."""
        return [
            SQLStatements.key_row(tuple(row)) for row in await self._all(self._sql.get_keys_by_user_id, {_ID: user_id})
        ]

    async def set_key(self, key: KeyRow) -> None:
        """Insert a key."""
        await self._write(self._sql.insert_key, _key_params(key), "key")

    async def update_key(self, key_id: str, *, hashed_password: str | None) -> None:
        """Replace the password hash of a key."""
        await self._write(self._sql.update_key, {_ID: key_id, "lucia_hash": hashed_password})

    async def delete_key(self, key_id: str) -> None:
        """Delete a non-primary key."""
        await self._write(self._sql.delete_non_primary_key, {_ID: key_id})

    async def delete_keys_by_user_id(self, user_id: str) -> None:
        """Delete every key of a user."""
        await self._write(self._sql.delete_keys_by_user_id, {_ID: user_id})

    async def use_single_use_key(self, key_id: str) -> KeyRow | None:
        """Delete and return a single-use key, atomically: of concurrent calls one gets it."""
        params = {_ID: key_id}
        async with self.engine.begin() as conn:
            row: tuple[Any, ...] | None
            if self._uses_delete_returning(conn.dialect):
                found = (await conn.execute(self._sql.consume_key, params)).first()
                row = None if found is None else tuple(found)
            else:
                row = await _lock_and_delete(conn, self._sql.lock_key, self._sql.delete_locked_key, params)
        return None if row is None else SQLStatements.key_row(row)

    # -- sessions --------------------------------------------------------------------

    async def get_session(self, session_id: str) -> SessionRow | None:
        """Return the session row, or ``None``."""
        row = await self._first(self._sql.get_session, {_ID: session_id})
        return None if row is None else SQLStatements.session_row(tuple(row))

    async def get_sessions_by_user_id(self, user_id: str) -> list[SessionRow]:
        """Every session of a user."""
        rows = await self._all(self._sql.get_sessions_by_user_id, {_ID: user_id})
        return [SQLStatements.session_row(tuple(row)) for row in rows]

    async def set_session(self, session: SessionRow) -> None:
        """Insert a session."""
        params = {
            "id": session.id,
            "user_id": session.user_id,
            "active_expires": session.active_expires,
            "idle_expires": session.idle_expires,
        }
        await self._write(self._sql.insert_session, params, "session")

    async def update_session(self, session_id: str, *, active_expires: int, idle_expires: int) -> None:
        """Move a session's expiry."""
        params = {_ID: session_id, "lucia_active": active_expires, "lucia_idle": idle_expires}
        await self._write(self._sql.update_session, params)

    async def delete_session(self, session_id: str) -> None:
        """Delete one session."""
        await self._write(self._sql.delete_session, {_ID: session_id})

    async def delete_sessions_by_user_id(self, user_id: str) -> None:
        """Delete every session of a user."""
        await self._write(self._sql.delete_sessions_by_user_id, {_ID: user_id})

    async def get_session_and_user(self, session_id: str) -> tuple[SessionRow, UserRow] | None:
        """The session and its user, in one query (a join)."""
        row = await self._first(self._sql.get_session_and_user, {_ID: session_id})
        return None if row is None else SQLStatements.session_and_user_rows(self._sql.joined_names, tuple(row))


@dataclass(frozen=True, slots=True)
class _Statements:
    """Every statement the adapter runs, built once per set of tables (SQLAlchemy caches the compiled forms)."""

    user_columns: dict[str, Column[Any]]
    user_names: list[str]
    joined_names: list[str]
    get_user: Executable
    insert_user: Executable
    delete_user: Executable
    get_key: Executable
    get_keys_by_user_id: Executable
    insert_key: Executable
    update_key: Executable
    delete_non_primary_key: Executable
    delete_keys_by_user_id: Executable
    consume_key: Executable
    lock_key: Executable
    delete_locked_key: Executable
    get_session: Executable
    get_sessions_by_user_id: Executable
    insert_session: Executable
    update_session: Executable
    delete_session: Executable
    delete_sessions_by_user_id: Executable
    get_session_and_user: Executable

    @classmethod
    def for_tables(cls, tables: LuciaTables) -> _Statements:
        """Build the statements for these tables."""
        u, s, k = tables.user, tables.session, tables.key
        key_columns = (k.c.id, k.c.user_id, k.c.primary_key, k.c.hashed_password, k.c.expires)
        session_columns = (s.c.id, s.c.user_id, s.c.active_expires, s.c.idle_expires)
        this_user, this_key, this_session = (t.c.id == bindparam(_ID) for t in (u, k, s))
        single_use = (this_key, k.c.expires.is_not(None))
        user_names = [c.name for c in u.columns]
        return cls(
            user_columns={c.name: c for c in u.columns},
            user_names=user_names,
            joined_names=["id", "user_id", "active_expires", "idle_expires", *user_names],
            get_user=select(*u.columns).where(this_user),
            insert_user=insert(u),
            delete_user=delete(u).where(this_user),
            get_key=select(*key_columns).where(this_key),
            get_keys_by_user_id=select(*key_columns).where(k.c.user_id == bindparam(_ID)),
            insert_key=insert(k),
            update_key=update(k).where(this_key).values(hashed_password=bindparam("lucia_hash")),
            delete_non_primary_key=delete(k).where(this_key, k.c.primary_key == false()),
            delete_keys_by_user_id=delete(k).where(k.c.user_id == bindparam(_ID)),
            consume_key=delete(k).where(*single_use).returning(*key_columns),
            lock_key=select(*key_columns).where(*single_use).with_for_update(),
            delete_locked_key=delete(k).where(*single_use),
            get_session=select(*session_columns).where(this_session),
            get_sessions_by_user_id=select(*session_columns).where(s.c.user_id == bindparam(_ID)),
            insert_session=insert(s),
            update_session=update(s)
            .where(this_session)
            .values(active_expires=bindparam("lucia_active"), idle_expires=bindparam("lucia_idle")),
            delete_session=delete(s).where(this_session),
            delete_sessions_by_user_id=delete(s).where(s.c.user_id == bindparam(_ID)),
            get_session_and_user=select(*session_columns, *u.columns)
            .join_from(s, u, u.c.id == s.c.user_id)
            .where(this_session),
        )


async def _lock_and_delete(
    conn: AsyncConnection, lock: Executable, delete_: Executable, params: Mapping[str, Any]
) -> tuple[Any, ...] | None:
    """The portable consumption: lock the row, delete it; the deleted row count picks the winner.

    Checking the count (not only the lock) keeps it atomic even where ``FOR UPDATE`` is
    not rendered (SQLite before 3.35 has neither it nor ``RETURNING``).
    """
    row = (await conn.execute(lock, params)).first()
    if row is None:
        return None
    deleted = await conn.execute(delete_, params)
    return tuple(row) if deleted.rowcount == 1 else None


def _key_params(key: KeyRow) -> dict[str, Any]:
    return {
        "id": key.id,
        "user_id": key.user_id,
        "primary_key": key.primary_key,
        "hashed_password": key.hashed_password,
        "expires": key.expires,
    }
