"""Sign in with an OAuth 2.0 / OpenID Connect provider (lucia-oauth); see also docs/examples/oauth_starlette.py."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from lucia import InvalidInputError, InvalidKeyError, Lucia, User
from lucia_oauth import (
    LuciaOAuthError,
    OIDCProvider,
    ProviderSession,
    check_callback,
    clear_oauth_cookies,
    create_oauth_cookies,
    read_oauth_cookies,
)

from . import two_factor
from .web import demo_of, normalize_email, render, set_cookie, start_session


async def start(request: Request) -> Response:
    """Send the browser to the provider, with the flow's state, PKCE verifier and nonce in cookies."""
    found = demo_of(request).providers.get(request.path_params["provider"])
    if found is None:
        return await render(request, "error.html", status_code=404, status=404)
    authorization = await found[1].get_authorization_url()
    response = RedirectResponse(authorization.url, status_code=302)
    for cookie in create_oauth_cookies(demo_of(request).auth, authorization, next=request.query_params.get("next")):
        set_cookie(response, cookie)
    return response


async def callback(request: Request) -> Response:
    """Back from the provider: check state, exchange the code, then find, link or create the user."""
    demo = demo_of(request)
    found = demo.providers.get(request.path_params["provider"])
    if found is None:
        return await render(request, "error.html", status_code=404, status=404)
    label, provider = found
    cookies = read_oauth_cookies(request.headers.getlist("cookie"), provider)
    try:
        checked = check_callback(
            dict(request.query_params),
            cookies,
            issuer=provider.issuer if isinstance(provider, OIDCProvider) else None,
        )
        provider_session = await provider.validate_callback(
            checked.code, code_verifier=checked.code_verifier, nonce=checked.nonce
        )
    except LuciaOAuthError as error:
        # Fail closed: nothing was created. Show the stable code, never the provider's details.
        message = f"Signing in with {label} did not work ({error.code}). Please try again."
        response: Response = await render(request, "sign_in.html", status_code=400, error=message, next="/")
    else:
        user = provider_session.existing_user or await _link_or_create(demo.auth, provider_session)
        if user.attributes.get("totp_secret"):
            response = await two_factor.ask_for_code(request, user, remember=True, next_url=checked.next)
        else:
            await start_session(request, user.user_id, persistent=True)
            response = RedirectResponse(checked.next, status_code=302)
    for cookie in clear_oauth_cookies(demo.auth, provider):  # a flow is single-use
        set_cookie(response, cookie)
    return response


async def _link_or_create(auth: Lucia, provider_session: ProviderSession) -> User:
    """The user a first sign-in with this provider account belongs to.

    Identity is the key (provider, the provider's immutable subject), never an email. An
    existing account is joined only when both sides vouch for the same mailbox: the
    provider says the address is verified and the account verified it by our link (O5).
    """
    email = normalize_email(provider_session.email)
    if email:
        try:
            local = await auth.get_user((await auth.get_key("email", email)).user_id)
        except (InvalidKeyError, InvalidInputError):
            local = None
        if local is not None and provider_session.can_link_by_email(
            email=local.attributes.get("email"), email_verified=bool(local.attributes.get("email_verified"))
        ):
            await provider_session.create_persistent_key(local.user_id)
            return local
    verified = bool(email and provider_session.email_verified)
    return await provider_session.create_user({"email": email or None, "email_verified": verified})
