"""Link tokens and typed one-time codes, stored as single-use keys through the adapter.

Storage (the one home of the layout; ``docs/tokens/storage.md`` shows it with examples).
Every token is a single-use key of its user (an ``auth_key`` row: ``id``, ``user_id``,
``hashed_password``, ``expires``), so deleting the user deletes its tokens. Nothing that
is stored, logged, printed or listed lets a value be recovered offline (SECURITY H2):

* Link token (:func:`id_token`, at least 256 bits): key ``lucia-token.<name>:<h>``
  without a password, ``h`` = SHA-256 hex of the value (of ``value NUL bind digest``
  when bound). Nobody searches 2**256 candidates, so a fast hash is enough.
* Typed code with a ``secret`` (keyed): key ``lucia-code.<name>:<handle>.<mac>`` without
  a password. ``handle`` is 128 random bits (hex); ``mac`` is HMAC-SHA-256, keyed with the
  application's secret, of ``"lucia-code" NUL name NUL user id NUL handle NUL code NUL
  bind digest`` (empty when unbound). A dump without the secret cannot be searched.
* Typed code without a secret (hashed): key ``lucia-code.<name>:<SHA-256 hex of the user
  id>`` whose *password* is the code (``code:<bind digest>`` when bound), hashed by the
  ``Lucia`` object's password hasher (Argon2id: salted and slow) and checked by
  ``auth.use_key``. The key id is derivable without the code, so a user has one live code
  per name, and the core's per-key brute-force throttle applies to it.
* Attempt slots of typed codes: keys ``lucia-code-attempt.<name>:<SHA-256 hex of the user
  id>.<n>``, ``n`` = 1 .. :data:`MAX_ATTEMPTS`.

The bind digest is SHA-256 hex of ``"lucia-bind" NUL bind``. Consuming a token is the
core's atomic :meth:`lucia.Lucia.use_key`: of N concurrent validations exactly one wins.
A ``Token`` carries a ``token_id`` *handle*, not a stored secret (see :class:`Token`).
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import re
import secrets
import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar

from lucia import Key, Lucia, LuciaError
from lucia.redaction import SECRET, redacted
from lucia_tokens._crypto import HmacKey, random_string, sha256_hex
from lucia_tokens._errors import LuciaTokenError
from lucia_tokens._inputs import bind_digest, check_user_id
from lucia_tokens._throttle import guarded_check

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
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_KEYED_CODE = re.compile(r"(?P<handle>[0-9a-f]{32})\.(?P<mac>[0-9a-f]{64})")


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


@redacted
@dataclass(frozen=True, slots=True)
class Token:
    """An issued or validated token.

    Its ``repr`` (and so ``str`` and log lines) shows neither the value nor the
    ``token_id``.

    Attributes:
        name: The purpose the token was issued for (``"email_verification"``, ...).
        user_id: The user it belongs to.
        token_id: An opaque handle, the same on the token :meth:`issue` returns and in
            ``get_all_user_tokens``. Not a secret, and nothing about the value can be
            learned from it: for link tokens the SHA-256 of the value (a 256-bit value
            cannot be searched for); for typed codes a value independent of the code.
        expires_at: When it stops validating (timezone-aware UTC).
        expired: Whether it had expired when this object was made.
        value: The secret to send to the user. Set only on the object :meth:`issue`
            returns; tokens read back from storage have ``None``. It prints as
            ``'**********'``.
    """

    name: str
    user_id: str
    token_id: str = field(repr=False)
    expires_at: datetime
    expired: bool = False
    value: str | None = field(default=None, metadata=SECRET)


class _TokenStore:
    """What both wrappers share: one key provider id per name, create, consume, list, delete."""

    _prefix: ClassVar[str] = ""

    def __init__(self, auth: Lucia, name: str, expires_in: timedelta, *, supersede: bool) -> None:
        self.auth = auth
        self.name = _check_name(name)
        self.expires_in = _check_expires_in(expires_in)
        self.supersede = supersede
        self._provider_id = f"{self._prefix}.{self.name}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, expires_in={self.expires_in!r})"

    def _token_id(self, key: Key) -> str | None:
        """The handle of one of this wrapper's keys; ``None`` for a key it does not recognise."""
        raise NotImplementedError

    def _token(self, key: Key, *, value: str | None = None) -> Token:
        token_id = self._token_id(key)
        if token_id is None or key.expires_at is None:  # our keys are single-use, of a known form
            raise LuciaTokenError("INVALID_TOKEN")
        return Token(
            name=self.name,
            user_id=key.user_id,
            token_id=token_id,
            expires_at=key.expires_at,
            expired=key.is_expired,
            value=value,
        )

    async def _create(self, user_id: str, provider_user_id: str, *, password: str | None = None) -> Key:
        return await self.auth.create_key(
            user_id,
            provider_id=self._provider_id,
            provider_user_id=provider_user_id,
            password=password,
            expires_in=self.expires_in,
        )

    async def _consume(self, provider_user_id: str, password: str | None = None) -> Key:
        """Use one of this wrapper's keys through the core: verified, consumed atomically."""
        try:
            key = await self.auth.use_key(self._provider_id, provider_user_id, password)
        except LuciaError as exc:
            if exc.code == "AUTH_EXPIRED_KEY":
                raise LuciaTokenError("EXPIRED_TOKEN") from None
            if exc.code in ("AUTH_INVALID_KEY_ID", "AUTH_INVALID_PASSWORD"):
                raise LuciaTokenError("INVALID_TOKEN") from None
            raise
        if key.type != "single_use":  # not one of ours: never treat a persistent key as a token
            raise LuciaTokenError("INVALID_TOKEN")
        return key

    async def _keys(self, user_id: str) -> list[Key]:
        """This wrapper's stored keys of a user (expired ones included); none for an unknown user."""
        try:
            keys = await self.auth.get_all_user_keys(user_id)
        except LuciaError as exc:
            if exc.code == "AUTH_INVALID_USER_ID":
                return []
            raise
        return [key for key in keys if key.provider_id == self._provider_id and key.type == "single_use"]

    async def _delete_user_tokens(self, user_id: str, *, keep: str | None = None) -> None:
        for key in await self._keys(user_id):
            if key.provider_user_id != keep:
                await self.auth.delete_key(self._provider_id, key.provider_user_id)

    async def get_all_user_tokens(self, user_id: str) -> list[Token]:
        """The user's live tokens of this name, soonest to expire first (``value`` is ``None``).

        Expired ones, and keys of this name in a form the wrapper no longer issues (codes
        stored by earlier versions), are deleted on the way when the ``Lucia`` object has
        ``auto_database_cleanup`` (the default), and never listed.

        Raises:
            LuciaError: ``AUTH_INVALID_USER_ID`` for an unknown user, ``AUTH_INVALID_INPUT``
                for a malformed user id.
        """
        live: list[Token] = []
        for key in await self.auth.get_all_user_keys(check_user_id(user_id)):
            if key.provider_id != self._provider_id or key.type != "single_use":
                continue
            if key.is_expired or self._token_id(key) is None:
                if self.auth.auto_database_cleanup:
                    await self.auth.delete_key(key.provider_id, key.provider_user_id)
                continue
            live.append(self._token(key))
        return sorted(live, key=lambda token: token.expires_at)

    async def invalidate_all_user_tokens(self, user_id: str) -> None:
        """Delete every token of this name of a user. Succeeds for an unknown user.

        Raises:
            LuciaError: ``AUTH_INVALID_INPUT`` for a malformed user id.
        """
        await self._delete_user_tokens(check_user_id(user_id))
        logger.debug("invalidated every %s token of user %s", self.name, user_id)


