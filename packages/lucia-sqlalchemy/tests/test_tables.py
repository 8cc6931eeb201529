"""The tables: on the application's MetaData (Alembic-friendly), named and typed like the shared DDL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, inspect
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.dialects.mysql import mariadb
from sqlalchemy.exc import IntegrityError
from sqlalchemy.schema import CreateTable

from lucia import InvalidInputError, Lucia, LuciaError
from lucia.adapters import SESSION_POLICY_COLUMNS
from lucia.adapters.sql import MARIADB, POSTGRESQL, SQLITE, SQLStatements, TableNames
from lucia.testing import CONFORMANCE_SESSION_COLUMNS, CONFORMANCE_USER_COLUMNS, fast_password_hasher
from lucia_sqlalchemy import TABLE_OPTIONS, SQLAlchemyAdapter, lucia_tables

pytestmark = pytest.mark.anyio

_CORE_DIALECTS = {"postgresql": POSTGRESQL, "mariadb": MARIADB, "sqlite": SQLITE}


def _app_metadata() -> tuple[MetaData, Any]:
    """An application's MetaData: its own table, pointing at Lucia's user table."""
    metadata = MetaData()
    tables = lucia_tables(
        metadata,
        user_table="app_user",
        session_table="app_session",
        key_table="app_key",
        user_columns=[Column("email", String(255), unique=True), Column("age", Integer)],
        session_columns=[Column("device", String(255))],
    )
    Table(
        "post",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("author_id", String(255), ForeignKey("app_user.id"), nullable=False),
        # On MySQL/MariaDB a foreign key needs the referenced column's charset and collation.
        **TABLE_OPTIONS,
    )
    return metadata, tables


NEWER_TABLES = {"auth_throttle", "auth_throttle_event", "auth_passkey", "auth_passkey_challenge"}


def test_tables_attach_to_the_application_metadata() -> None:
    """``lucia_tables`` puts its tables on the given MetaData, next to the app's own."""
    metadata, tables = _app_metadata()
    assert set(metadata.tables) == {"app_user", "app_session", "app_key", "post", *NEWER_TABLES}
    assert tables.metadata is metadata
    assert [t.name for t in tables][:3] == ["app_user", "app_session", "app_key"]
    assert [c.name for c in tables.user.columns] == ["id", "email", "age"]
    assert [c.name for c in tables.session.columns] == [
        "id",
        "user_id",
        "active_expires",
        "idle_expires",
        *SESSION_POLICY_COLUMNS,
        "device",
    ]
    for table in (tables.session, tables.key, tables.passkey):
        assert {fk.target_fullname for fk in table.foreign_keys} == {"app_user.id"}
    assert {fk.ondelete for fk in tables.passkey.foreign_keys} == {"CASCADE"}
    assert {tuple(c.name for c in index.columns) for index in tables.session.indexes} == {
        ("user_id",),
        ("previous_id",),
    }


def test_policy_columns_are_nullable_or_defaulted() -> None:
    """A Lucia-JS 1.x process inserting four columns keeps working: every added column is optional."""
    session = lucia_tables().session
    for name in SESSION_POLICY_COLUMNS:
        column = session.c[name]
        assert column.nullable or column.server_default is not None, name


def test_schema_qualified_table_names() -> None:
    """A ``schema.table`` name becomes a table in that schema."""
    tables = lucia_tables(user_table="auth.users", session_table="auth.sessions", key_table="auth.keys")
    assert [(t.schema, t.name) for t in tables][:3] == [("auth", "users"), ("auth", "sessions"), ("auth", "keys")]
    assert {fk.target_fullname for fk in tables.key.foreign_keys} == {"auth.users.id"}
    assert {fk.target_fullname for fk in tables.passkey.foreign_keys} == {"auth.users.id"}


_NAME_OPTIONS = (
    "user_table",
    "session_table",
    "key_table",
    "throttle_table",
    "throttle_event_table",
    "passkey_table",
    "passkey_challenge_table",
)


@pytest.mark.parametrize("name", ["auth user", "auth_user; DROP TABLE x", "", "a.b.c-d", "x" * 41, "s." + "x" * 41])
@pytest.mark.parametrize("option", _NAME_OPTIONS)
def test_unsafe_or_too_long_table_names_are_refused(option: str, name: str) -> None:
    """A table name that is not a plain identifier, or whose derived names would overflow a limit, is refused."""
    with pytest.raises(InvalidInputError):
        lucia_tables(**{option: name})


def test_the_longest_table_name_fits_every_identifier_limit() -> None:
    """40 characters are accepted, and every constraint and index name stays within PostgreSQL's 63."""
    tables = lucia_tables(**{option: f"{'abcdefg'[index]}{'x' * 39}" for index, option in enumerate(_NAME_OPTIONS)})
    names = [t.name for t in tables]
    for table in tables:
        names += [c.name for c in (*table.constraints, *table.indexes) if isinstance(c.name, str)]
    assert max(len(name) for name in names) <= 63


