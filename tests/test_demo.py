"""The demo app of README's first command, served by a real uvicorn process and spoken to over HTTP.

These checks need no browser (they run with the cross-package tests); tests/browser/ walks the
same app in Chromium.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from _demo import RunningDemo, mongodb_database, mysql_database, postgres_database, run_demo

from lucia.testing.services import service_url

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    """One demo for the module: each test signs up its own users."""
    with run_demo(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}") as running:
        yield running


@pytest.fixture
def client(demo: RunningDemo) -> Iterator[httpx.Client]:
    """A client that sends the demo's own Origin, as a browser does with a same-origin form."""
    with httpx.Client(base_url=demo.url, headers={"Origin": demo.url}) as browser:
        yield browser


def new_client(demo: RunningDemo) -> httpx.Client:
    return httpx.Client(base_url=demo.url, headers={"Origin": demo.url})


def sign_up(client: httpx.Client, email: str, password: str = PASSWORD, **form: str) -> httpx.Response:
    return client.post("/sign-up", data={"email": email, "password": password, **form})


def sign_in(client: httpx.Client, email: str, password: str = PASSWORD, **form: str) -> httpx.Response:
    return client.post("/sign-in", data={"email": email, "password": password, **form})


def test_sign_up_sign_in_and_sign_out(demo: RunningDemo, client: httpx.Client) -> None:
    """Sign-up signs in with a secure cookie; sign-out is a POST; sign-in finds the account again."""
    assert client.get("/me").status_code == 401
    response = sign_up(client, " Ada@Example.com ", remember="on")
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie and "Max-Age=" in cookie
    assert "Domain" not in cookie
    me = client.get("/me").json()
    assert me["email"] == "ada@example.com" and me["email_verified"] is False and me["persistent"] is True

    assert client.get("/sign-out").status_code == 405  # a link cannot sign you out
    assert client.post("/sign-out").status_code == 303
    assert client.get("/me").status_code == 401
    assert sign_in(client, "ADA@example.com", next="//evil.example").headers["location"] == "/"
    assert client.get("/me").json()["user_id"] == me["user_id"]


def test_every_sign_up_and_sign_in_error_has_its_message(demo: RunningDemo, client: httpx.Client) -> None:
    """Taken email, short password, wrong password and unknown email: a 400 page, the email kept."""
    sign_up(client, "grace@example.com")
    with new_client(demo) as other:
        taken = sign_up(other, "grace@example.com", "another password")
        assert taken.status_code == 400 and "exists already" in taken.text
        short = sign_up(other, "linus@example.com", "short")
        assert short.status_code == 400 and "at least 12 characters" in short.text
        assert 'value="linus@example.com"' in short.text
        for email in ("grace@example.com", "nobody@example.com"):
            wrong = sign_in(other, email, "wrong password")
            assert wrong.status_code == 400 and "Incorrect email or password." in wrong.text
            assert f'value="{email}"' in wrong.text
        too_long = sign_in(other, "x" * 250 + "@example.com")
        assert too_long.status_code == 400 and "too long" in too_long.text


def test_throttled_sign_in_says_when_to_try_again(demo: RunningDemo, client: httpx.Client) -> None:
    """After five wrong passwords the sixth try is refused with 429, Retry-After and the wait in words."""
    sign_up(client, "mallory@example.com")
    with new_client(demo) as attacker:
        for _ in range(5):
            assert sign_in(attacker, "mallory@example.com", "wrong password").status_code == 400
        throttled = sign_in(attacker, "mallory@example.com")  # even the right password waits
    assert throttled.status_code == 429
    seconds = int(throttled.headers["retry-after"])
    assert 0 < seconds <= 30
    assert re.search(rf"Too many attempts, try again in {seconds} seconds\.", throttled.text)


def test_remember_me_off_gives_a_browser_session_cookie(demo: RunningDemo, client: httpx.Client) -> None:
    """Without "keep me signed in" the cookie has no Max-Age, also after signing in again."""
    response = sign_up(client, "barbara@example.com")
    assert "Max-Age" not in response.headers["set-cookie"] and client.get("/me").json()["persistent"] is False
    client.post("/sign-out")
    response = sign_in(client, "barbara@example.com")
    assert "Max-Age" not in response.headers["set-cookie"]


def test_email_verification_replaces_the_session(demo: RunningDemo, client: httpx.Client) -> None:
    """The mailed link verifies once, for the signed-in owner, and replaces every session."""
    mark = demo.mark()
    sign_up(client, "edsger@example.com")
    link = demo.mail("Verify your email", to="edsger@example.com", after=mark).removeprefix(demo.url)
    with new_client(demo) as stranger, new_client(demo) as phone:
        assert stranger.get(link).headers["location"].startswith("/sign-in?next=%2Fverify-email%2F")
        sign_in(phone, "edsger@example.com")
        before = client.cookies["auth_session"]
        assert client.get(link).headers["location"] == "/?notice=verified"
        assert client.cookies["auth_session"] != before  # a new session for the new privilege
        assert client.get("/me").json()["email_verified"] is True
        assert phone.get("/me").status_code == 401  # other devices sign in again
    again = client.get(link)
    assert again.status_code == 400 and "not valid" in again.text


def test_mail_to_one_address_is_rate_limited(demo: RunningDemo, client: httpx.Client) -> None:
    """Five mails to an address, then "please wait": "send it again" cannot flood a mailbox."""
    sign_up(client, "ken@example.com")  # the first mail
    notices = [client.post("/verify-email/resend").headers["location"] for _ in range(5)]
    assert notices == ["/?notice=verification-sent"] * 4 + ["/?notice=mail-wait"]
    assert "Please wait" in client.get(notices[-1]).text


