"""Passkeys in Chromium with its virtual authenticator: add, rename, sign in without a username, delete,
and a ceremony relayed through another origin refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("playwright.sync_api", reason="the browser tests run in `nox -s browser` (needs playwright)")

from _browser import Tab, new_email


def add_authenticator(tab: Tab) -> tuple[Any, str]:
    """A platform authenticator in the tab (CTAP2, internal, resident keys, user verified)."""
    cdp = tab.context.new_cdp_session(tab.page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }
    return cdp, cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})["authenticatorId"]


def add_passkey(tab: Tab, name: str) -> None:
    """Add a passkey from the passkeys page."""
    tab.goto("/passkeys")
    tab.page.get_by_label("Name it after the device that keeps it").fill(name)
    with tab.page.expect_navigation(url="**/passkeys?notice=passkey-added"):
        tab.page.get_by_role("button", name="Add a passkey").click()


def sign_in_with_passkey(tab: Tab) -> None:
    """The sign-in page's passkey button (no email typed: the passkey says who it is)."""
    tab.goto("/sign-in")
    with tab.page.expect_navigation():
        tab.page.get_by_role("button", name="Sign in with a passkey").click()


def test_add_rename_sign_in_and_delete_a_passkey(open_tab: Callable[..., Tab]) -> None:
    """A passkey is stored on the authenticator, renamed, signs in without a username, and stops once deleted."""
    tab, email = open_tab(), new_email("passkey")
    cdp, authenticator = add_authenticator(tab)
    tab.sign_up(email)
    tab.follow("Passkeys")
    assert tab.page.get_by_text("You have no passkeys yet.").is_visible()
    add_passkey(tab, "Laptop")
    assert tab.message() == "Your passkey is saved. You can now sign in with it."
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(stored) == 1 and stored[0]["isResidentCredential"] is True and stored[0]["rpId"] == "localhost"

    tab.page.get_by_label("New name for Laptop").fill("Work laptop")
    tab.submit("Rename")
    assert tab.message() == "The passkey is renamed."
    assert tab.page.locator("[data-passkey-name]").inner_text() == "Work laptop"

    tab.sign_out()
    sign_in_with_passkey(tab)
    assert tab.heading() == "Your account" and tab.who() == email
    tab.follow("Passkeys")
    assert "Never" not in tab.page.locator("tbody tr").inner_text()  # its last use is recorded
    tab.shot("passkeys")

    tab.submit("Delete Work laptop")
    assert tab.message() == "The passkey is deleted: it no longer signs in."
    tab.sign_out()
    tab.goto("/sign-in")
    with tab.expecting(400):
        tab.page.get_by_role("button", name="Sign in with a passkey").click()
        error = tab.page.locator("[data-passkey-error]")
        error.wait_for(state="visible")
    assert error.inner_text() == "This passkey is not registered here (it may have been deleted)."
    tab.shot("sign-in-passkey-refused")
    assert tab.who() is None


def test_a_passkey_ceremony_relayed_through_another_origin_is_refused(
    open_tab: Callable[..., Tab], other_site_port: int
) -> None:
    """A phishing page on another origin gets the demo's challenge signed: the demo refuses the answer."""
    tab, email = open_tab(), new_email("phished")
    add_authenticator(tab)
    tab.sign_up(email)
    add_passkey(tab, "Laptop")
    tab.sign_out()

    demo = {"Origin": tab.demo_url}
    options = tab.context.request.post(tab.demo_url + "/sign-in/passkey/options", headers=demo).json()
    tab.goto(f"http://localhost:{other_site_port}/")  # same RP ID (localhost), another origin
    answer = tab.page.evaluate(
        """async (options) => {
            const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options);
            return (await navigator.credentials.get({ publicKey })).toJSON();
        }""",
        options,
    )
    assert json.loads(_client_data(answer))["origin"] == f"http://localhost:{other_site_port}"
    refused = tab.context.request.post(
        tab.demo_url + "/sign-in/passkey",
        data=json.dumps({"credential": answer}),
        headers={**demo, "Content-Type": "application/json"},
    )
    assert refused.status == 400
    assert refused.json() == {"error": "The passkey's answer could not be verified."}
    assert tab.who() is None


def _client_data(credential: dict[str, Any]) -> str:
    import base64

    encoded = credential["response"]["clientDataJSON"]
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
