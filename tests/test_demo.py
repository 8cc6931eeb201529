"""The demo app of README's first command, served by a real uvicorn process and driven like a browser."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lucia.testing.services import free_port

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def demo_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "docs.examples.demo"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(url + "/me", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None:
                    raise RuntimeError(process.stdout.read().decode() if process.stdout else "demo exited") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


def test_demo_sign_up_who_am_i_sessions_and_sign_out(demo_url: str) -> None:
    """Sign up, who-am-I, a second device, revoke it, sign out, sign back in; bad passwords refused."""
    origin = {"Origin": demo_url}
    with httpx.Client(base_url=demo_url, headers=origin) as browser, httpx.Client(base_url=demo_url, headers=origin) as phone:
        assert browser.get("/me").status_code == 401
        response = browser.post("/signup", data={"username": "Ada", "password": "correct horse"})
        assert response.status_code == 303
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        me = browser.get("/me").json()
        assert me["username"] == "ada"

        assert "taken" in browser.post("/signup", data={"username": "ada", "password": "another one"}).text
        wrong = phone.post("/login", data={"username": "ada", "password": "wrong horse"})
        assert "Incorrect username or password." in wrong.text
        unknown = phone.post("/login", data={"username": "nobody", "password": "wrong horse"})
        assert "Incorrect username or password." in unknown.text
        assert phone.post("/login", data={"username": "ada", "password": "correct horse", "next": "//evil.com"}).headers[
            "location"
        ] == "/"
        assert phone.get("/me").json()["user_id"] == me["user_id"]

        page = browser.get("/").text
        assert "Signed in as <strong>ada</strong>" in page and page.count("Revoke") == 1
        browser.post("/sessions/revoke-others")
        assert phone.get("/me").status_code == 401

        assert browser.post("/logout").status_code == 303
        assert browser.get("/me").status_code == 401
        assert browser.post("/login", data={"username": "ada", "password": "correct horse"}).status_code == 303
        assert browser.get("/me").status_code == 200


def test_demo_refuses_cross_site_posts(demo_url: str) -> None:
    """A form posted from another origin is refused before it reaches the app."""
    response = httpx.post(demo_url + "/signup", data={"username": "eve", "password": "password1"}, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
