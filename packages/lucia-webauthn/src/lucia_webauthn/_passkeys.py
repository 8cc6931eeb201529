"""The passkey ceremonies and credential management: :class:`Passkeys`.

The class holds the policy and does the I/O (the store, the ``Lucia`` object); reading
responses (:mod:`._response`), challenges (:mod:`._challenge`) and verification by
py_webauthn (:mod:`._verify`) are pure functions it calls.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any, Final

from webauthn import generate_authentication_options, generate_registration_options
from webauthn.helpers import options_to_json_dict
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from lucia import DuplicateKeyError, InvalidUserError, Lucia, User
from lucia.adapters import ChallengeRow, PasskeyAdapter, PasskeyCredentialRow
from lucia.cookies import Cookie, CookieAttributes, read_cookie
from lucia.validation import MAX_ID_LENGTH, check_id
from lucia_webauthn._challenge import (
    CeremonyKind,
    StoredChallenge,
    check_challenge_id,
    new_challenge,
    new_challenge_id,
    new_user_handle,
    read_stored_challenge,
    stored_challenge_id,
)
from lucia_webauthn._config import Requirement, check_expiry, check_origins, check_requirement, check_rp_id
from lucia_webauthn._credential import PasskeyCredential
from lucia_webauthn._errors import (
    WebAuthnChallengeError,
    WebAuthnCounterReplayError,
    WebAuthnResponseError,
    WebAuthnUnknownCredentialError,
)
from lucia_webauthn._response import (
    b64url_decode,
    parse_authentication_response,
    parse_registration_response,
)
from lucia_webauthn._verify import Asserted, Ceremony, verify_assertion, verify_registration

__all__ = ["CHALLENGE_COOKIE_NAMES", "Passkeys"]

logger = logging.getLogger("lucia_webauthn")

#: The challenge cookie of each ceremony (``__Host-`` prefixed in PROD). One per kind,
#: so that a registration started while the sign-in page's autofill ceremony waits
#: leaves that one intact.
CHALLENGE_COOKIE_NAMES: Final[Mapping[CeremonyKind, str]] = {
    "registration": "lucia_passkey_registration",
    "authentication": "lucia_passkey_authentication",
}

#: At most this many compare-and-set rounds per sign-in (each lost round is another's success).
_COUNTER_ATTEMPTS = 64


class Passkeys:
    """Passkey (WebAuthn) registration and sign-in for the users of a :class:`lucia.Lucia`.

    ::

        passkeys = Passkeys(auth, rp_id="example.com", rp_name="Example", origins=["https://example.com"])
        options, challenge_id = await passkeys.begin_authentication()  # usernameless
        # ... the page runs navigator.credentials.get(options) and posts credential.toJSON() ...
        user, credential = await passkeys.finish_authentication(challenge_id, posted_json)
        session = await auth.create_session(user.user_id)  # creating the session stays yours

    Each ceremony has a server-side challenge: 256 random bits, stored through the
    store under the SHA-256 of its id, single-use (consumed atomically by the first
    ``finish_*`` that reaches the store, successful or not), expiring on the ``Lucia``
    clock and bound to its kind and, for a registration, to the user. Verification
    (origin, RP ID hash, flags, signature, attestation) is py_webauthn's.

    Args:
        auth: The :class:`lucia.Lucia` whose users sign in with passkeys.
        rp_id: The relying party id: your registrable domain (``"example.com"``), or
            ``"localhost"`` in development. Credentials are bound to it for good.
        rp_name: The name browsers show (``"Example"``).
        origins: Every origin a ceremony may run on, exactly as the browser sends it
            (``["https://example.com", "https://www.example.com"]``); each must be on
            ``rp_id`` or a subdomain; ``http://`` only on loopback.
        challenge_expires_in: How long a ceremony may take (the options' ``timeout`` too).
        user_verification: ``"required"`` (default: a PIN or biometric every time, so a
            passkey alone is a strong sign-in), ``"preferred"`` or ``"discouraged"``.
        resident_key: ``"required"`` (default: discoverable credentials, so usernameless
            sign-in works), ``"preferred"`` or ``"discouraged"``.
        store: Where credentials and challenges live; default the auth's adapter (every
            adapter of this project that stores keys implements
            :class:`lucia.adapters.PasskeyAdapter`).

    Raises:
        ValueError: A malformed ``rp_id``, ``rp_name``, origin or expiry.
        TypeError: ``origins`` is one string, or the store does not store passkeys.
    """

    def __init__(
        self,
        auth: Lucia,
        *,
        rp_id: str,
        rp_name: str,
        origins: Sequence[str],
        challenge_expires_in: timedelta = timedelta(minutes=5),
        user_verification: Requirement = "required",
        resident_key: Requirement = "required",
        store: PasskeyAdapter | None = None,
    ) -> None:
        self.rp_id = check_rp_id(rp_id)
        if not isinstance(rp_name, str) or not rp_name.strip():
            raise ValueError("rp_name must be a non-empty string")
        self.rp_name = rp_name
        self.origins = check_origins(origins, self.rp_id)
        self.challenge_expires_in = check_expiry(challenge_expires_in)
        self.user_verification = check_requirement(user_verification, "user_verification")
        self.resident_key = check_requirement(resident_key, "resident_key")
        chosen: object = auth.users if store is None else store
        if not isinstance(chosen, PasskeyAdapter):
            raise TypeError(f"{type(chosen).__name__} does not store passkeys (lucia.adapters.PasskeyAdapter)")
        self.store: PasskeyAdapter = chosen
        self.auth = auth
        self._next_purge = 0

    def __repr__(self) -> str:
        return f"Passkeys(rp_id={self.rp_id!r}, origins={list(self.origins)!r})"

    # -- registration ----------------------------------------------------------------

    async def begin_registration(
        self, user_id: str, *, user_name: str, display_name: str | None = None
    ) -> tuple[dict[str, Any], str]:
        """Start adding a passkey to a user (after sign-up, or from their settings page).

        The options exclude the user's registered credentials (an authenticator that
        holds one refuses to make a second) and carry the user's random WebAuthn user
        handle: the one of their existing passkeys, or a new one for the first.

        Args:
            user_id: The user, who must exist.
            user_name: What the authenticator shows to tell accounts apart (an email
                or username); it is not stored by Lucia.
            display_name: A friendlier name; default ``user_name``.

        Returns:
            ``(options, challenge_id)``: ``options`` is the JSON-ready
            ``PublicKeyCredentialCreationOptionsJSON`` for the page; keep
            ``challenge_id`` for :meth:`finish_registration` (in
            :meth:`challenge_cookie`). Never show it to scripts.

        Raises:
            lucia.InvalidUserError: No such user.
            lucia.InvalidInputError: A malformed id or name.
        """
        user_id = check_id(user_id, "user_id")
        user_name = check_id(user_name, "user_name")
        display_name = user_name if display_name is None else check_id(display_name, "display_name")
        await self.auth.get_user(user_id)
        existing = await self._credentials_of(user_id)
        user_handle = existing[0].user_handle if existing else new_user_handle()
        challenge = new_challenge()
        options = generate_registration_options(
            rp_id=self.rp_id,
            rp_name=self.rp_name,
            user_name=user_name,
            user_id=b64url_decode(user_handle, "user handle"),
            user_display_name=display_name,
            challenge=challenge,
            timeout=self._timeout_ms,
            attestation=AttestationConveyancePreference.NONE,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement(self.resident_key),
                user_verification=UserVerificationRequirement(self.user_verification),
            ),
            exclude_credentials=[_descriptor(row) for row in existing],
        )
        challenge_id = await self._store_challenge(
            "registration", user_id, StoredChallenge(challenge=challenge, user_handle=user_handle)
        )
        return options_to_json_dict(options), challenge_id

    async def finish_registration(
        self,
        user_id: str,
        challenge_id: str | None,
        response: Mapping[str, Any] | str,
        *,
        name: str | None = None,
    ) -> PasskeyCredential:
        """Verify the browser's answer to :meth:`begin_registration` and store the passkey.

        Args:
            user_id: The user the ceremony was started for.
            challenge_id: What :meth:`begin_registration` returned (``None``, as
                :meth:`read_challenge_cookie` gives for a missing cookie, is refused).
            response: ``PublicKeyCredential.toJSON()`` of ``navigator.credentials.create()``,
                as a mapping or as JSON text.
            name: The user's label for the passkey (``"Laptop"``).

        Returns:
            The stored credential.

        Raises:
            WebAuthnChallengeError: ``INVALID_CHALLENGE``: the ceremony is unknown, used,
                expired, a sign-in, or for another user.
            WebAuthnResponseError: ``INVALID_RESPONSE``: malformed, wrong origin or RP ID,
                flags missing, bad attestation, or a credential registered already.
            lucia.InvalidInputError: A malformed user id or name (checked first: the
                ceremony is not spent).
        """
        user_id = check_id(user_id, "user_id")
        if name is not None:
            name = check_id(name, "name")
        challenge_id = check_challenge_id(challenge_id)
        parsed = parse_registration_response(response)
        row = await self._take_challenge(challenge_id, "registration")
        if row.user_id != user_id:
            raise WebAuthnChallengeError(None, "the ceremony was started for another user")
        stored = read_stored_challenge(row.challenge, row.user_handle)
        if stored.user_handle is None:
            raise WebAuthnChallengeError(None, "the stored ceremony is damaged")
        registered = verify_registration(parsed, self._ceremony(stored))
        if len(registered.credential_id) > MAX_ID_LENGTH:
            raise WebAuthnResponseError(None, f"the credential id is longer than {MAX_ID_LENGTH} characters")
        credential = PasskeyCredentialRow(
            id=registered.credential_id,
            user_id=user_id,
            user_handle=stored.user_handle,
            public_key=registered.public_key,
            sign_count=registered.sign_count,
            transports=parsed.transports,
            aaguid=registered.aaguid,
            backup_eligible=registered.backup_eligible,
            backed_up=registered.backed_up,
            name=name,
            created_at=self._now_ms(),
            last_used_at=None,
        )
        try:
            await self.store.set_passkey_credential(credential)
        except DuplicateKeyError:
            raise WebAuthnResponseError(None, "this passkey is registered already") from None
        logger.debug("registered passkey %s for user %s", credential.id, user_id)
        return PasskeyCredential.from_row(credential)

    # -- authentication --------------------------------------------------------------

    async def begin_authentication(self, user_id: str | None = None) -> tuple[dict[str, Any], str]:
        """Start a passkey sign-in.

        Args:
            user_id: ``None`` (default) for a usernameless sign-in with a discoverable
                credential (a "Sign in with a passkey" button, or autofill with
                ``mediation: "conditional"``). A user id limits the sign-in to that
                user's passkeys (``allowCredentials``): a second factor after a password.

        Returns:
            ``(options, challenge_id)``: JSON-ready
            ``PublicKeyCredentialRequestOptionsJSON`` and the id to keep.

        Raises:
            WebAuthnUnknownCredentialError: ``UNKNOWN_CREDENTIAL``: the user has no passkey
                (or does not exist).
            lucia.InvalidInputError: A malformed user id.
        """
        allowed: list[PublicKeyCredentialDescriptor] = []
        if user_id is not None:
            user_id = check_id(user_id, "user_id")
            existing = await self._credentials_of(user_id)
            if not existing:
                raise WebAuthnUnknownCredentialError(None, "the user has no passkey")
            allowed = [_descriptor(row) for row in existing]
        challenge = new_challenge()
        options = generate_authentication_options(
            rp_id=self.rp_id,
            challenge=challenge,
            timeout=self._timeout_ms,
            allow_credentials=allowed,
            user_verification=UserVerificationRequirement(self.user_verification),
        )
        challenge_id = await self._store_challenge("authentication", user_id, StoredChallenge(challenge=challenge))
        return options_to_json_dict(options), challenge_id

    async def finish_authentication(
        self, challenge_id: str | None, response: Mapping[str, Any] | str
    ) -> tuple[User, PasskeyCredential]:
        """Verify the browser's answer to :meth:`begin_authentication`.

        On success the credential's counter and last use are recorded; the session is
        yours to create (``await auth.create_session(user.user_id)``).

        Args:
            challenge_id: What :meth:`begin_authentication` returned (``None`` is refused).
            response: ``PublicKeyCredential.toJSON()`` of ``navigator.credentials.get()``,
                as a mapping or as JSON text.

        Returns:
            ``(user, credential)``.

        Raises:
            WebAuthnChallengeError: ``INVALID_CHALLENGE``: unknown, used, expired or a
                registration.
            WebAuthnResponseError: ``INVALID_RESPONSE``: malformed, wrong origin or RP ID,
                user presence or verification missing, bad signature, a user handle
                that is not the credential's.
            WebAuthnUnknownCredentialError: ``UNKNOWN_CREDENTIAL``: no such credential, or
                not the ceremony's user's.
            WebAuthnCounterReplayError: ``COUNTER_REPLAY``: the signature counter did not
                advance (logged as a warning).
        """
        challenge_id = check_challenge_id(challenge_id)
        parsed = parse_authentication_response(response)
        row = await self._take_challenge(challenge_id, "authentication")
        stored = read_stored_challenge(row.challenge, row.user_handle)
        credential = None
        if len(parsed.credential_id) <= MAX_ID_LENGTH:  # a longer id cannot have been stored
            credential = await self.store.get_passkey_credential(parsed.credential_id)
        if credential is None or (row.user_id is not None and credential.user_id != row.user_id):
            raise WebAuthnUnknownCredentialError()
        if parsed.user_handle is None:
            if row.user_id is None:
                raise WebAuthnResponseError(None, "a usernameless sign-in needs the credential's user handle")
        elif not hmac.compare_digest(parsed.user_handle.encode(), credential.user_handle.encode()):
            raise WebAuthnResponseError(None, "the user handle is not the credential's")
        asserted = verify_assertion(
            parsed,
            self._ceremony(stored),
            public_key=credential.public_key,
            backup_eligible=credential.backup_eligible,
        )
        used = await self._record_use(credential, asserted)
        try:
            user = await self.auth.get_user(credential.user_id)
        except InvalidUserError:
            raise WebAuthnUnknownCredentialError(None, "the passkey's user no longer exists") from None
        logger.debug("signed in user %s with passkey %s", user.user_id, credential.id)
        return user, PasskeyCredential.from_row(used)

    # -- management ------------------------------------------------------------------

    async def list_credentials(self, user_id: str) -> list[PasskeyCredential]:
        """The user's passkeys, oldest first (an empty list for an unknown user).

        Raises:
            lucia.InvalidInputError: A malformed user id.
        """
        rows = await self._credentials_of(check_id(user_id, "user_id"))
        return [PasskeyCredential.from_row(row) for row in rows]

    async def rename_credential(self, user_id: str, credential_id: str, name: str) -> None:
        """Set the label of one of the user's passkeys.

        Raises:
            WebAuthnUnknownCredentialError: The user has no such passkey (another user's
                is left alone).
            lucia.InvalidInputError: A malformed id or name.
        """
        user_id, credential_id = check_id(user_id, "user_id"), check_id(credential_id, "credential_id")
        if not await self.store.rename_passkey_credential(user_id, credential_id, check_id(name, "name")):
            raise WebAuthnUnknownCredentialError()

    async def delete_credential(self, user_id: str, credential_id: str) -> None:
        """Remove one of the user's passkeys; it can no longer sign in.

        Check first that the user keeps another way to sign in (a password key or
        another passkey): Lucia does not stop you from removing the last one.

        Raises:
            WebAuthnUnknownCredentialError: The user has no such passkey (another user's
                is left alone).
            lucia.InvalidInputError: A malformed id.
        """
        user_id, credential_id = check_id(user_id, "user_id"), check_id(credential_id, "credential_id")
        if not await self.store.delete_passkey_credential(user_id, credential_id):
            raise WebAuthnUnknownCredentialError()
        logger.debug("deleted passkey %s of user %s", credential_id, user_id)

    # -- the challenge cookie ----------------------------------------------------------

    def challenge_cookie_name(self, kind: CeremonyKind) -> str:
        """The cookie that carries a ceremony's challenge id (``__Host-`` prefixed in PROD)."""
        name = CHALLENGE_COOKIE_NAMES[kind]
        return f"__Host-{name}" if self.auth.env == "PROD" else name

    def challenge_cookie(self, kind: CeremonyKind, challenge_id: str | None) -> Cookie:
        """The cookie to keep a ceremony's challenge id until its ``finish_*`` request.

        HttpOnly, ``SameSite=Strict``, ``Path=/``, ``Secure`` and ``__Host-`` in PROD,
        lasting as long as the ceremony. ``None`` gives the blank cookie that clears it
        (send it with the finish response).

        Args:
            kind: ``"registration"`` or ``"authentication"``.
            challenge_id: What ``begin_*`` returned, or ``None``.
        """
        value = "" if challenge_id is None else check_challenge_id(challenge_id)
        attributes = CookieAttributes(
            http_only=True,
            secure=self.auth.env == "PROD",
            same_site="strict",
            path="/",
            max_age=0 if challenge_id is None else int(self.challenge_expires_in.total_seconds()),
        )
        return Cookie(self.challenge_cookie_name(kind), value, attributes)

    def read_challenge_cookie(self, kind: CeremonyKind, cookie_headers: str | Iterable[str] | None) -> str | None:
        """The challenge id in a request's ``Cookie`` header(s), or ``None`` (never raises)."""
        if cookie_headers is None:
            return None
        headers = [cookie_headers] if isinstance(cookie_headers, str) else list(cookie_headers)
        value = read_cookie(headers, self.challenge_cookie_name(kind))
        try:
            return None if value is None else check_challenge_id(value)
        except WebAuthnChallengeError:
            return None

    # -- helpers -----------------------------------------------------------------------

    @property
    def _require_user_verification(self) -> bool:
        return self.user_verification == "required"

    @property
    def _timeout_ms(self) -> int:
        return int(self.challenge_expires_in.total_seconds() * 1000)

    def _ceremony(self, stored: StoredChallenge) -> Ceremony:
        """What a response to the ceremony of ``stored`` must answer, on this relying party."""
        return Ceremony(
            challenge=stored.challenge,
            rp_id=self.rp_id,
            origins=list(self.origins),
            require_user_verification=self._require_user_verification,
        )

    def _now_ms(self) -> int:
        return int(self.auth.clock() * 1000)

    async def _credentials_of(self, user_id: str) -> list[PasskeyCredentialRow]:
        rows = await self.store.get_passkey_credentials_by_user_id(user_id)
        # Oldest first: its user handle is the one a new registration reuses.
        return sorted(rows, key=lambda row: (row.created_at, row.id))

    async def _store_challenge(self, kind: CeremonyKind, user_id: str | None, stored: StoredChallenge) -> str:
        challenge_id = new_challenge_id()
        expires = self._now_ms() + self._timeout_ms
        row = ChallengeRow(
            id=stored_challenge_id(challenge_id),
            kind=kind,
            user_id=user_id,
            challenge=stored.encode(),
            expires=expires,
            user_handle=stored.user_handle,
        )
        if expires >= self._next_purge:  # about once a minute: abandoned ceremonies do not pile up
            self._next_purge = expires - self._timeout_ms + 60_000
            await self.store.delete_expired_challenges(expires - self._timeout_ms)
        await self.store.set_challenge(row)
        return challenge_id

    async def _take_challenge(self, challenge_id: str, kind: CeremonyKind) -> ChallengeRow:
        """Consume the ceremony (atomically: one caller gets it) and check it is usable."""
        row = await self.store.use_challenge(stored_challenge_id(challenge_id))
        if row is None:
            raise WebAuthnChallengeError(None, "the ceremony is unknown or was used already")
        if row.kind != kind:
            raise WebAuthnChallengeError(None, f"the ceremony is not a {kind}")
        if row.expires <= self._now_ms():
            raise WebAuthnChallengeError(None, "the ceremony has expired")
        return row

    async def _record_use(self, credential: PasskeyCredentialRow, asserted: Asserted) -> PasskeyCredentialRow:
        """Move the stored counter forward with the store's compare-and-set, or refuse a replay.

        A failed compare-and-set means a concurrent sign-in moved the counter up: re-read
        it and judge again. Every retry follows someone else's success, so this ends (the
        bound is only a safety net against a store that moves counters backwards).
        """
        expected = credential.sign_count
        now = self._now_ms()
        for _ in range(_COUNTER_ATTEMPTS):
            if _counter_replayed(expected, asserted.sign_count):
                logger.warning(
                    "refused a passkey sign-in of user %s: the signature counter of passkey %s went from %d to %d "
                    "(a cloned authenticator, or a replayed response)",
                    credential.user_id,
                    credential.id,
                    expected,
                    asserted.sign_count,
                )
                raise WebAuthnCounterReplayError()
            if await self.store.update_passkey_credential_use(
                credential.id,
                expected_sign_count=expected,
                sign_count=asserted.sign_count,
                backed_up=asserted.backed_up,
                last_used_at=now,
            ):
                return replace(
                    credential, sign_count=asserted.sign_count, backed_up=asserted.backed_up, last_used_at=now
                )
            current = await self.store.get_passkey_credential(credential.id)
            if current is None or current.user_id != credential.user_id:
                raise WebAuthnUnknownCredentialError(None, "the passkey was removed during the sign-in")
            if current.sign_count == expected:
                # The store refused the write although the counter did not move: a store
                # that breaks the compare-and-set contract. Refuse rather than guess.
                break
            expected = current.sign_count
        raise WebAuthnCounterReplayError(None, "the signature counter could not be recorded")


def _counter_replayed(stored: int, received: int) -> bool:
    """WebAuthn §7.2 step 22: a counter must grow, unless both are 0 (synced passkeys keep 0)."""
    return (stored != 0 or received != 0) and received <= stored


def _descriptor(row: PasskeyCredentialRow) -> PublicKeyCredentialDescriptor:
    transports = []
    for transport in row.transports:
        try:
            transports.append(AuthenticatorTransport(transport))
        except ValueError:
            continue  # a transport this version of py_webauthn does not know: only a hint
    return PublicKeyCredentialDescriptor(id=b64url_decode(row.id, "credential id"), transports=transports or None)
