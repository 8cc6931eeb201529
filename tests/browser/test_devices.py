"""Your devices in Chromium: the list, signing out one device, and signing out all others from another browser."""

from __future__ import annotations

from collections.abc import Callable

import pytest

pytest.importorskip("playwright.sync_api", reason="the browser tests run in `nox -s browser` (needs playwright)")

from _browser import Tab, new_email


def test_devices_page_signs_out_one_device_then_every_other(open_tab: Callable[..., Tab]) -> None:
    """Three browsers signed in: the laptop signs out the tablet, then the phone signs out every other device."""
    laptop, phone, tablet, email = open_tab(), open_tab(), open_tab(), new_email("barbara")
    laptop.sign_up(email)
    phone.sign_in(email)
    tablet.sign_in(email)

    laptop.follow("Devices")
    rows = laptop.page.locator("tbody tr")
    assert rows.count() == 3
    current = laptop.page.locator("tr.current")
    assert "This device" in current.inner_text() and "Chrome on Linux" in current.inner_text()
    assert "127.0.0.1" in current.inner_text() and current.locator("time").count() == 1
    laptop.shot("devices")

    newest = rows.first  # the tablet signed in last; the list is newest first
    assert "This device" not in newest.inner_text()
    with laptop.page.expect_navigation():
        newest.get_by_role("button").click()
    assert laptop.message() == "That device is signed out."
    assert laptop.page.locator("tbody tr").count() == 2
    assert tablet.who() is None and phone.who() == email

    phone.goto("/sessions")
    phone.submit("Sign out all other devices")
    assert phone.message() == "Every other device is signed out."
    assert phone.page.locator("tbody tr").count() == 1
    laptop.page.reload()
    assert laptop.who() is None and laptop.heading() == "Sign in"  # the devices page needs an account
    assert phone.who() == email
