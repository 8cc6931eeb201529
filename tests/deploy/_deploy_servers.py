"""Real servers in subprocesses for the deployment tests, and a client for the example apps' routes.

:func:`serve` starts one server command on a free loopback port in its own working
directory (where the app writes ``app.db``) and waits until ``POST /signup`` answers
``201``: that first sign-up is the readiness check and the test's first user. A server
that accepts the connection but never answers fails at once (issue #19.1: a forked
worker hung on its parent's event loop), not after the start-up deadline.
:meth:`Server.stop` sends SIGTERM to the server process only, as a container runtime
does, and waits for it and its workers to exit.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import httpx
import pytest

from lucia.testing.services import free_port

__all__ = ["COOKIE", "PASSWORD", "Deployment", "Server", "serve", "session_cookie"]

COOKIE = "auth_session"
PASSWORD = "correct horse battery staple"
HERE = Path(__file__).resolve().parent
#: docs/examples/frameworks/: the apps the docs show.
EXAMPLES = HERE.parents[1] / "docs" / "examples" / "frameworks"
#: Seconds a request may take before the server counts as hung (a shared 2-core machine).
REQUEST_TIMEOUT = 10.0
#: Seconds a server may take to start listening.
START_TIMEOUT = 60.0
#: Seconds from SIGTERM until the server and its workers have exited (issue #19's bound).
STOP_TIMEOUT = 5.0


@dataclass(frozen=True)
class Deployment:
    """How one example app is served: a command (``{python}``, ``{port}`` filled in) and where its routes are."""

    name: str
    command: Sequence[str]
    prefix: str = ""
    #: Server processes answering requests (gunicorn's ``-w``).
    workers: int = 1
    #: ``"postgresql"``: the app runs on a fresh PostgreSQL database (else on ``app.db``).
    database: str = "sqlite"

    def argv(self, port: int) -> list[str]:
        """The command with the interpreter and the port filled in."""
        return [part.format(python=sys.executable, port=port) for part in self.command]


def session_cookie(response: httpx.Response) -> str | None:
    """The value of the session cookie a response sets (``""`` when it clears it), or ``None``."""
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        if name.strip() == COOKIE:
            return rest.split(";", 1)[0].strip()
    return None


@dataclass
class Server:
    """A running server: its process, log, client and the user the readiness check signed up."""

    deployment: Deployment
    process: subprocess.Popen[bytes]
    log: Path
    client: httpx.Client
    origin: str
    username: str = ""
    user_id: str = ""
    #: The session cookie of the readiness sign-up.
    token: str = ""
    #: ``time.monotonic()`` just before that sign-up was sent: its session's creation is later.
    signed_up_at: float = 0.0

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        origin: str | None = None,
        data: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One request to ``prefix + path``; unsafe methods carry the app's own ``Origin`` unless told otherwise."""
        headers = {}
        if token is not None:
            headers["Cookie"] = f"{COOKIE}={token}"
        if origin is None and method not in ("GET", "HEAD"):
            origin = self.origin
        if origin is not None:
            headers["Origin"] = origin
        try:
            return self.client.request(method, self.deployment.prefix + path, headers=headers, data=data)
        except httpx.TimeoutException:
            pass
        finally:
            self.client.cookies.clear()  # every request carries exactly the cookie it is given
        self.fail(f"{method} {path} got no answer within {REQUEST_TIMEOUT:g} s")

    def me(self, token: str | None) -> httpx.Response:
        """``GET /me``, the protected route."""
        return self.request("GET", "/me", token=token)

    def user_of(self, token: str | None) -> str | None:
        """The user id ``GET /me`` answers for ``token``, or ``None`` when it is refused."""
        response = self.me(token)
        if response.status_code == 200:
            user_id: str = response.json()["user_id"]
            return user_id
        assert response.status_code in (401, 302, 303, 307), self.describe(response)
        return None

    def describe(self, response: httpx.Response) -> str:
        """A failed request's status, body and the end of the server's log."""
        return f"{response.request.method} {response.url}: {response.status_code} {response.text[:300]}\n{self.tail()}"

    def tail(self) -> str:
        """The last lines the server logged."""
        return f"--- {self.deployment.name} log ---\n{self.log.read_text(errors='replace')[-3000:]}"

    def fail(self, message: str) -> NoReturn:
        """Fail the test with ``message`` and the server's log."""
        pytest.fail(f"{self.deployment.name}: {message}\n{self.tail()}", pytrace=False)

    def sign_up(self, deadline: float) -> None:
        """Wait until the server listens, then sign up a user; fails at once if it accepts but never answers."""
        self.username = f"ada_{secrets.token_hex(4)}"
        form = {"username": self.username, "password": PASSWORD}
        response = None
        while response is None:
            if self.process.poll() is not None:
                self.fail(f"exited with status {self.process.returncode} before serving")
            if time.monotonic() > deadline:
                self.fail(f"did not listen within {START_TIMEOUT:g} s")
            self.signed_up_at = time.monotonic()
            try:
                response = self.client.post(
                    self.deployment.prefix + "/signup", data=form, headers={"Origin": self.origin}
                )
            except httpx.TimeoutException:
                break
            except httpx.TransportError:  # not listening yet
                time.sleep(0.1)
        self.client.cookies.clear()
        if response is None:
            self.fail(f"accepted a connection but did not answer POST /signup within {REQUEST_TIMEOUT:g} s")
        token = session_cookie(response)
        if response.status_code != 201 or not token:
            self.fail(f"the readiness sign-up was answered {self.describe(response)}")
        self.user_id, self.token = response.json()["user_id"], str(token)

    def stop(self) -> float:
        """SIGTERM the server process; the seconds until it and its workers had exited.

        Fails if anything of the server still runs :data:`STOP_TIMEOUT` seconds after the
        signal, or if the server exits with a status other than 0 (or uvicorn's re-raised
        SIGTERM).
        """
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail(f"still running {STOP_TIMEOUT:g} s after SIGTERM")
        if self.process.returncode not in (0, -signal.SIGTERM):
            self.fail(f"exited with status {self.process.returncode} after SIGTERM")
        # Its workers (gunicorn's, hypercorn's, multiprocessing's resource tracker) may
        # finish exiting just after it, within the same bound.
        while left := _running_in_group(self.process.pid):
            if time.monotonic() - started > STOP_TIMEOUT:
                self.fail(f"processes {left} still running {STOP_TIMEOUT:g} s after SIGTERM")
            time.sleep(0.05)
        return time.monotonic() - started


