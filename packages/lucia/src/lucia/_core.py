"""The :class:`Lucia` object: users, keys, sessions, cookies and requests."""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, Union

from lucia._blocking import blocking_twin
from lucia._config import CsrfProtection, SessionCookieOptions, SessionExpiresIn
from lucia._connectable import Connectable
from lucia._crypto import TOKEN_PATTERN, generate_random_id, generate_token, hash_token
from lucia._csrf import CsrfPolicy
from lucia._errors import (
    ConfigurationError,
    ExpiredKeyError,
    InvalidInputError,
    InvalidKeyError,
    InvalidPasswordError,
    InvalidRequestError,
    InvalidSessionError,
    InvalidUserError,
)
from lucia._models import Key, Session, User
from lucia._password import Passwords
from lucia._policy import SessionPolicy
from lucia._request import AuthRequest, LuciaRequest, ProxyHeaders, RequestCredentials, read_request
from lucia.adapters import (
    SESSION_POLICY_COLUMNS,
    KeyRow,
    SessionAdapter,
    SessionAndUserAdapter,
    SessionRow,
    UserAdapter,
    UserRow,
)
from lucia.cookies import Cookie, CookieAttributes, read_cookie
from lucia.passwords import AsyncPasswordHasher, PasswordHasher
from lucia.redaction import SECRET, redacted
from lucia.throttle import UNTHROTTLED, Attempt, Throttle
from lucia.validation import (
    RESERVED_SESSION_COLUMNS,
    check_attributes,
    check_id,
    check_password,
    check_provider_id,
)

__all__ = ["AdapterOption", "Lucia", "PrimaryKey"]

logger = logging.getLogger("lucia")

#: One adapter for everything, or ``{"user": ..., "session": ...}``.
AdapterOption = Union[UserAdapter, Mapping[Literal["user", "session"], Union[UserAdapter, SessionAdapter]]]

_UTC = timezone.utc
_DEFAULT_THROTTLE: Any = object()
_PRIMARY_KEY_FIELDS = frozenset({"provider_id", "provider_user_id", "password"})
_GRACE_COLUMNS = frozenset({"previous_id", "previous_expires"})
_PERIOD_COLUMNS = frozenset({"active_period", "idle_period", "absolute_period"})
_POLICY_COLUMNS = frozenset(SESSION_POLICY_COLUMNS)


@redacted
@dataclass(frozen=True, slots=True)
class PrimaryKey:
    """The ``primary_key`` of :meth:`Lucia.create_user`: how the new user signs in.

    A plain mapping with exactly these keys works too; any other key is refused, so a
    typo such as ``"pasword"`` never creates a key without a password (H18).
    """

    provider_id: str
    provider_user_id: str
    password: str | None = field(default=None, metadata=SECRET)


def _default_attributes(attributes: Mapping[str, Any]) -> Mapping[str, Any]:
    # Every stored attribute; the mapping is the adapter's fresh copy, so no second copy is made.
    return attributes


def _ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, _UTC)


