"""Alembic, as the docs recommend it: ``alembic init -t async``, autogenerate, upgrade, on the real servers.

Each test writes an application's models module and an Alembic project (the ``async``
template, ``target_metadata`` pointed at the models) into a temporary directory, runs
Alembic's own commands (what ``alembic revision --autogenerate`` and ``alembic upgrade
head`` run), then uses the migrated database through Lucia.
"""

from __future__ import annotations

import functools
import secrets
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio.to_thread
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from lucia import Lucia, LuciaError
from lucia.adapters import SESSION_POLICY_COLUMNS
from lucia.adapters.sql import MARIADB, POSTGRESQL, SQLITE, SQLStatements
from lucia.testing import FakeClock, fast_password_hasher
from lucia_sqlalchemy import SQLAlchemyAdapter

pytestmark = pytest.mark.anyio

#: An application's models: Lucia's tables and one table of its own that references the
#: user table with the options the docs give for it (``lucia_sqlalchemy.TABLE_OPTIONS``).
APP_MODELS = """
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, Text
from sqlalchemy.dialects import mysql

from lucia_sqlalchemy import lucia_tables

metadata = MetaData()
email = Column("email", Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb"))
tables = lucia_tables(metadata, user_columns=[email])
post = Table(
    "post",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("author_id", String(255), ForeignKey("auth_user.id"), nullable=False),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
    mysql_collate="utf8mb4_0900_bin",
    mariadb_engine="InnoDB",
    mariadb_charset="utf8mb4",
    mariadb_collate="utf8mb4_nopad_bin",
)
"""

#: Every database, and MariaDB under both dialect names SQLAlchemy gives it (``mysql://``, ``mariadb://``).
TARGETS = pytest.mark.parametrize(
    ("database", "dialect_name"),
    [
        ("postgresql", "postgresql"),
        ("mariadb", "mysql"),
        ("mariadb", "mariadb"),
        ("sqlite", "sqlite"),
    ],
    indirect=["database"],
    ids=["postgresql", "mariadb-as-mysql", "mariadb", "sqlite"],
)


@dataclass
class AlembicProject:
    """An application directory with its models module and an ``alembic init -t async`` project."""

    config: Config
    models: str
    url: str

    @classmethod
    def create(cls, directory: Path, url: str, models: str, *, include_schemas: bool = False) -> AlembicProject:
        """Write the models and the project; point ``target_metadata`` at the models' ``metadata``."""
        module = f"app_models_{secrets.token_hex(4)}"
        (directory / f"{module}.py").write_text(models)
        ini = directory / "alembic.ini"
        command.init(Config(str(ini)), str(directory / "migrations"), template="async")
        env = directory / "migrations" / "env.py"
        text = env.read_text()
        text = text.replace("target_metadata = None", f"from {module} import metadata as target_metadata")
        # Keep pytest's logging (fileConfig would disable every existing logger).
        text = text.replace("    fileConfig(config.config_file_name)", "    pass")
        if include_schemas:
            text = text.replace(
                "context.configure(connection=connection, target_metadata=target_metadata)",
                "context.configure(connection=connection, target_metadata=target_metadata, include_schemas=True)",
            )
        env.write_text(text)
        config = Config(str(ini))
        config.set_main_option("sqlalchemy.url", url)
        config.set_main_option("prepend_sys_path", str(directory))
        return cls(config, module, url)

    async def revision(self, message: str) -> list[str]:
        """``alembic revision --autogenerate``; the commands of the new script's ``upgrade()``."""
        script: Any = await anyio.to_thread.run_sync(
            functools.partial(command.revision, self.config, message=message, autogenerate=True)
        )
        text = Path(script.path).read_text()
        body = text.split("def upgrade()", 1)[1].split("def downgrade()", 1)[0]
        lines = [line.strip() for line in body.splitlines()[1:]]
        return [line for line in lines if line and not line.startswith(("#", '"""'))]

    async def upgrade(self) -> None:
        """``alembic upgrade head``."""
        await anyio.to_thread.run_sync(command.upgrade, self.config, "head")

    @property
    def module(self) -> ModuleType:
        """The models module as Alembic's ``env.py`` imported it."""
        return sys.modules[self.models]

    @asynccontextmanager
    async def lucia(self) -> AsyncIterator[tuple[Lucia, Any]]:
        """Lucia on the migrated database, with the models' tables; and the engine."""
        engine = create_async_engine(self.url)
        try:
            adapter = SQLAlchemyAdapter(engine, tables=self.module.tables)
            yield Lucia(adapter=adapter, password_hasher=fast_password_hasher(), clock=FakeClock()), engine
        finally:
            await engine.dispose()


