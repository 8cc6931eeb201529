"""The tables: on the application's MetaData (Alembic-friendly), named and typed like the shared DDL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, Text, inspect
from sqlalchemy.dialects import mysql
from sqlalchemy.exc import IntegrityError

from lucia import Lucia, LuciaError
from lucia.adapters.sql import MARIADB, POSTGRESQL, SQLITE, SQLStatements, TableNames
from lucia.testing import fast_password_hasher
from lucia_sqlalchemy import SQLAlchemyAdapter, lucia_tables

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
    )
    Table(
        "post",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("author_id", String(255), ForeignKey("app_user.id"), nullable=False),
        # On MySQL/MariaDB a foreign key needs the referenced column's charset and collation.
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",  # the NO PAD collation lucia_tables uses on MariaDB
    )
    return metadata, tables


def test_tables_attach_to_the_application_metadata() -> None:
    """``lucia_tables`` puts its three tables on the given MetaData, next to the app's own."""
    metadata, tables = _app_metadata()
    assert set(metadata.tables) == {"app_user", "app_session", "app_key", "post"}
    assert tables.metadata is metadata
    assert [t.name for t in tables] == ["app_user", "app_session", "app_key"]
    assert [c.name for c in tables.user.columns] == ["id", "email", "age"]
    for table in (tables.session, tables.key):
        assert {fk.target_fullname for fk in table.foreign_keys} == {"app_user.id"}
        assert {tuple(c.name for c in index.columns) for index in table.indexes} == {("user_id",)}


def test_schema_qualified_table_names() -> None:
    """A ``schema.table`` name becomes a table in that schema."""
    tables = lucia_tables(user_table="auth.users", session_table="auth.sessions", key_table="auth.keys")
    assert [(t.schema, t.name) for t in tables] == [("auth", "users"), ("auth", "sessions"), ("auth", "keys")]
    assert {fk.target_fullname for fk in tables.key.foreign_keys} == {"auth.users.id"}


@pytest.mark.parametrize("name", ["auth user", "auth_user; DROP TABLE x", "", "a.b.c-d"])
def test_unsafe_table_names_are_refused(name: str) -> None:
    """A table name that is not a plain identifier raises ``AUTH_INVALID_INPUT``."""
    with pytest.raises(LuciaError) as info:
        lucia_tables(user_table=name)
    assert info.value.code == "AUTH_INVALID_INPUT"


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
        session = await auth.create_session(user.user_id)
        _, got = await auth.validate_session_user(session.token or "")
        assert got.attributes == {"email": "ada@example.com", "age": 36}
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
    """Columns (name, type, nullable), primary key, indexes, foreign keys and options of three tables."""
    inspector = inspect(sync_conn)
    shape: list[Any] = []
    for table in (names.user, names.session, names.key):
        columns = [
            (c["name"], c["type"].compile(dialect=sync_conn.dialect), c["nullable"])
            for c in inspector.get_columns(table)
        ]
        indexed = sorted(tuple(i["column_names"]) for i in inspector.get_indexes(table))
        foreign = [(fk["constrained_columns"], fk["referred_columns"]) for fk in inspector.get_foreign_keys(table)]
        # Engine, charset and collation on MySQL/MariaDB (other dialects have no table options).
        options = inspector.get_table_options(table) if sync_conn.dialect.name in ("mysql", "mariadb") else {}
        shape.append((columns, inspector.get_pk_constraint(table)["constrained_columns"], indexed, foreign, options))
    return shape


async def test_create_schema_matches_the_shared_ddl(database: Any) -> None:
    """``create_schema`` makes the same columns, types, keys and indexes as ``lucia.adapters.sql``."""
    core_names = TableNames(user="core_user", session="core_session", key="core_key")
    async with database.raw() as conn:
        for statement in SQLStatements(_CORE_DIALECTS[database.kind], core_names).schema({"username": "text"}):
            await database.fetch(conn, statement)
    ours = TableNames(user="sqla_user", session="sqla_session", key="sqla_key")
    tables = lucia_tables(
        user_table=ours.user,
        session_table=ours.session,
        key_table=ours.key,
        user_columns=[Column("username", Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb"))],
    )
    engine = database.engine()
    try:
        await SQLAlchemyAdapter(engine, tables=tables).create_schema()
        async with engine.connect() as conn:
            core_shape = await conn.run_sync(_shape, core_names)
            our_shape = await conn.run_sync(_shape, ours)
    finally:
        await engine.dispose()
    assert our_shape == core_shape
