"""Fixtures of the browser tests: Debian's Chromium through Playwright, the demo on each database, other sites.

Run them with ``nox -s browser``. Chromium is the system package (``/usr/bin/chromium``, or
``LUCIA_CHROMIUM``); Playwright never downloads a browser here. The demo runs once per
database (SQLite, then PostgreSQL), at ``http://localhost:<port>`` so that passkeys work
(WebAuthn needs a domain name), beside a real OpenID Connect provider (oidc-provider on
Node.js, from lucia-oauth's tests) and "another site" on a second port. Screenshots go to
``build/browser-screenshots/`` (SQLite) and ``build/browser-screenshots/postgresql/``.
"""

from __future__ import annotations

import html
import os
import secrets
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest
from _browser import Tab
from _demo import ROOT, RunningDemo, postgres_database, run_demo

from lucia.testing.services import free_port, require_service

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = os.environ.get("LUCIA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "build" / "browser-screenshots"
OIDC_SERVER_DIR = ROOT / "packages" / "lucia-oauth" / "tests" / "oidc_provider"
DATABASES = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Headless Chromium of the Debian package, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        require_service("chromium", f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def demo_port() -> int:
    """The demo's port, the same for each database (the OpenID provider knows its redirect URI)."""
    return free_port()


@pytest.fixture(scope="session")
def oidc_env(demo_port: int) -> Iterator[dict[str, str]]:
    """oidc-provider on a free port, registered for the demo: the demo's ``OIDC_*`` settings.

    Without Node.js this is ``{}`` (the demo shows no OpenID button and the OAuth test
    skips, or fails under ``LUCIA_REQUIRE_SERVICES=1``).
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        yield {}
        return
    if not (OIDC_SERVER_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=OIDC_SERVER_DIR, check=True)
    client_id, client_secret = "lucia-demo", secrets.token_urlsafe(24)
    environ = {
        **os.environ,
        "OIDC_PORT": str(free_port()),
        "OIDC_CLIENT_ID": client_id,
        "OIDC_CLIENT_SECRET": client_secret,
        "OIDC_REDIRECT_URI": f"http://localhost:{demo_port}/oauth/oidc/callback",
    }
    process = subprocess.Popen(
        [node, "server.mjs"],
        cwd=OIDC_SERVER_DIR,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    try:
        ready = process.stdout.readline()  # "ready <issuer>" once it listens
        if not ready.startswith("ready "):
            raise RuntimeError(f"oidc-provider did not start (exit code {process.poll()})")
        yield {
            "OIDC_ISSUER": ready.split()[1],
            "OIDC_CLIENT_ID": client_id,
            "OIDC_CLIENT_SECRET": client_secret,
            "OIDC_NAME": "Local OpenID",
        }
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


@pytest.fixture(scope="session", params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty database of each kind: a SQLite file, then a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture(scope="session")
def demo(database_url: str, demo_port: int, oidc_env: dict[str, str]) -> Iterator[RunningDemo]:
    """The demo, as ``python -m docs.examples.demo`` serves it, at http://localhost:<demo_port>."""
    with run_demo(database_url, host="localhost", env={"PORT": str(demo_port), **oidc_env}) as running:
        yield running


@pytest.fixture(scope="session")
def screenshots(database_url: str) -> Path:
    """Where this database's screenshots go."""
    folder = SCREENSHOTS if database_url.startswith("sqlite") else SCREENSHOTS / database_url.split(":", 1)[0]
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class _OtherSite(BaseHTTPRequestHandler):
    """Another site: a page whose form posts to the URL in ``?post_to=`` (a CSRF attempt), or a blank page."""

    def do_GET(self) -> None:
        target = parse_qs(urlsplit(self.path).query).get("post_to", [""])[0]
        form = f'<form method="post" action="{html.escape(target)}"><button>Claim your prize</button></form>'
        body = f"<!doctype html><title>Another site</title><h1>Another site</h1>{form if target else ''}".encode()
        self.send_response(200 if self.path != "/favicon.ico" else 204)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@pytest.fixture(scope="session")
def other_site_port() -> Iterator[int]:
    """A second local server: ``http://127.0.0.1:<port>`` is another site, ``http://localhost:<port>``
    another origin of the same site as the demo."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OtherSite)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def open_tab(chromium: Browser, demo: RunningDemo, screenshots: Path) -> Iterator[Callable[..., Tab]]:
    """``tab = open_tab()``: a new browser profile on the demo (``javascript=False``: scripts off).

    Fails the test on any error a tab saw.
    """
    tabs: list[Tab] = []

    def open_one(*, javascript: bool = True) -> Tab:
        context = chromium.new_context(base_url=demo.url, java_script_enabled=javascript)
        context.set_default_timeout(15_000)
        tabs.append(Tab(context, demo.url, screenshots))
        return tabs[-1]

    yield open_one
    problems = [problem for tab in tabs for problem in tab.problems]
    for tab in tabs:
        tab.context.close()
    assert not problems, "\n".join(problems)
