"""Bad input: each is a clear ``LuciaWebAuthnError`` with a code, nothing is written, nobody signs in."""

from __future__ import annotations

import copy
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest
from _soft_authenticator import BS, UP, UV, SoftAuthenticator, b64url, unb64url
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lucia import InvalidInputError, Lucia, User
from lucia.adapters.memory import MemoryAdapter
from lucia.testing import fast_password_hasher
from lucia_webauthn import LuciaWebAuthnError, PasskeyCredential, Passkeys

pytestmark = pytest.mark.anyio

Spoil = Callable[[dict[str, Any], SoftAuthenticator], Any]


async def _refused(attempt: Awaitable[object], code: str, *, match: str | None = None) -> LuciaWebAuthnError:
    """Await ``attempt``, which must raise :class:`LuciaWebAuthnError` with ``code``; return the error."""
    with pytest.raises(LuciaWebAuthnError, match=match) as caught:
        await attempt
    assert caught.value.code == code
    return caught.value


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A copy of a response with ``path`` (``"response.signature"``) set to ``value``."""

    def change(response: dict[str, Any]) -> dict[str, Any]:
        changed = copy.deepcopy(response)
        *parents, last = path.split(".")
        target = changed
        for name in parents:
            target = target[name]
        target[last] = value
        return changed

    return change


def _shape_cases(binary_field: str) -> dict[str, Callable[[dict[str, Any]], Any]]:
    """Malformed JSON, wrong types and base64url junk: refused before the ceremony is looked up."""
    field = f"response.{binary_field}"
    return {
        "malformed JSON": lambda r: json.dumps(r)[:-1],
        "JSON that is not an object": lambda r: "[]",
        "JSON null": lambda r: "null",
        "a number instead of a mapping": lambda r: 42,
        "oversized JSON text": lambda r: json.dumps({**r, "pad": "x" * 70_000}),
        "no type": _set("type", None),
        "type not public-key": _set("type", "password"),
        "id is a number": _set("id", 7),
        "id is empty": _set("id", ""),
        "rawId differs from id": _set("rawId", b64url(secrets.token_bytes(32))),
        "response is a list": _set("response", []),
        f"{binary_field} is a number": _set(field, 12),
        f"{binary_field} is missing": _set(field, None),
        f"{binary_field} is empty": _set(field, ""),
        f"{binary_field} has a stray character": lambda r: _set(field, r["response"][binary_field] + "$")(r),
        f"{binary_field} has padding": lambda r: _set(field, b64url(b"ab") + "=")(r),
        f"{binary_field} has a length no base64 has": _set(field, "abcde"),
        f"{binary_field} has non-zero trailing bits": _set(field, "AB"),
        f"{binary_field} is standard base64": _set(field, "+/+/"),
        f"{binary_field} has whitespace": _set(field, "ab cd"),
        f"{binary_field} has non-ASCII digits": _set(field, "\u0663\u0663\u0663\u0663"),
        "authenticatorAttachment is a number": _set("authenticatorAttachment", 5),
    }


def _client_data(response: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A response whose clientDataJSON has ``changes`` (so its signature, if any, no longer matches)."""
    data = json.loads(unb64url(response["response"]["clientDataJSON"]))
    return _set("response.clientDataJSON", b64url(json.dumps({**data, **changes}).encode()))(response)


# -- registration ---------------------------------------------------------------------

REGISTRATION_SHAPE = _shape_cases("attestationObject") | {
    "transports is a string": _set("response.transports", "usb"),
    "transports holds a number": _set("response.transports", ["usb", 3]),
}

REGISTRATION_VERIFICATION: dict[str, tuple[Spoil, str]] = {
    "a response for another challenge": (
        lambda o, a: a.create(o, challenge=b64url(secrets.token_bytes(32))),
        "challenge",
    ),
    "a wrong origin": (lambda o, a: a.create(o, origin="https://evil.example"), "origin"),
    "plain http on the right host": (lambda o, a: a.create(o, origin="http://example.com"), "origin"),
    "a wrong RP ID hash": (lambda o, a: a.create(o, rp_id="evil.example"), "RP ID"),
    "user presence missing": (lambda o, a: a.create(o, flags=UV), "presence"),
    "user verification missing": (lambda o, a: a.create(o, flags=UP), "verification"),
    "a sign-in's client data": (lambda o, a: a.create(o, client_type="webauthn.get"), "type"),
    "a cross-origin iframe": (lambda o, a: a.create(o, cross_origin=True), "cross-origin"),
    "backed up but not backup eligible": (lambda o, a: a.create(o, flags=UP | UV | BS), "backed up"),
    "an attestation object of random bytes": (
        lambda o, a: _set("response.attestationObject", b64url(secrets.token_bytes(60)))(a.create(o)),
        "",
    ),
    "an id that is not the attested credential's": (
        lambda o, a: _set("rawId", b64url(b"other" * 8))(_set("id", b64url(b"other" * 8))(a.create(o))),
        "attested credential id",
    ),
    "clientDataJSON that is not JSON": (
        lambda o, a: _set("response.clientDataJSON", b64url(b"{not json"))(a.create(o)),
        "clientDataJSON",
    ),
}


