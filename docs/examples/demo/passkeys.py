"""Passkeys (WebAuthn): add, rename and delete them, and sign in with one, without a username.

The only part of the demo that needs JavaScript (static/passkeys.js): the browser's
WebAuthn API has no HTML form. Its two JSON round trips per ceremony are ordinary POSTs,
CSRF-checked by ``LuciaMiddleware`` like every form. Each ceremony's challenge id travels
in Lucia's short-lived HttpOnly ``SameSite=Strict`` cookie, never through the script.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lucia import InvalidInputError, Session, User
from lucia.integrations.starlette import get_auth
from lucia.redirects import safe_redirect
from lucia_webauthn import LuciaWebAuthnError

from .web import demo_of, render, requires_user, see_other, set_cookie, start_session

MESSAGES = {
    "INVALID_CHALLENGE": "This passkey request has expired. Please try again.",
    "INVALID_RESPONSE": "The passkey's answer could not be verified.",
    "UNKNOWN_CREDENTIAL": "This passkey is not registered here (it may have been deleted).",
    "COUNTER_REPLAY": "This passkey looks cloned, so it was refused.",
}


def _refused(message: str, status_code: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status_code)


async def _posted(request: Request) -> dict[str, Any]:
    """The JSON body of a ceremony's second request (``{}`` when it is not a JSON object)."""
    try:
        body = json.loads(await request.body())
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


@requires_user
async def manage(request: Request, session: Session, user: User) -> Response:
    """The passkeys page: the user's passkeys with rename and delete, and "Add a passkey"."""
    passkeys = demo_of(request).passkeys
    credentials = await passkeys.list_credentials(user.user_id) if passkeys else []
    return await render(request, "passkeys.html", credentials=credentials)


async def registration_options(request: Request) -> Response:
    """Step 1 of adding a passkey: the options for ``navigator.credentials.create()``."""
    _, user = await get_auth(request).validate_user()
    if user is None:
        return _refused("Sign in first.", 401)
    passkeys = demo_of(request).passkeys
    name = str(user.attributes.get("email") or user.user_id)
    options, challenge_id = await passkeys.begin_registration(user.user_id, user_name=name)
    return set_cookie(JSONResponse(options), passkeys.challenge_cookie("registration", challenge_id))


async def register(request: Request) -> Response:
    """Step 2: verify the browser's new credential and store it."""
    _, user = await get_auth(request).validate_user()
    if user is None:
        return _refused("Sign in first.", 401)
    passkeys, body = demo_of(request).passkeys, await _posted(request)
    challenge_id = passkeys.read_challenge_cookie("registration", request.headers.getlist("cookie"))
    try:
        await passkeys.finish_registration(
            user.user_id, challenge_id or "", body.get("credential") or {}, name=str(body.get("name") or "Passkey")
        )
    except LuciaWebAuthnError as error:
        return _refused(MESSAGES.get(error.code, "The passkey was refused."))
    except InvalidInputError:
        return _refused("Give the passkey a name of at most 255 characters.")
    response = JSONResponse({"redirect": "/passkeys?notice=passkey-added"})
    return set_cookie(response, passkeys.challenge_cookie("registration", None))


@requires_user
async def rename(request: Request, session: Session, user: User) -> Response:
    """Give one of the user's passkeys a new label."""
    form = await request.form()
    try:
        await demo_of(request).passkeys.rename_credential(
            user.user_id, str(form.get("credential_id", "")), str(form.get("name", "")).strip()
        )
    except (LuciaWebAuthnError, InvalidInputError):
        return see_other("/passkeys")  # not one of theirs, or an empty name: nothing changed
    return see_other("/passkeys?notice=passkey-renamed")


@requires_user
async def delete(request: Request, session: Session, user: User) -> Response:
    """Delete one of the user's passkeys.

    Every demo account keeps another way in (its password, or the OAuth account it was
    made with), so the last passkey may go too; check that first in an app without one.
    """
    try:
        await demo_of(request).passkeys.delete_credential(
            user.user_id, str((await request.form()).get("credential_id", ""))
        )
    except (LuciaWebAuthnError, InvalidInputError):
        return see_other("/passkeys")
    return see_other("/passkeys?notice=passkey-deleted")


async def authentication_options(request: Request) -> Response:
    """Step 1 of signing in with a passkey: options without a user (discoverable credentials)."""
    passkeys = demo_of(request).passkeys
    options, challenge_id = await passkeys.begin_authentication()
    return set_cookie(JSONResponse(options), passkeys.challenge_cookie("authentication", challenge_id))


async def sign_in(request: Request) -> Response:
    """Step 2: verify the signed challenge, then sign the passkey's user in."""
    passkeys, body = demo_of(request).passkeys, await _posted(request)
    challenge_id = passkeys.read_challenge_cookie("authentication", request.headers.getlist("cookie"))
    try:
        user, _ = await passkeys.finish_authentication(challenge_id or "", body.get("credential") or {})
    except LuciaWebAuthnError as error:
        response = _refused(MESSAGES.get(error.code, "The passkey was refused."))
    else:
        # A passkey with user verification (the default) is two factors in one, a device
        # unlocked by a PIN or biometric: no TOTP step follows.
        await start_session(request, user.user_id, persistent=body.get("remember") is True)
        response = JSONResponse({"redirect": safe_redirect(body.get("next"))})
    return set_cookie(response, passkeys.challenge_cookie("authentication", None))
