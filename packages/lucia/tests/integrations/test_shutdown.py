"""The docs example apps, each run by a real server in its own process, stop on SIGTERM within 5 s.

The integrations' lifecycle hooks close the adapter at shutdown; without that,
aiosqlite's connection threads (not daemons) keep the interpreter alive after the server
has stopped serving, and the process never exits (issue #19.6: the Quart page's app under
hypercorn). Each app is started as its page documents, does a sign-up (so the adapter's
threads exist), and gets SIGTERM. The apps start in parallel, so the check costs about
one server start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from lucia.testing.services import free_port

#: docs/examples/frameworks/: the runnable apps the docs show.
EXAMPLES = Path(__file__).resolve().parents[4] / "docs" / "examples" / "frameworks"

pytestmark = pytest.mark.skipif(os.name == "nt", reason="SIGTERM is a POSIX signal")

# Servers that shut down gracefully on SIGTERM and then let the interpreter exit normally,
# which waits for every non-daemon thread (uvicorn re-raises the signal instead: it
# would not show a leftover thread).
HYPERCORN = [sys.executable, "-m", "hypercorn", "--bind=127.0.0.1:{port}"]  # installed with Quart
AIOHTTP = [
    sys.executable,
    "-c",
    "from aiohttp import web; import aiohttp_app; "
    "web.run_app(aiohttp_app.create_app(), host='127.0.0.1', port={port}, print=None)",
]

#: name -> (command, URL prefix of the app's routes): the apps whose shutdown closes the
#: adapter on the server's event loop, one per kind of lifecycle hook (Starlette's
#: lifespan, LifespanMiddleware, Litestar's on_shutdown, Quart's after_serving, aiohttp's
#: cleanup_ctx). The WSGI integrations run the adapter on SyncLucia's daemon threads;
#: serving them with gunicorn --preload is the deployment suite's part.
SERVERS: dict[str, tuple[list[str], str]] = {
    "starlette-hypercorn": ([*HYPERCORN, "starlette_app:create_app()"], ""),
    "django-asgi-hypercorn": ([*HYPERCORN, "django_app:create_asgi_app()"], "/async"),
    "litestar-hypercorn": ([*HYPERCORN, "litestar_app:create_app()"], ""),
    "quart-hypercorn": ([*HYPERCORN, "quart_app:create_app()"], ""),
    "aiohttp-runner": (AIOHTTP, ""),
}


def _sign_up(process: subprocess.Popen[bytes], base_url: str, deadline: float) -> int:
    """Wait for the server, then sign up once; the status code of the sign-up."""
    origin = base_url.split("/async")[0]
    while True:
        try:
            response = httpx.post(
                f"{base_url}/signup",
                data={"username": "ada", "password": "correct horse battery staple"},
                headers={"Origin": origin},
                timeout=5,
            )
            return response.status_code
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                assert process.stderr is not None
                pytest.fail(f"{process.args} did not serve:\n{process.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)


def test_example_apps_stop_on_sigterm_within_5_seconds(tmp_path: Path) -> None:
    """Started by its real server and used once, each example app exits within 5 s of SIGTERM."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(EXAMPLES), os.environ.get("PYTHONPATH", "")])}
    running: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    try:
        for name, (command, prefix) in SERVERS.items():
            workdir = tmp_path / name  # each app writes its own app.db here
            workdir.mkdir()
            port = free_port()
            process = subprocess.Popen(
                [part.format(port=port) for part in command],
                cwd=workdir,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            running[name] = (process, f"http://127.0.0.1:{port}{prefix}")
        deadline = time.monotonic() + 90  # several servers start at once on a shared machine
        statuses = {name: _sign_up(process, base_url, deadline) for name, (process, base_url) in running.items()}
        assert statuses == dict.fromkeys(SERVERS, 201)
        for process, _ in running.values():
            process.send_signal(signal.SIGTERM)
        stopped_by = time.monotonic() + 5
        still_running = []
        for name, (process, _) in running.items():
            try:
                process.wait(timeout=max(0.0, stopped_by - time.monotonic()))
            except subprocess.TimeoutExpired:
                still_running.append(name)
        assert still_running == []
    finally:
        for process, _ in running.values():
            if process.poll() is None:
                process.kill()
            process.wait()
            if process.stderr is not None:
                process.stderr.close()
