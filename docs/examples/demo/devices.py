"""Your devices: every live session of the user, with a way to sign each one out."""

from __future__ import annotations

from datetime import datetime, timezone

from starlette.requests import Request
from starlette.responses import Response

from lucia import Session, User

from .web import demo_of, describe_device, device_handle, render, requires_user, see_other

_EPOCH = datetime.fromtimestamp(0, timezone.utc)


@requires_user
async def devices(request: Request, session: Session, user: User) -> Response:
    """The devices page: where you are signed in, newest first, this device marked."""
    sessions = await demo_of(request).auth.get_all_user_sessions(user.user_id)
    rows = [
        {
            "handle": device_handle(other),
            "device": describe_device(str(other.attributes.get("user_agent") or "")),
            "ip_address": other.attributes.get("ip_address") or "unknown",
            "signed_in_at": other.created_at,
            "remembered": other.persistent,
            "this_device": other.session_id == session.session_id,
        }
        for other in sorted(sessions, key=lambda s: s.created_at or _EPOCH, reverse=True)
    ]
    return await render(request, "devices.html", devices=rows)


@requires_user
async def sign_out_device(request: Request, session: Session, user: User) -> Response:
    """Sign out one of the user's devices (only their own: the handle is looked up among them)."""
    auth, handle = demo_of(request).auth, (await request.form()).get("device")
    for other in await auth.get_all_user_sessions(user.user_id):
        if device_handle(other) == handle:
            await auth.invalidate_session(other.session_id)
    return see_other("/sessions?notice=device-signed-out")


@requires_user
async def sign_out_other_devices(request: Request, session: Session, user: User) -> Response:
    """Sign out everywhere but here (after a lost phone, or to be sure)."""
    await demo_of(request).auth.invalidate_all_user_sessions(user.user_id, except_session_id=session.session_id)
    return see_other("/sessions?notice=others-signed-out")
