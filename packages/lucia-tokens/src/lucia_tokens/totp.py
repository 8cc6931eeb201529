"""TOTP (RFC 6238) for two-factor sign-in: secrets, provisioning URIs, verification.

The pure functions do no I/O; :class:`TOTPVerifier` adds replay refusal through the
``Lucia`` object's adapter (RFC 6238 section 5.2): once a code is accepted, neither it nor
the code of any earlier time step is accepted again for that user, in every process::

    from lucia_tokens.totp import TOTPVerifier, generate_secret, provisioning_uri

    secret = generate_secret()  # store it with the user, show the URI as a QR code
    uri = provisioning_uri(secret, account_name="ada@example.com", issuer="Example")
    await TOTPVerifier(auth).verify(user.user_id, secret, code_from_the_form)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import math
import re
import secrets
import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal, get_args
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from lucia import Key, Lucia, LuciaError
from lucia.redaction import SECRET, redacted
from lucia_tokens._crypto import sha256_hex
from lucia_tokens._errors import LuciaTokenError
from lucia_tokens._inputs import check_user_id
from lucia_tokens._throttle import guarded_check

__all__ = [
    "Algorithm",
    "TOTPParameters",
    "TOTPVerifier",
    "generate_secret",
    "generate_totp",
    "parse_provisioning_uri",
    "provisioning_uri",
    "verify_totp",
]

logger = logging.getLogger("lucia_tokens")

Algorithm = Literal["SHA1", "SHA256", "SHA512"]
_ALGORITHMS: frozenset[str] = frozenset(get_args(Algorithm))
_DIGESTS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}
_MAX_SECRET_LENGTH = 1024  # base32 characters (640 bytes), far above any real secret
_MAX_URI_LENGTH = 4096
_MAX_LABEL_LENGTH = 255  # account name and issuer, in characters
_BASE32 = re.compile(r"[A-Z2-7]+=*")
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _check_options(digits: int, algorithm: str, period: int) -> None:
    if isinstance(digits, bool) or not isinstance(digits, int) or not 6 <= digits <= 8:
        raise ValueError("digits must be 6, 7 or 8")
    if algorithm not in _ALGORITHMS:
        raise ValueError("algorithm must be 'SHA1', 'SHA256' or 'SHA512'")
    if isinstance(period, bool) or not isinstance(period, int) or not 1 <= period <= 3600:
        raise ValueError("period must be a whole number of seconds from 1 to 3600")


def _normalise_secret(secret: str) -> str:
    """Upper-case base32 without spaces or padding; ``ValueError`` if it is not base32."""
    if not isinstance(secret, str) or len(secret) > _MAX_SECRET_LENGTH:
        raise ValueError("a TOTP secret is a base32 string")
    cleaned = secret.replace(" ", "").upper().rstrip("=")
    if not cleaned or not cleaned.isascii() or _BASE32.fullmatch(cleaned) is None:
        raise ValueError("a TOTP secret is a base32 string")
    return cleaned


def _secret_bytes(secret: str) -> bytes:
    cleaned = _normalise_secret(secret)
    try:
        key = base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except binascii.Error:
        raise ValueError("a TOTP secret is a base32 string") from None
    if len(key) < 10:
        raise ValueError("a TOTP secret must be at least 80 bits (RFC 4226 recommends 160)")
    return key


def _hotp(key: bytes, counter: int, digits: int, algorithm: str) -> str:
    """RFC 4226 HOTP value of one counter (dynamic truncation)."""
    mac = hmac.new(key, struct.pack(">Q", counter), _DIGESTS[algorithm]).digest()
    offset = mac[-1] & 0x0F
    binary = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def _step(at: float | None, period: int) -> int:
    return math.floor((time.time() if at is None else at) / period)


def generate_secret(*, length: int = 20) -> str:
    """A new random TOTP secret from :mod:`secrets`, as base32 without padding.

    Args:
        length: Bytes of randomness, from 16 to 64; the default 20 (160 bits) is what
            RFC 4226 recommends and what authenticator apps expect for SHA-1.

    Returns:
        The secret: 32 base32 characters by default. Store it with the user; it is as
        sensitive as a password.
    """
    if isinstance(length, bool) or not isinstance(length, int) or not 16 <= length <= 64:
        raise ValueError("length must be from 16 to 64 bytes")
    return base64.b32encode(secrets.token_bytes(length)).decode("ascii").rstrip("=")


def generate_totp(
    secret: str, *, at: float | None = None, digits: int = 6, algorithm: Algorithm = "SHA1", period: int = 30
) -> str:
    """The TOTP code of a secret at a moment (RFC 6238, T0 = 0).

    Args:
        secret: The base32 secret (case and spaces do not matter).
        at: Seconds since the epoch; default now.
        digits: 6, 7 or 8.
        algorithm: ``"SHA1"`` (what most apps use), ``"SHA256"`` or ``"SHA512"``.
        period: The time step in seconds.

    Raises:
        ValueError: For a bad secret or option.
    """
    _check_options(digits, algorithm, period)
    return _hotp(_secret_bytes(secret), _step(at, period), digits, algorithm)


def verify_totp(
    secret: str,
    code: str,
    *,
    at: float | None = None,
    digits: int = 6,
    algorithm: Algorithm = "SHA1",
    period: int = 30,
    window: int = 1,
) -> int | None:
    """Check a code against the steps around a moment, in constant time.

    Every step of the window is computed and compared with :func:`hmac.compare_digest`,
    with no early exit. This function does not refuse replays: :class:`TOTPVerifier` does.

    Args:
        secret: The base32 secret.
        code: What the user typed. A malformed code (wrong length, not ASCII digits) is
            simply wrong.
        at: Seconds since the epoch; default now.
        digits: 6, 7 or 8.
        algorithm: ``"SHA1"``, ``"SHA256"`` or ``"SHA512"``.
        period: The time step in seconds.
        window: Steps accepted on each side of the current one (RFC 6238 section 5.2
            recommends at most one).

    Returns:
        The time step the code belongs to, or ``None`` if it matches none.

    Raises:
        ValueError: For a bad secret or option.
    """
    _check_options(digits, algorithm, period)
    if isinstance(window, bool) or not isinstance(window, int) or not 0 <= window <= 10:
        raise ValueError("window must be from 0 to 10 steps")
    key = _secret_bytes(secret)
    if not isinstance(code, str) or len(code) != digits or not code.isascii() or not code.isdigit():
        return None
    current = _step(at, period)
    matched: int | None = None
    for step in range(current - window, current + window + 1):
        if hmac.compare_digest(_hotp(key, step, digits, algorithm).encode("ascii"), code.encode("ascii")):
            matched = step
    return matched


@redacted
@dataclass(frozen=True, slots=True)
class TOTPParameters:
    """What a provisioning URI carries. The secret prints as ``'**********'``.

    Attributes:
        secret: The base32 secret (upper case, without padding).
        account_name: The account label (usually the email or username).
        issuer: The service name, or ``None``.
        digits: 6, 7 or 8.
        algorithm: ``"SHA1"``, ``"SHA256"`` or ``"SHA512"``.
        period: The time step in seconds.
    """

    secret: str = field(metadata=SECRET)
    account_name: str
    issuer: str | None = None
    digits: int = 6
    algorithm: Algorithm = "SHA1"
    period: int = 30


def _check_label(value: object, what: str) -> str:
    """An account name or issuer: non-empty text without ``:`` or NUL, valid Unicode, bounded."""
    if not isinstance(value, str) or not value or len(value) > _MAX_LABEL_LENGTH or ":" in value or "\x00" in value:
        raise ValueError(f"{what} must be 1 to {_MAX_LABEL_LENGTH} characters without ':' or NUL")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} must be valid Unicode text") from None
    return value


def provisioning_uri(
    secret: str,
    *,
    account_name: str,
    issuer: str | None = None,
    digits: int = 6,
    algorithm: Algorithm = "SHA1",
    period: int = 30,
) -> str:
    """The ``otpauth://totp/...`` URI an authenticator app scans (Google's Key URI format).

    Args:
        secret: The base32 secret.
        account_name: The account label, without ``:``.
        issuer: The service name, without ``:``; put in the label and the ``issuer`` parameter.
        digits: 6, 7 or 8.
        algorithm: ``"SHA1"``, ``"SHA256"`` or ``"SHA512"`` (many apps only support SHA-1).
        period: The time step in seconds.

    Raises:
        ValueError: For a bad secret, label or option.
    """
    _check_options(digits, algorithm, period)
    cleaned = _normalise_secret(secret)
    _secret_bytes(cleaned)
    label = quote(_check_label(account_name, "account_name"), safe="")
    query: dict[str, str] = {"secret": cleaned}
    if issuer is not None:
        label = f"{quote(_check_label(issuer, 'issuer'), safe='')}:{label}"
        query["issuer"] = issuer
    query.update(algorithm=algorithm, digits=str(digits), period=str(period))
    return f"otpauth://totp/{label}?{urlencode(query, quote_via=quote)}"


def parse_provisioning_uri(uri: str) -> TOTPParameters:
    """Read an ``otpauth://totp/...`` URI; missing options take the format's defaults.

    Raises:
        ValueError: If it is not a well-formed TOTP URI (HOTP is refused), has a bad
            secret or option, repeats a parameter, or names two different issuers.
    """
    if not isinstance(uri, str) or len(uri) > _MAX_URI_LENGTH:
        raise ValueError("not an otpauth URI")
    parts = urlsplit(uri)
    if parts.scheme.lower() != "otpauth":
        raise ValueError("not an otpauth URI")
    if parts.netloc.lower() != "totp":
        raise ValueError("not a TOTP URI")
    # Split the label on a literal ':' before unquoting: %3A belongs to a name.
    raw_label = parts.path.removeprefix("/")
    label_issuer: str | None = None
    if ":" in raw_label:
        raw_issuer, raw_account = raw_label.split(":", 1)
        label_issuer = unquote(raw_issuer)
        account_name = unquote(raw_account).lstrip(" ")
    else:
        account_name = unquote(raw_label)
    if not account_name:
        raise ValueError("the URI has no account name")
    params: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name in params:
            raise ValueError(f"the URI repeats the {name!r} parameter")
        params[name] = value
    issuer = params.get("issuer") or label_issuer
    if label_issuer is not None and issuer != label_issuer:
        raise ValueError("the label and the issuer parameter name different issuers")
    if "secret" not in params:
        raise ValueError("the URI has no secret")
    secret = _normalise_secret(params["secret"])
    _secret_bytes(secret)
    algorithm = params.get("algorithm", "SHA1").upper()
    try:
        digits = int(params.get("digits", "6"))
        period = int(params.get("period", "30"))
    except ValueError:
        raise ValueError("digits and period must be whole numbers") from None
    _check_options(digits, algorithm, period)
    return TOTPParameters(
        secret=secret,
        account_name=account_name,
        issuer=issuer or None,
        digits=digits,
        algorithm=algorithm,  # type: ignore[arg-type]  # checked by _check_options
        period=period,
    )


class TOTPVerifier:
    """TOTP verification with replay refusal stored through a ``Lucia`` object's adapter.

    RFC 6238 section 5.2: once a code of time step *t* is accepted for a user, every code
    of a step <= *t* is refused, in every process that shares the database; of concurrent
    submissions of one code exactly one is accepted. The clock is the ``Lucia`` object's.

    How it is stored, atomically, with the core's public API only: accepting step *t*
    first *inserts* a single-use key ``lucia-totp.<name>:<SHA-256 hex of the user id>.<t>``
    (the database's unique index lets one of several concurrent inserts of one step
    through), *then* reads the user's records and refuses if one of a later step exists.
    The highest accepted step is the highest record. Of two accepted steps, the one whose
    read came first cannot have seen the other's insert, so that insert came after its
    read, and the other's read (after its own insert) saw the first record: the two were
    accepted in increasing order, never *t* then something <= *t*. A refused attempt leaves
    its record behind, which only refuses steps that are refused anyway. A record expires
    when its step leaves the window, after which the window itself refuses its steps, and
    is deleted later. Malformed codes never reach the database.

    Limit failed attempts too: a six-digit code falls to about a million guesses. The
    per-user throttle of the core (issue #14) will guard :meth:`verify`; until then, count
    failures yourself (the two-factor guide shows a flow that needs the password per guess).

    Args:
        auth: The ``Lucia`` object.
        name: Keeps several TOTP factors apart (``[A-Za-z0-9_-]``, at most 64). Use one
            configuration per name.
        digits: 6, 7 or 8.
        algorithm: ``"SHA1"``, ``"SHA256"`` or ``"SHA512"``.
        period: The time step in seconds.
        window: Steps accepted on each side of the current one.
    """

    def __init__(
        self,
        auth: Lucia,
        *,
        name: str = "totp",
        digits: int = 6,
        algorithm: Algorithm = "SHA1",
        period: int = 30,
        window: int = 1,
    ) -> None:
        _check_options(digits, algorithm, period)
        if not isinstance(name, str) or _NAME.fullmatch(name) is None:
            raise ValueError("name must be 1 to 64 characters of [A-Za-z0-9_-]")
        if isinstance(window, bool) or not isinstance(window, int) or not 0 <= window <= 10:
            raise ValueError("window must be from 0 to 10 steps")
        self.auth = auth
        self.name = name
        self.digits = digits
        self.algorithm: Algorithm = algorithm
        self.period = period
        self.window = window
        self._provider_id = f"lucia-totp.{name}"

    def __repr__(self) -> str:
        return f"TOTPVerifier(name={self.name!r}, digits={self.digits}, algorithm={self.algorithm!r})"

    async def verify(self, user_id: str, secret: str, code: str) -> None:
        """Accept a user's code once, or raise.

        Args:
            user_id: The user signing in (the replay records are stored as their keys).
            secret: The user's base32 secret.
            code: What the user typed.

        Raises:
            LuciaTokenError: ``INVALID_TOKEN`` for a wrong or malformed code, a replayed
                one, or one of a time step not after the last accepted one.
            LuciaError: ``AUTH_INVALID_INPUT`` for a malformed user id or secret;
                ``AUTH_TOO_MANY_REQUESTS`` when the core throttles the user's guesses.
        """
        user_id = check_user_id(user_id)
        try:
            _secret_bytes(secret)
        except ValueError:
            raise LuciaError("AUTH_INVALID_INPUT", "the TOTP secret must be base32 of at least 80 bits") from None
        if not isinstance(code, str) or len(code) != self.digits or not code.isascii() or not code.isdigit():
            raise LuciaTokenError("INVALID_TOKEN", "malformed code")
        await guarded_check(
            self.auth, scope=self._provider_id, user_id=user_id, check=lambda: self._accept(user_id, secret, code)
        )
        logger.debug("accepted a TOTP code of user %s", user_id)

    async def _accept(self, user_id: str, secret: str, code: str) -> None:
        now = self.auth.clock()
        step = verify_totp(
            secret, code, at=now, digits=self.digits, algorithm=self.algorithm, period=self.period, window=self.window
        )
        if step is None:
            raise LuciaTokenError("INVALID_TOKEN")
        user_hash = sha256_hex(user_id)
        # The record must outlive the last moment a code of this step is accepted.
        last_accepted = (step + self.window + 1) * self.period
        try:
            await self.auth.create_key(
                user_id,
                provider_id=self._provider_id,
                provider_user_id=f"{user_hash}.{step}",
                password=None,
                expires_in=timedelta(seconds=max(last_accepted - now, 1.0)),
            )
        except LuciaError as exc:
            if exc.code == "AUTH_DUPLICATE_KEY_ID":
                raise LuciaTokenError("INVALID_TOKEN", "this code was already used") from None
            if exc.code == "AUTH_INVALID_USER_ID":
                raise LuciaTokenError("INVALID_TOKEN") from None
            raise
        # Read after the insert (see the class docstring): a later step recorded means refuse.
        records = [key for key in await self.auth.get_all_user_keys(user_id) if key.provider_id == self._provider_id]
        if any(recorded > step for recorded in self._steps(records, user_hash)):
            raise LuciaTokenError("INVALID_TOKEN", "a code of a later time step was already used")
        if self.auth.auto_database_cleanup:
            for key in records:
                if key.is_expired:
                    await self.auth.delete_key(key.provider_id, key.provider_user_id)

    @staticmethod
    def _steps(records: Iterable[Key], user_hash: str) -> Iterable[int]:
        prefix = f"{user_hash}."
        for key in records:
            if key.provider_user_id.startswith(prefix):
                try:
                    yield int(key.provider_user_id[len(prefix) :])
                except ValueError:
                    continue