class IdTokenWrapper(_TokenStore):
    """Long random tokens for links: email verification, password reset.

    Make one with :func:`id_token`. A token is 43 base64url characters (258 bits from
    :mod:`secrets`) by default, stored as the SHA-256 of its value, bound to its user
    and name (and, with ``bind=``, to a value such as the address it was mailed to),
    single use, and expires after ``expires_in``.
    """

    _prefix = "lucia-token"

    def __init__(
        self, auth: Lucia, name: str, expires_in: timedelta, *, length: int = 43, supersede: bool = True
    ) -> None:
        super().__init__(auth, name, expires_in, supersede=supersede)
        self.length = _check_length(length, MIN_LINK_TOKEN_LENGTH, MAX_LINK_TOKEN_LENGTH)
        self._pattern = re.compile(f"[A-Za-z0-9_-]{{{self.length}}}")

    def _stored_id(self, value: object, bind: object) -> str:
        """The stored id of a value; a malformed value or bind is refused here, before any query."""
        if (
            not isinstance(value, str)
            or len(value) != self.length
            or not value.isascii()
            or self._pattern.fullmatch(value) is None
        ):
            raise LuciaTokenError("INVALID_TOKEN", "malformed token")
        digest = bind_digest(bind)
        return sha256_hex(value) if digest is None else sha256_hex(value, digest)

    def _token_id(self, key: Key) -> str | None:
        return key.provider_user_id if _SHA256_HEX.fullmatch(key.provider_user_id) else None

    async def issue(self, user_id: str, *, bind: str | None = None) -> Token:
        """Create a token for a user; ``Token.value`` is what goes into the link.

        With ``supersede`` (the default) the user's older tokens of this name stop working.

        Args:
            user_id: The user.
            bind: A value the token is bound to, typically the email address the link is
                mailed to (SECURITY H14): :meth:`validate` must be given the same value,
                so a token stops working once the user's address has changed. Compared
                exactly: pass the same normalised form both times.

        Raises:
            LuciaError: ``AUTH_INVALID_USER_ID`` for an unknown user, ``AUTH_INVALID_INPUT``
                for a malformed user id or ``bind``.
        """
        user_id = check_user_id(user_id)
        value = random_string(_LINK_ALPHABET, self.length)
        key = await self._create(user_id, self._stored_id(value, bind))
        if self.supersede:
            # Insert first, then delete the others: two concurrent issues can at worst
            # delete each other's token (fail closed), never leave two alive.
            await self._delete_user_tokens(user_id, keep=key.provider_user_id)
        logger.debug("issued a %s token for user %s", self.name, user_id)
        return self._token(key, value=value)

    async def validate(self, value: str, *, bind: str | None = None) -> Token:
        """Consume a token and return it (``Token.user_id`` says whose it is).

        A token validates once: of concurrent validations exactly one succeeds.

        Args:
            value: The token from the link.
            bind: The value the token was bound to when issued, as it is *now* (the
                user's current email address); ``None`` for an unbound token.

        Raises:
            LuciaTokenError: ``INVALID_TOKEN`` (malformed, unknown, already used,
                superseded, of another name, or bound to another value),
                ``EXPIRED_TOKEN`` (it is consumed too).
            LuciaError: ``AUTH_INVALID_INPUT`` for a malformed ``bind``.
        """
        key = await self._consume(self._stored_id(value, bind))
        logger.debug("validated a %s token of user %s", self.name, key.user_id)
        return self._token(key)

    async def invalidate(self, value: str, *, bind: str | None = None) -> None:
        """Delete a token (give the ``bind`` it was issued with); succeeds if it does not exist.

        Raises:
            LuciaTokenError: ``INVALID_TOKEN`` for a malformed value (no query is made).
            LuciaError: ``AUTH_INVALID_INPUT`` for a malformed ``bind``.
        """
        await self.auth.delete_key(self._provider_id, self._stored_id(value, bind))


