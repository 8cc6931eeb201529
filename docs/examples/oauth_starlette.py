"""Sign in with OAuth 2.0 / OpenID Connect in a Starlette app (lucia-oauth).

Run it against any OpenID Connect issuer (``OIDC_ISSUER``, ``OIDC_CLIENT_ID``,
``OIDC_CLIENT_SECRET``; register ``http://127.0.0.1:8000/login/oidc/callback``)::

    OIDC_ISSUER=https://accounts.google.com OIDC_CLIENT_ID=... OIDC_CLIENT_SECRET=... \\
        python docs/examples/oauth_starlette.py

Or with a named provider: ``create_app(auth, {"github": GitHub(auth, ...)})``.

The flow, per provider name:

- ``GET /login/<name>?next=/somewhere``: a fresh ``state``, PKCE verifier and nonce go into
  short-lived HttpOnly cookies; the browser is redirected to the provider.
- ``GET /login/<name>/callback``: ``state`` is checked against the cookie (constant time),
  the code is exchanged and verified, the user is found by the key
  ``(provider_id, provider_user_id)`` or created, a Lucia session cookie is set, the flow
  cookies are cleared and the browser goes to the validated ``next`` target.
- ``POST /logout``: the session is invalidated.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from lucia import Lucia, LuciaError, User
from lucia_oauth import (
    LuciaOAuthError,
    OAuth2Provider,
    OIDCProvider,
    ProviderSession,
    check_callback,
    clear_oauth_cookies,
    create_oauth_cookies,
    read_oauth_cookies,
)


def _username(provider_session: ProviderSession) -> str:
    """A display name for a new user; identity is never derived from it (only from the key)."""
    user = provider_session.provider_user
    for field in ("preferred_username", "login", "username", "name", "email"):
        value = user.get(field)
        if isinstance(value, str) and value:
            return value[:255]
    return provider_session.provider_user_id


async def _current_user(auth: Lucia, request: Request) -> User | None:
    token = auth.read_session_cookie(request.headers.getlist("cookie"))
    if token is None:
        return None
    try:
        _, user = await auth.validate_session_user(token)
    except LuciaError:
        return None
    return user


def create_app(auth: Lucia, providers: Mapping[str, OAuth2Provider]) -> Starlette:
    """The example app: sign-in with each of ``providers`` (by URL name), a home page, sign-out."""

    def provider_for(request: Request) -> OAuth2Provider:
        provider = providers.get(request.path_params["name"])
        if provider is None:
            raise LookupError(request.path_params["name"])
        return provider

    async def home(request: Request) -> Response:
        user = await _current_user(auth, request)
        if user is None:
            links = "".join(
                f'<li><a href="/login/{html.escape(n)}">Sign in with {html.escape(n)}</a></li>' for n in providers
            )
            return HTMLResponse(f"<h1>Signed out</h1><ul>{links}</ul>")
        name = html.escape(str(user.attributes.get("username", user.user_id)))
        return HTMLResponse(
            f'<h1>Signed in as {name}</h1><form method="post" action="/logout"><button>Sign out</button></form>'
        )

    async def login(request: Request) -> Response:
        try:
            provider = provider_for(request)
        except LookupError:
            return PlainTextResponse("Unknown provider", status_code=404)
        authorization = await provider.get_authorization_url()
        response = RedirectResponse(authorization.url, status_code=302)
        for cookie in create_oauth_cookies(auth, authorization, next=request.query_params.get("next")):
            response.headers.append("Set-Cookie", cookie.serialize())
        return response

    async def callback(request: Request) -> Response:
        try:
            provider = provider_for(request)
        except LookupError:
            return PlainTextResponse("Unknown provider", status_code=404)
        cookies = read_oauth_cookies(request.headers.getlist("cookie"))
        try:
            checked = check_callback(
                request.query_params, cookies, issuer=provider.issuer if isinstance(provider, OIDCProvider) else None
            )
            provider_session = await provider.validate_callback(
                checked.code, code_verifier=checked.code_verifier, nonce=checked.nonce
            )
        except LuciaOAuthError as error:
            # Fail closed: nothing was created. Show the stable code, never provider details.
            response: Response = PlainTextResponse(f"Sign-in failed ({error.code}).", status_code=400)
        else:
            user = provider_session.existing_user
            if user is None:
                # Identity is (provider_id, provider_user_id). To add this provider to an
                # account that is already signed in, call create_persistent_key(user_id) instead.
                user = await provider_session.create_user({"username": _username(provider_session)})
            session = await auth.create_session(user.user_id)
            response = RedirectResponse(checked.next, status_code=302)
            response.headers.append("Set-Cookie", auth.create_session_cookie(session).serialize())
        for cookie in clear_oauth_cookies(auth):
            response.headers.append("Set-Cookie", cookie.serialize())
        return response

    async def logout(request: Request) -> Response:
        if request.headers.get("origin") not in (None, f"{request.url.scheme}://{request.url.netloc}"):
            return PlainTextResponse("Cross-site request refused", status_code=403)
        token = auth.read_session_cookie(request.headers.getlist("cookie"))
        if token is not None:
            try:
                session = await auth.get_session(token)
                await auth.invalidate_session(session.session_id)
            except LuciaError:
                pass
        response = RedirectResponse("/", status_code=303)
        response.headers.append("Set-Cookie", auth.create_session_cookie(None).serialize())
        return response

    return Starlette(
        routes=[
            Route("/", home),
            Route("/login/{name}", login),
            Route("/login/{name}/callback", callback),
            Route("/logout", logout, methods=["POST"]),
        ]
    )


def main() -> None:  # pragma: no cover - run by hand
    import anyio
    import uvicorn

    from lucia_sqlite import SQLiteAdapter

    path = os.environ.get("DATABASE_PATH", "oauth-example.db")

    async def create_schema() -> None:
        async with SQLiteAdapter(path) as adapter:
            await adapter.create_schema(user_columns={"username": "string"})

    anyio.run(create_schema)
    auth = Lucia(adapter=SQLiteAdapter(path), env="DEV")
    oidc = OIDCProvider(
        auth,
        issuer=os.environ["OIDC_ISSUER"],
        client_id=os.environ["OIDC_CLIENT_ID"],
        client_secret=os.environ.get("OIDC_CLIENT_SECRET"),
        redirect_uri="http://127.0.0.1:8000/login/oidc/callback",
    )
    app: Any = create_app(auth, {"oidc": oidc})
    uvicorn.run(app, host="127.0.0.1", port=8000)


if __name__ == "__main__":  # pragma: no cover
    main()