class Lucia(Connectable):
    """Lucia's entry point. Every method that touches storage is ``async``.

    Args:
        adapter: One adapter storing users, keys and sessions, or
            ``{"user": user_adapter, "session": session_adapter}``.
        env: ``"DEV"`` (http) or ``"PROD"`` (https: cookies are ``Secure``).
        session_expires_in: The active, idle and absolute periods of a session.
        session_cookie: Name and attributes of the session cookie.
        csrf_protection: ``True`` (the request's own origin only), ``False`` (off: only
            for APIs that never use cookies), or a :class:`CsrfProtection`.
        get_user_attributes: Maps the stored attributes of a user to ``User.attributes``.
        get_session_attributes: Maps the stored session columns to ``Session.attributes``.
        generate_user_id: Makes the id of a new user (default: 16 random base32 characters).
        password_hasher: Default :class:`~lucia.passwords.Argon2idHasher`;
            :class:`~lucia.passwords.ScryptHasher` for a database shared with Lucia-JS 1.x.
        auto_database_cleanup: Delete dead sessions and expired single-use keys when met.
        hash_session_ids: Store SHA-256 of the token (default). ``False`` stores the token
            itself, for a database shared with Lucia-JS 1.x.
        renewal_grace: How long the token an idle session was renewed from keeps
            authenticating (never renewed again, no cookie set), so that parallel
            requests with one idle cookie never sign the user out (S8).
            ``timedelta(0)``: the replaced token stops at once.
        max_sessions_per_user: At most this many sessions per user; creating one more
            removes the oldest. ``None``: no cap.
        throttle: Brute-force protection for :meth:`use_key` (on by default, in memory);
            ``None`` turns it off.
        proxy_headers: Trust these forwarded headers of your reverse proxy (scheme, host,
            client address); ``None`` (default) trusts none.
        clock: Seconds since the epoch, injectable for tests.

    Raises:
        ValueError: For options that cannot work (``max_sessions_per_user`` < 1, a
            negative ``renewal_grace``, an unknown ``env``).
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
        get_session_attributes: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None,
        generate_user_id: Callable[[], str] | None = None,
        password_hasher: PasswordHasher | AsyncPasswordHasher | None = None,
        auto_database_cleanup: bool = True,
        hash_session_ids: bool = True,
        renewal_grace: timedelta = timedelta(seconds=30),
        max_sessions_per_user: int | None = None,
        throttle: Throttle | None = _DEFAULT_THROTTLE,
        proxy_headers: ProxyHeaders | None = None,
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
        if not isinstance(users, UserAdapter):
            raise TypeError(f"{type(users).__name__} does not implement lucia.adapters.UserAdapter")
        if not isinstance(sessions, SessionAdapter):
            raise TypeError(f"{type(sessions).__name__} does not implement lucia.adapters.SessionAdapter")
        if not isinstance(renewal_grace, timedelta) or renewal_grace < timedelta(0):
            raise ValueError("renewal_grace must be a timedelta of zero or more")
        if max_sessions_per_user is not None and (
            isinstance(max_sessions_per_user, bool)
            or not isinstance(max_sessions_per_user, int)
            or max_sessions_per_user < 1
        ):
            raise ValueError("max_sessions_per_user must be None or an integer of at least 1")
        self._one_store: bool = users is sessions  # type: ignore[comparison-overlap]
        self.users: UserAdapter = users
        self.sessions: SessionAdapter = sessions
        # One round trip for validation only where one store holds both halves.
        self._joined: SessionAndUserAdapter | None = (
            sessions if self._one_store and isinstance(sessions, SessionAndUserAdapter) else None
        )
        self.env = env
        self.session_expires_in = session_expires_in or SessionExpiresIn()
        self.session_cookie = session_cookie or SessionCookieOptions()
        self.csrf = CsrfPolicy.from_options(csrf_protection)
        self.get_user_attributes = get_user_attributes or _default_attributes
        self.generate_user_id = generate_user_id or generate_random_id
        self.passwords = Passwords(password_hasher)
        self.auto_database_cleanup = auto_database_cleanup
        self.hash_session_ids = hash_session_ids
        self.renewal_grace = renewal_grace
        self.max_sessions_per_user = max_sessions_per_user
        self.throttle: Throttle | None = Throttle() if throttle is _DEFAULT_THROTTLE else throttle
        self.proxy_headers = proxy_headers
        self.clock = clock
        self._policy = SessionPolicy.build(
            self.session_expires_in, renewal_grace, get_session_attributes or _default_attributes
        )
        self._session_columns: frozenset[str] | None = None
        self._ready = False

    @property
    def password_hasher(self) -> PasswordHasher | AsyncPasswordHasher:
        """The configured password hasher."""
        return self.passwords.hasher

    @property
    def reads_session_with_user(self) -> bool:
        """Whether :meth:`validate_session_user` is one query (the adapter joins session and user)."""
        return self._joined is not None

    def __repr__(self) -> str:
        return f"Lucia(env={self.env!r}, users={self.users!r}, sessions={self.sessions!r})"

    # -- lifecycle -------------------------------------------------------------------

    def _blocking_clone(self) -> Lucia | None:
        """This ``Lucia`` over the stores' blocking twins, for the native sync path (or ``None``).

        Every store must offer a twin (:mod:`lucia._blocking`) and the hasher must be
        synchronous; the clone shares every option and never suspends.
        """
        users = blocking_twin(self.users)
        sessions = users if self._one_store else blocking_twin(self.sessions)
        if users is None or sessions is None or not self.passwords.is_synchronous:
            return None
        throttle = self.throttle
        if throttle is not None:
            store = blocking_twin(throttle.store)
            if store is None:
                return None
            throttle = copy.copy(throttle)
            throttle.store = store
        clone = copy.copy(self)
        clone.users, clone.sessions, clone.throttle = users, sessions, throttle
        clone._joined = sessions if self._one_store and isinstance(sessions, SessionAndUserAdapter) else None
        clone._ready, clone._session_columns = False, None
        return clone

    async def connect(self) -> None:
        """Connect the adapters and check that the storage can do what Lucia is configured for.

        Call it at start-up (the framework integrations' lifecycle hooks do); otherwise
        it runs on the first session write. It also starts the password hashing threads,
        so that the first sign-in does not pay for them.

        Raises:
            ConfigurationError: A feature needs a column the session table lacks
                (``absolute_period`` or ``max_sessions_per_user`` need ``created_at``).
        """
        for adapter in (self.users, self.sessions) if not self._one_store else (self.users,):
            connect = getattr(adapter, "connect", None)
            if connect is not None:
                await connect()
        await self._inspect()
        await self.passwords.warm_up()

    async def close(self) -> None:
        """Close the adapters (each closes only what it opened itself)."""
        for adapter in (self.users, self.sessions) if not self._one_store else (self.users,):
            close = getattr(adapter, "close", None)
            if close is not None:
                await close()

    async def _inspect(self) -> None:
        columns = await self.sessions.session_columns()
        if columns is not None:
            columns = frozenset(c.lower() for c in columns)
            missing_created = "created_at" not in columns
            if missing_created and self.session_expires_in.absolute_period is not None:
                raise ConfigurationError(_missing_column("created_at", "absolute_period"))
            if missing_created and self.max_sessions_per_user is not None:
                raise ConfigurationError(_missing_column("created_at", "max_sessions_per_user"))
            if self._policy.grace_ms and not columns >= _GRACE_COLUMNS:
                self._policy = self._policy.without_grace()
                logger.warning(
                    "lucia: the session table has no previous_id/previous_expires columns "
                    "(a Lucia-JS 1.x table): renewal grace is off, a renewed token stops at once"
                )
        self._session_columns = columns
        self._ready = True

    async def _ensure_ready(self) -> None:
        if not self._ready:
            await self._inspect()

    def _check_session_options(
        self, attributes: Mapping[str, Any], persistent: bool, expires_in: SessionExpiresIn | None
    ) -> None:
        columns = self._session_columns
        if columns is None:
            return
        if not persistent and "persistent" not in columns:
            raise ConfigurationError(_missing_column("persistent", "create_session(persistent=False)"))
        if expires_in is not None and not columns >= _PERIOD_COLUMNS:
            raise ConfigurationError(_missing_column("active_period/idle_period/absolute_period", "expires_in="))
        for name in attributes:
            if name.lower() not in columns:
                raise InvalidInputError(None, f"the session table has no column {name!r} for this attribute")

    def _fit(self, row: SessionRow) -> SessionRow:
        """The row as the session table will store it: fields without a column are dropped."""
        columns = self._session_columns
        if columns is None or columns >= _POLICY_COLUMNS:
            return row
        dropped: dict[str, Any] = {n: None for n in ("created_at", *_PERIOD_COLUMNS) if n not in columns}
        return replace(row, **dropped)

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

    def _session_id(self, token: object) -> str:
        """The stored id for a token; a malformed token is refused before any query (S5)."""
        if not isinstance(token, str) or TOKEN_PATTERN.fullmatch(token) is None:
            raise InvalidSessionError(None, "malformed session token")
        return hash_token(token) if self.hash_session_ids else token

    @staticmethod
    def _key_id(provider_id: object, provider_user_id: object) -> str:
        key_id = f"{check_provider_id(provider_id)}:{check_id(provider_user_id, 'provider_user_id')}"
        return check_id(key_id, "key id (provider_id:provider_user_id)")

    async def throttle_attempt(self, subject: str, *, client: str | None = None) -> Attempt:
        """Count one guess at ``subject`` against the throttle (for sibling packages' codes).

        Report the outcome with ``await attempt.succeeded()`` / ``await attempt.failed()``.

        Raises:
            TooManyRequestsError: Inside a back-off window.
            StorageUnavailableError: The throttle store is down (fail closed).
        """
        if self.throttle is None:
            return UNTHROTTLED
        return await self.throttle.attempt(subject, client=client, now=self.clock())

    # -- users -----------------------------------------------------------------------

    async def create_user(
        self, *, primary_key: PrimaryKey | Mapping[str, Any] | None, attributes: Mapping[str, Any]
    ) -> User:
        """Create a user and, atomically with it, its primary key.

        Args:
            primary_key: A :class:`PrimaryKey` (or a mapping with exactly its fields), or ``None``.
            attributes: Values for the user table's columns.

        Raises:
            DuplicateKeyError: The key exists (no user is created).
            InvalidInputError: Bad arguments, including an unknown ``primary_key`` field.
        """
        checked = check_attributes(attributes)
        user_id = check_id(self.generate_user_id(), "generated user id")
        key_row: KeyRow | None = None
        if primary_key is not None:
            key = _primary_key(primary_key)
            key_id = self._key_id(key.provider_id, key.provider_user_id)
            hashed = None if key.password is None else await self.passwords.hash(key.password)
            key_row = KeyRow(id=key_id, user_id=user_id, primary_key=True, hashed_password=hashed, expires=None)
        await self.users.set_user(UserRow(id=user_id, attributes=checked), key_row)
        logger.debug("created user %s", user_id)
        return self._user(UserRow(id=user_id, attributes=checked))

    async def get_user(self, user_id: str) -> User:
        """Return a user. Raises :class:`~lucia.InvalidUserError` if unknown."""
        row = await self.users.get_user(check_id(user_id, "user_id"))
        if row is None:
            raise InvalidUserError()
        return self._user(row)

    async def update_user_attributes(self, user_id: str, attributes: Mapping[str, Any]) -> User:
        """Set some attributes of a user and return the updated user."""
        check_id(user_id, "user_id")
        checked = check_attributes(attributes)
        if checked:
            await self.users.update_user(user_id, checked)
        return await self.get_user(user_id)

    async def delete_user(self, user_id: str) -> None:
        """Delete a user with its keys and sessions, atomically. Succeeds for an unknown id.

        Where one adapter stores everything this is one transaction: if the user row
        cannot go (an application table references it without ``ON DELETE CASCADE``),
        nothing is deleted and the driver's error propagates.
        """
        check_id(user_id, "user_id")
        if not self._one_store:
            await self.sessions.delete_sessions_by_user_id(user_id)
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
            InvalidUserError: Unknown user.
            DuplicateKeyError: The key exists.
            InvalidInputError: Bad arguments.
        """
        check_id(user_id, "user_id")
        key_id = self._key_id(provider_id, provider_user_id)
        expires: int | None = None
        if expires_in is not None:
            if not isinstance(expires_in, timedelta) or expires_in <= timedelta(0):
                raise InvalidInputError(None, "expires_in must be a positive timedelta")
            expires = self._now_ms() + int(expires_in.total_seconds() * 1000)
        hashed = None if password is None else await self.passwords.hash(password)
        row = KeyRow(id=key_id, user_id=user_id, primary_key=False, hashed_password=hashed, expires=expires)
        await self.users.set_key(row)
        return self._key(row)

    async def get_key(self, provider_id: str, provider_user_id: str) -> Key:
        """Return a key. Raises :class:`~lucia.InvalidKeyError` if unknown."""
        row = await self.users.get_key(self._key_id(provider_id, provider_user_id))
        if row is None:
            raise InvalidKeyError()
        return self._key(row)

    async def use_key(
        self, provider_id: str, provider_user_id: str, password: str | None, *, client: str | None = None
    ) -> Key:
        """Sign in with a key: check its password, consume it if single-use.

        An attempt with a password is throttled (see :mod:`lucia.throttle`); an unknown
        key costs the same one hash verification as a known one (P4); a password whose
        hash is weaker than the configured hasher's is rehashed after it verifies.

        Args:
            provider_id: The key's provider (``"email"``).
            provider_user_id: The user's id at that provider (the email address).
            password: The password, or ``None`` for a key without one.
            client: Who is signing in (the client's address, see ``AuthRequest.client``)
                for the per-client throttle.

        Raises:
            InvalidCredentialsError: An unknown or used key (:class:`~lucia.InvalidKeyError`)
                or a wrong password (:class:`~lucia.InvalidPasswordError`): show one message.
            ExpiredKeyError: An expired single-use key (it is consumed).
            TooManyRequestsError: Throttled; see ``retry_after``.
            InvalidInputError: Bad arguments.
        """
        key_id = self._key_id(provider_id, provider_user_id)
        if password is None:
            row = await self.users.get_key(key_id)
            if row is None:
                raise InvalidKeyError()
            if row.hashed_password is not None:
                raise InvalidPasswordError()
            return await self._signed_in(row, None)
        check_password(password)
        attempt = await self.throttle_attempt(key_id, client=client)
        row = await self.users.get_key(key_id)
        if not await self.passwords.verify(None if row is None else row.hashed_password, password):
            await attempt.failed()
            raise InvalidKeyError() if row is None else InvalidPasswordError()
        await attempt.succeeded()
        assert row is not None
        return await self._signed_in(row, password)

    async def _signed_in(self, row: KeyRow, password: str | None) -> Key:
        """After the credentials were checked: consume a single-use key, upgrade a weak hash."""
        if row.expires is not None:
            consumed = await self.users.use_single_use_key(row.id)
            if consumed is None:
                raise InvalidKeyError(None, "the key was already used")
            if consumed.expires is not None and consumed.expires <= self._now_ms():
                raise ExpiredKeyError()
            return self._key(consumed)
        if password is not None and row.hashed_password is not None:
            upgraded = await self.passwords.upgraded(row.hashed_password, password)
            if upgraded is not None:
                await self.users.update_key(row.id, hashed_password=upgraded)
                logger.debug("rehashed the password of a key of user %s", row.user_id)
        return self._key(row)

    async def update_key_password(self, provider_id: str, provider_user_id: str, password: str | None) -> Key:
        """Set (or with ``None`` remove) the password of a key and return it."""
        key_id = self._key_id(provider_id, provider_user_id)
        if password is not None:
            check_password(password)
        row = await self.users.get_key(key_id)
        if row is None:
            raise InvalidKeyError()
        hashed = None if password is None else await self.passwords.hash(password)
        await self.users.update_key(key_id, hashed_password=hashed)
        return self._key(KeyRow(row.id, row.user_id, row.primary_key, hashed, row.expires))

    async def delete_key(self, provider_id: str, provider_user_id: str) -> None:
        """Delete a key; a primary key is never deleted (delete the user instead)."""
        await self.users.delete_key(self._key_id(provider_id, provider_user_id))

    async def get_all_user_keys(self, user_id: str) -> list[Key]:
        """Every key of a user. Raises :class:`~lucia.InvalidUserError` for an unknown user."""
        rows = await self.users.get_keys_by_user_id(check_id(user_id, "user_id"))
        if not rows:
            await self.get_user(user_id)
        return [self._key(row) for row in rows]

    # -- sessions --------------------------------------------------------------------

    def _new_token(self) -> tuple[str, str]:
        token = generate_token()
        return token, hash_token(token) if self.hash_session_ids else token

    async def create_session(
        self,
        user_id: str,
        *,
        attributes: Mapping[str, Any] | None = None,
        persistent: bool = True,
        expires_in: SessionExpiresIn | None = None,
    ) -> Session:
        """Start a session (sign-in). The returned session carries the token for the cookie.

        Args:
            user_id: The user signing in.
            attributes: Values for the session table's own columns (device, IP address, ...),
                kept across renewals and listed by :meth:`get_all_user_sessions`.
            persistent: ``False`` for "remember me: off": a browser-session cookie (no
                ``Max-Age``), now and after every renewal.
            expires_in: This session's own periods instead of ``session_expires_in``.

        Raises:
            InvalidUserError: Unknown user.
            InvalidInputError: Bad attributes (reserved or unknown column, wrong type, too big).
            ConfigurationError: ``persistent=False`` or ``expires_in`` on a session table
                without the columns they need.
        """
        check_id(user_id, "user_id")
        checked = check_attributes(attributes or {}, reserved=RESERVED_SESSION_COLUMNS)
        if expires_in is not None and not isinstance(expires_in, SessionExpiresIn):
            raise InvalidInputError(None, "expires_in must be a SessionExpiresIn")
        await self._ensure_ready()
        self._check_session_options(checked, persistent, expires_in)
        if not self._one_store:
            await self.get_user(user_id)  # a separate session store cannot check the foreign key
        token, session_id = self._new_token()
        row = self._fit(
            self._policy.new_row(
                session_id,
                user_id,
                self._now_ms(),
                persistent=bool(persistent),
                expires_in=expires_in,
                attributes=checked,
            )
        )
        await self.sessions.set_session(row, max_per_user=self.max_sessions_per_user)
        logger.debug("created a session for user %s", user_id)
        return self._policy.session(row, token, "active", fresh=True)

    async def _lookup(self, session_id: str, *, with_user: bool) -> tuple[SessionRow | None, UserRow | None]:
        if self._joined is not None and with_user:
            pair = await self._joined.get_session_and_user(session_id)
            return (None, None) if pair is None else pair
        row = await self.sessions.get_session(session_id)
        if row is None or (self._one_store and not with_user):
            return row, None
        user_row = await self.users.get_user(row.user_id)
        # A session whose user is gone authenticates nobody (H16).
        return (row, user_row) if user_row is not None else (None, None)

    async def _validate_token(
        self, token: str, *, with_user: bool, renew: bool = True, session_id: str | None = None
    ) -> tuple[Session, User | None]:
        """Validate a token already known to be well-formed: the hot path of every request."""
        if session_id is None:
            session_id = hash_token(token) if self.hash_session_ids else token
        row, user_row = await self._lookup(session_id, with_user=with_user)
        if row is None:
            raise InvalidSessionError()
        user = None if user_row is None else self._user(user_row)
        now = self._now_ms()
        policy = self._policy
        if row.id != session_id:  # the token this row replaced, within its grace window
            state = policy.state(row, now) if policy.in_grace(row, session_id, now) else None
            if state is None:
                raise InvalidSessionError()
            return policy.session(row, token, state, fresh=False), user
        state = policy.state(row, now)
        if state is None:
            if self.auto_database_cleanup:
                await self.sessions.delete_session(session_id)
            raise InvalidSessionError(None, "the session has expired")
        if state == "idle" and renew:
            return await self._renew(row, session_id, token), user
        return policy.session(row, token, state, fresh=False), user

    async def _renew(self, row: SessionRow, session_id: str, token: str) -> Session:
        """Replace a session by its renewal (new token and id), atomically (S3, S7, S8)."""
        await self._ensure_ready()
        now = self._now_ms()
        new_token, new_id = self._new_token()
        renewed = self._policy.renewed_row(row, session_id, new_id, now)
        if await self.sessions.renew_session(session_id, renewed):
            logger.debug("renewed a session of user %s", row.user_id)
            return self._policy.session(renewed, new_token, "active", fresh=True)
        # Another request renewed it first (or it was revoked): within the grace window
        # this request still authenticates, as that renewal, without a new cookie.
        again = await self.sessions.get_session(session_id)
        if again is not None and again.id != session_id and self._policy.in_grace(again, session_id, now):
            state = self._policy.state(again, now)
            if state is not None:
                return self._policy.session(again, token, state, fresh=False)
        raise InvalidSessionError()

    async def validate_session(self, token: str) -> Session:
        """Return the live session of a token; an idle one is renewed (``fresh=True``, new token).

        Raises:
            InvalidSessionError: A malformed, unknown, revoked or dead token.
        """
        session_id = self._session_id(token)
        return (await self._validate_token(token, with_user=not self._one_store, session_id=session_id))[0]

    async def validate_session_user(self, token: str) -> tuple[Session, User]:
        """Like :meth:`validate_session`, with the user, in one round trip where the adapter can."""
        session_id = self._session_id(token)
        session, user = await self._validate_token(token, with_user=True, session_id=session_id)
        assert user is not None
        return session, user

    async def get_session(self, token: str) -> Session:
        """Like :meth:`validate_session` but never renews."""
        session_id = self._session_id(token)
        return (await self._validate_token(token, with_user=not self._one_store, renew=False, session_id=session_id))[0]

    async def get_session_user(self, token: str) -> tuple[Session, User]:
        """Like :meth:`validate_session_user` but never renews."""
        session_id = self._session_id(token)
        session, user = await self._validate_token(token, with_user=True, renew=False, session_id=session_id)
        assert user is not None
        return session, user

    async def renew_session(self, token: str) -> Session:
        """Replace a live session by a new one with a new token and fresh expiry.

        Raises:
            InvalidSessionError: An unknown or dead session, or a token that was itself
                replaced by a renewal (it is never renewed twice).
        """
        session_id = self._session_id(token)
        row = await self.sessions.get_session(session_id)
        if row is None or row.id != session_id or self._policy.state(row, self._now_ms()) is None:
            raise InvalidSessionError()
        return await self._renew(row, session_id, token)

    async def get_all_user_sessions(self, user_id: str) -> list[Session]:
        """The live sessions of a user (``token`` is ``None``: only hashes are stored)."""
        rows = await self.sessions.get_sessions_by_user_id(check_id(user_id, "user_id"))
        if not rows:
            await self.get_user(user_id)
            return []
        now = self._now_ms()
        live: list[Session] = []
        for row in rows:
            state = self._policy.state(row, now)
            if state is None:
                if self.auto_database_cleanup:
                    await self.sessions.delete_session(row.id)
            else:
                live.append(self._policy.session(row, None, state, fresh=False))
        return live

    async def invalidate_session(self, session_id: str) -> None:
        """Delete a session by its stored id (``Session.session_id``). Sign-out.

        The id a session had before a renewal names the renewal too, so revoking it
        within the grace window revokes what it was renewed into.
        """
        await self.sessions.delete_session(check_id(session_id, "session_id"))

    async def invalidate_all_user_sessions(self, user_id: str, *, except_session_id: str | None = None) -> None:
        """Sign a user out everywhere, or with ``except_session_id`` on every other device.

        Linearizable with renewals (S7): once this returns, no revoked session nor any
        renewal of one validates.
        """
        check_id(user_id, "user_id")
        if except_session_id is not None:
            check_id(except_session_id, "except_session_id")
        await self.sessions.delete_sessions_by_user_id(user_id, except_session_id=except_session_id)

    async def delete_dead_user_sessions(self, user_id: str) -> None:
        """Delete the dead sessions of a user."""
        now = self._now_ms()
        for row in await self.sessions.get_sessions_by_user_id(check_id(user_id, "user_id")):
            if self._policy.state(row, now) is None:
                await self.sessions.delete_session(row.id)

    # -- cookies and requests --------------------------------------------------------

    def create_session_cookie(self, session: Session | None) -> Cookie:
        """The ``Set-Cookie`` for a session, or a blank expiring one for ``None`` (sign-out).

        A persistent session's cookie lasts until the session's idle expiry (``Max-Age``);
        a ``persistent=False`` one ends with the browser session.
        """
        options = self.session_cookie
        max_age: int | None
        if session is None:
            value, max_age = "", 0
        else:
            if session.token is None:
                raise InvalidInputError(None, "a session read from storage has no token to put in a cookie")
            value = session.token
            max_age = max(0, int(session.idle_period_expires_at.timestamp() - self.clock()))
            if not session.persistent:
                max_age = None
        attributes = CookieAttributes(
            http_only=True,
            secure=self.env == "PROD" or options.host_prefix,
            same_site=options.same_site,
            path=options.path,
            domain=options.domain,
            max_age=max_age,
        )
        return Cookie(options.cookie_name, value, attributes)

    def read_session_cookie(self, cookie_headers: str | list[str] | None) -> str | None:
        """The well-formed session token in ``Cookie`` header(s), or ``None``. Never raises."""
        if cookie_headers is None:
            return None
        headers = [cookie_headers] if isinstance(cookie_headers, str) else cookie_headers
        token = read_cookie(headers, self.session_cookie.cookie_name)
        if token is None or TOKEN_PATTERN.fullmatch(token) is None:
            return None
        return token

    def read_bearer_token(self, authorization: str | None) -> str | None:
        """The well-formed token of an ``Authorization: Bearer <token>`` header, or ``None``."""
        if authorization is None:
            return None
        return read_request(
            LuciaRequest("GET", "http://localhost/", [("authorization", authorization)]),
            cookie_name=self.session_cookie.cookie_name,
            csrf=self.csrf,
            allow_bearer=True,
        ).token

    def read_request(self, request: LuciaRequest, *, allow_bearer: bool = False) -> RequestCredentials:
        """Read a request once, without I/O: its token, where it came from, the CSRF verdict.

        Integrations call this once per request and hand the result to
        :class:`~lucia.AuthRequest`; a request refused by the CSRF check carries no token
        from its cookie (a bearer token needs no CSRF check).
        """
        return read_request(
            request,
            cookie_name=self.session_cookie.cookie_name,
            csrf=self.csrf,
            allow_bearer=allow_bearer,
            proxy=self.proxy_headers,
        )

    def parse_request_headers(self, request: LuciaRequest) -> str | None:
        """The session token of a request's cookie, after the CSRF check.

        Raises:
            InvalidRequestError: When an unsafe request's ``Origin`` / ``Sec-Fetch-Site``
                is not trusted.
        """
        credentials = self.read_request(request)
        if not credentials.csrf_trusted:
            raise InvalidRequestError()
        return credentials.token

    def handle_request(
        self, request: LuciaRequest, *, set_cookie: Callable[[Cookie], None], allow_bearer: bool = False
    ) -> AuthRequest:
        """Bind Lucia to one request; framework integrations wrap this for their objects.

        Args:
            request: The request.
            set_cookie: Called with each cookie to set on the response.
            allow_bearer: Also accept ``Authorization: Bearer <token>`` (never a query or form value).
        """
        return AuthRequest(self, self.read_request(request, allow_bearer=allow_bearer), set_cookie)


def _primary_key(value: object) -> PrimaryKey:
    """A :class:`PrimaryKey` from itself or a mapping with exactly its fields (H18)."""
    if isinstance(value, PrimaryKey):
        return value
    if not isinstance(value, Mapping):
        raise InvalidInputError(None, "primary_key must be a PrimaryKey, a mapping or None")
    unknown = set(value) - _PRIMARY_KEY_FIELDS
    if unknown:
        names = ", ".join(sorted(repr(name)[:40] for name in unknown))
        raise InvalidInputError(
            None, f"primary_key has unknown field(s) {names}; expected {sorted(_PRIMARY_KEY_FIELDS)}"
        )
    password = value.get("password")
    if password is not None:
        check_password(password)
    return PrimaryKey(value.get("provider_id"), value.get("provider_user_id"), password)  # type: ignore[arg-type]


def _missing_column(column: str, feature: str) -> str:
    return (
        f"{feature} needs the session column(s) {column}, which the session table lacks "
        "(a Lucia-JS 1.x table?). Add them: see 'Sessions > Migrating an existing session table' in the docs, "
        "or print the DDL with `python -m lucia schema <dialect>`."
    )
