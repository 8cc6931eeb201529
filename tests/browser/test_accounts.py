"""Accounts in Chromium: sign-up, sign-in, sign-out, errors, cookies, email verification, password reset, CSRF."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

pytest.importorskip("playwright.sync_api", reason="the browser tests run in `nox -s browser` (needs playwright)")

from _browser import PASSWORD, Tab, new_email
from _demo import RunningDemo


def test_sign_up_sign_out_sign_in_and_wrong_password(open_tab: Callable[..., Tab]) -> None:
    """A visitor signs up, signs out, fails with a wrong password (email kept), then signs in."""
    tab, email = open_tab(), new_email("ada")
    tab.goto("/")
    tab.shot("welcome")
    tab.follow("Create an account")
    assert tab.heading() == "Create an account"
    tab.shot("sign-up")
    tab.sign_up(email)
    assert tab.heading() == "Your account" and email in tab.page.locator("main").inner_text()
    tab.shot("home")

    tab.sign_out()
    assert tab.message() == "You are signed out." and tab.who() is None
    tab.follow("Sign in")
    tab.shot("sign-in")
    with tab.expecting(400):
        tab.sign_in(email, "not my password")
    assert tab.message() == "Incorrect email or password."
    assert tab.page.get_by_label("Email").input_value() == email
    tab.shot("sign-in-wrong-password")
    tab.page.get_by_label("Password").fill(PASSWORD)
    tab.submit("Sign in")
    assert tab.who() == email


def test_links_between_sign_in_and_sign_up_and_the_404_page(open_tab: Callable[..., Tab]) -> None:
    """Sign-in links to sign-up and back; an unknown address shows the HTML 404 page; the favicon loads."""
    tab = open_tab()
    tab.goto("/sign-in")
    tab.follow("Create an account", last=True)
    assert tab.heading() == "Create an account"
    tab.follow("Sign in", last=True)
    assert tab.heading() == "Sign in"
    with tab.expecting(404):
        response = tab.goto("/no-such-page")
    assert response is not None and response.status == 404 and tab.heading() == "Page not found"
    tab.shot("not-found")
    favicon = tab.context.request.get(tab.demo_url + "/favicon.ico")
    assert favicon.ok and favicon.headers["content-type"] == "image/svg+xml"


def test_everything_but_passkeys_works_without_javascript(open_tab: Callable[..., Tab]) -> None:
    """With scripts off: sign up, the devices page, sign out and in; the passkey button says it needs JavaScript."""
    tab, email = open_tab(javascript=False), new_email("noscript")
    tab.sign_up(email)
    tab.follow("Devices")
    assert "This device" in tab.page.locator("main").inner_text()
    tab.sign_out()
    tab.goto("/sign-in")
    assert not tab.page.get_by_role("button", name="Sign in with a passkey").is_visible()
    assert tab.page.get_by_text("Passkeys need JavaScript.").is_visible()
    tab.sign_in(email)
    assert tab.heading() == "Your account"


def test_session_cookie_attributes_and_remember_me(open_tab: Callable[..., Tab]) -> None:
    """The browser keeps an HttpOnly, SameSite=Lax, host-only, Path=/ cookie; without "remember me" it has no expiry."""
    remembered, email = open_tab(), new_email("grace")
    remembered.sign_up(email, remember=True)
    cookie = remembered.session_cookie()
    assert cookie is not None
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
    assert cookie["domain"] == "localhost"  # host-only: no Domain attribute was sent
    assert cookie["expires"] > 0

    browser_session = open_tab()
    browser_session.sign_in(email, remember=False)
    cookie = browser_session.session_cookie()
    assert cookie is not None and cookie["expires"] == -1  # a session cookie: gone when the browser closes
    assert browser_session.page.evaluate("document.cookie") == ""  # HttpOnly: scripts cannot read it


def test_throttling_says_how_long_to_wait(open_tab: Callable[..., Tab]) -> None:
    """After five wrong passwords the page says "Too many attempts, try again in N seconds"."""
    owner, attacker, email = open_tab(), open_tab(), new_email("mallory")
    owner.sign_up(email)
    with attacker.expecting(400, 429):
        for _ in range(5):
            attacker.sign_in(email, "wrong password")
            assert attacker.message() == "Incorrect email or password."
        attacker.sign_in(email, PASSWORD)
    assert re.fullmatch(r"Too many attempts, try again in \d+ seconds\.", attacker.message())
    attacker.shot("sign-in-throttled")
    assert attacker.who() is None


def test_email_verification_from_the_printed_link(open_tab: Callable[..., Tab], demo: RunningDemo) -> None:
    """The link the demo mails (prints) verifies the address and gives this device a new session."""
    tab, email = open_tab(), new_email("edsger")
    mark = demo.mark()
    tab.sign_up(email)
    assert "Not verified" in tab.page.locator("main").inner_text()
    link = demo.mail("Verify your email", to=email, after=mark)
    before = tab.session_cookie()
    tab.goto(link)
    assert tab.message() == "Your email address is verified. Other devices were signed out."
    assert "Verified" in tab.page.locator("main").inner_text()
    after = tab.session_cookie()
    assert before is not None and after is not None and after["value"] != before["value"]
    tab.shot("email-verified")
    with tab.expecting(400):
        tab.goto(link)
    assert "not valid" in tab.message()


def test_password_reset_signs_out_other_devices(open_tab: Callable[..., Tab], demo: RunningDemo) -> None:
    """Forgot password: the printed link sets a new password (a short one keeps the form), every other
    device is signed out, and the email counts as verified."""
    laptop, phone, email = open_tab(), open_tab(), new_email("margaret")
    laptop.sign_up(email)
    phone.sign_in(email)
    assert phone.who() == email

    laptop.sign_out()
    laptop.goto("/sign-in")
    laptop.follow("Forgot your password?")
    laptop.shot("forgot-password")
    mark = demo.mark()
    laptop.page.get_by_label("Email").fill(email)
    laptop.submit("Send the link")
    assert laptop.message().startswith(f"If an account exists for {email}")
    laptop.goto(demo.mail("Reset your password", to=email, after=mark))
    laptop.shot("reset-password")
    laptop.page.locator("form").evaluate("form => form.noValidate = true")  # let the server judge
    laptop.page.get_by_label("New password").fill("short")
    with laptop.expecting(400):
        laptop.submit("Save the new password")
    assert laptop.message() == "Choose a password of at least 12 characters."
    laptop.page.get_by_label("New password").fill("a brand new password")  # the same form: no dead end
    laptop.submit("Save the new password")
    assert laptop.message() == "Your password is changed and every other device is signed out."
    assert "Verified" in laptop.page.locator("main").inner_text()

    phone.page.reload()
    assert phone.who() is None and phone.heading() == "Lucia for Python"
    with phone.expecting(400):
        phone.sign_in(email, PASSWORD)
    phone.page.get_by_label("Password").fill("a brand new password")
    phone.submit("Sign in")
    assert phone.who() == email


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"], ids=["cross-site", "same-site"])
def test_csrf_from_another_origin_is_refused(open_tab: Callable[..., Tab], other_site_port: int, host: str) -> None:
    """A form on another origin that posts to the demo is refused (403): the victim stays signed in.

    localhost:<other port> is the same *site* as the demo, so SameSite=Lax still sends the
    cookie; only Lucia's Origin check stops it.
    """
    victim, email = open_tab(), new_email("victim")
    victim.sign_up(email)
    victim.goto(f"http://{host}:{other_site_port}/?post_to={victim.demo_url}/sign-out")
    with victim.expecting(403):
        victim.submit("Claim your prize")
    assert "Forbidden (CSRF check)" in victim.page.locator("body").inner_text()
    assert victim.who() == email
