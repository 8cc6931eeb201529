"""Fixtures of the deployment tests.

``nox -s deploy`` runs this directory with the servers (gunicorn, uvicorn, hypercorn) and
every framework installed. Elsewhere (``nox -s conformance`` runs ``tests/``) its tests
are skipped with that reason.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from lucia_testkit import fresh_postgres_database

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip this directory's tests outside ``nox -s deploy`` (no gunicorn installed)."""
    if importlib.util.find_spec("gunicorn") is not None:
        return
    skip = pytest.mark.skip(reason="the deployment tests run in `nox -s deploy` (it installs gunicorn)")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(skip)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database, dropped afterwards."""
    with fresh_postgres_database("lucia_deploy") as url:
        yield url
