"""A real MongoDB-wire server for the tests: SecantusDB started here, or LUCIA_TEST_MONGODB_URL."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pymongo
import pytest

from lucia.testing.services import free_port, require_service, unique_name


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _secantus() -> str:
    """The secantusd-py launcher of this environment (installed with the test dependencies)."""
    beside = Path(sys.executable).with_name("secantusd-py")
    found = str(beside) if beside.exists() else shutil.which("secantusd-py")
    if found is None:
        require_service("mongodb", "secantusd-py (PyPI: secantusdb) is not installed")
    return found


def _start(*extra: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start SecantusDB in memory on a free loopback port; return the process and its URL."""
    port = free_port()
    command = [_secantus(), "--host", "127.0.0.1", "--port", str(port), "--storage-path", ":memory:", *extra]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            require_service("mongodb", f"secantusd-py exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.1)
    else:
        _stop(process)
        require_service("mongodb", "secantusd-py did not listen within 60 s")
    return process, f"mongodb://127.0.0.1:{port}/?directConnection=true"


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


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
    process, url = _start()
    try:
        _ping(url)
        yield url
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def secantus_url(mongodb_url: str) -> Iterator[str]:
    """A SecantusDB server in its default mode (a single-node replica set): the run's own, or a new one."""
    if not os.environ.get("LUCIA_TEST_MONGODB_URL"):
        yield mongodb_url
        return
    process, url = _start()
    try:
        _ping(url)
        yield url
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def standalone_mongodb_url() -> Iterator[str]:
    """A SecantusDB server that presents itself as a standalone server (no replica set)."""
    process, url = _start("--standalone")
    try:
        _ping(url)
        yield url
    finally:
        _stop(process)


@pytest.fixture(scope="class")
def database_name(mongodb_url: str) -> Iterator[str]:
    """A fresh database per test class, dropped afterwards."""
    name = unique_name("lucia_test")
    yield name
    with pymongo.MongoClient(mongodb_url) as client:
        client.drop_database(name)
