"""docs/examples/oauth_starlette.py with Lucia's Starlette integration, against EMULATED providers.

A small browser model sends what a browser sends: every cookie on same-site requests and
top-level GET navigations, only ``SameSite=None; Secure`` cookies with a cross-site POST
(RFC 6265bis). The app runs in process (httpx's ASGI transport) at ``https://app.example``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import httpx
import pytest

from lucia import Lucia, LuciaError
from lucia_oauth import OAuth2Provider
from lucia_oauth.providers import Apple, GitHub, Google

pytestmark = pytest.mark.anyio

APPLE_ORIGIN = "https://appleid.apple.com"


@dataclass
class Browser:
    """Cookies as a browser keeps them (one value per name) and the ones it would send."""

    client: httpx.AsyncClient
    jar: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (value, attributes)

    def _store(self, response: httpx.Response) -> httpx.Response:
        for header in response.headers.get_list("set-cookie"):
            pair, _, attributes = header.partition(";")
            name, _, value = pair.partition("=")
            if "max-age=0" in attributes.lower().replace(" ", ""):
                self.jar.pop(name, None)
            else:
                self.jar[name] = (value, attributes.lower())
        self.client.cookies.clear()  # only what this model decides is sent
        return response

    def cookie_header(self, *, cross_site_post: bool) -> str:
        sent = [
            f"{name}={value}"
            for name, (value, attributes) in self.jar.items()
            if not cross_site_post or ("samesite=none" in attributes.replace(" ", "") and "secure" in attributes)
        ]
        return "; ".join(sent)

    async def get(self, url: str, **params: str) -> httpx.Response:
        """A top-level GET navigation (Lax cookies are sent, also when the provider redirects here)."""
        headers = {"cookie": self.cookie_header(cross_site_post=False)}
        return self._store(await self.client.get(url, params=params, headers=headers))

    async def post(self, url: str, data: dict[str, str], *, origin: str) -> httpx.Response:
        """A form POST from ``origin``: cross-site unless it is the app's own origin."""
        cross_site = origin != str(self.client.base_url).rstrip("/")
        headers = {
            "cookie": self.cookie_header(cross_site_post=cross_site),
            "origin": origin,
            "sec-fetch-site": "cross-site" if cross_site else "same-origin",
        }
        return self._store(await self.client.post(url, data=data, headers=headers))


@pytest.fixture
def providers(auth: Lucia, emulator: Any) -> dict[str, OAuth2Provider]:
    """GitHub (plain OAuth 2.0), Google (OpenID Connect) and Apple (form_post), all emulated."""
    github_url = emulator.url("github")
    client = {name: emulator.client_options(emulator.example_redirect_uri(name)) for name in ("github", "google")}
    return {
        "github": GitHub(auth, base_url=github_url, api_base_url=github_url, **client["github"]),
        "google": Google(auth, issuer=emulator.issuer("google"), **client["google"]),
        "apple": Apple(auth, **emulator.apple_options(emulator.example_redirect_uri("apple"))),
    }


@pytest.fixture
async def browser(
    auth: Lucia, emulator: Any, example_app: ModuleType, providers: dict[str, OAuth2Provider]
) -> AsyncIterator[Browser]:
    app = example_app.create_app(auth, providers)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=emulator.example_app_origin) as client:
        yield Browser(client)


async def _start(browser: Browser, name: str, next: str = "/") -> str:
    """``GET /login/<name>``: the authorization URL the app redirects to."""
    response = await browser.get(f"/login/{name}", next=next)
    assert response.status_code == 302
    return response.headers["location"]


async def _assert_signed_in(browser: Browser) -> None:
    assert "Signed in as" in (await browser.get("/")).text


async def test_h12_sign_ins_started_in_two_tabs_with_two_providers_both_finish(
    browser: Browser, emulator: Any, auth: Lucia
) -> None:
    """Emulated GitHub then Google started before either returns: each callback finds its own state and verifier."""
    github_url = await _start(browser, "github", next="/from-github")
    google_url = await _start(browser, "google", next="/from-google")
    assert {"oauth_state_github", "oauth_code_verifier_github", "oauth_state_google"} <= set(browser.jar)

    done = await browser.get("/login/github/callback", **emulator.authorize(github_url))
    assert (done.status_code, done.headers.get("location")) == (302, "/from-github"), done.text
    done = await browser.get("/login/google/callback", **emulator.authorize(google_url))
    assert (done.status_code, done.headers.get("location")) == (302, "/from-google"), done.text
    assert (await auth.get_key("github", "583231")).primary
    assert (await auth.get_key("google", "110169484474386276334")).primary
    assert not [name for name in browser.jar if name.startswith("oauth_")]