@pytest.mark.parametrize("case", sorted(REGISTRATION_SHAPE))
async def test_malformed_registration_responses_are_refused(
    case: str, passkeys: Passkeys, user: User, authenticator: SoftAuthenticator
) -> None:
    """Each malformed registration response is ``INVALID_RESPONSE``; the ceremony is not spent by it."""
    options, challenge_id = await passkeys.begin_registration(user.user_id, user_name="ada")
    good = authenticator.create(options)
    await _refused(
        passkeys.finish_registration(user.user_id, challenge_id, REGISTRATION_SHAPE[case](good)), "INVALID_RESPONSE"
    )
    assert await passkeys.list_credentials(user.user_id) == []
    # Unreadable input never reached the store: the real answer still completes the ceremony.
    assert (await passkeys.finish_registration(user.user_id, challenge_id, good)).user_id == user.user_id


@pytest.mark.parametrize("case", sorted(REGISTRATION_VERIFICATION))
async def test_registration_responses_that_fail_verification_are_refused(
    case: str, passkeys: Passkeys, user: User, authenticator: SoftAuthenticator
) -> None:
    """Each is ``INVALID_RESPONSE`` saying why; nothing is stored and the ceremony is spent."""
    spoil, reason = REGISTRATION_VERIFICATION[case]
    options, challenge_id = await passkeys.begin_registration(user.user_id, user_name="ada")
    refused = await _refused(
        passkeys.finish_registration(user.user_id, challenge_id, spoil(options, SoftAuthenticator())),
        "INVALID_RESPONSE",
    )
    assert reason in refused.detail
    assert await passkeys.list_credentials(user.user_id) == []
    await _refused(
        passkeys.finish_registration(user.user_id, challenge_id, authenticator.create(options)), "INVALID_CHALLENGE"
    )


async def test_a_passkey_registered_already_is_refused(
    passkeys: Passkeys, user: User, authenticator: SoftAuthenticator, flows: Any
) -> None:
    """Replaying a registration response (same credential id) is ``INVALID_RESPONSE``."""
    options, challenge_id = await passkeys.begin_registration(user.user_id, user_name="ada")
    response = authenticator.create(options)
    stored = await passkeys.finish_registration(user.user_id, challenge_id, response)
    # A client ignoring excludeCredentials replays the old answer to a new challenge.
    options, again = await passkeys.begin_registration(user.user_id, user_name="ada")
    replayed = _client_data(response, challenge=options["challenge"])
    await _refused(
        passkeys.finish_registration(user.user_id, again, replayed), "INVALID_RESPONSE", match="registered already"
    )
    assert await passkeys.list_credentials(user.user_id) == [stored]


# -- authentication -------------------------------------------------------------------

AUTHENTICATION_SHAPE = _shape_cases("signature") | {
    "userHandle is a number": _set("response.userHandle", 5),
    "userHandle is not base64url": _set("response.userHandle", "a$b"),
    "userHandle over 64 bytes": _set("response.userHandle", b64url(bytes(65))),
    "authenticatorData is missing": _set("response.authenticatorData", None),
    "id over 1023 bytes": lambda r: _set("rawId", b64url(bytes(1024)))(_set("id", b64url(bytes(1024)))(r)),
}

AUTHENTICATION_VERIFICATION: dict[str, tuple[Spoil, str]] = {
    "a response for another challenge": (
        lambda o, a: a.get(o, challenge=b64url(secrets.token_bytes(32))),
        "challenge",
    ),
    "a wrong origin": (lambda o, a: a.get(o, origin="https://example.com.evil.example"), "origin"),
    "a subdomain not configured": (lambda o, a: a.get(o, origin="https://login.example.com"), "origin"),
    "a wrong RP ID hash": (lambda o, a: a.get(o, rp_id="evil.example"), "RP ID"),
    "user presence missing": (lambda o, a: a.get(o, flags=UV | BS), "present"),
    "user verification missing": (lambda o, a: a.get(o, flags=UP), "verification"),
    "a registration's client data": (lambda o, a: a.get(o, client_type="webauthn.create"), "type"),
    "a cross-origin iframe": (lambda o, a: a.get(o, cross_origin=True), "cross-origin"),
    "a bad signature": (
        lambda o, a: _set("response.signature", b64url(secrets.token_bytes(70)))(a.get(o)),
        "",
    ),
    "signed client data changed afterwards": (lambda o, a: _client_data(a.get(o), extra="x"), "signature"),
    "truncated authenticator data": (
        lambda o, a: _set("response.authenticatorData", b64url(bytes(20)))(a.get(o)),
        "uthenticator",  # py_webauthn's wording differs between versions
    ),
    "another user's user handle": (
        lambda o, a: _set("response.userHandle", b64url(secrets.token_bytes(32)))(a.get(o)),
        "user handle",
    ),
    "no user handle in a usernameless sign-in": (
        lambda o, a: _set("response.userHandle", None)(a.get(o)),
        "user handle",
    ),
    "backup eligibility changed": (lambda o, a: a.get(o, flags=UP | UV), "backup eligibility"),
}


