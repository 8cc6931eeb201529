"""The demo app as a user runs it: ``python -m docs.examples.demo`` in a subprocess, and the mail it prints.

Shared by the browser tests (tests/browser/) and the HTTP-level demo test (tests/test_demo.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from lucia.testing.services import free_port, require_service, service_url, unique_name

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RunningDemo:
    """A running demo: its URL, and every line it printed (its "mail" included)."""

    url: str
    port: int
    lines: list[str] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def mark(self) -> int:
        """A position in the output: :meth:`mail` looks only at lines printed after it."""
        with self.changed:
            return len(self.lines)

    def wait_for_line(self, pattern: str, *, after: int = 0, timeout: float = 15) -> re.Match[str]:
        """The first line after ``after`` matching ``pattern``, waiting up to ``timeout`` seconds for it."""
        regex = re.compile(pattern)
        found: list[re.Match[str]] = []

        def seen() -> bool:
            found.extend(m for line in self.lines[after:] if (m := regex.search(line)) is not None)
            return bool(found)

        with self.changed:
            if not self.changed.wait_for(seen, timeout=timeout):
                raise AssertionError(f"the demo printed no line matching {pattern!r}:\n" + "".join(self.lines[-30:]))
        return found[0]

    def mail(self, subject: str, *, to: str, after: int) -> str:
        """The link of the first mail with ``subject`` to ``to`` printed after ``after``."""
        pattern = rf"MAIL to={re.escape(to)} subject={re.escape(repr(subject))} link=(\S+)"
        return self.wait_for_line(pattern, after=after).group(1)

    def _read(self, stream: Iterator[str]) -> None:
        for line in stream:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()


@contextmanager
def run_demo(database_url: str, *, host: str = "127.0.0.1", env: Mapping[str, str] = {}) -> Iterator[RunningDemo]:
    """Serve the demo on a free port of ``host`` (its public URL) until the block ends.

    Args:
        database_url: The demo's ``DATABASE_URL``.
        host: The host name of its public URL (``localhost`` for passkeys); it listens on 127.0.0.1.
        env: More environment variables (``OIDC_ISSUER``, ``PORT``...).
    """
    port = int(env.get("PORT") or free_port())
    url = f"http://{host}:{port}"
    environ = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "BASE_URL": url,
        "DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "docs.examples.demo"],
        cwd=ROOT,
        env=environ,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    demo = RunningDemo(url, port)
    reader = threading.Thread(target=demo._read, args=(process.stdout,), daemon=True)
    reader.start()
    try:
        started = demo.wait_for_line(r"Uvicorn running on|Application startup failed|Traceback", timeout=60)
        if "running" not in started.group(0):
            raise RuntimeError("the demo did not start:\n" + "".join(demo.lines))
        yield demo
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=5)
        process.stdout.close()


# -- a fresh database for one demo run (dropped afterwards) ----------------------------------


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database on the test server: its URL."""
    import psycopg

    admin = service_url("LUCIA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    name = unique_name("lucia_demo")
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        require_service("postgresql", f"cannot connect to {admin}: {error}")
    try:
        yield urlsplit(admin)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def mysql_database() -> Iterator[str]:
    """A new, empty MySQL/MariaDB database on the test server: its URL."""
    import pymysql

    admin = urlsplit(service_url("LUCIA_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"))
    name = unique_name("lucia_demo")
    options = {"host": admin.hostname, "port": admin.port or 3306, "user": admin.username, "password": admin.password}
    try:
        with pymysql.connect(**options, connect_timeout=5) as connection, connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}`")
    except pymysql.err.OperationalError as error:
        require_service("mysql", f"cannot connect to {admin.geturl()}: {error}")
    try:
        yield admin._replace(path=f"/{name}").geturl()
    finally:
        with pymysql.connect(**options) as connection, connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")


@contextmanager
def mongodb_database() -> Iterator[str]:
    """A database on a MongoDB-compatible server (SecantusDB in memory, unless LUCIA_TEST_MONGODB_URL): its URL."""
    given = os.environ.get("LUCIA_TEST_MONGODB_URL")
    if given:
        yield urlsplit(given)._replace(path=f"/{unique_name('lucia_demo')}").geturl()
        return
    from lucia_testkit import secantus_server

    with secantus_server() as url:
        yield urlsplit(url)._replace(path="/lucia_demo").geturl()
