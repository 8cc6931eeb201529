"""Sign in with OAuth 2.0 / OpenID Connect in a Starlette app (lucia-oauth).

Run it against any OpenID Connect issuer (``OIDC_ISSUER``, ``OIDC_CLIENT_ID``,
``OIDC_CLIENT_SECRET``; register ``http://127.0.0.1:8000/login/oidc/callback``)::

    OIDC_ISSUER=https://accounts.google.com OIDC_CLIENT_ID=... OIDC_CLIENT_SECRET=... \\
        python docs/examples/oauth_starlette.py

Or with named providers: ``create_app(auth, {"github": GitHub(auth, ...), "apple": Apple(auth, ...)})``.

The flow, per provider name:

- ``GET /login/<name>?next=/somewhere``: a fresh ``state``, PKCE verifier and nonce go into
  short-lived HttpOnly cookies named after the provider (two sign-ins in two tabs never
  overwrite each other); the browser is redirected to the provider.
- ``GET /login/<name>/callback``: ``state`` is checked against the cookie (constant time),
  the code is exchanged and verified, the user is found by the key
  ``(provider_id, provider_user_id)`` or created, a Lucia session cookie is set, the flow
  cookies are cleared and the browser goes to the validated ``next`` target.
- ``POST /login/<name>/callback``: the same for a provider that answers with a form POST
  (Apple's ``response_mode=form_post``). That POST comes from the provider's site, so
  Lucia's CSRF check would refuse it with ``403``: its route, and only its route, is
  exempted (``form_post_callback_paths``). ``state`` still protects it: a cross-site
  attacker cannot know the value in the user's ``SameSite=None`` flow cookie.
- ``POST /logout``: the session is invalidated (CSRF-checked by ``LuciaMiddleware``).
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from lucia import Lucia
from lucia.integrations.starlette import LuciaMiddleware, get_auth
from lucia_oauth import (
    LuciaOAuthError,
    OAuth2Provider,
    OIDCProvider,
    ProviderSession,
    check_callback,
    clear_oauth_cookies,
    create_oauth_cookies,
    form_post_callback_paths,
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


def create_app(auth: Lucia, providers: Mapping[str, OAuth2Provider]) -> Starlette:
    """The example app: sign-in with each of ``providers`` (by URL name), a home page, sign-out."""

    def provider_for(request: Request) -> OAuth2Provider:
        provider = providers.get(request.path_params["name"])
        if provider is None:
            raise LookupError(request.path_params["name"])
        return provider

    async def home(request: Request) -> Response:
        _, user = await get_auth(request).validate_user()
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
        if request.method == "POST" and not provider.uses_form_post:
            return PlainTextResponse("This provider's callback is a GET", status_code=405)
        # A form_post provider sends code and state in the POST body; the others in the query.
        params = await request.form() if request.method == "POST" else request.query_params
        cookies = read_oauth_cookies(request.headers.getlist("cookie"), provider)
        try:
            checked = check_callback(
                {k: v for k, v in params.items() if isinstance(v, str)},
                cookies,
                issuer=provider.issuer if isinstance(provider, OIDCProvider) else None,
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
            get_auth(request).set_session(session)
            # 303: the browser follows a form POST with a GET.
            response = RedirectResponse(checked.next, status_code=303 if request.method == "POST" else 302)
        for cookie in clear_oauth_cookies(auth, provider):
            response.headers.append("Set-Cookie", cookie.serialize())
        return response

    async def logout(request: Request) -> Response:
        request_auth = get_auth(request)
        session = await request_auth.validate()
        if session is not None:
            await auth.invalidate_session(session.session_id)
        request_auth.set_session(None)
        return RedirectResponse("/", status_code=303)

    return Starlette(
        routes=[
            Route("/", home),
            Route("/login/{name}", login),
            Route("/login/{name}/callback", callback, methods=["GET", "POST"]),
            Route("/logout", logout, methods=["POST"]),
        ],
        # Lucia's CSRF check for every unsafe request, except the callbacks that are form POSTs.
        middleware=[
            Middleware(LuciaMiddleware, auth=auth, csrf_exempt_paths=form_post_callback_paths(providers.values()))
        ],
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