def _email(address: str, password: str | None = "pw") -> dict[str, Any]:
    return {"provider_id": "email", "provider_user_id": address, "password": password}


@TARGETS
async def test_an_alembic_migrated_database_compares_key_ids_exactly(
    tmp_path: Path, database: Any, dialect_name: str
) -> None:
    """After autogenerate + upgrade ``bob@ex.com  `` does not sign in as ``bob@ex.com``; nothing is left to migrate."""
    models = APP_MODELS.split("post = Table(", 1)[0]  # Lucia's tables only
    project = AlembicProject.create(tmp_path, database.url_as(dialect_name), models)
    first = await project.revision("lucia")
    assert any(line.startswith("op.create_table('auth_user'") for line in first), first
    await project.upgrade()
    assert await project.revision("nothing to do") == ["pass"]

    async with project.lucia() as (auth, _):
        bob = await auth.create_user(primary_key=_email("bob@ex.com"), attributes={"email": "bob@ex.com"})
        with pytest.raises(LuciaError) as info:
            await auth.use_key("email", "bob@ex.com  ", "pw")
        assert info.value.code == "AUTH_INVALID_KEY_ID"
        spaced = await auth.create_user(primary_key=_email("bob@ex.com  "), attributes={"email": "other"})
        assert (await auth.use_key("email", "bob@ex.com  ", "pw")).user_id == spaced.user_id
        assert (await auth.use_key("email", "bob@ex.com", "pw")).user_id == bob.user_id


@TARGETS
async def test_an_app_table_referencing_the_user_table_migrates_cleanly(
    tmp_path: Path, database: Any, dialect_name: str
) -> None:
    """The app's table with a foreign key to ``auth_user`` and the documented options: no errno 150, it works."""
    project = AlembicProject.create(tmp_path, database.url_as(dialect_name), APP_MODELS)
    await project.revision("lucia and the app")
    await project.upgrade()  # on MariaDB a charset or collation mismatch stops here with errno 150
    assert await project.revision("nothing to do") == ["pass"]

    async with project.lucia() as (auth, engine):
        user = await auth.create_user(primary_key=_email("ada@ex.com"), attributes={"email": "ada@ex.com"})
        post = project.module.post
        async with engine.begin() as conn:
            await conn.execute(insert(post).values(author_id=user.user_id))
            assert (await conn.execute(select(post.c.author_id))).scalars().all() == [user.user_id]


_CORE_DIALECTS = {"postgresql": POSTGRESQL, "mariadb": MARIADB, "sqlite": SQLITE}
_NEWER_TABLES = ("auth_throttle", "auth_throttle_event", "auth_passkey", "auth_passkey_challenge")

#: An application upgrading Lucia: the same models, now with a session attribute column.
UPGRADED_MODELS = """
from sqlalchemy import Column, MetaData, String, Text
from sqlalchemy.dialects import mysql

from lucia_sqlalchemy import lucia_tables

metadata = MetaData()
tables = lucia_tables(
    metadata,
    user_columns=[Column("username", Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb"))],
    session_columns=[Column("device", String(255))],
)
"""


