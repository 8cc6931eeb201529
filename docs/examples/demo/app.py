"""The demo application: routes, middleware, error pages, start-up and shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from lucia import Lucia
from lucia.integrations.asgi import ASGIApp, Message, Receive, Scope, Send
from lucia.integrations.starlette import LuciaMiddleware
from lucia_oauth import form_post_callback_paths
from lucia_tokens import id_token
from lucia_tokens.totp import TOTPVerifier

from . import accounts, devices, oauth, passkeys, two_factor
from .config import Settings, create_passkeys, oauth_providers, prepare_storage
from .web import Demo, render

STATIC = Path(__file__).parent / "static"
#: The browser half of lucia-webauthn from the passkeys guide: one copy for the guide and the demo.
WEBAUTHN_JS = Path(__file__).parents[2] / "passkeys" / "passkeys.js"

#: Sent with every response. The pages load nothing from elsewhere and are never framed;
#: the referrer policy keeps the one-time tokens in /reset-password/... URLs on this site.
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
]


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every HTTP response (a pure ASGI middleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers if scope["type"] == "http" else send)


def routes(demo: Demo) -> list[BaseRoute]:
    """Every page and form of the demo."""
    found: list[BaseRoute] = [
        Route("/", accounts.home),
        Route("/me", accounts.me),
        Route("/sign-up", accounts.sign_up, methods=["GET", "POST"]),
        Route("/sign-in", accounts.sign_in, methods=["GET", "POST"]),
        Route("/sign-in/two-factor", two_factor.sign_in_with_code, methods=["GET", "POST"]),
        Route("/sign-out", accounts.sign_out, methods=["POST"]),
        Route("/verify-email/resend", accounts.resend_verification, methods=["POST"]),
        Route("/verify-email/{token}", accounts.verify_email),
        Route("/forgot-password", accounts.forgot_password, methods=["GET", "POST"]),
        Route("/reset-password/{token}", accounts.reset_password, methods=["GET", "POST"]),
        Route("/sessions", devices.devices),
        Route("/sessions/sign-out", devices.sign_out_device, methods=["POST"]),
        Route("/sessions/sign-out-others", devices.sign_out_other_devices, methods=["POST"]),
        Route("/two-factor", two_factor.settings),
        Route("/two-factor/set-up", two_factor.set_up, methods=["POST"]),
        Route("/two-factor/enable", two_factor.enable, methods=["POST"]),
        Route("/two-factor/disable", two_factor.disable, methods=["POST"]),
        Route("/passkeys", passkeys.manage),
        Route("/oauth/{provider}", oauth.start),
        Route("/oauth/{provider}/callback", oauth.callback),
        Route("/favicon.ico", lambda request: FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")),
        Route("/static/webauthn.js", lambda request: FileResponse(WEBAUTHN_JS, media_type="text/javascript")),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    if demo.passkeys is not None:
        found += [
            Route("/passkeys/register/options", passkeys.registration_options, methods=["POST"]),
            Route("/passkeys/register", passkeys.register, methods=["POST"]),
            Route("/passkeys/rename", passkeys.rename, methods=["POST"]),
            Route("/passkeys/delete", passkeys.delete, methods=["POST"]),
            Route("/sign-in/passkey/options", passkeys.authentication_options, methods=["POST"]),
            Route("/sign-in/passkey", passkeys.sign_in, methods=["POST"]),
        ]
    return found


async def http_error(request: Request, exc: Exception) -> Response:
    """An HTML page for 404, 405, ... (Starlette's are plain text)."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    return await render(request, "error.html", status_code=status, status=status)


def create_app(auth: Lucia, settings: Settings) -> Starlette:
    """The demo application around a configured :class:`~lucia.Lucia`."""
    demo = Demo(
        auth=auth,
        settings=settings,
        verification=id_token(auth, "email_verification", timedelta(hours=24)),
        password_reset=id_token(auth, "password_reset", timedelta(hours=1)),
        pending_two_factor=id_token(auth, "two_factor_pending", timedelta(minutes=5)),
        totp=TOTPVerifier(auth),
        passkeys=create_passkeys(auth, settings),
        providers=oauth_providers(auth, settings),
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await prepare_storage(auth)
        await auth.connect()  # checks the schema now: a missing column stops the start, not a request
        try:
            yield
        finally:
            await auth.close()

    app = Starlette(
        routes=routes(demo),
        middleware=[
            Middleware(SecurityHeaders),
            # Every POST must come from this site (Origin / Sec-Fetch-Site) except a provider's
            # form_post callback (Apple's), which its state cookie protects instead.
            Middleware(
                LuciaMiddleware,
                auth=auth,
                csrf_exempt_paths=form_post_callback_paths(provider for _, provider in demo.providers.values()),
            ),
        ],
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.demo = demo
    return app


def main() -> None:
    """Serve the demo (``python -m docs.examples.demo``)."""
    import uvicorn

    from .config import create_auth, passkey_origin

    settings = Settings.from_env()
    print(f"Lucia demo on {settings.base_url} (storage: {settings.storage_name})", flush=True)
    if passkey_origin(settings.base_url) != settings.base_url:
        print(f"Passkeys need a host name: open {passkey_origin(settings.base_url)} to use them.", flush=True)
    # No access log: it would record the one-time tokens of /reset-password/<token> and
    # /verify-email/<token> (SECURITY P5: no secret in any log).
    uvicorn.run(create_app(create_auth(settings), settings), host=settings.host, port=settings.port, access_log=False)
