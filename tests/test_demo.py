"""The demo app of README's first command, served by a real uvicorn process and driven like a browser."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from lucia.testing.services import free_port

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Demo:
    url: str
    output: list[str] = field(default_factory=list)

    def last_link(self, subject: str) -> str:
        """The link of the newest "mail" with this subject that the demo printed."""
        for _ in range(100):
            for line in reversed(self.output):
                if f"subject={subject!r}" in line:
                    match = re.search(r"link=(\S+)", line)
                    assert match is not None
                    return match.group(1).removeprefix(self.url)
            time.sleep(0.05)
        raise AssertionError(f"no mail {subject!r} in {self.output}")


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "docs.examples.demo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    running = Demo(url)
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: running.output.extend(iter(process.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        for _ in range(200):
            try:
                httpx.get(url + "/me", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None:
                    raise RuntimeError("".join(running.output) or "the demo exited") from None
                time.sleep(0.05)
        yield running
    finally:
        process.terminate()
        process.wait(timeout=10)
        reader.join(timeout=5)
        process.stdout.close()


def test_demo_sign_up_who_am_i_sessions_and_sign_out(demo: Demo) -> None:
    """Sign up, who-am-I, a second device, revoke it, sign out, sign back in; bad passwords refused."""
    demo_url = demo.url
    origin = {"Origin": demo_url}
    with (
        httpx.Client(base_url=demo_url, headers=origin) as browser,
        httpx.Client(base_url=demo_url, headers=origin) as phone,
    ):
        assert browser.get("/me").status_code == 401
        response = browser.post("/signup", data={"username": "Ada", "password": "correct horse"})
        assert response.status_code == 303
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        me = browser.get("/me").json()
        assert me["username"] == "ada"

        assert "taken" in browser.post("/signup", data={"username": "ada", "password": "another one"}).text
        wrong = phone.post("/login", data={"username": "ada", "password": "wrong horse"})
        assert "Incorrect email or password." in wrong.text
        unknown = phone.post("/login", data={"username": "nobody", "password": "wrong horse"})
        assert "Incorrect email or password." in unknown.text
        assert (
            phone.post("/login", data={"username": "ada", "password": "correct horse", "next": "//evil.com"}).headers[
                "location"
            ]
            == "/"
        )
        assert phone.get("/me").json()["user_id"] == me["user_id"]

        page = browser.get("/").text
        assert "Signed in as <strong>ada</strong>" in page and page.count("Revoke") == 1
        browser.post("/sessions/revoke-others")
        assert phone.get("/me").status_code == 401

        assert browser.post("/logout").status_code == 303
        assert browser.get("/me").status_code == 401
        assert browser.post("/login", data={"username": "ada", "password": "correct horse"}).status_code == 303
        assert browser.get("/me").status_code == 200


def test_demo_email_verification_and_password_reset(demo: Demo) -> None:
    """The verification link verifies once; a reset link sets a new password and signs out every device."""
    with (
        httpx.Client(base_url=demo.url, headers={"Origin": demo.url}) as browser,
        httpx.Client(base_url=demo.url, headers={"Origin": demo.url}) as phone,
    ):
        browser.post("/signup", data={"username": "grace@example.com", "password": "first password"})
        assert browser.get("/me").json()["email_verified"] is False
        link = demo.last_link("Verify your email")
        assert browser.get(link).status_code == 303
        assert browser.get("/me").json()["email_verified"] is True
        assert "invalid or has expired" in browser.get(link).text

        phone.post("/login", data={"username": "grace@example.com", "password": "first password"})
        assert phone.get("/me").status_code == 200
        unknown = browser.post("/reset-password", data={"username": "nobody@example.com"}).text
        known = browser.post("/reset-password", data={"username": "grace@example.com"}).text
        assert "If an account exists" in unknown and "If an account exists" in known
        reset_link = demo.last_link("Reset your password")
        assert browser.post(reset_link, data={"password": "second password"}).status_code == 303
        assert phone.get("/me").status_code == 401  # every other device is signed out
        assert browser.get("/me").status_code == 200
        assert "invalid or has expired" in browser.post(reset_link, data={"password": "third password"}).text
        assert (
            phone.post("/login", data={"username": "grace@example.com", "password": "second password"}).status_code
            == 303
        )


def test_demo_refuses_cross_site_posts(demo: Demo) -> None:
    """A form posted from another origin is refused before it reaches the app."""
    demo_url = demo.url
    response = httpx.post(
        demo_url + "/signup",
        data={"username": "eve", "password": "password1"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
