"""The SQLAlchemy adapter: Lucia's rows through SQLAlchemy Core on an ``AsyncEngine``."""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import Table, false, literal_column, select
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.sql import Executable

from lucia import ConfigurationError, InvalidInputError, StorageUnavailableError
from lucia.adapters import SESSION_POLICY_COLUMNS, ChallengeRow, KeyRow, PasskeyCredentialRow, SessionRow, UserRow
from lucia.adapters._lifecycle import Lifecycle
from lucia.adapters.sql import SQLStatements, key_params
from lucia_sqlalchemy._database import Database, Transaction, enable_sqlite_foreign_keys
from lucia_sqlalchemy._statements import (
    CHALLENGE_COLUMNS,
    ID,
    KEY_COLUMNS,
    PASSKEY_COLUMNS,
    SessionStatements,
    Statements,
    session_statements,
)
from lucia_sqlalchemy._tables import LuciaTables, lucia_tables
from lucia_sqlalchemy._throttle import SQLAlchemyThrottleStore

__all__ = ["SQLAlchemyAdapter"]

_R = TypeVar("_R")

#: Every adapter, so that a forked worker stops using the connections its engine inherited.
_adapters: weakref.WeakSet[SQLAlchemyAdapter] = weakref.WeakSet()


def _forget_connections_after_fork() -> None:
    # Pooled connections (sockets, and async drivers' streams bound to the parent's event
    # loop) must not be shared with the parent: the child starts with an empty pool of its
    # own and leaves the parent's connections open (SQLAlchemy's advice for os.fork()).
    for adapter in list(_adapters):
        adapter.engine.sync_engine.dispose(close=False)


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forget_connections_after_fork)