async def _lucia_js_era_tables(database: Any) -> None:
    """The tables as an earlier Lucia (or Lucia-JS 1.x) made them: four session columns, three tables."""
    d = _CORE_DIALECTS[database.kind]
    drop_index = "DROP INDEX auth_session_previous_id_idx" + (" ON auth_session" if database.kind == "mariadb" else "")
    async with database.raw() as conn:
        for statement in SQLStatements(d).schema({"username": "text"}):
            await database.fetch(conn, statement)
        await database.fetch(conn, drop_index)
        for column in SESSION_POLICY_COLUMNS:
            await database.fetch(conn, f"ALTER TABLE auth_session DROP COLUMN {column}")
        for table in _NEWER_TABLES:
            await database.fetch(conn, f"DROP TABLE {table}")


@pytest.mark.parametrize("database", ["postgresql", "mariadb", "sqlite"], indirect=True)
async def test_autogenerate_adds_the_new_session_columns_and_tables_to_existing_ones(
    tmp_path: Path, database: Any
) -> None:
    """On Lucia-JS-era tables autogenerate adds the policy columns and the newer tables, altering nothing else."""
    await _lucia_js_era_tables(database)
    project = AlembicProject.create(tmp_path, database.url_as(database.url.get_backend_name()), UPGRADED_MODELS)
    commands = await project.revision("lucia session policy")
    added = sorted(line.split("sa.Column('", 1)[1].split("'", 1)[0] for line in commands if "add_column" in line)
    assert added == sorted([*SESSION_POLICY_COLUMNS, "device"]), commands
    created = sorted(line.split("'", 2)[1] for line in commands if line.startswith("op.create_table("))
    assert created == sorted(_NEWER_TABLES), commands
    assert not [line for line in commands if line.startswith(("op.drop", "op.alter"))], commands
    await project.upgrade()
    assert await project.revision("nothing to do") == ["pass"]

    async with project.lucia() as (auth, _):
        assert {*SESSION_POLICY_COLUMNS, "device"} <= await auth.sessions.session_columns()
        user = await auth.create_user(primary_key=_email("ada@ex.com"), attributes={"username": "ada"})
        session = await auth.create_session(user.user_id, attributes={"device": "phone"}, persistent=False)
        auth.clock.advance(86_401)  # type: ignore[attr-defined]
        renewed = await auth.validate_session(session.token or "")
        assert renewed.fresh and renewed.attributes == {"device": "phone"} and not renewed.persistent
        assert (await auth.validate_session(session.token or "")).session_id == renewed.session_id  # grace


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_schema_qualified_tables_need_include_schemas_and_an_existing_schema(
    tmp_path: Path, database: Any
) -> None:
    """``auth.*`` tables migrate cleanly with ``include_schemas=True``; without it Alembic would re-create them."""
    async with database.raw() as conn:
        await database.fetch(conn, "CREATE SCHEMA auth")  # Alembic never creates a schema
    models = APP_MODELS.replace("lucia_tables(metadata, ", "lucia_tables(metadata, user_table='auth.user', ")
    assert "user_table='auth.user'" in models
    models = models.replace('ForeignKey("auth_user.id")', 'ForeignKey("auth.user.id")')
    project = AlembicProject.create(tmp_path, database.url_as("postgresql"), models, include_schemas=True)
    assert any(line.startswith("op.create_table('user'") for line in await project.revision("first"))
    await project.upgrade()
    assert await project.revision("nothing to do") == ["pass"]

    def differences(sync_conn: Any, include_schemas: bool) -> list[Any]:
        context = MigrationContext.configure(sync_conn, opts={"include_schemas": include_schemas})
        return compare_metadata(context, project.module.metadata)

    async with project.lucia() as (_, engine), engine.connect() as conn:
        assert await conn.run_sync(differences, True) == []
        assert await conn.run_sync(differences, False) != []  # what the default env.py would see
