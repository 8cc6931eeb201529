"""docs/examples/oauth_starlette.py, imported and driven through a real sign-in at oidc-provider."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from lucia import Lucia, LuciaError
from lucia_oauth import OIDCProvider

pytestmark = [pytest.mark.anyio, pytest.mark.service("node")]

SignIn = Callable[[str, str, str], Awaitable[dict[str, str]]]


@pytest.fixture
async def browser(auth: Lucia, oidc_server: Any, example_app: ModuleType) -> Any:
    provider = OIDCProvider(auth, **oidc_server.client_options())
    app = example_app.create_app(auth, {"oidc": provider})
    parts = urlsplit(oidc_server.redirect_uri)
    origin = f"{parts.scheme}://{parts.netloc}"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=origin) as client:
        yield client


async def test_example_app_signs_in_and_out(
    browser: httpx.AsyncClient, auth: Lucia, oidc_server: Any, sign_in_at_server: SignIn
) -> None:
    """The example app: login redirect, provider sign-in, callback, session cookie, next target, sign-out."""
    start = await browser.get("/login/oidc", params={"next": "/account?tab=keys"})
    assert start.status_code == 302
    assert {c.split("=")[0] for c in start.headers.get_list("set-cookie")} >= {
        "oauth_state_oidc",
        "oauth_code_verifier_oidc",
    }
    params = await sign_in_at_server(start.headers["location"], "zoe", oidc_server.redirect_uri)

    done = await browser.get("/login/oidc/callback", params=params)
    assert done.status_code == 302
    assert done.headers["location"] == "/account?tab=keys"
    set_cookies = done.headers.get_list("set-cookie")
    assert any(c.startswith("auth_session=") for c in set_cookies)
    assert any(c.startswith("oauth_state_oidc=;") and "Max-Age=0" in c for c in set_cookies)

    home = await browser.get("/")
    assert "Signed in as User zoe" in home.text
    assert (await auth.get_key("oidc", "zoe")).primary

    out = await browser.post("/logout", headers={"Origin": str(browser.base_url).rstrip("/")})
    assert out.status_code == 303
    assert "Signed out" in (await browser.get("/")).text


async def test_c4_example_app_never_redirects_off_site(
    browser: httpx.AsyncClient, oidc_server: Any, sign_in_at_server: SignIn
) -> None:
    """A ``next`` pointing at another site is dropped: after sign-in the user lands on "/"."""
    start = await browser.get("/login/oidc", params={"next": "//evil.example/phish"})
    params = await sign_in_at_server(start.headers["location"], "yann", oidc_server.redirect_uri)
    done = await browser.get("/login/oidc/callback", params=params)
    assert done.status_code == 302
    assert done.headers["location"] == "/"


async def test_o1_example_app_refuses_a_forged_state(
    browser: httpx.AsyncClient, auth: Lucia, oidc_server: Any, sign_in_at_server: SignIn
) -> None:
    """A callback whose state is not the cookie's answers 400 and creates no user."""
    start = await browser.get("/login/oidc")
    params = await sign_in_at_server(start.headers["location"], "xena", oidc_server.redirect_uri)
    refused = await browser.get("/login/oidc/callback", params={**params, "state": "forged-state-value"})
    assert refused.status_code == 400
    assert "OAUTH_INVALID_STATE" in refused.text
    with pytest.raises(LuciaError):
        await auth.get_key("oidc", "xena")
