"""Framework-neutral requests: what integrations build and what they get back."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from lucia._cookies import Cookie
from lucia._errors import LuciaError
from lucia._models import Session, User

if TYPE_CHECKING:
    from lucia._core import Lucia

__all__ = ["AuthRequest", "Headers", "LuciaRequest"]

Headers = Union[Mapping[str, str], Iterable[tuple[str, str]]]


@dataclass(frozen=True, slots=True)
class LuciaRequest:
    """The parts of an HTTP request Lucia reads.

    Args:
        method: The HTTP method.
        url: The full request URL as the application sees it (its scheme, host and port
            are the request's own origin for the CSRF check).
        headers: A mapping, or pairs for repeated headers (several ``Cookie`` lines).
            Names are matched case-insensitively.
    """

    method: str
    url: str
    headers: Headers

    def get_all(self, name: str) -> list[str]:
        """Every value of header ``name``."""
        name = name.lower()
        items = self.headers.items() if isinstance(self.headers, Mapping) else self.headers
        return [value for key, value in items if isinstance(key, str) and key.lower() == name]

    def get(self, name: str) -> str | None:
        """The first value of header ``name``, or ``None``."""
        values = self.get_all(name)
        return values[0] if values else None


_UNSET = object()


class AuthRequest:
    """Lucia bound to one request: validates its session once and sets cookies.

    Built by :meth:`lucia.Lucia.handle_request` or a framework integration. Results are
    cached for the request; a renewed session's cookie is set through ``set_cookie``.
    A request that fails the CSRF check, or carries a garbage cookie, is anonymous.
    """

    def __init__(
        self,
        auth: Lucia,
        request: LuciaRequest,
        set_cookie: Callable[[Cookie], None],
        *,
        allow_bearer: bool = False,
    ) -> None:
        self.auth = auth
        self.request = request
        self._set_cookie = set_cookie
        self._allow_bearer = allow_bearer
        self._result: object = _UNSET
        self.csrf_error: LuciaError | None = None

    def _token(self) -> tuple[str | None, bool]:
        """The request's token and whether it came from the cookie."""
        if self._allow_bearer:
            authorization = self.request.get("authorization")
            if authorization is not None:
                scheme = authorization.strip().partition(" ")[0]
                if scheme.lower() == "bearer":
                    return self.auth.read_bearer_token(authorization), False
        try:
            return self.auth.parse_request_headers(self.request), True
        except LuciaError as error:
            self.csrf_error = error
            return None, False

    async def validate_user(self) -> tuple[Session, User] | tuple[None, None]:
        """The request's live session and its user, or ``(None, None)``."""
        if self._result is not _UNSET:
            return self._result  # type: ignore[return-value]
        result: tuple[Session, User] | tuple[None, None] = (None, None)
        token, from_cookie = self._token()
        if token is not None:
            try:
                session, user = await self.auth.validate_session_user(token)
            except LuciaError as error:
                if error.code != "AUTH_INVALID_SESSION_ID":
                    raise
                if from_cookie:
                    self._set_cookie(self.auth.create_session_cookie(None))
            else:
                if session.fresh and from_cookie:
                    self._set_cookie(self.auth.create_session_cookie(session))
                result = (session, user)
        self._result = result
        return result

    async def validate(self) -> Session | None:
        """The request's live session, or ``None``. Renews an idle session and sets its cookie."""
        session, _ = await self.validate_user()
        return session

    def set_session(self, session: Session | None) -> None:
        """Set (or with ``None`` clear) the session cookie and the cached result."""
        self._set_cookie(self.auth.create_session_cookie(session))
        self._result = _UNSET if session is not None else (None, None)