def test_two_tables_with_one_name_are_refused() -> None:
    """Each table needs its own name (``Auth_User`` and ``auth_user`` are one on MySQL and SQLite)."""
    with pytest.raises(InvalidInputError):
        lucia_tables(user_table="accounts", passkey_table="Accounts")


@pytest.mark.parametrize(
    ("option", "name"),
    [
        ("user_columns", "Full Name"),
        ("user_columns", "id"),
        ("user_columns", "ID"),
        ("user_columns", "e-mail"),
        ("user_columns", "x" * 64),
        ("session_columns", "User_Id"),
        ("session_columns", "ID"),
        ("session_columns", "previous_id"),
        ("session_columns", "Active_Period"),
        ("session_columns", "PERSISTENT"),
        ("session_columns", "ip address"),
    ],
)
def test_h5_column_names_create_user_would_refuse_are_refused_up_front(option: str, name: str) -> None:
    """Columns named so that no attribute could use them (not identifiers, or Lucia's own) are refused."""
    with pytest.raises(InvalidInputError):
        lucia_tables(**{option: [Column(name, String(255))]})


@pytest.mark.parametrize("option", ["user_columns", "session_columns"])
def test_a_column_name_given_twice_in_any_case_is_refused(option: str) -> None:
    """``Email`` and ``email`` are one column on MySQL and SQLite: refused."""
    with pytest.raises(InvalidInputError):
        lucia_tables(**{option: [Column("email", String(255)), Column("Email", String(255))]})


def test_table_options_name_the_no_pad_collation_per_dialect() -> None:
    """MySQL 8, MariaDB (either dialect name) and the others each get their own ``CREATE TABLE`` options."""
    user = lucia_tables().user
    mariadb_as_mysql = mysql.dialect()
    mariadb_as_mysql._set_mariadb(True, (10, 11, 0))  # what connecting to MariaDB with mysql:// does
    created = {
        name: str(CreateTable(user).compile(dialect=dialect))
        for name, dialect in {
            "mysql": mysql.dialect(),
            "mariadb": mariadb.MariaDBDialect(),
            "mariadb_as_mysql": mariadb_as_mysql,
            "postgresql": postgresql.dialect(),
            "sqlite": sqlite.dialect(),
        }.items()
    }
    assert created["mysql"].rstrip().endswith("ENGINE=InnoDB CHARSET=utf8mb4 COLLATE utf8mb4_0900_bin")
    for name in ("mariadb", "mariadb_as_mysql"):
        assert created[name].rstrip().endswith("ENGINE=InnoDB CHARSET=utf8mb4 COLLATE utf8mb4_nopad_bin"), name
    for name in ("postgresql", "sqlite"):
        assert "COLLATE" not in created[name] and "ENGINE" not in created[name]


async def test_metadata_create_all_creates_usable_tables(database: Any) -> None:
    """``metadata.create_all`` (what a migration does) creates tables the adapter then uses."""
    metadata, tables = _app_metadata()
    engine = database.engine()
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            names = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert {"app_user", "app_session", "app_key", "post"} <= names
        auth = Lucia(adapter=SQLAlchemyAdapter(engine, tables=tables), password_hasher=fast_password_hasher())
        user = await auth.create_user(
            primary_key={"provider_id": "email", "provider_user_id": "ada@example.com", "password": "pw"},
            attributes={"email": "ada@example.com", "age": 36},
        )
        session = await auth.create_session(user.user_id, attributes={"device": "Firefox"})
        got_session, got = await auth.validate_session_user(session.token or "")
        assert got.attributes == {"email": "ada@example.com", "age": 36}
        assert got_session.attributes == {"device": "Firefox"}
        assert (await auth.use_key("email", "ada@example.com", "pw")).user_id == user.user_id
        assert await database.rows("SELECT id FROM app_user") == [(user.user_id,)]
    finally:
        await engine.dispose()


async def test_an_application_constraint_error_propagates_unchanged(database: Any) -> None:
    """A duplicate in the app's own unique column is the driver's IntegrityError, not a LuciaError."""
    _, tables = _app_metadata()
    engine = database.engine()
    try:
        adapter = SQLAlchemyAdapter(engine, tables=tables)
        await adapter.create_schema()
        auth = Lucia(adapter=adapter, password_hasher=fast_password_hasher())
        await auth.create_user(primary_key=None, attributes={"email": "same@example.com"})
        with pytest.raises(IntegrityError):
            await auth.create_user(
                primary_key={"provider_id": "email", "provider_user_id": "other", "password": None},
                attributes={"email": "same@example.com"},
            )
        assert len(await database.rows("SELECT id FROM app_user")) == 1
        assert await database.rows("SELECT id FROM app_key") == []
    finally:
        await engine.dispose()


