"""Every statement the adapter runs, as SQLAlchemy Core, built once (SQLAlchemy caches the compiled forms).

They are the statements of :class:`lucia.adapters.sql.SQLStatements` written as Core
constructs, so that they compile for any dialect; rows are decoded by the same
``SQLStatements`` helpers every SQL adapter uses. Session statements are built for the
columns the session table really has (:func:`session_statements`), so a Lucia-JS 1.x
four-column table keeps working with the policy features off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, MetaData, String, Table, bindparam, delete, false, func, insert, or_, select, update
from sqlalchemy.sql import Executable
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.types import NullType

from lucia import ConfigurationError, InvalidInputError
from lucia.adapters import SessionRow
from lucia.adapters.sql import SQLITE, SQLStatements
from lucia_sqlalchemy._tables import LuciaTables

__all__ = ["ID", "KEY_COLUMNS", "PASSKEY_COLUMNS", "SessionStatements", "Statements", "session_statements"]

#: The bound parameter of a ``WHERE`` clause (distinct from every column name, for UPDATEs).
ID = "lucia_id"
#: Column orders that the ``SQLStatements`` decoders expect.
KEY_COLUMNS = ("id", "user_id", "primary_key", "hashed_password", "expires")
PASSKEY_COLUMNS = (
    "id",
    "user_id",
    "user_handle",
    "public_key",
    "sign_count",
    "transports",
    "aaguid",
    "backup_eligible",
    "backed_up",
    "name",
    "created_at",
    "last_used_at",
)
CHALLENGE_COLUMNS = ("id", "kind", "user_id", "challenge", "expires", "user_handle")
_BASE_SESSION_COLUMNS = ("id", "user_id", "active_expires", "idle_expires")


@dataclass(frozen=True, slots=True)
class Statements:
    """The statements on users, keys and passkeys (their tables are what the metadata says)."""

    #: Whether :attr:`insert_passkey` takes the public key as hex text.
    hex_public_key: bool
    user_columns: dict[str, Column[Any]]
    user_names: list[str]
    get_user: Executable
    lock_user: Executable
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
    delete_sessions_by_user_id: Executable
    insert_passkey: Executable
    get_passkey: Executable
    get_passkeys_by_user_id: Executable
    update_passkey_use: Executable
    rename_passkey: Executable
    delete_passkey: Executable
    insert_challenge: Executable
    consume_challenge: Executable
    lock_challenge: Executable
    delete_locked_challenge: Executable
    delete_expired_challenges: Executable

    @classmethod
    def for_tables(cls, tables: LuciaTables, dialect_name: str) -> Statements:
        """Build the statements for these tables on this dialect."""
        u, s, k, p, c = tables.user, tables.session, tables.key, tables.passkey, tables.passkey_challenge
        key_columns = [k.c[name] for name in KEY_COLUMNS]
        passkey_columns = [p.c[name] for name in PASSKEY_COLUMNS]
        challenge_columns = [c.c[name] for name in CHALLENGE_COLUMNS]
        this_user, this_key, this_passkey, this_challenge = (t.c.id == bindparam(ID) for t in (u, k, p, c))
        single_use = (this_key, k.c.expires.is_not(None))
        owned_passkey = (this_passkey, p.c.user_id == bindparam("lucia_user_id"))
        hex_public_key = dialect_name in ("mysql", "mariadb")
        return cls(
            hex_public_key=hex_public_key,
            user_columns={column.name: column for column in u.columns},
            user_names=[column.name for column in u.columns],
            get_user=select(*u.columns).where(this_user),
            lock_user=select(u.c.id).where(this_user).with_for_update(),
            insert_user=insert(u),
            delete_user=delete(u).where(this_user),
            get_key=select(*key_columns).where(this_key),
            get_keys_by_user_id=select(*key_columns).where(k.c.user_id == bindparam(ID)),
            insert_key=insert(k),
            update_key=update(k).where(this_key).values(hashed_password=bindparam("lucia_hash")),
            delete_non_primary_key=delete(k).where(this_key, k.c.primary_key == false()),
            delete_keys_by_user_id=delete(k).where(k.c.user_id == bindparam(ID)),
            consume_key=delete(k).where(*single_use).returning(*key_columns),
            lock_key=select(*key_columns).where(*single_use).with_for_update(),
            delete_locked_key=delete(k).where(*single_use),
            delete_sessions_by_user_id=delete(s).where(s.c.user_id == bindparam(ID)),
            insert_passkey=insert(p).values(
                {
                    **{name: bindparam(name) for name in PASSKEY_COLUMNS},
                    # aiomysql cannot bind bytes with current PyMySQL (its escape_bytes_prefixed is
                    # gone): MySQL and MariaDB receive the key as hex text, whatever the driver.
                    "public_key": func.unhex(bindparam("public_key", type_=String()))
                    if hex_public_key
                    else bindparam("public_key"),
                }
            ),
            get_passkey=select(*passkey_columns).where(this_passkey),
            get_passkeys_by_user_id=select(*passkey_columns).where(p.c.user_id == bindparam(ID)),
            update_passkey_use=update(p)
            .where(this_passkey, p.c.sign_count == bindparam("lucia_expected"))
            .values(
                sign_count=bindparam("lucia_count"),
                backed_up=bindparam("lucia_backed_up"),
                last_used_at=bindparam("lucia_used"),
            ),
            rename_passkey=update(p).where(*owned_passkey).values(name=bindparam("lucia_name")),
            delete_passkey=delete(p).where(*owned_passkey),
            insert_challenge=insert(c),
            consume_challenge=delete(c).where(this_challenge).returning(*challenge_columns),
            lock_challenge=select(*challenge_columns).where(this_challenge).with_for_update(),
            delete_locked_challenge=delete(c).where(this_challenge),
            delete_expired_challenges=delete(c).where(c.c.expires <= bindparam("lucia_now")),
        )


@dataclass(frozen=True, slots=True)
class SessionStatements:
    """The session statements for the columns the session table has.

    Attributes:
        layout: Column bookkeeping and row decoding, shared with every SQL adapter
            (its SQL text is not used here).
        table: The session table with exactly its columns in the database.
    """

    layout: SQLStatements
    table: Table
    joined_names: list[str]
    get: Executable
    get_by_previous_id: Executable
    get_by_user_id: Executable
    ids_by_age: Executable
    insert: Executable
    renew: Executable
    update: Executable
    delete: Executable
    delete_ids: Executable
    delete_others: Executable
    get_with_user: Executable
    get_with_user_by_previous_id: Executable

    def values(self, row: SessionRow) -> dict[str, Any]:
        """The parameters of :attr:`insert` for a row: the fields the table has columns for."""
        names, params = self.layout.session_params(row)
        values: dict[str, Any] = {}
        for name, value in zip(names, params, strict=True):
            key = name.lower()
            if key not in self.table.c:
                raise InvalidInputError(None, f"the session table has no column {name!r} for this attribute"[:120])
            values[key] = value
        return values

    def renew_params(self, session_id: str, renewed: SessionRow) -> dict[str, Any]:
        """The parameters of :attr:`renew`."""
        params: dict[str, Any] = {
            ID: session_id,
            "lucia_new_id": renewed.id,
            "lucia_active": renewed.active_expires,
            "lucia_idle": renewed.idle_expires,
        }
        if self.layout.has_grace:
            params.update(lucia_previous_id=renewed.previous_id, lucia_previous_expires=renewed.previous_expires)
        return params


def session_statements(tables: LuciaTables, found: Sequence[str]) -> SessionStatements:
    """The session statements for a session table whose columns are ``found`` (read from the database).

    Raises:
        ConfigurationError: The table lacks one of the four Lucia-JS columns.
    """
    declared = tables.session
    real = {name.lower(): name for name in found}
    missing = [name for name in _BASE_SESSION_COLUMNS if name not in real]
    if missing:
        raise ConfigurationError(f"the session table {declared.fullname!r} lacks the column(s) {', '.join(missing)}")
    # SQLITE only fixes how the (unused) SQL text would be spelled; the bookkeeping is the same for every database.
    layout = SQLStatements(SQLITE, None, list(real))
    types = {column.name.lower(): column.type for column in declared.columns}
    # The table as it is: declared types where the metadata has the column, untyped otherwise
    # (a column the application added with its own DDL); keyed by lower-case name.
    s = Table(
        declared.name,
        MetaData(),
        *(Column(real[name], types.get(name, NullType()), key=name) for name in layout.session_columns),
        schema=declared.schema,
    )
    u = tables.user
    columns = [s.c[name] for name in layout.session_columns]
    this, owner = s.c.id == bindparam(ID), s.c.user_id == bindparam(ID)
    # Without the grace columns nothing is looked up by previous id: a condition that never holds.
    previous = s.c.previous_id == bindparam(ID) if layout.has_grace else false()
    renewed: dict[str, Any] = {
        "id": bindparam("lucia_new_id"),
        "active_expires": bindparam("lucia_active"),
        "idle_expires": bindparam("lucia_idle"),
    }
    if layout.has_grace:
        renewed.update(previous_id=bindparam("lucia_previous_id"), previous_expires=bindparam("lucia_previous_expires"))
    kept: BindParameter[Any] = bindparam("lucia_kept")
    others: tuple[ColumnElement[bool], ...]
    if layout.has_grace:
        named, others = or_(this, previous), (s.c.id != kept, or_(s.c.previous_id.is_(None), s.c.previous_id != kept))
    else:
        named, others = this, (s.c.id != kept,)
    age = (s.c.created_at if layout.has_created_at else s.c.idle_expires).desc()
    joined = select(*columns, *u.columns).join_from(s, u, u.c.id == s.c.user_id)
    return SessionStatements(
        layout=layout,
        table=s,
        joined_names=[*layout.session_columns, *(c.name for c in u.columns)],
        get=select(*columns).where(this),
        get_by_previous_id=select(*columns).where(previous),
        get_by_user_id=select(*columns).where(owner),
        ids_by_age=select(s.c.id).where(owner).order_by(age, s.c.id.desc()),
        insert=insert(s),
        renew=update(s).where(this).values(renewed),
        update=update(s)
        .where(this)
        .values(active_expires=bindparam("lucia_active"), idle_expires=bindparam("lucia_idle")),
        delete=delete(s).where(named),
        delete_ids=delete(s).where(s.c.id.in_(bindparam("lucia_ids", expanding=True))),
        delete_others=delete(s).where(s.c.user_id == bindparam("lucia_user_id"), *others),
        get_with_user=joined.where(this),
        get_with_user_by_previous_id=joined.where(previous),
    )
