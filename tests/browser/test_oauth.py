"""OAuth in Chromium: the demo's button for a local OpenID Connect provider (oidc-provider), all the way back."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest

pytest.importorskip("playwright.sync_api", reason="the browser tests run in `nox -s browser` (needs playwright)")

from _browser import Tab
from _demo import RunningDemo

from lucia.testing.services import require_service


def sign_in_at_the_provider(tab: Tab, login: str) -> None:
    """From the demo's sign-in page through oidc-provider's login and consent pages, back to the demo."""
    tab.goto("/sign-in")
    tab.follow("Local OpenID")
    tab.page.locator("input[name=login]").fill(login)
    tab.page.locator("input[name=password]").fill("any password")
    with tab.page.expect_navigation():
        tab.page.locator("button[type=submit]").click()
    with tab.page.expect_navigation(url=tab.demo_url + "/"):
        tab.page.locator("button[type=submit]").click()  # consent


@pytest.fixture
def provider(oidc_env: dict[str, str]) -> None:
    if not oidc_env:
        require_service("node", "node and npm are needed to run oidc-provider")


@pytest.mark.usefixtures("provider")
def test_sign_in_with_an_openid_provider_creates_the_account(open_tab: Callable[..., Tab]) -> None:
    """The first sign-in with the provider creates an account with its verified email; the next finds it."""
    tab, login = open_tab(), f"alice{secrets.token_hex(3)}"
    sign_in_at_the_provider(tab, login)
    assert tab.heading() == "Your account" and tab.who() == f"{login}@example.test"
    assert "Verified" in tab.page.locator("main").inner_text()
    first = tab.context.request.get(tab.demo_url + "/me").json()["user_id"]
    other_browser = open_tab()
    sign_in_at_the_provider(other_browser, login)
    assert other_browser.context.request.get(tab.demo_url + "/me").json()["user_id"] == first


@pytest.mark.usefixtures("provider")
def test_a_verified_email_links_the_provider_account(open_tab: Callable[..., Tab], demo: RunningDemo) -> None:
    """An account whose email is verified gets the provider account with the same verified email linked."""
    tab, login = open_tab(), f"bob{secrets.token_hex(3)}"
    email = f"{login}@example.test"
    mark = demo.mark()
    tab.sign_up(email)
    tab.goto(demo.mail("Verify your email", to=email, after=mark))
    local = tab.context.request.get(tab.demo_url + "/me").json()["user_id"]
    tab.sign_out()
    sign_in_at_the_provider(tab, login)
    assert tab.context.request.get(tab.demo_url + "/me").json()["user_id"] == local
