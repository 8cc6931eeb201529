"""Helpers for tests that need a real service (a database server, a cache).

A missing service skips its tests with a one-line reason, unless
``LUCIA_REQUIRE_SERVICES=1`` (set by CI) turns the skip into a failure::

    from lucia.testing.services import require_service, service_url

    url = service_url("LUCIA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        conn = await psycopg.AsyncConnection.connect(url)
    except OSError as exc:
        require_service("postgresql", f"cannot connect to {url}: {exc}")
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest

__all__ = ["free_port", "require_service", "secantus_server", "service_url", "services_required", "unique_name"]


def services_required() -> bool:
    """Whether ``LUCIA_REQUIRE_SERVICES=1``: every service must be there."""
    return os.environ.get("LUCIA_REQUIRE_SERVICES", "") == "1"


def require_service(name: str, reason: str) -> NoReturn:
    """Skip the test because service ``name`` is missing, or fail if services are required."""
    message = f"{name} unavailable: {reason}"
    if services_required():
        pytest.fail(f"{message} (LUCIA_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(message)


def service_url(env_var: str, default: str) -> str:
    """The URL of a service: the environment variable if set, else the local default."""
    return os.environ.get(env_var) or default


def unique_name(prefix: str = "lucia_test") -> str:
    """A fresh lowercase name for a database, schema or key prefix: runs never collide."""
    return f"{prefix}_{secrets.token_hex(6)}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def secantus_server(*extra_args: str, startup_seconds: float = 60) -> Iterator[str]:
    """Run SecantusDB (PyPI ``secantusdb``, MongoDB-wire-compatible) in memory on a free port.

    Yields its ``mongodb://`` URL and stops the server afterwards. A missing launcher or
    a server that does not listen is a missing service (:func:`require_service`).

    Args:
        extra_args: More ``secantusd-py`` options, e.g. ``"--standalone"``.
        startup_seconds: How long to wait for the server to listen.
    """
    beside = Path(sys.executable).with_name("secantusd-py")
    launcher = str(beside) if beside.exists() else shutil.which("secantusd-py")
    if launcher is None:
        require_service("mongodb", "secantusd-py (PyPI: secantusdb) is not installed")
    port = free_port()
    command = [launcher, "--host", "127.0.0.1", "--port", str(port), "--storage-path", ":memory:", *extra_args]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            if process.poll() is not None:
                require_service("mongodb", f"secantusd-py exited with status {process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    require_service("mongodb", f"secantusd-py did not listen within {startup_seconds:g} s")
                time.sleep(0.1)
        yield f"mongodb://127.0.0.1:{port}/?directConnection=true"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