@pytest.fixture
async def registered(passkeys: Passkeys, user: User, authenticator: SoftAuthenticator, flows: Any) -> PasskeyCredential:
    """The user's passkey, used once (counter 1)."""
    await flows.register(user, authenticator)
    return (await flows.sign_in(authenticator))[1]


@pytest.mark.parametrize("case", sorted(AUTHENTICATION_SHAPE))
async def test_malformed_sign_in_responses_are_refused(
    case: str, passkeys: Passkeys, auth: Lucia, user: User, authenticator: SoftAuthenticator, registered: Any
) -> None:
    """Each malformed sign-in response is ``INVALID_RESPONSE``; nothing is recorded, no session exists."""
    options, challenge_id = await passkeys.begin_authentication()
    good = authenticator.get(options)
    await _refused(passkeys.finish_authentication(challenge_id, AUTHENTICATION_SHAPE[case](good)), "INVALID_RESPONSE")
    assert await passkeys.list_credentials(user.user_id) == [registered]
    assert await auth.get_all_user_sessions(user.user_id) == []
    assert (await passkeys.finish_authentication(challenge_id, good))[0] == user


@pytest.mark.parametrize("case", sorted(AUTHENTICATION_VERIFICATION))
async def test_sign_in_responses_that_fail_verification_are_refused(
    case: str, passkeys: Passkeys, user: User, authenticator: SoftAuthenticator, registered: Any
) -> None:
    """Each is ``INVALID_RESPONSE`` saying why; the counter and last use stay, the ceremony is spent."""
    spoil, reason = AUTHENTICATION_VERIFICATION[case]
    options, challenge_id = await passkeys.begin_authentication()
    refused = await _refused(
        passkeys.finish_authentication(challenge_id, spoil(options, authenticator)), "INVALID_RESPONSE"
    )
    assert reason in refused.detail
    assert await passkeys.list_credentials(user.user_id) == [registered]
    await _refused(passkeys.finish_authentication(challenge_id, authenticator.get(options)), "INVALID_CHALLENGE")


async def test_an_unknown_credential_is_refused(passkeys: Passkeys, user: User, registered: Any) -> None:
    """A passkey this site never registered is ``UNKNOWN_CREDENTIAL``."""
    stranger = SoftAuthenticator()
    stranger.create({"rp": {"id": "example.com"}, "user": {"id": b64url(bytes(32))}, "challenge": "AAAA"})
    options, challenge_id = await passkeys.begin_authentication()
    await _refused(passkeys.finish_authentication(challenge_id, stranger.get(options)), "UNKNOWN_CREDENTIAL")
    assert await passkeys.list_credentials(user.user_id) == [registered]


async def test_a_counter_that_went_backwards_is_refused(
    passkeys: Passkeys, user: User, authenticator: SoftAuthenticator, registered: Any
) -> None:
    """``COUNTER_REPLAY``, and the stored counter stays where it was."""
    options, challenge_id = await passkeys.begin_authentication()
    await _refused(
        passkeys.finish_authentication(challenge_id, authenticator.get(options, counter=0)), "COUNTER_REPLAY"
    )
    assert await passkeys.list_credentials(user.user_id) == [registered]


@pytest.mark.parametrize(
    "challenge_id",
    [None, 42, "", "short", "$" * 43, "A" * 42, "A" * 44, "é" * 43, secrets.token_urlsafe(32)],
)
async def test_malformed_and_unknown_challenge_ids_are_refused(
    challenge_id: Any, passkeys: Passkeys, user: User, authenticator: SoftAuthenticator, registered: Any
) -> None:
    """A challenge id that is not one, or that the store does not know, is ``INVALID_CHALLENGE``."""
    options, _ = await passkeys.begin_authentication()
    await _refused(passkeys.finish_authentication(challenge_id, authenticator.get(options)), "INVALID_CHALLENGE")
    options, _ = await passkeys.begin_registration(user.user_id, user_name="ada")
    await _refused(
        passkeys.finish_registration(user.user_id, challenge_id, SoftAuthenticator().create(options)),
        "INVALID_CHALLENGE",
    )
    assert await passkeys.list_credentials(user.user_id) == [registered]