async def test_h13_apple_form_post_callback_signs_in_across_sites(browser: Browser, emulator: Any, auth: Lucia) -> None:
    """Emulated Apple's cross-site form POST with the right state signs in: exempt route, SameSite=None cookies."""
    url = await _start(browser, "apple", next="/welcome")
    flow_cookies = {name: attributes for name, (_, attributes) in browser.jar.items() if name.endswith("_apple")}
    assert set(flow_cookies) == {"oauth_state_apple", "oauth_nonce_apple", "oauth_next_apple"}
    assert all("samesite=none" in a and "secure" in a and "httponly" in a for a in flow_cookies.values())

    form = emulator.authorize(url)  # Apple answers with an auto-submitting form: code and state in the body
    done = await browser.post("/login/apple/callback", form, origin=APPLE_ORIGIN)
    assert (done.status_code, done.headers.get("location")) == (303, "/welcome"), done.text
    assert "auth_session" in browser.jar
    assert not [name for name in browser.jar if name.startswith("oauth_")]
    key = await auth.get_key("apple", "001234.8f2f3b4e5c6d7e8f9a0b1c2d3e4f5a6b.1234")
    assert key.primary
    await _assert_signed_in(browser)


@pytest.mark.parametrize("state", ["forged-state-value", "", None])
async def test_h13_apple_form_post_with_a_wrong_or_missing_state_fails(
    browser: Browser, emulator: Any, auth: Lucia, state: str | None
) -> None:
    """The CSRF exemption drops the Origin check only: a form POST without the flow's state signs nobody in."""
    url = await _start(browser, "apple")
    form = emulator.authorize(url)
    if state is None:
        del form["state"]
    else:
        form["state"] = state
    refused = await browser.post("/login/apple/callback", form, origin=APPLE_ORIGIN)
    assert refused.status_code == 400
    assert "OAUTH_INVALID_STATE" in refused.text
    assert "auth_session" not in browser.jar
    with pytest.raises(LuciaError):
        await auth.get_key("apple", "001234.8f2f3b4e5c6d7e8f9a0b1c2d3e4f5a6b.1234")


async def test_h13_apple_form_post_without_the_flow_cookies_fails(browser: Browser, emulator: Any) -> None:
    """A cross-site POST carrying the right state but no flow cookie (another browser, an attacker) is refused."""
    url = await _start(browser, "apple")
    form = emulator.authorize(url)
    browser.jar.clear()
    refused = await browser.post("/login/apple/callback", form, origin=APPLE_ORIGIN)
    assert refused.status_code == 400 and "OAUTH_INVALID_STATE" in refused.text


async def test_h13_the_exemption_is_per_route(browser: Browser, emulator: Any) -> None:
    """Other providers' callbacks and every other unsafe route still refuse a cross-site POST with 403."""
    url = await _start(browser, "github")
    params = emulator.authorize(url)
    assert (await browser.post("/login/github/callback", params, origin=APPLE_ORIGIN)).status_code == 403
    assert (await browser.post("/logout", {}, origin=APPLE_ORIGIN)).status_code == 403
    done = await browser.get("/login/github/callback", **params)  # the real callback still works
    assert done.status_code == 302


async def test_h13_form_post_callback_response_sets_cookies_for_a_cross_site_context(
    browser: Browser, emulator: Any
) -> None:
    """The callback clears Apple's flow cookies with the same SameSite=None; Secure attributes it set them with."""
    url = await _start(browser, "apple")
    done = await browser.post("/login/apple/callback", emulator.authorize(url), origin=APPLE_ORIGIN)
    cleared = [c for c in done.headers.get_list("set-cookie") if c.startswith("oauth_")]
    assert len(cleared) == 4
    assert all("Max-Age=0" in c and "SameSite=None" in c and "Secure" in c for c in cleared)