class SQLAlchemyAdapter(Lifecycle):
    """Users, keys, sessions, throttle state and passkeys in any database SQLAlchemy 2 reaches with an async driver.

    ::

        engine = create_async_engine("postgresql+psycopg://app@localhost/app", pool_pre_ping=True)
        adapter = SQLAlchemyAdapter(engine, tables=lucia_tables(metadata))
        auth = Lucia(adapter=adapter, throttle=Throttle(store=adapter.throttle_store()))

    Statements are SQLAlchemy Core, built once and compiled once per dialect (SQLAlchemy
    caches them). Reads use one pooled connection and one statement each;
    :meth:`get_session_and_user` is one join. Writes run in a transaction:
    ``set_user`` inserts the user and its primary key atomically; ``delete_user``
    deletes the user, its keys and sessions (passkeys cascade) in one transaction; a
    single-use key is consumed by ``DELETE ... RETURNING`` where the dialect has it,
    else by ``SELECT ... FOR UPDATE`` and a ``DELETE`` whose row count decides the one
    winner. A session is renewed in place: one ``UPDATE`` gives the row its new id, so
    concurrent renewals and revocations serialise on that row. With a cap, a new
    session is inserted in a transaction that locks the user's row first.

    Fork-safe: a worker forked after the engine was used (``gunicorn --preload``) starts
    with an empty pool of its own instead of sharing the parent's connections.

    The session table's columns are read once from the database (not from the
    metadata): on a Lucia-JS 1.x four-column table the policy features are off, and a
    column the application added with its own DDL can hold a session attribute.

    Errors: constraint violations on Lucia's primary and foreign keys become
    :class:`lucia.LuciaError` subclasses; a lost connection, a server that is down or a
    timeout becomes :class:`lucia.StorageUnavailableError` /
    :class:`lucia.StorageTimeoutError`; every other error (a unique column of your own,
    a missing table) propagates unchanged. A write that the database rolls back to break
    a deadlock (InnoDB does, between a renewal and a revocation) runs again. Create the
    engine with ``pool_pre_ping=True`` so a connection the server dropped is replaced
    instead of failing a request.

    Args:
        engine: The ``AsyncEngine``. You own it (dispose it when the app stops), unless
            the adapter made it (:meth:`from_url`).
        tables: The tables from :func:`lucia_tables`; by default the ``auth_*`` tables
            with no attribute columns on a new ``MetaData``.
        delete_returning: Consume single-use keys and challenges with ``DELETE ...
            RETURNING`` (``True``) or ``SELECT ... FOR UPDATE`` and ``DELETE``
            (``False``); by default whatever the connected dialect supports.
    """

    def __init__(
        self, engine: AsyncEngine, *, tables: LuciaTables | None = None, delete_returning: bool | None = None
    ) -> None:
        self.engine = engine
        self.tables = lucia_tables() if tables is None else tables
        self._delete_returning = delete_returning
        self._db = Database(engine)
        self._sql = Statements.for_tables(self.tables, engine.dialect.name)
        self._sessions: SessionStatements | None = None
        self._throttle_store: SQLAlchemyThrottleStore | None = None
        self._owns_engine = False
        if engine.dialect.name == "sqlite":
            enable_sqlite_foreign_keys(engine)
        _adapters.add(self)

    @classmethod
    def from_url(
        cls,
        url: str | URL,
        *,
        tables: LuciaTables | None = None,
        delete_returning: bool | None = None,
        **engine_options: Any,
    ) -> SQLAlchemyAdapter:
        """An adapter on a new engine that it owns: :meth:`close` disposes of it.

        Args:
            url: The database URL with an async driver (``postgresql+psycopg://...``).
            tables: As for the constructor.
            delete_returning: As for the constructor.
            **engine_options: Options of ``create_async_engine`` (``pool_pre_ping=True`` by default).
        """
        adapter = cls(
            create_async_engine(url, **{"pool_pre_ping": True, **engine_options}),
            tables=tables,
            delete_returning=delete_returning,
        )
        adapter._owns_engine = True
        return adapter

    def __repr__(self) -> str:
        return f"SQLAlchemyAdapter({self.engine.url.render_as_string(hide_password=True)!r})"

    # -- lifecycle and schema ----------------------------------------------------------

    async def connect(self) -> None:
        """Check that the database answers (the engine connects lazily otherwise)."""
        with self._db.storage_errors():
            async with self.engine.connect():
                pass

    async def close(self) -> None:
        """Dispose of the engine if the adapter made it (:meth:`from_url`); yours stays open."""
        if self._owns_engine:
            await self.engine.dispose()

    async def create_schema(self) -> None:
        """Create every Lucia table and index that does not exist yet; never alter an existing table.

        For a quick start and tests; in production let your migrations (Alembic) create
        them from the ``MetaData`` the tables are attached to. An existing Lucia-JS 1.x
        session table is left as it is (the policy features are then off).

        Raises:
            ConfigurationError: An existing user or session table lacks a column of
                your ``user_columns`` / ``session_columns`` (add it with a migration).
        """
        with self._db.storage_errors():
            async with self.engine.begin() as conn:
                await conn.run_sync(self.tables.metadata.create_all, tables=list(self.tables), checkfirst=True)
        self._sessions = None
        sessions = await self._session_statements()
        found_user = {name.lower() for name in await self._column_names(self.tables.user)}
        missing_user = [c.name for c in self.tables.user.columns if c.name.lower() not in found_user]
        # A missing policy column is allowed (a Lucia-JS 1.x table: the features are off).
        missing_session = [
            c.name
            for c in self.tables.session.columns
            if c.name.lower() not in sessions.layout.session_columns and c.name.lower() not in SESSION_POLICY_COLUMNS
        ]
        for table, missing in ((self.tables.user, missing_user), (self.tables.session, missing_session)):
            if missing:
                raise ConfigurationError(
                    f"the existing table {table.fullname!r} lacks the column(s) {', '.join(missing)}; "
                    "create_schema() never alters a table: add them with a migration (alembic revision --autogenerate)"
                )

    async def _column_names(self, table: Table) -> list[str]:
        probe: Executable = select(literal_column("*")).select_from(table).where(false())
        try:
            with self._db.storage_errors():
                async with self.engine.connect() as conn:
                    return list((await conn.execute(probe)).keys())
        except DBAPIError as exc:
            raise ConfigurationError(
                f"cannot read the table {table.fullname!r} (does it exist?): run your migrations "
                "(alembic upgrade head) or await adapter.create_schema()"
            ) from exc

    async def session_columns(self) -> frozenset[str]:
        """The session table's columns, read once from the database (lower case).

        Raises:
            ConfigurationError: The session table does not exist or lacks a Lucia-JS column.
        """
        return frozenset((await self._session_statements()).layout.session_columns)

    async def _session_statements(self) -> SessionStatements:
        if self._sessions is None:
            self._sessions = session_statements(self.tables, await self._column_names(self.tables.session))
        return self._sessions

    # -- users -----------------------------------------------------------------------

    def _user_params(self, user_id: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {"id": user_id}
        for name, value in attributes.items():
            column = self._sql.user_columns.get(name)
            if column is None or name == "id":
                raise InvalidInputError(None, f"the user table has no attribute column {name!r}"[:120])
            params[column.key] = value
        return params

    async def _first_by_id(
        self, statement: Executable, value: str, decode: Callable[[tuple[Any, ...]], _R]
    ) -> _R | None:
        """The first row of a query on one id (``:id``), decoded; or ``None``."""
        row = await self._db.first(statement, {ID: value})
        return None if row is None else decode(tuple(row))

    async def _all_by_id(self, statement: Executable, value: str, decode: Callable[[tuple[Any, ...]], _R]) -> list[_R]:
        """Every row of a query on one id (``:id``), decoded."""
        return [decode(tuple(row)) for row in await self._db.all(statement, {ID: value})]

    async def get_user(self, user_id: str) -> UserRow | None:
        """Return the user row, or ``None``."""
        names = self._sql.user_names
        return await self._first_by_id(self._sql.get_user, user_id, lambda row: SQLStatements.user_row(names, row))

    async def set_user(self, user: UserRow, key: KeyRow | None) -> None:
        """Insert a user and its primary key in one transaction."""
        params = self._user_params(user.id, user.attributes)

        async def insert(tx: Transaction) -> None:
            await tx.write(self._sql.insert_user, params, "user")
            if key is not None:
                await tx.write(self._sql.insert_key, _key_params(key), "key")

        await self._db.transact(insert)

    async def update_user(self, user_id: str, attributes: Mapping[str, Any]) -> None:
        """Set some attribute columns of a user."""
        if not attributes:
            return
        values = self._user_params(user_id, attributes)
        del values["id"]
        user = self.tables.user
        await self._db.write(user.update().where(user.c.id == user_id).values(values), {})

    async def delete_user(self, user_id: str) -> None:
        """Delete a user, its sessions and keys in one transaction (its passkeys cascade)."""

        async def delete(tx: Transaction) -> None:
            await tx.write(self._sql.delete_sessions_by_user_id, {ID: user_id})
            await tx.write(self._sql.delete_keys_by_user_id, {ID: user_id})
            await tx.write(self._sql.delete_user, {ID: user_id})

        await self._db.transact(delete)

    # -- keys ------------------------------------------------------------------------

    async def get_key(self, key_id: str) -> KeyRow | None:
        """Return the key row, or ``None``."""
        return await self._first_by_id(self._sql.get_key, key_id, SQLStatements.key_row)

    async def get_keys_by_user_id(self, user_id: str) -> list[KeyRow]:
        """Every key of a user."""
        return await self._all_by_id(self._sql.get_keys_by_user_id, user_id, SQLStatements.key_row)

    async def set_key(self, key: KeyRow) -> None:
        """Insert a key."""
        await self._db.write(self._sql.insert_key, _key_params(key), "key")

    async def update_key(self, key_id: str, *, hashed_password: str | None) -> None:
        """Replace the password hash of a key."""
        await self._db.write(self._sql.update_key, {ID: key_id, "lucia_hash": hashed_password})

    async def delete_key(self, key_id: str) -> None:
        """Delete a non-primary key."""
        await self._db.write(self._sql.delete_non_primary_key, {ID: key_id})

    async def delete_keys_by_user_id(self, user_id: str) -> None:
        """Delete every key of a user."""
        await self._db.write(self._sql.delete_keys_by_user_id, {ID: user_id})

    def _uses_delete_returning(self) -> bool:
        if self._delete_returning is not None:
            return self._delete_returning
        # Known once the engine has connected (MariaDB reached as mysql:// gains it then).
        return bool(self.engine.dialect.delete_returning)

    async def use_single_use_key(self, key_id: str) -> KeyRow | None:
        """Delete and return a single-use key, atomically: of concurrent calls one gets it."""
        row = await self._consume(self._sql.consume_key, self._sql.lock_key, self._sql.delete_locked_key, key_id)
        return None if row is None else SQLStatements.key_row(row)

    async def _consume(self, returning: Any, lock: Any, delete_locked: Any, row_id: str) -> tuple[Any, ...] | None:
        """Delete one row and return it: ``DELETE ... RETURNING``, or lock, delete and count.

        Checking the deleted row count (not only the lock) keeps the second form atomic
        even where ``FOR UPDATE`` is not rendered (SQLite).
        """
        params = {ID: row_id}
        if self._uses_delete_returning():
            found = await self._db.write_first(returning, params)
            return None if found is None else tuple(found)

        async def lock_and_delete(tx: Transaction) -> tuple[Any, ...] | None:
            locked = await tx.first(lock, params)
            if locked is None or await tx.write(delete_locked, params) != 1:
                return None
            return tuple(locked)

        return await self._db.transact(lock_and_delete)

    # -- sessions --------------------------------------------------------------------

    async def get_session(self, session_id: str) -> SessionRow | None:
        """The session with this id, or the renewal of it (by ``previous_id``), or ``None``."""
        s = await self._session_statements()
        row = await self._db.first(s.get, {ID: session_id})
        if row is None and s.layout.has_grace:
            row = await self._db.first(s.get_by_previous_id, {ID: session_id})
        return None if row is None else _asked_for(s.layout.session_row(tuple(row)), session_id)

    async def get_sessions_by_user_id(self, user_id: str) -> list[SessionRow]:
        """Every session of a user."""
        s = await self._session_statements()
        return await self._all_by_id(s.get_by_user_id, user_id, s.layout.session_row)

    async def set_session(self, session: SessionRow, *, max_per_user: int | None = None) -> None:
        """Insert a session; with ``max_per_user``, drop the oldest beyond it in the same transaction.

        The transaction locks the user's row first, so concurrent sign-ins of one user
        take turns and the cap holds whatever the interleaving.
        """
        s = await self._session_statements()
        values = s.values(session)
        if max_per_user is None:
            await self._db.write(s.insert, values, "session")
            return

        async def insert_within_cap(tx: Transaction) -> None:
            await tx.first(self._sql.lock_user, {ID: session.user_id})
            await tx.write(s.insert, values, "session")
            ids = [row[0] for row in await tx.all(s.ids_by_age, {ID: session.user_id})]
            extra = ids[max_per_user:]
            if extra:
                await tx.write(s.delete_ids, {"lucia_ids": extra})

        await self._db.transact(insert_within_cap)

    async def renew_session(self, session_id: str, renewed: SessionRow) -> bool:
        """Renew in place: one ``UPDATE`` gives the row its new id; ``False`` if it is gone."""
        s = await self._session_statements()
        return await self._db.write(s.renew, s.renew_params(session_id, renewed)) == 1

    async def update_session(self, session_id: str, *, active_expires: int, idle_expires: int) -> None:
        """Move a session's expiry."""
        s = await self._session_statements()
        await self._db.write(s.update, {ID: session_id, "lucia_active": active_expires, "lucia_idle": idle_expires})

    async def delete_session(self, session_id: str) -> None:
        """Delete the session with this id or previous id."""
        s = await self._session_statements()
        await self._db.write(s.delete, {ID: session_id})

    async def delete_sessions_by_user_id(self, user_id: str, *, except_session_id: str | None = None) -> None:
        """Delete every session of a user, or every one but the session named ``except_session_id``."""
        if except_session_id is None:
            await self._db.write(self._sql.delete_sessions_by_user_id, {ID: user_id})
            return
        s = await self._session_statements()
        await self._db.write(s.delete_others, {"lucia_user_id": user_id, "lucia_kept": except_session_id})

    async def get_session_and_user(self, session_id: str) -> tuple[SessionRow, UserRow] | None:
        """The session (or the renewal of it) and its user, in one query (a join)."""
        s = self._sessions or await self._session_statements()
        row = await self._db.first(s.get_with_user, {ID: session_id})
        if row is None and s.layout.has_grace:
            row = await self._db.first(s.get_with_user_by_previous_id, {ID: session_id})
        if row is None:
            return None
        session, user = s.layout.session_and_user_rows(s.joined_names, tuple(row))
        if user.id != session.user_id:
            raise StorageUnavailableError(None, "the database answered with a user row of another session")
        checked = _asked_for(session, session_id)
        return None if checked is None else (checked, user)

    # -- throttling ------------------------------------------------------------------

    def throttle_store(self) -> SQLAlchemyThrottleStore:
        """A :class:`lucia.throttle.ThrottleStore` in this database, shared by every process using it."""
        if self._throttle_store is None:
            self._throttle_store = SQLAlchemyThrottleStore(self._db, self.tables)
        return self._throttle_store

    # -- passkeys --------------------------------------------------------------------

    async def set_passkey_credential(self, credential: PasskeyCredentialRow) -> None:
        """Insert a credential."""
        values = dict(zip(PASSKEY_COLUMNS, SQLStatements.passkey_params(credential), strict=True))
        if self._sql.hex_public_key:
            values["public_key"] = values["public_key"].hex()
        await self._db.write(self._sql.insert_passkey, values, "passkey")

    async def get_passkey_credential(self, credential_id: str) -> PasskeyCredentialRow | None:
        """Return a credential, or ``None``."""
        return await self._first_by_id(self._sql.get_passkey, credential_id, SQLStatements.passkey_row)

    async def get_passkey_credentials_by_user_id(self, user_id: str) -> list[PasskeyCredentialRow]:
        """Every credential of a user."""
        return await self._all_by_id(self._sql.get_passkeys_by_user_id, user_id, SQLStatements.passkey_row)

    async def update_passkey_credential_use(
        self, credential_id: str, *, expected_sign_count: int, sign_count: int, backed_up: bool, last_used_at: int
    ) -> bool:
        """Record a use if the counter did not move meanwhile (a compare-and-set)."""
        params = {
            ID: credential_id,
            "lucia_expected": expected_sign_count,
            "lucia_count": sign_count,
            "lucia_backed_up": backed_up,
            "lucia_used": last_used_at,
        }
        return await self._db.write(self._sql.update_passkey_use, params) == 1

    async def rename_passkey_credential(self, user_id: str, credential_id: str, name: str) -> bool:
        """Rename a credential of this user (the matched row count decides; MySQL drivers report matches)."""
        params = {ID: credential_id, "lucia_user_id": user_id, "lucia_name": name}
        return await self._db.write(self._sql.rename_passkey, params) == 1

    async def delete_passkey_credential(self, user_id: str, credential_id: str) -> bool:
        """Delete a credential of this user."""
        return await self._db.write(self._sql.delete_passkey, {ID: credential_id, "lucia_user_id": user_id}) == 1

    async def set_challenge(self, challenge: ChallengeRow) -> None:
        """Store a challenge."""
        c = challenge
        row = (c.id, c.kind, c.user_id, c.challenge, c.expires, c.user_handle)
        await self._db.write(self._sql.insert_challenge, dict(zip(CHALLENGE_COLUMNS, row, strict=True)))

    async def use_challenge(self, challenge_id: str) -> ChallengeRow | None:
        """Delete and return a challenge atomically."""
        sql = self._sql
        row = await self._consume(sql.consume_challenge, sql.lock_challenge, sql.delete_locked_challenge, challenge_id)
        return None if row is None else SQLStatements.challenge_row(row)

    async def delete_expired_challenges(self, now: int) -> None:
        """Delete the challenges whose ``expires`` is at or before ``now`` (ms)."""
        await self._db.write(self._sql.delete_expired_challenges, {"lucia_now": now})


def _asked_for(row: SessionRow, session_id: str) -> SessionRow | None:
    """Defence in depth, as every SQL adapter does: the row a lookup got is the session asked for.

    A driver or pool that hands back another query's result must never sign someone in as
    somebody else (a storage fault); a row whose id matches only when letter case is
    ignored (a Lucia-JS 1.x MySQL table's collation) is simply not this session.
    """
    if row.id == session_id or row.previous_id == session_id:
        return row
    if session_id.lower() in (row.id.lower(), (row.previous_id or "").lower()):
        return None
    raise StorageUnavailableError(None, "the database answered with a row of another session")


def _key_params(key: KeyRow) -> dict[str, Any]:
    return dict(zip(KEY_COLUMNS, key_params(key), strict=True))
