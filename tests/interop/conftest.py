"""Fixtures of the Lucia-JS interop tests: Node, a fresh Lucia-JS database, both apps on it.

The tests need ``node`` (20+) and ``npm`` on PATH and the local PostgreSQL; a missing one
skips them with a one-line reason, or fails them under ``LUCIA_REQUIRE_SERVICES=1``.
``npm ci`` runs here when node_modules does not hold exactly what package-lock.json pins.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from _lucia_js import LuciaJSApp, ensure_node_modules, lucia_js_database, node_tools

from lucia import Lucia
from lucia.passwords import ScryptHasher
from lucia.testing.services import unique_name


@pytest.fixture(scope="session")
def node() -> str:
    """The ``node`` executable, with tests/interop/node_modules installed by ``npm ci``."""
    node, npm = node_tools()
    ensure_node_modules(npm)
    return node


@pytest.fixture(scope="session")
def database_url(node: str) -> Iterator[str]:
    """A fresh PostgreSQL database with the Lucia-JS 1.x tables, shared by the tests of one run."""
    with lucia_js_database() as url:
        yield url


@pytest.fixture(scope="session")
def lucia_js(node: str, database_url: str) -> Iterator[LuciaJSApp]:
    """The Lucia-JS 1.x app, running on the shared database."""
    app = LuciaJSApp(node, database_url)
    yield app
    app.close()


@pytest.fixture
async def auth(database_url: str) -> AsyncIterator[Lucia]:
    """Lucia for Python as phase 1 of the migration guide configures it, on the same database."""
    from lucia_postgresql import PostgresAdapter

    async with PostgresAdapter(database_url, pool_options={"max_size": 4}) as adapter:
        yield Lucia(adapter=adapter, password_hasher=ScryptHasher(), hash_session_ids=False)


@pytest.fixture
def name() -> str:
    """A username no other test uses."""
    return unique_name("ada")