class PasswordTokenWrapper(_TokenStore):
    """Short codes a person types (one-time passwords sent by email or SMS, recovery codes).

    Make one with :func:`password_token`. A code is validated together with the user id
    and is bound to it. How a code is stored (see the module docstring): with a
    ``secret``, as an HMAC keyed with it; without, hashed by the ``Lucia`` object's
    password hasher as the password of the user's one code key of this name, checked
    by ``auth.use_key``. Either way a database dump alone does not yield a code.

    Attempt limit: each validation first claims one of :data:`MAX_ATTEMPTS` attempt slots
    of the user and name. A slot is a single-use key whose uniqueness the database
    enforces, so concurrent wrong guesses can never check more than :data:`MAX_ATTEMPTS`
    codes. The failure that uses the last slot invalidates all the user's codes of this
    name; later validations are refused without checking the code. A successful
    validation, and issuing a new code, free the slots again.
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
        secret: str | bytes | None = None,
    ) -> None:
        super().__init__(auth, name, expires_in, supersede=supersede)
        self.length = _check_length(length, MIN_CODE_LENGTH, MAX_CODE_LENGTH)
        self.digits_only = digits_only
        self._mac_key = None if secret is None else HmacKey(secret)
        if self._mac_key is None and not supersede:
            raise ValueError(
                "supersede=False (several live codes per user) needs a secret: password_token(..., secret=...)"
            )
        self._alphabet = _DIGITS if digits_only else _CODE_ALPHABET
        self._pattern = re.compile(f"[{re.escape(self._alphabet)}]{{{self.length}}}")
        self._attempt_provider_id = f"lucia-code-attempt.{self.name}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, expires_in={self.expires_in!r}, "
            f"keyed={self._mac_key is not None!r})"
        )

    # -- stored forms ----------------------------------------------------------------

    def _code(self, value: object) -> str:
        """The normalised code; a malformed value is refused here, before any query."""
        if not isinstance(value, str) or len(value) != self.length or not value.isascii():
            raise LuciaTokenError("INVALID_TOKEN", "malformed code")
        code = value if self.digits_only else value.upper()
        if self._pattern.fullmatch(code) is None:
            raise LuciaTokenError("INVALID_TOKEN", "malformed code")
        return code

    def _mac(self, mac_key: HmacKey, user_id: str, handle: str, code: str, digest: str | None) -> str:
        return mac_key.hexdigest("lucia-code", self.name, user_id, handle, code, digest or "")

    @staticmethod
    def _code_key_id(user_id: str) -> str:
        """The one code key of a user and name when there is no secret: derivable without the code."""
        return sha256_hex(user_id)

    @staticmethod
    def _password(code: str, digest: str | None) -> str:
        return code if digest is None else f"{code}:{digest}"

    def _token_id(self, key: Key) -> str | None:
        keyed = _KEYED_CODE.fullmatch(key.provider_user_id)
        if keyed is not None and not key.password_defined:
            return keyed["handle"]
        if key.password_defined and key.provider_user_id == self._code_key_id(key.user_id):
            # One key id per user and name: a handle of the key and its expiry tells one
            # issued code from the next without anything of the code in it.
            assert key.expires_at is not None  # single-use keys only (filtered by the callers)
            return sha256_hex(self._provider_id, key.provider_user_id, key.expires_at.isoformat())[:32]
        return None  # a code stored by an earlier version (unkeyed SHA-256), or not ours

    async def _find_keyed(self, mac_key: HmacKey, user_id: str, code: str, digest: str | None) -> str | None:
        """The provider user id of the user's keyed code equal to ``code``, or ``None``."""
        found: str | None = None
        for key in await self._keys(user_id):
            keyed = _KEYED_CODE.fullmatch(key.provider_user_id)
            if keyed is None or key.password_defined:
                continue
            expected = self._mac(mac_key, user_id, keyed["handle"], code, digest)
            if hmac.compare_digest(expected, keyed["mac"]):
                found = key.provider_user_id
        return found

    async def _check(self, user_id: str, code: str, digest: str | None) -> Key:
        """Verify and consume the user's code, or raise ``LuciaTokenError``."""
        mac_key = self._mac_key
        if mac_key is None:
            # Throttled per key by the core (issue #14): the key id is one per user and name.
            return await self._consume(self._code_key_id(user_id), self._password(code, digest))

        async def check_keyed() -> Key:
            found = await self._find_keyed(mac_key, user_id, code, digest)
            if found is None:
                raise LuciaTokenError("INVALID_TOKEN")
            return await self._consume(found)

        async def live() -> bool:
            keys = await self._keys(user_id)
            return any(_KEYED_CODE.fullmatch(k.provider_user_id) and not k.is_expired for k in keys)

        return await guarded_check(self.auth, scope=self._provider_id, user_id=user_id, check=check_keyed, live=live)

    # -- attempt slots ---------------------------------------------------------------

    def _attempt_ids(self, user_id: str) -> list[str]:
        user_hash = sha256_hex(user_id)
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

    async def _free_attempts(self, user_id: str, *numbers: int) -> None:
        """Free the given attempt slots (1-based), or every slot."""
        for number, attempt_id in enumerate(self._attempt_ids(user_id), start=1):
            if not numbers or number in numbers:
                await self.auth.delete_key(self._attempt_provider_id, attempt_id)

    # -- public API ------------------------------------------------------------------

    async def issue(self, user_id: str, *, bind: str | None = None) -> Token:
        """Create a code for a user; ``Token.value`` is what the user is sent.

        With ``supersede`` (the default, and always without a secret) the user's older
        codes of this name stop working. Issuing frees the attempt slots: each new code
        gets :data:`MAX_ATTEMPTS` guesses, so rate-limit how often a user may ask for one.

        Args:
            user_id: The user.
            bind: A value the code is bound to (the address it is sent to, SECURITY H14);
                :meth:`validate` must be given the same value.

        Raises:
            LuciaError: ``AUTH_INVALID_USER_ID`` for an unknown user, ``AUTH_INVALID_INPUT``
                for a malformed user id or ``bind``.
        """
        user_id = check_user_id(user_id)
        digest = bind_digest(bind)
        code = random_string(self._alphabet, self.length)
        if self._mac_key is not None:
            handle = secrets.token_hex(16)
            key = await self._create(user_id, f"{handle}.{self._mac(self._mac_key, user_id, handle, code, digest)}")
            if self.supersede:
                await self._delete_user_tokens(user_id, keep=key.provider_user_id)
        else:
            key_id = self._code_key_id(user_id)
            password = self._password(code, digest)
            try:
                key = await self._create(user_id, key_id, password=password)
            except LuciaError as exc:
                if exc.code != "AUTH_DUPLICATE_KEY_ID":
                    raise
                await self.auth.delete_key(self._provider_id, key_id)  # the user's previous code
                key = await self._create(user_id, key_id, password=password)
            await self._delete_user_tokens(user_id, keep=key_id)  # keyed or earlier-version codes of this name
        await self._free_attempts(user_id)
        logger.debug("issued a %s code for user %s", self.name, user_id)
        return self._token(key, value=code)

    async def validate(self, value: str, user_id: str, *, bind: str | None = None) -> Token:
        """Consume a user's code and return it.

        Args:
            value: What the user typed.
            user_id: Whose code it is.
            bind: The value the code was bound to when issued, as it is now.

        Raises:
            LuciaTokenError: ``INVALID_TOKEN`` (malformed, wrong, already used,
                superseded, of another name, user or bound value, or too many failed
                attempts), ``EXPIRED_TOKEN``.
            LuciaError: ``AUTH_INVALID_INPUT`` for a malformed user id or ``bind``;
                ``AUTH_TOO_MANY_REQUESTS`` when the core throttles the user's guesses.
        """
        code = self._code(value)
        user_id = check_user_id(user_id)
        digest = bind_digest(bind)
        slot = await self._claim_attempt(user_id)
        if slot is None:
            raise LuciaTokenError("INVALID_TOKEN", "too many failed attempts: ask for a new code")
        try:
            key = await self._check(user_id, code, digest)
        except LuciaTokenError:
            if slot == MAX_ATTEMPTS:
                await self.invalidate_all_user_tokens(user_id)
                logger.info("too many failed %s codes for user %s: its codes are invalidated", self.name, user_id)
            raise
        except LuciaError as exc:
            if exc.code == "AUTH_TOO_MANY_REQUESTS":
                await self._free_attempts(user_id, slot)  # a throttled attempt checked nothing
            raise
        await self._free_attempts(user_id)
        logger.debug("validated a %s code of user %s", self.name, user_id)
        return self._token(key)

    async def invalidate(self, value: str, user_id: str, *, bind: str | None = None) -> None:
        """Delete a user's code (give the ``bind`` it was issued with); succeeds if it does not exist.

        Raises:
            LuciaTokenError: ``INVALID_TOKEN`` for a malformed value (no query is made).
            LuciaError: ``AUTH_INVALID_INPUT`` for a malformed user id or ``bind``.
        """
        code = self._code(value)
        user_id = check_user_id(user_id)
        digest = bind_digest(bind)
        if self._mac_key is None:
            with contextlib.suppress(LuciaTokenError):  # consuming is deleting; another code leaves it alone
                await self._consume(self._code_key_id(user_id), self._password(code, digest))
            return
        found = await self._find_keyed(self._mac_key, user_id, code, digest)
        if found is not None:
            await self.auth.delete_key(self._provider_id, found)


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
        The wrapper with ``issue(user_id, *, bind=None)``, ``validate(value, *, bind=None)``,
        ``invalidate``, ``get_all_user_tokens`` and ``invalidate_all_user_tokens``.

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
    secret: str | bytes | None = None,
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
            ``False`` (several live codes, e.g. recovery codes) needs a ``secret``.
        secret: The application's secret (``str`` or ``bytes``, at least 32 bytes, e.g.
            ``secrets.token_hex(32)`` from your configuration, never from the database).
            With it a code is stored as an HMAC keyed with it: fast to check, useless
            without the secret. Without it a code is hashed by the ``Lucia`` object's
            password hasher and checked by ``auth.use_key`` (one live code per user and
            name). Changing the secret invalidates the live codes.

    Returns:
        The wrapper with ``issue``, ``validate(value, user_id)``, ``invalidate(value,
        user_id)``, ``get_all_user_tokens`` and ``invalidate_all_user_tokens``.

    Raises:
        ValueError: For a bad name, lifetime, length or secret, or ``supersede=False``
            without a secret. The message never shows the secret.
    """
    return PasswordTokenWrapper(
        auth, name, expires_in, length=length, digits_only=digits_only, supersede=supersede, secret=secret
    )