async def test_a_used_challenge_is_refused(
    passkeys: Passkeys, user: User, authenticator: SoftAuthenticator, registered: Any
) -> None:
    """The second finish with one challenge is ``INVALID_CHALLENGE``, even with the same good response."""
    options, challenge_id = await passkeys.begin_authentication()
    response = authenticator.get(options)
    await passkeys.finish_authentication(challenge_id, response)
    await _refused(passkeys.finish_authentication(challenge_id, response), "INVALID_CHALLENGE")


async def test_bad_arguments_are_refused_before_the_ceremony_is_spent(
    passkeys: Passkeys, user: User, authenticator: SoftAuthenticator
) -> None:
    """Malformed ids and names are ``AUTH_INVALID_INPUT``; the ceremony still completes afterwards."""
    for call in (
        lambda: passkeys.begin_registration("", user_name="ada"),
        lambda: passkeys.begin_registration(user.user_id, user_name=""),
        lambda: passkeys.begin_registration(user.user_id, user_name="a\x00b"),
        lambda: passkeys.begin_authentication(7),  # type: ignore[arg-type]
        lambda: passkeys.list_credentials("x" * 256),
        lambda: passkeys.rename_credential(user.user_id, "id", ""),
        lambda: passkeys.delete_credential(user.user_id, ""),
    ):
        with pytest.raises(InvalidInputError):
            await call()
    options, challenge_id = await passkeys.begin_registration(user.user_id, user_name="ada")
    response = authenticator.create(options)
    with pytest.raises(InvalidInputError):
        await passkeys.finish_registration(user.user_id, challenge_id, response, name="n" * 256)
    assert (await passkeys.finish_registration(user.user_id, challenge_id, response, name="ok")).name == "ok"


# -- fuzzing ------------------------------------------------------------------------------

_FIELDS = [
    "id",
    "rawId",
    "type",
    "response",
    "response.clientDataJSON",
    "response.authenticatorData",
    "response.signature",
    "response.userHandle",
]
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


class _Site:
    """One registered passkey on a MemoryAdapter, driven from synchronous Hypothesis tests."""

    def __init__(self) -> None:
        self.auth = Lucia(adapter=MemoryAdapter(), password_hasher=fast_password_hasher())
        self.passkeys = Passkeys(self.auth, rp_id="example.com", rp_name="Example", origins=["https://example.com"])
        self.authenticator = SoftAuthenticator()
        self.credential = anyio.run(self._register)

    async def _register(self) -> PasskeyCredential:
        user = await self.auth.create_user(primary_key=None, attributes={})
        options, challenge_id = await self.passkeys.begin_registration(user.user_id, user_name="ada")
        return await self.passkeys.finish_registration(user.user_id, challenge_id, self.authenticator.create(options))

    def refuses(self, spoil: Callable[[dict[str, Any]], Any]) -> None:
        async def attempt() -> None:
            options, challenge_id = await self.passkeys.begin_authentication()
            with pytest.raises(LuciaWebAuthnError):
                await self.passkeys.finish_authentication(challenge_id, spoil(self.authenticator.get(options)))
            assert await self.passkeys.list_credentials(self.credential.user_id) == [self.credential]

        anyio.run(attempt)


_SITE: list[_Site] = []


def _site() -> _Site:
    if not _SITE:
        _SITE.append(_Site())
    return _SITE[0]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(_FIELDS), value=_JSON | st.binary(max_size=80).map(b64url))
def test_fuzzed_fields_are_refused_cleanly(field: str, value: Any) -> None:
    """Any JSON value or base64url blob in any field gives a LuciaWebAuthnError, never a crash or a sign-in."""
    _site().refuses(_set(field, value))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    field=st.sampled_from(["clientDataJSON", "authenticatorData", "signature"]),
    position=st.integers(min_value=0, max_value=10_000),
    bit=st.integers(min_value=0, max_value=7),
)
def test_flipped_bits_in_signed_data_are_refused(field: str, position: int, bit: int) -> None:
    """One flipped bit anywhere in the client data, authenticator data or signature is refused."""

    def flip(response: dict[str, Any]) -> dict[str, Any]:
        raw = bytearray(unb64url(response["response"][field]))
        raw[position % len(raw)] ^= 1 << bit
        return _set(f"response.{field}", b64url(bytes(raw)))(response)

    _site().refuses(flip)
