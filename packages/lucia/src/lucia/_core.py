"""The :class:`Lucia` object: users, keys, sessions, cookies and requests."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, NoReturn, TypedDict, Union

import anyio
from anyio.lowlevel import RunVar

from lucia._config import CsrfProtection, SessionCookieOptions, SessionExpiresIn
from lucia._cookies import Cookie, CookieAttributes, read_cookie
from lucia._crypto import TOKEN_PATTERN, generate_random_id, generate_token, hash_token
from lucia._csrf import CsrfPolicy
from lucia._errors import LuciaError
from lucia._models import Key, Session, SessionState, User
from lucia._password import Argon2idHasher, PasswordHasher, call_hasher
from lucia._request import AuthRequest, LuciaRequest
from lucia._validation import check_attributes, check_id, check_password, check_provider_id
from lucia.adapters import KeyRow, SessionAdapter, SessionAndUserAdapter, SessionRow, UserAdapter, UserRow

__all__ = ["AdapterOption", "Lucia", "PrimaryKey"]

logger = logging.getLogger("lucia")
_HASH_LIMITER: RunVar[anyio.CapacityLimiter] = RunVar("lucia_hash_limiter")

AdapterOption = Union[Any, Mapping[Literal["user", "session"], Any]]


class PrimaryKey(TypedDict):
    """The ``primary_key`` argument of :meth:`Lucia.create_user`."""

    provider_id: str
    provider_user_id: str
    password: str | None


def _default_user_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return dict(attributes)


_UTC = timezone.utc
_from_timestamp = datetime.fromtimestamp


def _ms_to_datetime(ms: int) -> datetime:
    return _from_timestamp(ms / 1000, _UTC)


class Lucia:
    """Lucia's entry point. Every method that touches storage is ``async``.

    Args:
        adapter: One adapter storing users, keys and sessions, or
            ``{"user": user_adapter, "session": session_adapter}``.
        env: ``"DEV"`` (http) or ``"PROD"`` (https: cookies are ``Secure``).
        session_expires_in: The active and idle periods of a session.
        session_cookie: Name and attributes of the session cookie.
        csrf_protection: ``True`` (the request's own origin only), ``False`` (off: only
            for APIs that never use cookies), or a :class:`CsrfProtection`.
        get_user_attributes: Maps the stored attributes of a user to ``User.attributes``.
        generate_user_id: Makes the id of a new user (default: 16 random base32 characters).
        password_hasher: Default :class:`~lucia.passwords.Argon2idHasher`.
        auto_database_cleanup: Delete dead sessions and expired single-use keys when met.
        hash_session_ids: Store SHA-256 of the token (default). ``False`` stores the token
            itself, for a database shared with Lucia-JS 1.x.
        clock: Seconds since the epoch, injectable for tests.
    """

    def __init__(
        self,
        *,
        adapter: AdapterOption,
        env: Literal["DEV", "PROD"] = "DEV",
        session_expires_in: SessionExpiresIn | None = None,
        session_cookie: SessionCookieOptions | None = None,
        csrf_protection: bool | CsrfProtection = True,
        get_user_attributes: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None,
        generate_user_id: Callable[[], str] | None = None,
        password_hasher: PasswordHasher | None = None,
        auto_database_cleanup: bool = True,
        hash_session_ids: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if env not in ("DEV", "PROD"):
            raise ValueError("env must be 'DEV' or 'PROD'")
        if isinstance(adapter, Mapping):
            if set(adapter) != {"user", "session"}:
                raise ValueError('adapter mapping must have exactly the keys "user" and "session"')
            users, sessions = adapter["user"], adapter["session"]
        else:
            users = sessions = adapter
        self._one_store: bool = users is sessions
        if not isinstance(users, UserAdapter):
            raise TypeError(f"{type(users).__name__} does not implement lucia.adapters.UserAdapter")
        if not isinstance(sessions, SessionAdapter):
            raise TypeError(f"{type(sessions).__name__} does not implement lucia.adapters.SessionAdapter")
        self.users: UserAdapter = users
        self.sessions: SessionAdapter = sessions
        # One round trip for validation only where one store holds both halves.
        self._joined = sessions if self._one_store and isinstance(sessions, SessionAndUserAdapter) else None
        self.env = env
        self.session_expires_in = session_expires_in or SessionExpiresIn()
        self.session_cookie = session_cookie or SessionCookieOptions()
        self.csrf = CsrfPolicy.from_options(csrf_protection)
        self.get_user_attributes = get_user_attributes or _default_user_attributes
        self.generate_user_id = generate_user_id or generate_random_id
        self.password_hasher: PasswordHasher = password_hasher or Argon2idHasher()
        self.auto_database_cleanup = auto_database_cleanup
        self.hash_session_ids = hash_session_ids
        self.clock = clock
        self._active_ms = int(self.session_expires_in.active_period.total_seconds() * 1000)
        self._idle_ms = int(self.session_expires_in.idle_period.total_seconds() * 1000)
        self._dummy_hash: str | None = None

    @property
    def reads_session_with_user(self) -> bool:
        """Whether :meth:`validate_session_user` is one query (the adapter joins session and user)."""
        return self._joined is not None

    def __repr__(self) -> str:
        return f"Lucia(env={self.env!r}, users={self.users!r}, sessions={self.sessions!r})"

    # -- helpers ---------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _user(self, row: UserRow) -> User:
        return User(user_id=row.id, attributes=self.get_user_attributes(row.attributes))

    def _key(self, row: KeyRow) -> Key:
        provider_id, _, provider_user_id = row.id.partition(":")
        expires_at = None if row.expires is None else _ms_to_datetime(row.expires)
        return Key(
            type="persistent" if row.expires is None else "single_use",
            provider_id=provider_id,
            provider_user_id=provider_user_id,
            user_id=row.user_id,
            primary=row.primary_key,
            password_defined=row.hashed_password is not None,
            expires_at=expires_at,
            is_expired=row.expires is not None and row.expires <= self._now_ms(),
        )

    def _session(self, row: SessionRow, token: str | None, state: SessionState, *, fresh: bool) -> Session:
        return Session(
            row.id,
            token,
            row.user_id,
            _from_timestamp(row.active_expires / 1000, _UTC),
            _from_timestamp(row.idle_expires / 1000, _UTC),
            state,
            fresh,
        )

    def _state(self, row: SessionRow, now: int) -> SessionState | None:
        if now < row.active_expires:
            return "active"
        if now < row.idle_expires:
            return "idle"
        return None

    def _session_id(self, token: object) -> str:
        """The stored id for a token; a malformed token is refused before any query (S5)."""
        if not isinstance(token, str) or TOKEN_PATTERN.fullmatch(token) is None:
            raise LuciaError("AUTH_INVALID_SESSION_ID", "malformed session token")
        return hash_token(token) if self.hash_session_ids else token

    @staticmethod
    def _key_id(provider_id: object, provider_user_id: object) -> str:
        key_id = f"{check_provider_id(provider_id)}:{check_id(provider_user_id, 'provider_user_id')}"
        return check_id(key_id, "key id (provider_id:provider_user_id)")

    @staticmethod
    def _limiter() -> anyio.CapacityLimiter:
        # Hashing is CPU-bound: leave one core to the event loop so it never stalls behind it.
        # One limiter per event loop (a RunVar), shared by every Lucia on that loop.
        try:
            return _HASH_LIMITER.get()
        except LookupError:
            limiter = anyio.CapacityLimiter(max(1, (os.cpu_count() or 2) - 1))
            _HASH_LIMITER.set(limiter)
            return limiter

    async def _hash(self, password: str) -> str:
        return str(await call_hasher(self.password_hasher.hash, password, limiter=self._limiter()))

    async def _verify(self, hashed: str, password: str) -> bool:
        return bool(await call_hasher(self.password_hasher.verify, hashed, password, limiter=self._limiter()))

    async def _spend_one_hash(self, password: str) -> None:
        """Cost an unknown key the same single verification as a known one (P4)."""
        if self._dummy_hash is None:
            self._dummy_hash = await self._hash("lucia-dummy-password")
        await self._verify(self._dummy_hash, password)

    # -- users -----------------------------------------------------------------------

    async def create_user(
        self, *, primary_key: PrimaryKey | Mapping[str, Any] | None, attributes: Mapping[str, Any]
    ) -> User:
        """Create a user and, atomically with it, its primary key.

        Args:
            primary_key: ``{"provider_id", "provider_user_id", "password"}`` or ``None``.
            attributes: Values for the user table's columns.

        Raises:
            LuciaError: ``AUTH_DUPLICATE_KEY_ID`` if the key exists (no user is created),
                ``AUTH_INVALID_INPUT`` for bad arguments.
        """
        checked = check_attributes(attributes)
        key_row: KeyRow | None = None
        user_id = check_id(self.generate_user_id(), "generated user id")
        if primary_key is not None:
            if not isinstance(primary_key, Mapping):
                raise LuciaError("AUTH_INVALID_INPUT", "primary_key must be a mapping or None")
            key_id = self._key_id(primary_key.get("provider_id"), primary_key.get("provider_user_id"))
            password = primary_key.get("password")
            hashed = None if password is None else await self._hash(check_password(password))
            key_row = KeyRow(id=key_id, user_id=user_id, primary_key=True, hashed_password=hashed, expires=None)
        await self.users.set_user(UserRow(id=user_id, attributes=checked), key_row)
        logger.debug("created user %s", user_id)
        return self._user(UserRow(id=user_id, attributes=checked))

    async def get_user(self, user_id: str) -> User:
        """Return a user. Raises ``LuciaError("AUTH_INVALID_USER_ID")`` if unknown."""
        row = await self.users.get_user(check_id(user_id, "user_id"))
        if row is None:
            raise LuciaError("AUTH_INVALID_USER_ID")
        return self._user(row)

    async def update_user_attributes(self, user_id: str, attributes: Mapping[str, Any]) -> User:
        """Set some attributes of a user and return the updated user."""
        check_id(user_id, "user_id")
        checked = check_attributes(attributes)
        if checked:
            await self.users.update_user(user_id, checked)
        return await self.get_user(user_id)

    async def delete_user(self, user_id: str) -> None:
        """Delete a user with its sessions and keys. Succeeds for an unknown id."""
        check_id(user_id, "user_id")
        await self.sessions.delete_sessions_by_user_id(user_id)
        await self.users.delete_keys_by_user_id(user_id)
        await self.users.delete_user(user_id)
        logger.debug("deleted user %s", user_id)

    # -- keys ------------------------------------------------------------------------

    async def create_key(
        self,
        user_id: str,
        *,
        provider_id: str,
        provider_user_id: str,
        password: str | None,
        expires_in: timedelta | None = None,
    ) -> Key:
        """Add a way of signing in to a user; with ``expires_in`` the key is single-use.

        Raises:
            LuciaError: ``AUTH_INVALID_USER_ID``, ``AUTH_DUPLICATE_KEY_ID``, ``AUTH_INVALID_INPUT``.
        """
        check_id(user_id, "user_id")
        key_id = self._key_id(provider_id, provider_user_id)
        expires: int | None = None
        if expires_in is not None:
            if not isinstance(expires_in, timedelta) or expires_in <= timedelta(0):
                raise LuciaError("AUTH_INVALID_INPUT", "expires_in must be a positive timedelta")
            expires = self._now_ms() + int(expires_in.total_seconds() * 1000)
        hashed = None if password is None else await self._hash(check_password(password))
        row = KeyRow(id=key_id, user_id=user_id, primary_key=False, hashed_password=hashed, expires=expires)
        await self.users.set_key(row)
        return self._key(row)

    async def get_key(self, provider_id: str, provider_user_id: str) -> Key:
        """Return a key. Raises ``LuciaError("AUTH_INVALID_KEY_ID")`` if unknown."""
        row = await self.users.get_key(self._key_id(provider_id, provider_user_id))
        if row is None:
            raise LuciaError("AUTH_INVALID_KEY_ID")
        return self._key(row)

    async def use_key(self, provider_id: str, provider_user_id: str, password: str | None) -> Key:
        """Sign in with a key: check its password, consume it if single-use.

        An unknown key costs the same one hash verification as a known one. A password
        whose hash ``needs_rehash`` is rehashed after a successful verification.

        Raises:
            LuciaError: ``AUTH_INVALID_KEY_ID`` (unknown or already used),
                ``AUTH_INVALID_PASSWORD``, ``AUTH_EXPIRED_KEY``.
        """
        key_id = self._key_id(provider_id, provider_user_id)
        if password is not None:
            check_password(password)
        row = await self.users.get_key(key_id)
        if row is None:
            if password is not None:
                await self._spend_one_hash(password)
            raise LuciaError("AUTH_INVALID_KEY_ID")
        hashed = row.hashed_password
        if hashed is None:
            if password is not None:
                await self._spend_one_hash(password)
                raise LuciaError("AUTH_INVALID_PASSWORD")
        else:
            if password is None or not await self._verify(hashed, password):
                raise LuciaError("AUTH_INVALID_PASSWORD")
        if row.expires is not None:
            consumed = await self.users.use_single_use_key(key_id)
            if consumed is None:
                raise LuciaError("AUTH_INVALID_KEY_ID", "the key was already used")
            if consumed.expires is not None and consumed.expires <= self._now_ms():
                raise LuciaError("AUTH_EXPIRED_KEY")
            return self._key(consumed)
        if (
            hashed is not None
            and password is not None
            and await call_hasher(self.password_hasher.needs_rehash, hashed, limiter=self._limiter())
        ):
            rehashed = await self._hash(password)
            await self.users.update_key(key_id, hashed_password=rehashed)
            logger.debug("rehashed the password of a key of user %s", row.user_id)
        return self._key(row)

    async def update_key_password(self, provider_id: str, provider_user_id: str, password: str | None) -> Key:
        """Set (or with ``None`` remove) the password of a key and return it."""
        key_id = self._key_id(provider_id, provider_user_id)
        if password is not None:
            check_password(password)
        row = await self.users.get_key(key_id)
        if row is None:
            raise LuciaError("AUTH_INVALID_KEY_ID")
        hashed = None if password is None else await self._hash(password)
        await self.users.update_key(key_id, hashed_password=hashed)
        return self._key(
            KeyRow(
                id=row.id, user_id=row.user_id, primary_key=row.primary_key, hashed_password=hashed, expires=row.expires
            )
        )

    async def delete_key(self, provider_id: str, provider_user_id: str) -> None:
        """Delete a key; a primary key is never deleted (delete the user instead)."""
        await self.users.delete_key(self._key_id(provider_id, provider_user_id))

    async def get_all_user_keys(self, user_id: str) -> list[Key]:
        """Every key of a user. Raises ``AUTH_INVALID_USER_ID`` for an unknown user."""
        rows = await self.users.get_keys_by_user_id(check_id(user_id, "user_id"))
        if not rows:
            await self.get_user(user_id)
        return [self._key(row) for row in rows]

    # -- sessions --------------------------------------------------------------------

    def _new_session_row(self, user_id: str) -> tuple[str, SessionRow]:
        token = generate_token()
        session_id = hash_token(token) if self.hash_session_ids else token
        active = self._now_ms() + self._active_ms
        return token, SessionRow(
            id=session_id, user_id=user_id, active_expires=active, idle_expires=active + self._idle_ms
        )

    async def _insert_session(self, user_id: str) -> Session:
        token, row = self._new_session_row(user_id)
        await self.sessions.set_session(row)
        return self._session(row, token, "active", fresh=True)

    async def create_session(self, user_id: str) -> Session:
        """Start a session for a user. The returned session carries the token for the cookie.

        Raises:
            LuciaError: ``AUTH_INVALID_USER_ID`` for an unknown user.
        """
        check_id(user_id, "user_id")
        if not self._one_store:
            await self.get_user(user_id)  # a separate session store cannot check the foreign key
        session = await self._insert_session(user_id)
        logger.debug("created a session for user %s", user_id)
        return session

    async def _rotate(self, row: SessionRow) -> Session:
        """Replace a session by a new one (new token and id); the old one stops working (S3)."""
        session = await self._insert_session(row.user_id)
        await self.sessions.delete_session(row.id)
        logger.debug("renewed a session of user %s", row.user_id)
        return session

    async def _live_row(self, session_id: str, row: SessionRow | None) -> tuple[SessionRow, SessionState]:
        if row is None:
            raise LuciaError("AUTH_INVALID_SESSION_ID")
        state = self._state(row, self._now_ms())
        if state is None:
            await self._dead(session_id)
        return row, state

    async def _dead(self, session_id: str) -> NoReturn:
        if self.auto_database_cleanup:
            await self.sessions.delete_session(session_id)
        raise LuciaError("AUTH_INVALID_SESSION_ID", "the session has expired")

    async def _read(self, token: str, *, renew: bool) -> Session:
        session_id = self._session_id(token)
        row, state = await self._live_row(session_id, await self.sessions.get_session(session_id))
        if state == "idle" and renew:
            return await self._rotate(row)
        return self._session(row, token, state, fresh=False)

    async def _read_with_user(self, token: str, *, renew: bool) -> tuple[Session, User]:
        session_id = self._session_id(token)
        if self._joined is not None:
            pair = await self._joined.get_session_and_user(session_id)
            row, user_row = (None, None) if pair is None else pair
        else:
            row = await self.sessions.get_session(session_id)
            user_row = None if row is None else await self.users.get_user(row.user_id)
            if row is not None and user_row is None:
                row = None  # a session whose user is gone authenticates nobody
        if row is None or user_row is None:
            raise LuciaError("AUTH_INVALID_SESSION_ID")
        # The hot path of every request: the state is decided inline, no extra awaits.
        now = self._now_ms()
        if now < row.active_expires:
            return self._session(row, token, "active", fresh=False), self._user(user_row)
        if now >= row.idle_expires:
            await self._dead(session_id)
        if renew:
            return await self._rotate(row), self._user(user_row)
        return self._session(row, token, "idle", fresh=False), self._user(user_row)

    async def validate_session(self, token: str) -> Session:
        """Return the live session of a token; an idle one is renewed (``fresh=True``, new token).

        Raises:
            LuciaError: ``AUTH_INVALID_SESSION_ID`` for a malformed, unknown or dead token.
        """
        return await self._read(token, renew=True)

    async def validate_session_user(self, token: str) -> tuple[Session, User]:
        """Like :meth:`validate_session`, with the user, in one round trip where the adapter can."""
        return await self._read_with_user(token, renew=True)

    async def get_session(self, token: str) -> Session:
        """Like :meth:`validate_session` but never renews."""
        return await self._read(token, renew=False)

    async def get_session_user(self, token: str) -> tuple[Session, User]:
        """Like :meth:`validate_session_user` but never renews."""
        return await self._read_with_user(token, renew=False)

    async def renew_session(self, token: str) -> Session:
        """Replace a live session by a new one with a new token and fresh expiry."""
        session_id = self._session_id(token)
        row, _ = await self._live_row(session_id, await self.sessions.get_session(session_id))
        return await self._rotate(row)

    async def get_all_user_sessions(self, user_id: str) -> list[Session]:
        """The live sessions of a user (``token`` is ``None``: only hashes are stored)."""
        rows = await self.sessions.get_sessions_by_user_id(check_id(user_id, "user_id"))
        if not rows:
            await self.get_user(user_id)
            return []
        now = self._now_ms()
        live: list[Session] = []
        for row in rows:
            state = self._state(row, now)
            if state is None:
                if self.auto_database_cleanup:
                    await self.sessions.delete_session(row.id)
            else:
                live.append(self._session(row, None, state, fresh=False))
        return live

    async def invalidate_session(self, session_id: str) -> None:
        """Delete a session by its stored id (``Session.session_id``). Sign-out."""
        await self.sessions.delete_session(check_id(session_id, "session_id"))

    async def invalidate_all_user_sessions(self, user_id: str, *, except_session_id: str | None = None) -> None:
        """Sign a user out everywhere, or with ``except_session_id`` on every other device."""
        check_id(user_id, "user_id")
        if except_session_id is None:
            await self.sessions.delete_sessions_by_user_id(user_id)
            return
        check_id(except_session_id, "except_session_id")
        for row in await self.sessions.get_sessions_by_user_id(user_id):
            if row.id != except_session_id:
                await self.sessions.delete_session(row.id)

    async def delete_dead_user_sessions(self, user_id: str) -> None:
        """Delete the dead sessions of a user."""
        now = self._now_ms()
        for row in await self.sessions.get_sessions_by_user_id(check_id(user_id, "user_id")):
            if self._state(row, now) is None:
                await self.sessions.delete_session(row.id)

    # -- cookies and requests --------------------------------------------------------

    def create_session_cookie(self, session: Session | None) -> Cookie:
        """The ``Set-Cookie`` for a session, or a blank expiring one for ``None`` (sign-out)."""
        options = self.session_cookie
        if session is None:
            value, max_age = "", 0
        else:
            if session.token is None:
                raise LuciaError("AUTH_INVALID_INPUT", "a session read from storage has no token to put in a cookie")
            value = session.token
            max_age = max(0, int(session.idle_period_expires_at.timestamp() - self.clock()))
        attributes = CookieAttributes(
            http_only=True,
            secure=self.env == "PROD",
            same_site=options.same_site,
            path=options.path,
            domain=options.domain,
            max_age=max_age,
        )
        return Cookie(options.name, value, attributes)

    def read_session_cookie(self, cookie_headers: str | list[str] | None) -> str | None:
        """The well-formed session token in ``Cookie`` header(s), or ``None``. Never raises."""
        if cookie_headers is None:
            return None
        headers = [cookie_headers] if isinstance(cookie_headers, str) else cookie_headers
        token = read_cookie(headers, self.session_cookie.name)
        if token is None or TOKEN_PATTERN.fullmatch(token) is None:
            return None
        return token

    def read_bearer_token(self, authorization: str | None) -> str | None:
        """The well-formed token of an ``Authorization: Bearer <token>`` header, or ``None``."""
        if authorization is None:
            return None
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or TOKEN_PATTERN.fullmatch(token) is None:
            return None
        return token

    def parse_request_headers(self, request: LuciaRequest) -> str | None:
        """The session token of a request's cookie, after the CSRF check.

        Raises:
            LuciaError: ``AUTH_INVALID_REQUEST`` when an unsafe request's ``Origin`` /
                ``Sec-Fetch-Site`` is not trusted.
        """
        if not self.csrf.is_trusted(request.method, request.url, request.get("origin"), request.get("sec-fetch-site")):
            raise LuciaError("AUTH_INVALID_REQUEST")
        return self.read_session_cookie(request.get_all("cookie"))

    def handle_request(
        self, request: LuciaRequest, *, set_cookie: Callable[[Cookie], None], allow_bearer: bool = False
    ) -> AuthRequest:
        """Bind Lucia to one request; framework integrations wrap this for their objects.

        Args:
            request: The request.
            set_cookie: Called with each cookie to set on the response.
            allow_bearer: Also accept ``Authorization: Bearer <token>`` (never a query or form value).
        """
        return AuthRequest(self, request, set_cookie, allow_bearer=allow_bearer)
