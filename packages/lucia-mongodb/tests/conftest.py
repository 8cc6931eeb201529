"""A real MongoDB-wire server for the tests: SecantusDB started here, or LUCIA_TEST_MONGODB_URL."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pymongo
import pytest

from lucia.testing.services import require_service, unique_name
from lucia_testkit import secantus_server


def _ping(url: str) -> None:
    try:
        with pymongo.MongoClient(url, serverSelectionTimeoutMS=10_000) as client:
            client.admin.command("ping")
    except pymongo.errors.PyMongoError as exc:
        require_service("mongodb", f"cannot reach {url}: {exc}")


@contextlib.contextmanager
def _answering(given: str | None, *secantus_args: str) -> Iterator[str]:
    """``given``, or else a SecantusDB server started with ``secantus_args``: its URL, once it answers a ping."""
    with contextlib.nullcontext(given) if given else secantus_server(*secantus_args) as url:
        _ping(url)
        yield url


@pytest.fixture(scope="session")
def mongodb_url() -> Iterator[str]:
    """LUCIA_TEST_MONGODB_URL if set; otherwise a SecantusDB server started for this run."""
    with _answering(os.environ.get("LUCIA_TEST_MONGODB_URL")) as url:
        yield url


@pytest.fixture(scope="session")
def secantus_url(mongodb_url: str) -> Iterator[str]:
    """A SecantusDB server in its default mode (a single-node replica set): the run's own, or a new one."""
    with _answering(None if os.environ.get("LUCIA_TEST_MONGODB_URL") else mongodb_url) as url:
        yield url


@pytest.fixture(scope="session")
def standalone_mongodb_url() -> Iterator[str]:
    """A SecantusDB server that presents itself as a standalone server (no replica set)."""
    with _answering(None, "--standalone") as url:
        yield url


@pytest.fixture(scope="class")
def database_name(mongodb_url: str) -> Iterator[str]:
    """A fresh database per test class, dropped afterwards."""
    name = unique_name("lucia_test")
    yield name
    with pymongo.MongoClient(mongodb_url) as client:
        client.drop_database(name)
