"""Checks that drive what a page built, after its blocks ran (``Page.check`` in ``_pages.py``).

Each one is given the page's namespace and asserts what a reader of the page would see:
the output a page shows, the answers of the application it built.
"""

from __future__ import annotations

from typing import Any

import pytest
from _markdown import DOCS, blocks

from lucia import ConfigurationError, InvalidCredentialsError, InvalidSessionError


def shown_output(page: str, after: str) -> str:
    """The ``text`` block that follows the block containing ``after`` on ``page``: the output the page shows."""
    found = blocks(DOCS / page)
    for index, block in enumerate(found):
        if after in block.code:
            following = [b for b in found[index + 1 :] if b.language == "text"]
            assert following, f"{page}: no text block after the one containing {after!r}"
            return following[0].code.strip("\n")
    raise AssertionError(f"{page}: no block contains {after!r}")


async def check_first_steps(ns: dict[str, Any]) -> None:
    """Getting started: the user signed up, in and out; the ConfigurationError reads as the page shows."""
    auth, adapter = ns["auth"], ns["adapter"]
    assert ns["user"].attributes == {"email": "ada@example.com"}
    with pytest.raises(InvalidSessionError):  # step 5 signed it out
        await auth.validate_session(ns["token"])
    with pytest.raises(InvalidCredentialsError):
        await auth.use_key("email", "ada@example.com", "not the password")
    with pytest.raises(ConfigurationError) as raised:
        await adapter.create_schema(user_columns={"email": "string", "display_name": "string"})
    shown = shown_output("getting-started/index.md", 'user_columns={"email": "string", "display_name"')
    assert str(raised.value) == shown
    await adapter.close()


async def check_keys_and_passwords(ns: dict[str, Any]) -> None:
    """The password policy, the email normaliser and the sign-up that uses them, with a local breach list."""
    password_problem, sign_up, auth = ns["password_problem"], ns["sign_up"], ns["auth"]
    breached = {"password1234", "correct horse battery staple"}

    async def is_breached(password: str) -> bool:
        return password in breached

    assert await password_problem("short") == "Choose a password of at least 12 characters."
    assert await password_problem("x" * 1025) == "Choose a password of at most 1024 characters."
    assert await password_problem("password1234", is_breached=is_breached) is not None
    assert await password_problem("a fine long passphrase", is_breached=is_breached) is None

    ns["pwned"] = is_breached  # sign_up and change_password call `pwned`: never the real service here
    assert "breaches" in await sign_up("grace@example.com", "password1234")
    assert (await sign_up(" Grace@Example.COM ", "a fine long passphrase")).startswith("Welcome")
    assert await sign_up("grace@example.com", "another fine passphrase") == "This email has an account already."
    key = await auth.use_key("email", ns["normalize_email"]("GRACE@example.com "), "a fine long passphrase")
    assert ns["email_problem"]("grace@example.com") is None
    assert ns["email_problem"]("grace") is not None

    user = await auth.get_user(key.user_id)
    here, elsewhere = await auth.create_session(user.user_id), await auth.create_session(user.user_id)
    assert await ns["change_password"](user, here, "short") is not None
    assert await ns["change_password"](user, here, "a new fine passphrase") is None
    assert [s.session_id for s in await auth.get_all_user_sessions(user.user_id)] == [here.session_id]
    with pytest.raises(InvalidSessionError):
        await auth.validate_session(elsewhere.token)
    await auth.use_key("email", "grace@example.com", "a new fine passphrase")


async def check_cookies_and_csrf(ns: dict[str, Any]) -> None:
    """The 403 bodies the page shows are what the middleware answers."""
    import httpx

    lines = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=ns["app"]), base_url="http://127.0.0.1:8000") as c:
        for headers in ({}, {"Origin": "https://evil.example"}, {"Origin": "http://127.0.0.1:8000"}):
            response = await c.post("/sign-out", headers=headers)
            lines.append(f"{response.status_code} {response.text}")
    assert "\n".join(lines) == shown_output("concepts/cookies-and-csrf.md", "async with httpx.AsyncClient")


def _client(app: Any) -> Any:
    """An HTTP client for an ASGI app in process, sending this site's Origin as a browser's form post does."""
    import httpx

    site = "http://127.0.0.1:8000"
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=site, headers={"Origin": site})


async def check_email_verification(ns: dict[str, Any]) -> None:
    """Sign-up mails a link; following it signed in marks the address verified, once."""
    app, auth, mailer = ns["app"], ns["auth"], ns["mailer"]
    async with app.router.lifespan_context(app), _client(app) as browser:
        signed_up = await browser.post("/sign-up", data={"email": " Ada@Example.com", "password": "a fine passphrase"})
        assert (signed_up.status_code, signed_up.headers["location"]) == (303, "/check-your-inbox")
        taken = await browser.post("/sign-up", data={"email": "ada@example.com", "password": "another one"})
        assert taken.headers["location"] == "/sign-up?error=taken"
        too_long = await browser.post("/sign-up", data={"email": "a" * 300, "password": "a fine passphrase"})
        assert too_long.headers["location"] == "/sign-up?error=invalid"
        [mail] = mailer.sent
        assert mail.to == "ada@example.com"
        link = mail.body.split()[1].removeprefix("http://127.0.0.1:8000")
        followed = await browser.get(link)
        assert followed.status_code == 303
        key = await auth.get_key("email", "ada@example.com")
        assert (await auth.get_user(key.user_id)).attributes["email_verified"]  # SQLite gives 1 for true
        again = await browser.get(link)
        assert (again.status_code, again.text) == (400, "This link is not valid. Ask for a new one.")


async def check_password_reset(ns: dict[str, Any]) -> None:
    """A reset link sets a new password, signs out every other session and is single-use."""
    from lucia import PrimaryKey

    app, auth, mailer = ns["app"], ns["auth"], ns["mailer"]
    async with app.router.lifespan_context(app), _client(app) as browser:
        user = await auth.create_user(
            primary_key=PrimaryKey("email", "ada@example.com", password="the old passphrase"),
            attributes={"email": "ada@example.com", "email_verified": False},
        )
        elsewhere = await auth.create_session(user.user_id)
        unknown = await browser.post("/forgot-password", data={"email": "nobody@example.com"})
        known = await browser.post("/forgot-password", data={"email": " Ada@example.com"})
        assert unknown.text == known.text and len(mailer.sent) == 1  # the same answer: no account enumeration
        link = mailer.sent[0].body.split()[1].removeprefix("http://127.0.0.1:8000")
        token = link.rsplit("/", 1)[1]
        assert f'value="{token}"' in (await browser.get(link)).text
        short = await browser.post("/reset-password", data={"token": token, "password": "short"})
        assert short.status_code == 400
        done = await browser.post("/reset-password", data={"token": token, "password": "the new passphrase"})
        assert done.status_code == 303
        with pytest.raises(InvalidSessionError):
            await auth.validate_session(elsewhere.token)
        await auth.use_key("email", "ada@example.com", "the new passphrase")
        assert (await auth.get_user(user.user_id)).attributes["email_verified"]  # SQLite gives 1 for true
        reused = await browser.post("/reset-password", data={"token": token, "password": "a third passphrase"})
        assert reused.status_code == 400