def test_password_reset_signs_out_everywhere_and_verifies_the_email(demo: RunningDemo, client: httpx.Client) -> None:
    """Same answer for unknown emails; a short password keeps the form; the reset signs out every device."""
    sign_up(client, "margaret@example.com")
    with new_client(demo) as stranger:
        mark = demo.mark()
        unknown = stranger.post("/forgot-password", data={"email": "nobody@example.com"}).text
        known = stranger.post("/forgot-password", data={"email": "margaret@example.com"}).text
        assert unknown.replace("nobody", "margaret") == known
        link = demo.mail("Reset your password", to="margaret@example.com", after=mark).removeprefix(demo.url)
        short = stranger.post(link, data={"password": "short"})
        assert short.status_code == 400 and "at least 12 characters" in short.text and "<form" in short.text
        assert stranger.post(link, data={"password": "a brand new password"}).headers["location"].startswith("/?")
        assert stranger.get("/me").json()["email_verified"] is True
    assert client.get("/me").status_code == 401
    used = client.post(link, data={"password": "a third new password"})
    assert used.status_code == 400 and "not valid" in used.text and "/forgot-password" in used.text
    assert sign_in(client, "margaret@example.com", "a brand new password").status_code == 303


def test_devices_page_signs_out_one_device_or_all_others(demo: RunningDemo, client: httpx.Client) -> None:
    """The devices page lists every session with its device; each can be signed out."""
    sign_up(client, "alan@example.com")
    with new_client(demo) as phone, new_client(demo) as tablet:
        phone.headers["User-Agent"] = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/120.0 Mobile"
        sign_in(phone, "alan@example.com")
        sign_in(tablet, "alan@example.com")
        page = client.get("/sessions").text
        assert page.count('name="device"') == 2 and "Chrome on Android" in page and "This device" in page
        handles = re.findall(r'name="device" value="([0-9a-f]+)"', page)
        client.post("/sessions/sign-out", data={"device": handles[0]})
        assert sum(c.get("/me").status_code == 200 for c in (phone, tablet)) == 1
        client.post("/sessions/sign-out-others")
        assert phone.get("/me").status_code == tablet.get("/me").status_code == 401
    assert client.get("/me").status_code == 200


def test_no_page_puts_a_form_inside_a_paragraph(demo: RunningDemo, client: httpx.Client) -> None:
    """Forms never sit in a <p> (the HTML parser would end the paragraph early and break the layout)."""
    sources = {page: client.get(page).text for page in ("/sign-in", "/sign-up", "/forgot-password", "/no-such-page")}
    sign_up(client, "tim@example.com")
    client.post("/two-factor/set-up")
    sources |= {page: client.get(page).text for page in ("/", "/sessions", "/two-factor", "/passkeys")}
    for page, source in sources.items():
        assert re.search(r"<p\b(?:(?!</p>).)*<form", source, re.S) is None, page
    assert all("<form" in sources[page] for page in ("/sign-in", "/", "/sessions", "/two-factor"))


def test_cross_site_posts_are_refused(demo: RunningDemo, client: httpx.Client) -> None:
    """A form posted from another origin is refused before it reaches the app."""
    sign_up(client, "eve@example.com")
    refused = client.post("/sessions/sign-out-others", headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    assert client.post("/sign-out", headers={"Origin": "null"}).status_code == 403
    assert client.get("/me").status_code == 200


def test_pages_404_favicon_and_security_headers(demo: RunningDemo, client: httpx.Client) -> None:
    """Unknown pages get the HTML 404 page; the favicon and stylesheet are served; headers are strict."""
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    assert "Page not found" in missing.text
    assert client.get("/favicon.ico").headers["content-type"] == "image/svg+xml"
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/static/webauthn.js").headers["content-type"].startswith("text/javascript")
    home = client.get("/")
    assert "frame-ancestors 'none'" in home.headers["content-security-policy"]
    assert home.headers["referrer-policy"] == "same-origin"


@contextmanager
def storage(kind: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """``DATABASE_URL`` and more settings for a fresh store of ``kind``."""
    if kind == "redis":  # users and keys in SQLite, sessions in Redis
        yield (
            f"sqlite:///{tmp_path / 'users.db'}",
            {"REDIS_URL": service_url("LUCIA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")},
        )
        return
    database = {"postgresql": postgres_database, "mysql": mysql_database, "mongodb": mongodb_database}[kind]
    with database() as url:
        yield url, {}


@pytest.mark.parametrize("kind", ["postgresql", "mysql", "mongodb", "redis"])
def test_the_demo_runs_on_every_storage(kind: str, tmp_path: Path) -> None:
    """DATABASE_URL picks PostgreSQL, MySQL or MongoDB and REDIS_URL moves sessions to Redis: the same flow works."""
    with (
        storage(kind, tmp_path) as (database_url, env),
        run_demo(database_url, env=env) as demo,
        new_client(demo) as client,
    ):
        assert sign_up(client, "ada@example.com", remember="on").status_code == 303
        assert client.get("/me").json()["email"] == "ada@example.com"
        assert "This device" in client.get("/sessions").text
        client.post("/sign-out")
        assert client.get("/me").status_code == 401
        assert sign_in(client, "ada@example.com").status_code == 303
        assert client.get("/me").json()["persistent"] is False
        client.post("/sign-out")  # leaves nothing behind in a shared Redis
