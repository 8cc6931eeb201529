"""Two-factor sign-in in Chromium: enrolment with the QR code shown, then signing in with a code."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

pytest.importorskip("playwright.sync_api", reason="the browser tests run in `nox -s browser` (needs playwright)")
pyotp = pytest.importorskip("pyotp", reason="the browser tests compute TOTP codes with pyotp")

from _browser import Tab, new_email  # noqa: E402


def wrong_code(totp: pyotp.TOTP) -> str:
    """A code that no step of the accepted window produces."""
    now = time.time()
    valid = {totp.at(now + drift) for drift in (-60, -30, 0, 30, 60)}
    return next(code for code in ("000000", "111111", "222222", "333333", "444444", "555555") if code not in valid)


def test_two_factor_enrolment_and_sign_in_with_a_code(open_tab: Callable[..., Tab]) -> None:
    """Scan (the QR code is shown), confirm a code, sign out; signing in then asks for a code after the password."""
    tab, email = open_tab(), new_email("alan")
    tab.sign_up(email)
    tab.follow("Two-factor")
    tab.shot("two-factor-off")
    tab.submit("Set up two-factor sign-in")
    qr_code = tab.page.locator("figure.qr svg")
    qr_code.wait_for(state="visible")
    box = qr_code.bounding_box()
    assert box is not None and box["width"] >= 150 and box["height"] >= 150
    totp = pyotp.TOTP(tab.page.locator("[data-totp-secret]").inner_text().replace(" ", ""))
    tab.shot("two-factor-set-up")

    with tab.expecting(400):
        tab.page.get_by_label("Enter the six-digit code the app shows").fill(wrong_code(totp))
        tab.submit("Turn on two-factor sign-in")
    assert tab.message() == "That code is not right. Enter the code your app shows now."
    assert tab.page.locator("figure.qr svg").is_visible()  # the same enrolment, still on screen
    tab.page.get_by_label("Enter the six-digit code the app shows").fill(totp.now())
    tab.submit("Turn on two-factor sign-in")
    assert tab.message() == "Two-factor sign-in is on. Your other devices were signed out."
    tab.shot("two-factor-on")

    tab.sign_out()
    tab.sign_in(email)
    assert tab.heading() == "Enter your code" and tab.who() is None  # no session before the second factor
    tab.shot("sign-in-code")
    with tab.expecting(400):
        tab.page.get_by_label("Six-digit code").fill(wrong_code(totp))
        tab.submit("Sign in")
    assert tab.message() == "That code is not right. Enter the code your app shows now."
    # The enrolment used this time step's code, and a used step is never accepted again:
    # the app's next code (within the one-step drift window) signs in.
    tab.page.get_by_label("Six-digit code").fill(totp.at(time.time() + 30))
    tab.submit("Sign in")
    assert tab.heading() == "Your account" and tab.who() == email
