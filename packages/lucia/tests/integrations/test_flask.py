"""Flask: the docs example app through the framework suite, in process and over waitress."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from types import ModuleType

import pytest
from _scenario import BAD_INPUT_CASES, FrameworkTests, Serve, Servers
from click.testing import CliRunner
from flask import Flask
from flask.cli import FlaskGroup

from lucia import ConfigurationError, Lucia
from lucia.adapters.memory import MemoryAdapter
from lucia.integrations.flask import FlaskLucia, get_auth
from lucia_sqlite import SQLiteAdapter


class TestFlask(FrameworkTests):
    """The framework suite over ``flask_app.py``, in process and under waitress."""

    # httpx.WSGITransport cannot send non-ASCII header bytes: those cases run over waitress.
    in_process_refuses = frozenset(case.id for case in BAD_INPUT_CASES if case.latin1)

    @pytest.fixture
    def serve(self, servers: Servers, example: Callable[[str], ModuleType]) -> Serve:
        module = example("flask_app")

        def build(options: dict[str, object]) -> Flask:
            app: Flask = module.create_app(servers.database, **options)
            app.config["PROPAGATE_EXCEPTIONS"] = True  # a server error fails the test loudly
            return app

        return servers.for_wsgi(build, close=lambda app: app.extensions["lucia"].close())


def test_init_app_pattern_and_missing_extension() -> None:
    """FlaskLucia supports init_app; get_auth outside an app with the extension raises RuntimeError."""
    extension = FlaskLucia(auth=Lucia(adapter=MemoryAdapter()))
    app = Flask(__name__)
    extension.init_app(app)
    assert app.extensions["lucia"] is extension
    bare = Flask(__name__)
    with bare.test_request_context("/"), pytest.raises(RuntimeError, match="FlaskLucia"):
        get_auth()
    extension.close()


def test_start_up_checks_the_schema(database: str) -> None:
    """init_app connects and checks the schema: without the tables it fails, naming the fix."""
    extension = FlaskLucia(auth=Lucia(adapter=SQLiteAdapter(database)))
    try:
        with pytest.raises(ConfigurationError, match="create_schema"):
            extension.init_app(Flask(__name__))
    finally:
        extension.close()


def test_cli_create_schema_works_on_an_empty_database(tmp_path: Path, example: Callable[[str], ModuleType]) -> None:
    """``flask lucia create-schema`` loads the example app on an empty database and creates its tables."""
    database = str(tmp_path / "cli.db")
    created: list[Flask] = []

    def factory() -> Flask:
        created.append(example("flask_app").create_app(database))
        return created[-1]

    # FlaskGroup is the `flask` command: it loads the app inside its click context, where
    # the start-up check waits for a first request (the tables do not exist yet).
    result = CliRunner().invoke(FlaskGroup(create_app=factory), ["lucia", "create-schema"])
    try:
        assert result.exit_code == 0, result.output
        assert "schema is ready" in result.output
        with closing(sqlite3.connect(database)) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"auth_user", "auth_session", "auth_key"} <= tables
    finally:
        for app in created:
            app.extensions["lucia"].close()
