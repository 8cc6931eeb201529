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
        self._validated = False
        self._session: Session | None = None
        self._user: User | None = None
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

    async def _read(self, *, with_user: bool) -> tuple[Session, User | None] | None:
        """Validate the request's token once: the session, with its user when asked."""
        token, from_cookie = self._token()
        if token is None:
            return None
        try:
            if with_user:
                session, user = await self.auth.validate_session_user(token)
                found: tuple[Session, User | None] = (session, user)
            else:
                found = (await self.auth.validate_session(token), None)
        except LuciaError as error:
            if error.code != "AUTH_INVALID_SESSION_ID":
                raise
            if from_cookie:
                self._set_cookie(self.auth.create_session_cookie(None))
            return None
        if found[0].fresh and from_cookie:
            self._set_cookie(self.auth.create_session_cookie(found[0]))
        return found

    async def validate_user(self) -> tuple[Session, User] | tuple[None, None]:
        """The request's live session and its user, or ``(None, None)``."""
        if not self._validated:
            found = await self._read(with_user=True)
            self._session, self._user = found if found is not None else (None, None)
            self._validated = True
        if self._session is None:
            return None, None
        if self._user is None:  # validate() ran first, without the user
            self._user = await self.auth.get_user(self._session.user_id)
        return self._session, self._user

    async def validate(self) -> Session | None:
        """The request's live session, or ``None``. Renews an idle session and sets its cookie.

        Where the adapter reads a session with its user in one query, the user comes along
        for free (a later :meth:`validate_user` costs nothing); elsewhere only the session
        is read.
        """
        if not self._validated:
            found = await self._read(with_user=self.auth.reads_session_with_user)
            self._session, self._user = found if found is not None else (None, None)
            self._validated = True
        return self._session

    def set_session(self, session: Session | None) -> None:
        """Set (or with ``None`` clear) the session cookie and the cached result."""
        self._set_cookie(self.auth.create_session_cookie(session))
        # The request now carries this session (its user is read if asked for).
        self._validated, self._session, self._user = True, session, None