async def test_unknown_attribute_is_refused_before_the_database(sqlite_database: Any) -> None:
    """An attribute with no column raises ``AUTH_INVALID_INPUT`` and writes nothing."""
    engine = sqlite_database.engine()
    try:
        adapter = SQLAlchemyAdapter(engine, tables=lucia_tables(user_columns=[Column("username", String(255))]))
        await adapter.create_schema()
        auth = Lucia(adapter=adapter, password_hasher=fast_password_hasher())
        with pytest.raises(LuciaError) as info:
            await auth.create_user(primary_key=None, attributes={"nickname": "x"})
        assert info.value.code == "AUTH_INVALID_INPUT"
        assert await sqlite_database.rows("SELECT id FROM auth_user") == []
    finally:
        await engine.dispose()


def _shape(sync_conn: Any, names: TableNames) -> list[Any]:
    """Columns (name, type, nullable, has a default), primary key, indexes, foreign keys and options of every table."""
    inspector = inspect(sync_conn)
    shape: list[Any] = []
    for table in _names(names):
        columns = [
            (c["name"], c["type"].compile(dialect=sync_conn.dialect), c["nullable"], c.get("default") is not None)
            for c in inspector.get_columns(table)
        ]
        indexed = sorted(tuple(i["column_names"]) for i in inspector.get_indexes(table))
        foreign = [
            (fk["constrained_columns"], fk["referred_columns"], fk["options"].get("ondelete"))
            for fk in inspector.get_foreign_keys(table)
        ]
        # Engine, charset and collation on MySQL/MariaDB (other dialects have no table options).
        options = inspector.get_table_options(table) if sync_conn.dialect.name in ("mysql", "mariadb") else {}
        shape.append((columns, inspector.get_pk_constraint(table)["constrained_columns"], indexed, foreign, options))
    return shape


def _names(names: TableNames) -> list[str]:
    return [
        names.user,
        names.session,
        names.key,
        names.throttle,
        names.throttle_event,
        names.passkey,
        names.passkey_challenge,
    ]


def _prefixed(prefix: str) -> TableNames:
    return TableNames(*(f"{prefix}_{name.removeprefix('auth_')}" for name in _names(TableNames())))


async def test_create_schema_matches_the_shared_ddl(database: Any, make_tables: Any) -> None:
    """``create_schema`` makes the same tables, columns, types, keys, indexes and options as ``lucia.adapters.sql``."""
    core_names = _prefixed("core")
    async with database.raw() as conn:
        for statement in SQLStatements(_CORE_DIALECTS[database.kind], core_names).schema(
            CONFORMANCE_USER_COLUMNS, CONFORMANCE_SESSION_COLUMNS
        ):
            await database.fetch(conn, statement)
    ours = _prefixed("sqla")
    tables = make_tables(**{option: name for option, name in zip(_NAME_OPTIONS, _names(ours), strict=True)})
    engine = database.engine()  # on MariaDB, a mysql:// URL: the collation still comes out NO PAD
    try:
        await SQLAlchemyAdapter(engine, tables=tables).create_schema()
        async with engine.connect() as conn:
            core_shape = await conn.run_sync(_shape, core_names)
            our_shape = await conn.run_sync(_shape, ours)
    finally:
        await engine.dispose()
    assert our_shape == core_shape


async def test_delete_user_referenced_by_an_app_row_deletes_nothing(database: Any) -> None:
    """An app table referencing the user without ``ON DELETE CASCADE``: ``delete_user`` fails whole."""
    metadata, tables = _app_metadata()
    engine = database.engine()
    try:
        adapter = SQLAlchemyAdapter(engine, tables=tables)
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        auth = Lucia(adapter=adapter, password_hasher=fast_password_hasher())
        user = await auth.create_user(primary_key=_email_key("ada@example.com"), attributes={"email": "a@ex.com"})
        session = await auth.create_session(user.user_id)
        async with engine.begin() as conn:
            await conn.execute(metadata.tables["post"].insert().values(author_id=user.user_id))
        with pytest.raises(IntegrityError):
            await auth.delete_user(user.user_id)
        assert (await auth.validate_session(session.token or "")).user_id == user.user_id
        assert [k.provider_user_id for k in await auth.get_all_user_keys(user.user_id)] == ["ada@example.com"]
    finally:
        await engine.dispose()


def _email_key(email: str) -> dict[str, Any]:
    return {"provider_id": "email", "provider_user_id": email, "password": None}