def _running_in_group(group: int) -> list[int]:
    """The processes of process group ``group`` that have not exited (zombies waiting to be reaped have)."""
    listing = subprocess.run(["ps", "-eo", "pid=,pgid=,stat="], capture_output=True, text=True, check=True).stdout
    running = []
    for line in listing.splitlines():
        pid, pgid, stat = line.split(maxsplit=2)
        if int(pgid) == group and not stat.startswith("Z"):
            running.append(int(pid))
    return running


def environment(**extra: str) -> dict[str, str]:
    """The servers' environment: the example apps and :mod:`deployed_apps` importable, no bytecode written."""
    path = os.pathsep.join([str(HERE), str(EXAMPLES), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1", **extra}


@contextmanager
def serve(deployment: Deployment, workdir: Path, **env: str) -> Iterator[Server]:
    """Run ``deployment`` in ``workdir`` until the block ends, signed up once (see :meth:`Server.sign_up`).

    Whatever still runs at the end (the server, or workers it left behind) is killed.
    """
    port = free_port()
    log = workdir / "server.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            deployment.argv(port),
            cwd=workdir,
            env=environment(**env),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: workers can be killed with it
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT, follow_redirects=False) as client:
            server = Server(deployment, process, log, client, origin=base_url)
            server.sign_up(time.monotonic() + START_TIMEOUT)
            yield server
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
