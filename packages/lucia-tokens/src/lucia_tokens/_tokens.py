"""Link tokens and typed one-time codes, stored as single-use keys through the adapter.

Storage (one home for the layout, documented in ``docs/tokens/``): a token is a
single-use key of its user whose id is ``"lucia-token.<name>:<SHA-256 hex of the value>"``
(link tokens) or ``"lucia-code.<name>:<SHA-256 hex of user id NUL code>"`` (typed codes).
The value itself is never stored, logged or part of an error. Consuming a token is the
core's atomic :meth:`lucia.Lucia.use_key`: of N concurrent validations exactly one wins.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from lucia import Lucia, LuciaError
from lucia.validation import check_id
from lucia_tokens._errors import LuciaTokenError

__all__ = [
    "MAX_ATTEMPTS",
    "MIN_CODE_LENGTH",
    "MIN_LINK_TOKEN_LENGTH",
    "IdTokenWrapper",
    "PasswordTokenWrapper",
    "Token",
    "id_token",
    "password_token",
]

logger = logging.getLogger("lucia_tokens")

#: Shortest link token, in base64url characters: 43 x 6 = 258 bits (SECURITY T2).
MIN_LINK_TOKEN_LENGTH = 43
#: Longest link token accepted when configuring a wrapper.
MAX_LINK_TOKEN_LENGTH = 128
#: Shortest typed code, in characters (SECURITY T3).
MIN_CODE_LENGTH = 8
#: Longest typed code accepted when configuring a wrapper.
MAX_CODE_LENGTH = 32
#: Failed validations of typed codes allowed per user and name before the codes are invalidated.
MAX_ATTEMPTS = 5

_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_LINK_ALPHABET = string.ascii_letters + string.digits + "-_"  # base64url: 64 symbols, 6 bits each
_DIGITS = string.digits
# 32 symbols a person reads back without confusion: no 0/O, 1/I.
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _random_string(alphabet: str, length: int) -> str:
    """``length`` symbols drawn uniformly from ``alphabet`` with :mod:`secrets` (no modulo bias)."""
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _sha256(*parts: str) -> str:
    # NUL never occurs in a checked id or value, so the joined form is unambiguous.
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _check_name(name: object) -> str:
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise ValueError("a token name must be 1 to 64 characters of [A-Za-z0-9_-]")
    return name


def _check_expires_in(expires_in: object) -> timedelta:
    if not isinstance(expires_in, timedelta) or expires_in <= timedelta(0):
        raise ValueError("expires_in must be a positive timedelta")
    return expires_in


def _check_length(length: object, low: int, high: int) -> int:
    if isinstance(length, bool) or not isinstance(length, int) or not low <= length <= high:
        raise ValueError(f"length must be an integer from {low} to {high}")
    return length


@dataclass(frozen=True, slots=True)
class Token:
    """An issued or validated token.

    Attributes:
        name: The purpose the token was issued for (``"email_verification"``, ...).
        user_id: The user it belongs to.
        token_id: The stored id: SHA-256 (hex) of the value. Not a secret.
        expires_at: When it stops validating (timezone-aware UTC).
        expired: Whether it had expired when this object was made.
        value: The secret to send to the user. Set only on the object :meth:`issue`
            returns; tokens read back from storage have ``None`` (only hashes are
            stored). It prints as ``'**********'``.
    """

    name: str
    user_id: str
    token_id: str
    expires_at: datetime
    expired: bool = False
    value: str | None = None

    def __repr__(self) -> str:
        value = "None" if self.value is None else "'**********'"
        return (
            f"Token(name={self.name!r}, user_id={self.user_id!r}, token_id={self.token_id!r}, "
            f"expires_at={self.expires_at!r}, expired={self.expired!r}, value={value})"
        )


class _TokenStore:
    """What both wrappers share: one key provider id per name, issue, consume, list, delete."""

    _prefix = ""

    def __init__(self, auth: Lucia, name: str, expires_in: timedelta, *, supersede: bool) -> None:
        self.auth = auth
        self.name = _check_name(name)
        self.expires_in = _check_expires_in(expires_in)
        self.supersede = supersede
        self._provider_id = f"{self._prefix}.{self.name}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, expires_in={self.expires_in!r})"

    def _token(self, user_id: str, token_id: str, expires_at: datetime | None, *, value: str | None = None) -> Token:
        assert expires_at is not None  # our keys are always single-use
        now = datetime.fromtimestamp(self.auth.clock(), tz=timezone.utc)
        return Token(
            name=self.name,
            user_id=user_id,
            token_id=token_id,
            expires_at=expires_at,
            expired=expires_at <= now,
            value=value,
        )

    async def _issue(self, user_id: str, token_id: str, value: str) -> Token:
        key = await self.auth.create_key(
            user_id, provider_id=self._provider_id, provider_user_id=token_id, password=None, expires_in=self.expires_in
        )
        if self.supersede:
            # Insert first, then delete the others: two concurrent issues can at worst
            # delete each other's token (fail closed), never leave two alive.
            await self._delete_user_tokens(user_id, keep=token_id)
        logger.debug("issued a %s token for user %s", self.name, user_id)
        return self._token(user_id, token_id, key.expires_at, value=value)

    async def _consume(self, token_id: str) -> Token:
        try:
            key = await self.auth.use_key(self._provider_id, token_id, None)
        except LuciaError as exc:
            if exc.code == "AUTH_EXPIRED_KEY":
                raise LuciaTokenError("EXPIRED_TOKEN") from None
            if exc.code in ("AUTH_INVALID_KEY_ID", "AUTH_INVALID_PASSWORD"):
                raise LuciaTokenError("INVALID_TOKEN") from None
            raise
        if key.type != "single_use":  # not one of ours: never treat a persistent key as a token
            raise LuciaTokenError("INVALID_TOKEN")
        logger.debug("validated a %s token of user %s", self.name, key.user_id)
        return self._token(key.user_id, token_id, key.expires_at)

    async def _stored_token_ids(self, user_id: str) -> list[str]:
        prefix = f"{self._provider_id}:"
        rows = await self.auth.users.get_keys_by_user_id(user_id)
        return [row.id[len(prefix) :] for row in rows if row.id.startswith(prefix)]

    async def _delete_user_tokens(self, user_id: str, *, keep: str | None = None) -> None:
        for token_id in await self._stored_token_ids(user_id):
            if token_id != keep:
                await self.auth.delete_key(self._provider_id, token_id)

    async def get_all_user_tokens(self, user_id: str) -> list[Token]:
        """The user's live tokens of this name, soonest to expire first (``value`` is ``None``).

        Expired ones are deleted on the way when the ``Lucia`` object has
        ``auto_database_cleanup`` (the default).

        Raises:
            LuciaError: ``AUTH_INVALID_USER_ID`` for an unknown user, ``AUTH_INVALID_INPUT``
                for a malformed user id.
        """
        live: list[Token] = []
        for key in await self.auth.get_all_user_keys(user_id):
            if key.provider_id != self._provider_id or key.type != "single_use":
                continue
            if key.is_expired:
                if self.auth.auto_database_cleanup:
                    await self.auth.delete_key(key.provider_id, key.provider_user_id)
                continue
            live.append(self._token(user_id, key.provider_user_id, key.expires_at))
        return sorted(live, key=lambda token: token.expires_at)

    async def invalidate_all_user_tokens(self, user_id: str) -> None:
        """Delete every token of this name of a user. Succeeds for an unknown user.

        Raises:
            LuciaError: ``AUTH_INVALID_INPUT`` for a malformed user id.
        """
        await self._delete_user_tokens(check_id(user_id, "user_id"))
        logger.debug("invalidated every %s token of user %s", self.name, user_id)


class IdTokenWrapper(_TokenStore):
    """Long random tokens for links: email verification, password reset.

    Make one with :func:`id_token`. A token is 43 base64url characters (258 bits from
    :mod:`secrets`) by default, stored as the SHA-256 of its value, bound to its user
    and name, single use, and expires after ``expires_in``.
    """

    _prefix = "lucia-token"

    def __init__(
        self, auth: Lucia, name: str, expires_in: timedelta, *, length: int = 43, supersede: bool = True
    ) -> None:
        super().__init__(auth, name, expires_in, supersede=supersede)
        self.length = _check_length(length, MIN_LINK_TOKEN_LENGTH, MAX_LINK_TOKEN_LENGTH)
        self._pattern = re.compile(f"[A-Za-z0-9_-]{{{self.length}}}")

    def _token_id(self, value: object) -> str:
        """The stored id of a value; a malformed value is refused here, before any query."""
        if (
            not isinstance(value, str)
            or len(value) != self.length
            or not value.isascii()
            or self._pattern.fullmatch(value) is None
        ):
            raise LuciaTokenError("INVALID_TOKEN", "malformed token")
        return _sha256(value)

    async def issue(self, user_id: str) -> Token:
        """Create a token for a user; ``Token.value`` is what goes into the link.

        With ``supersede`` (the default) the user's older tokens of this name stop working.

        Raises:
            LuciaError: ``AUTH_INVALID_USER_ID`` for an unknown user, ``AUTH_INVALID_INPUT``
                for a malformed user id.
        """
        check_id(user_id, "user_id")
        value = _random_string(_LINK_ALPHABET, self.length)
        return await self._issue(user_id, _sha256(value), value)

    async def validate(self, value: str) -> Token:
        """Consume a token and return it (``Token.user_id`` says whose it is).

        A token validates once: of concurrent validations exactly one succeeds.

        Raises:
            LuciaTokenError: ``INVALID_TOKEN`` (malformed, unknown, already used,
                superseded, or of another name), ``EXPIRED_TOKEN`` (it is consumed too).
        """
        return await self._consume(self._token_id(value))

    async def invalidate(self, value: str) -> None:
        """Delete a token; succeeds if it does not exist.

        Raises:
            LuciaTokenError: ``INVALID_TOKEN`` for a malformed value (no query is made).
        """
        await self.auth.delete_key(self._provider_id, self._token_id(value))


class PasswordTokenWrapper(_TokenStore):
    """Short codes a person types (one-time passwords sent by email or SMS).

    Make one with :func:`password_token`. A code is validated together with the user id,
    and is bound to it: the stored id is SHA-256 of the user id and the code.

    Attempt limit: each validation first claims one of :data:`MAX_ATTEMPTS` attempt slots
    of the user and name. A slot is a single-use key ``lucia-code-attempt.<name>:<SHA-256
    of the user id>.<n>`` whose uniqueness the database enforces, so concurrent wrong
    guesses can never check more than :data:`MAX_ATTEMPTS` codes. The failure that uses the
    last slot invalidates all the user's codes of this name; later validations are refused
    without checking the code. A successful validation, and issuing a new code, free the
    slots again.
    """

    _prefix = "lucia-code"

    def __init__(
        self,
        auth: Lucia,
        name: str,
        expires_in: timedelta,
        *,
        length: int = 8,
        digits_only: bool = True,
        supersede: bool = True,
    ) -> None:
        super().__init__(auth, name, expires_in, supersede=supersede)
        self.length = _check_length(length, MIN_CODE_LENGTH, MAX_CODE_LENGTH)
        self.digits_only = digits_only
        self._alphabet = _DIGITS if digits_only else _CODE_ALPHABET
        self._pattern = re.compile(f"[{re.escape(self._alphabet)}]{{{self.length}}}")
        self._attempt_provider_id = f"lucia-code-attempt.{self.name}"

    def _code(self, value: object) -> str:
        """The normalised code; a malformed value is refused here, before any query."""
        if not isinstance(value, str) or len(value) != self.length or not value.isascii():
            raise LuciaTokenError("INVALID_TOKEN", "malformed code")
        code = value if self.digits_only else value.upper()
        if self._pattern.fullmatch(code) is None:
            raise LuciaTokenError("INVALID_TOKEN", "malformed code")
        return code

    def _attempt_ids(self, user_id: str) -> list[str]:
        user_hash = _sha256(user_id)
        return [f"{user_hash}.{n}" for n in range(1, MAX_ATTEMPTS + 1)]

    async def _claim_attempt(self, user_id: str) -> int | None:
        """Take the first free attempt slot (1-based); ``None`` when every slot is taken."""
        for number, attempt_id in enumerate(self._attempt_ids(user_id), start=1):
            try:
                await self.auth.create_key(
                    user_id,
                    provider_id=self._attempt_provider_id,
                    provider_user_id=attempt_id,
                    password=None,
                    expires_in=self.expires_in,
                )
            except LuciaError as exc:
                if exc.code == "AUTH_DUPLICATE_KEY_ID":
                    continue
                if exc.code == "AUTH_INVALID_USER_ID":
                    raise LuciaTokenError("INVALID_TOKEN") from None
                raise
            return number
        return None

    async def _free_attempts(self, user_id: str) -> None:
        for attempt_id in self._attempt_ids(user_id):
            await self.auth.delete_key(self._attempt_provider_id, attempt_id)

    async def issue(self, user_id: str) -> Token:
        """Create a code for a user; ``Token.value`` is what the user is sent.

        With ``supersede`` (the default) the user's older codes of this name stop
        working. Issuing frees the attempt slots: each new code gets
        :data:`MAX_ATTEMPTS` guesses, so rate-limit how often a user may ask for one.

        Raises:
            LuciaError: ``AUTH_INVALID_USER_ID`` for an unknown user, ``AUTH_INVALID_INPUT``
                for a malformed user id.
        """
        check_id(user_id, "user_id")
        code = _random_string(self._alphabet, self.length)
        token = await self._issue(user_id, _sha256(user_id, code), code)
        await self._free_attempts(user_id)
        return token

    async def validate(self, value: str, user_id: str) -> Token:
        """Consume a user's code and return it.

        Raises:
            LuciaTokenError: ``INVALID_TOKEN`` (malformed, wrong, already used,
                superseded, of another name or user, or too many failed attempts),
                ``EXPIRED_TOKEN``.
            LuciaError: ``AUTH_INVALID_INPUT`` for a malformed user id.
        """
        code = self._code(value)
        check_id(user_id, "user_id")
        slot = await self._claim_attempt(user_id)
        if slot is None:
            await self.invalidate_all_user_tokens(user_id)
            raise LuciaTokenError("INVALID_TOKEN", "too many failed attempts: ask for a new code")
        try:
            token = await self._consume(_sha256(user_id, code))
        except LuciaTokenError:
            if slot == MAX_ATTEMPTS:
                await self.invalidate_all_user_tokens(user_id)
                logger.info("too many failed %s codes for user %s: its codes are invalidated", self.name, user_id)
            raise
        await self._free_attempts(user_id)
        return token

    async def invalidate(self, value: str, user_id: str) -> None:
        """Delete a user's code; succeeds if it does not exist.

        Raises:
            LuciaTokenError: ``INVALID_TOKEN`` for a malformed value (no query is made).
            LuciaError: ``AUTH_INVALID_INPUT`` for a malformed user id.
        """
        code = self._code(value)
        await self.auth.delete_key(self._provider_id, _sha256(check_id(user_id, "user_id"), code))


def id_token(
    auth: Lucia, name: str, expires_in: timedelta, *, length: int = 43, supersede: bool = True
) -> IdTokenWrapper:
    """Long random tokens for links, such as email verification and password reset.

    Args:
        auth: The ``Lucia`` object whose adapter stores the tokens.
        name: The purpose, 1 to 64 characters of ``[A-Za-z0-9_-]``. Tokens of different
            names never validate as each other.
        expires_in: The lifetime of a token (password reset: about an hour; email
            verification: at most a day).
        length: Characters of base64url, at least 43 (256 bits).
        supersede: Issuing a token invalidates the user's older ones of this name.

    Returns:
        The wrapper with ``issue``, ``validate``, ``invalidate``, ``get_all_user_tokens``
        and ``invalidate_all_user_tokens``.

    Raises:
        ValueError: For a bad name, lifetime or length.
    """
    return IdTokenWrapper(auth, name, expires_in, length=length, supersede=supersede)


def password_token(
    auth: Lucia,
    name: str,
    expires_in: timedelta,
    *,
    length: int = 8,
    digits_only: bool = True,
    supersede: bool = True,
) -> PasswordTokenWrapper:
    """Short one-time codes a person types, validated with the user id and attempt-limited.

    Args:
        auth: The ``Lucia`` object whose adapter stores the codes.
        name: The purpose, 1 to 64 characters of ``[A-Za-z0-9_-]``.
        expires_in: The lifetime of a code; keep it short (minutes).
        length: Characters, at least 8.
        digits_only: Digits (default), or else 32 unambiguous upper-case letters and
            digits (validation accepts lower case).
        supersede: Issuing a code invalidates the user's older ones of this name.

    Returns:
        The wrapper with ``issue``, ``validate(value, user_id)``, ``invalidate(value,
        user_id)``, ``get_all_user_tokens`` and ``invalidate_all_user_tokens``.

    Raises:
        ValueError: For a bad name, lifetime or length.
    """
    return PasswordTokenWrapper(auth, name, expires_in, length=length, digits_only=digits_only, supersede=supersede)
