"""The one place where the core's throttle guards code checks (issue #14, SECURITY B3)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from lucia import Lucia, TooManyRequestsError
from lucia_tokens._errors import LuciaTokenError

__all__ = ["guarded_check"]

_T = TypeVar("_T")


async def guarded_check(
    auth: Lucia,
    *,
    scope: str,
    user_id: str,
    check: Callable[[], Awaitable[_T]],
    live: Callable[[], Awaitable[bool]] | None = None,
    client: str | None = None,
) -> _T:
    """Run one check of a user's well-formed guess (a keyed typed code or a TOTP code), throttled.

    The core's throttle (SECURITY B3) counts the guesses of ``(scope, user_id)`` like
    password attempts on a key: inside the back-off window the check does not run and
    :class:`lucia.TooManyRequestsError` (with ``retry_after``) is raised; a
    ``LuciaTokenError`` from ``check`` is a failure; a success resets the count. Typed
    codes without a secret need nothing here: ``auth.use_key(..., code)`` throttles them
    per key. The code's own attempt limit comes first: when ``live`` says no code is live
    any more (spent by its limit, expired, used), the answer is ``INVALID_TOKEN``.

    Args:
        auth: The ``Lucia`` object whose throttle counts.
        scope: What is guessed: the wrapper's provider id, e.g. ``"lucia-code.sign_in"``.
        user_id: Whose code is guessed.
        check: The check itself; raises ``LuciaTokenError`` when the guess is wrong.
        live: Whether the user still has a live code (``None``: always, as for TOTP).
        client: The client's address, for the per-client limit.

    Returns:
        What ``check`` returns.
    """
    try:
        attempt = await auth.throttle_attempt(f"{scope}:{user_id}", client=client)
    except TooManyRequestsError:
        if live is not None and not await live():
            raise LuciaTokenError("INVALID_TOKEN") from None
        raise
    try:
        result = await check()
    except LuciaTokenError:
        await attempt.failed()
        raise
    await attempt.succeeded()
    return result
