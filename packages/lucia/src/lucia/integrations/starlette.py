"""Lucia for Starlette and FastAPI.

Starlette::

    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from lucia.integrations.starlette import LuciaMiddleware, lifespan, require_user

    app = Starlette(
        routes=routes,
        middleware=[Middleware(LuciaMiddleware, auth=auth)],
        lifespan=lifespan(auth, create_schema=True),  # connect + check at start-up, close at shutdown
    )

    async def profile(request):
        session, user = await require_user(request)  # HTTPException(401) without a session
        return JSONResponse({"user_id": user.user_id})

FastAPI::

    from typing import Annotated
    from fastapi import Depends, FastAPI

    app = FastAPI(lifespan=lifespan(auth))
    app.add_middleware(LuciaMiddleware, auth=auth)

    @app.get("/me")
    async def me(current: Annotated[tuple[Session, User], Depends(require_user)]) -> dict[str, str]:
        session, user = current
        return {"user_id": user.user_id}

The middleware (pure ASGI, see :mod:`lucia.integrations.asgi`) puts the
:class:`~lucia.AuthRequest` on ``request.state.auth``, appends its ``Set-Cookie``
headers to the response, answers ``403`` to unsafe requests that fail the CSRF
check (except on ``csrf_exempt_paths``), and turns a :class:`~lucia.TooManyRequestsError`
raised by a route into ``429`` with ``Retry-After`` and a :class:`~lucia.StorageError`
into ``503``. ``get_auth(request).client`` is the client's address for
``use_key(..., client=...)``.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection

from lucia._models import Session, User
from lucia._request import AuthRequest
from lucia.integrations import asgi
from lucia.integrations.asgi import lifespan

__all__ = ["LuciaMiddleware", "get_auth", "lifespan", "optional_user", "require_user"]


class LuciaMiddleware(asgi.LuciaMiddleware):
    """Binds Lucia to every request: ``request.state.auth`` is its :class:`~lucia.AuthRequest`.

    Add it with ``Middleware(LuciaMiddleware, auth=auth)`` or
    ``app.add_middleware(LuciaMiddleware, auth=auth)``; see
    :class:`lucia.integrations.asgi.LuciaMiddleware` for the options.
    """


def get_auth(request: HTTPConnection) -> AuthRequest:
    """The request's :class:`~lucia.AuthRequest` (also a FastAPI dependency).

    Raises:
        RuntimeError: If :class:`LuciaMiddleware` is not installed.
    """
    return asgi.get_auth(request.scope)


async def optional_user(request: HTTPConnection) -> tuple[Session, User] | tuple[None, None]:
    """The request's session and user, or ``(None, None)`` (a FastAPI dependency)."""
    return await get_auth(request).validate_user()


async def require_user(request: HTTPConnection) -> tuple[Session, User]:
    """The request's session and user (a FastAPI dependency).

    Raises:
        starlette.exceptions.HTTPException: ``401`` when the request has no live session.
    """
    session, user = await get_auth(request).validate_user()
    if session is None or user is None:
        raise HTTPException(status_code=401, detail="Unauthorized")
    return session, user
