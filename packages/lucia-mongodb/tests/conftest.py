"""A real MongoDB-wire server for the tests: SecantusDB started here, or LUCIA_TEST_MONGODB_URL."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pymongo
import pytest

from lucia.testing.services import require_service, unique_name
from lucia_testkit import secantus_server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _ping(url: str) -> None:
    try:
        with pymongo.MongoClient(url, serverSelectionTimeoutMS=10_000) as client:
            client.admin.command("ping")
    except pymongo.errors.PyMongoError as exc:
        require_service("mongodb", f"cannot reach {url}: {exc}")


@pytest.fixture(scope="session")
def mongodb_url() -> Iterator[str]:
    """LUCIA_TEST_MONGODB_URL if set; otherwise a SecantusDB server started for this run."""
    configured = os.environ.get("LUCIA_TEST_MONGODB_URL")
    if configured:
        _ping(configured)
        yield configured
        return
    with secantus_server() as url:
        _ping(url)
        yield url


@pytest.fixture(scope="session")
def secantus_url(mongodb_url: str) -> Iterator[str]:
    """A SecantusDB server in its default mode (a single-node replica set): the run's own, or a new one."""
    if not os.environ.get("LUCIA_TEST_MONGODB_URL"):
        yield mongodb_url
        return
    with secantus_server() as url:
        _ping(url)
        yield url


@pytest.fixture(scope="session")
def standalone_mongodb_url() -> Iterator[str]:
    """A SecantusDB server that presents itself as a standalone server (no replica set)."""
    with secantus_server("--standalone") as url:
        _ping(url)
        yield url


@pytest.fixture(scope="class")
def database_name(mongodb_url: str) -> Iterator[str]:
    """A fresh database per test class, dropped afterwards."""
    name = unique_name("lucia_test")
    yield name
    with pymongo.MongoClient(mongodb_url) as client:
        client.drop_database(name)
