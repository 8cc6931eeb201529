"""Each framework's docs example app on its real server, as a deployment runs it.

gunicorn with ``--preload`` and two workers (Flask, Django's WSGI handler, and the raw
WSGI app on PostgreSQL), uvicorn (Starlette, FastAPI, Litestar, the raw ASGI app),
hypercorn (Quart, Django's ASGI handler) and aiohttp's ``web.run_app``: each in a
subprocess on a free loopback port, in a directory of its own. Each is checked for
sign-up and sign-in, the protected route, a cross-origin POST refused, renewal of an
idle session (short sessions from :mod:`deployed_apps`) with parallel requests that
gunicorn spreads over both workers, sign-out, and a clean exit within 5 s of SIGTERM.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from _deploy_servers import PASSWORD, Deployment, Server, serve, session_cookie
from deployed_apps import ACTIVE_PERIOD, POSTGRES_URL_VARIABLE, WORKER_HEADER

GUNICORN = ("{python}", "-m", "gunicorn", "--bind=127.0.0.1:{port}", "--preload", "--workers=2", "--no-control-socket")
UVICORN = ("{python}", "-m", "uvicorn", "--host=127.0.0.1", "--port={port}", "--factory")
HYPERCORN = ("{python}", "-m", "hypercorn", "--bind=127.0.0.1:{port}")
AIOHTTP_RUNNER = (
    "{python}",
    "-c",
    "from aiohttp import web; import deployed_apps; "
    "web.run_app(deployed_apps.aiohttp_app(), host='127.0.0.1', port={port}, print=None)",
)

DEPLOYMENTS = [
    Deployment("flask-gunicorn", (*GUNICORN, "deployed_apps:flask_app()"), workers=2),
    Deployment("django-wsgi-gunicorn", (*GUNICORN, "deployed_apps:django_wsgi_app()"), workers=2),
    Deployment(
        "wsgi-postgresql-gunicorn", (*GUNICORN, "deployed_apps:wsgi_postgres_app()"), workers=2, database="postgresql"
    ),
    Deployment("starlette-uvicorn", (*UVICORN, "deployed_apps:starlette_app")),
    Deployment("fastapi-uvicorn", (*UVICORN, "deployed_apps:fastapi_app")),
    Deployment("litestar-uvicorn", (*UVICORN, "deployed_apps:litestar_app")),
    Deployment("asgi-uvicorn", (*UVICORN, "deployed_apps:asgi_app")),
    Deployment("quart-hypercorn", (*HYPERCORN, "deployed_apps:quart_app()")),
    Deployment("django-asgi-hypercorn", (*HYPERCORN, "deployed_apps:django_asgi_app()"), prefix="/async"),
    Deployment("aiohttp-runner", AIOHTTP_RUNNER),
]
#: Requests sent at once to show sessions working in every worker.
PARALLEL = 16


def in_parallel(call: Callable[[], httpx.Response], count: int = PARALLEL) -> list[httpx.Response]:
    """``count`` calls at once, from as many threads."""
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: call(), range(count)))


def check_sign_in_and_protected_route(server: Server) -> str:
    """Sign-in, the protected route and a refused cross-origin POST; returns the sign-in's session token."""
    wrong = server.request("POST", "/signin", data={"username": server.username, "password": "not the password"})
    assert wrong.status_code == 400 and session_cookie(wrong) is None, server.describe(wrong)
    signed_in = server.request("POST", "/signin", data={"username": server.username, "password": PASSWORD})
    token = session_cookie(signed_in)
    assert signed_in.status_code == 303 and token, server.describe(signed_in)
    assert server.user_of(token) == server.user_id
    assert server.user_of(None) is None
    posted = server.request("POST", "/me", token=token)
    assert posted.status_code == 200 and posted.json()["user_id"] == server.user_id, server.describe(posted)
    # CSRF: a POST from a foreign origin is refused, sets no cookie and leaves the session alive.
    refused = server.request("POST", "/me", token=token, origin="https://evil.example")
    assert refused.status_code == 403 and session_cookie(refused) is None, server.describe(refused)
    assert server.user_of(token) == server.user_id
    return token


def check_renewal_in_every_worker(server: Server) -> str:
    """The sign-up's session, untouched until idle, is renewed; the renewal and the replaced token work everywhere.

    Returns the renewed token. With several workers, parallel requests go on until every
    worker has answered one (each response names its worker).
    """
    old = server.token
    time.sleep(max(0.0, server.signed_up_at + ACTIVE_PERIOD.total_seconds() + 0.3 - time.monotonic()))
    renewed = server.me(old)
    new = session_cookie(renewed)
    assert renewed.status_code == 200 and renewed.json()["user_id"] == server.user_id, server.describe(renewed)
    assert new and new != old, f"an idle session got no new cookie: {server.describe(renewed)}"
    workers: set[str | None] = set()
    for _ in range(5):
        answers = in_parallel(lambda: server.me(new)) + in_parallel(lambda: server.me(old), PARALLEL // 2)
        for answer in answers:
            assert answer.status_code == 200 and answer.json()["user_id"] == server.user_id, server.describe(answer)
            workers.add(answer.headers.get(WORKER_HEADER))
        # The replaced token authenticates during the renewal grace, without a cookie of its own.
        assert all(session_cookie(answer) is None for answer in answers[PARALLEL:])
        if len(workers) >= server.deployment.workers:
            break
    assert len(workers) == server.deployment.workers, f"workers that answered: {workers}"
    return new


def check_sign_out(server: Server, renewed: str, other: str) -> None:
    """Signing out the renewed session refuses it and the token it replaced, in every worker; others stay."""
    signed_out = server.request("POST", "/signout", token=renewed)
    assert signed_out.status_code in (200, 303) and session_cookie(signed_out) == "", server.describe(signed_out)
    for answer in in_parallel(lambda: server.me(renewed)) + in_parallel(lambda: server.me(server.token)):
        assert answer.status_code in (401, 302, 303, 307), server.describe(answer)
    assert server.user_of(other) == server.user_id


def check_clean_shutdown(server: Server) -> None:
    """SIGTERM stops the server within 5 s (Server.stop fails otherwise), without a traceback."""
    server.stop()
    log = server.log.read_text(errors="replace")
    assert "Traceback" not in log, server.tail()


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=[d.name for d in DEPLOYMENTS])
def test_example_app_on_its_server(deployment: Deployment, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Sign-in, protected route, CSRF, renewal across workers, sign-out and SIGTERM on the app's real server."""
    env = {}
    if deployment.database == "postgresql":
        env[POSTGRES_URL_VARIABLE] = request.getfixturevalue("postgres_url")
    with serve(deployment, tmp_path, **env) as server:
        other = check_sign_in_and_protected_route(server)
        renewed = check_renewal_in_every_worker(server)
        check_sign_out(server, renewed, other)
        check_clean_shutdown(server)


def test_issue19_1_flask_app_under_gunicorn_preload_answers(tmp_path: Path) -> None:
    """#19.1: ``gunicorn 'flask_app:create_app()' --preload -w 2`` answers sign-up and parallel ``/me`` requests."""
    command = (*GUNICORN, "flask_app:create_app()")  # the page's command: SyncLucia used before the fork
    with serve(Deployment("flask-gunicorn-preload", command, workers=2), tmp_path) as server:
        for answer in in_parallel(lambda: server.me(server.token)):
            assert answer.status_code == 200 and answer.json()["user_id"] == server.user_id, server.describe(answer)
        check_clean_shutdown(server)
