"""The token test suite, shipped with the package so every adapter runs it.

Subclass it once per adapter and supply a fixture that yields a fresh adapter on empty
tables (user table with a text column ``username``) and a ``raw_dump`` fixture (every
stored row as text)::

    import pytest
    from lucia.testing import CONFORMANCE_USER_COLUMNS
    from lucia_tokens.testing import TokenTests

    class TestTokensOnMyAdapter(TokenTests):
        @pytest.fixture
        async def adapter(self):
            adapter = MyAdapter(...)
            await adapter.create_schema(user_columns=CONFORMANCE_USER_COLUMNS)
            yield adapter

Needs pytest and the ``anyio`` pytest plugin (installed with anyio); runs on asyncio.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from lucia import Lucia, LuciaError, TooManyRequestsError
from lucia.passwords import Argon2idHasher
from lucia.testing import FakeClock, fast_password_hasher, gather_outcomes
from lucia.testing._harness import Harness
from lucia_tokens._errors import LuciaTokenError
from lucia_tokens._tokens import MAX_ATTEMPTS, IdTokenWrapper, PasswordTokenWrapper, Token, id_token, password_token
from lucia_tokens.totp import (
    TOTPVerifier,
    generate_secret,
    generate_totp,
    parse_provisioning_uri,
    provisioning_uri,
    verify_totp,
)

__all__ = [
    "CountingAdapter",
    "TokenTests",
    "gather_outcomes",
]

#: Values a validation must refuse before any query: empty, oversized, non-ASCII, NUL, wrong type.
BAD_VALUES: tuple[Any, ...] = (
    "",
    "x" * 100_000,
    "é" * 43,
    "١٢٣٤٥٦٧٨",  # Arabic-Indic digits: isdigit() is True, but they are not ASCII
    "0" * 7 + "\x00",
    "\u0430" * 8,
    "\ud800" * 8,  # lone surrogates: not even encodable
    "\ud800",
    None,
    12345678,
    b"12345678",
)
#: User ids refused with AUTH_INVALID_INPUT before any query.
BAD_IDS: tuple[Any, ...] = (None, 42, b"user", "", "u" * 256, "\ud800", "user\x00id")
#: ``bind`` values refused with AUTH_INVALID_INPUT before any query.
BAD_BINDS: tuple[Any, ...] = (42, b"ada@example.com", "", "a" * 1025, "ada\ud800@example.com", "ada\x00@example.com")
#: TOTP secrets refused with AUTH_INVALID_INPUT before any query.
BAD_TOTP_SECRETS: tuple[Any, ...] = (None, 42, "", "JBSW", "\ud800" * 32, "JBSWY3DP\x00EHPK3PXP", "A" * 5000)
#: The application secret the keyed-code tests configure.
CODE_SECRET = "an application secret of at least 32 bytes, from its configuration"


class CountingAdapter:
    """Wraps an adapter and counts every call of its async methods (to prove "no query")."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if name.startswith("_") or not inspect.iscoroutinefunction(attribute):
            return attribute

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args))
            return await attribute(*args, **kwargs)

        return counted


async def _issued(
    wrapper: IdTokenWrapper | PasswordTokenWrapper, user_id: str, *, bind: str | None = None
) -> tuple[Token, str]:
    """Issue a token or code to ``user_id``: the token and its value (which only a fresh one carries)."""
    token = await wrapper.issue(user_id, bind=bind)
    assert token.value is not None
    return token, token.value


async def _refused(attempt: Awaitable[object], code: str | None = None) -> LuciaTokenError:
    """Await ``attempt``, which must raise :class:`LuciaTokenError` (with ``code`` if given); return the error."""
    with pytest.raises(LuciaTokenError) as refused:
        await attempt
    if code is not None:
        assert refused.value.code == code
    return refused.value


def _appears(secret: str, text: str) -> bool:
    """Whether ``secret`` occurs in ``text``; a digit code only as a whole word.

    A six-digit code is too short to search as a bare substring: it turns up inside
    hex hashes and timestamps by chance. A leak shows it on its own.
    """
    if secret.isdigit():
        return re.search(rf"(?<![0-9A-Za-z]){re.escape(secret)}(?![0-9A-Za-z])", text) is not None
    return secret in text


def _another_code(code: str) -> str:
    """A well-formed digit code other than ``code``."""
    return str((int(code) + 1) % 10 ** len(code)).zfill(len(code))


def _hex_strings(text: str) -> list[str]:
    """Every run of 32 or more hex digits in ``text``: the hashes an attacker would match against."""
    return re.findall(r"[0-9a-f]{32,}", text)


def _unkeyed_digests(user_id: str, code: str, *extra: str) -> set[str]:
    """What an attacker without the secret computes per candidate code: fast hashes of every obvious layout."""
    layouts = [code, user_id + code, code + user_id, f"{user_id}\x00{code}", f"{code}\x00{user_id}"]
    if extra:
        layouts.append("\x00".join((*extra, code)))
    digests: set[str] = set()
    for layout in layouts:
        for algorithm in (hashlib.sha256, hashlib.sha512, hashlib.sha3_256, hashlib.blake2b):
            digest = algorithm(layout.encode()).hexdigest()
            digests |= {digest, digest[:64], digest[:32]}
    return digests


class TokenTests(Harness):
    """Link tokens, typed codes and TOTP replay refusal on the adapter under test.

    The conformance harness of the core gives the asyncio backend, the fake ``clock`` and
    the ``raw_dump`` a subclass must supply.
    """

    @pytest.fixture
    def counting(self, adapter: Any) -> CountingAdapter:
        """The adapter under test, with its calls counted."""
        return CountingAdapter(adapter)

    @pytest.fixture
    def hasher(self) -> Argon2idHasher:
        """The password hasher of ``auth``: Argon2id with tiny parameters."""
        return fast_password_hasher()

    @pytest.fixture
    def auth(self, counting: CountingAdapter, clock: FakeClock, hasher: Argon2idHasher) -> Lucia:
        """A ``Lucia`` on the counted adapter and the fake clock."""
        return Lucia(adapter=counting, clock=clock, password_hasher=hasher)

    @pytest.fixture
    async def user_id(self, auth: Lucia) -> str:
        """The id of a fresh user."""
        return (await auth.create_user(primary_key=None, attributes={"username": "ada"})).user_id

    @pytest.fixture(params=["keyed", "hashed"])
    def code_secret(self, request: pytest.FixtureRequest) -> str | None:
        """Typed codes are tested stored both ways: keyed with a secret (HMAC), and without (password hash)."""
        return CODE_SECRET if request.param == "keyed" else None

    @pytest.fixture
    def sign_in_codes(self, auth: Lucia, code_secret: str | None) -> PasswordTokenWrapper:
        """Eight-digit ``sign_in_code`` codes that live ten minutes, stored the ``code_secret`` way."""
        return password_token(auth, "sign_in_code", timedelta(minutes=10), secret=code_secret)

    async def _other_user(self, auth: Lucia) -> str:
        return (await auth.create_user(primary_key=None, attributes={"username": "bob"})).user_id

    def _entry_points(
        self, auth: Lucia, codes: PasswordTokenWrapper
    ) -> tuple[IdTokenWrapper, PasswordTokenWrapper, TOTPVerifier, str]:
        """What the input-bound tests feed bad values: link tokens, ``codes``, a TOTP verifier and its secret."""
        return id_token(auth, "email_verification", timedelta(hours=1)), codes, TOTPVerifier(auth), generate_secret()

    def _totp_race(self, auth: Lucia) -> tuple[TOTPVerifier, str]:
        """A TOTP verifier and a fresh secret for racing submissions, with ``auth``'s throttle off.

        Replay, not brute force, is what such a race is about (B3 is tested apart).
        """
        auth.throttle = None
        return TOTPVerifier(auth), generate_secret()

    # -- link tokens -----------------------------------------------------------------

    async def test_link_token_round_trip(self, auth: Lucia, user_id: str) -> None:
        """An issued link token validates to its user and prints neither its value nor its stored id."""
        tokens = id_token(auth, "email_verification", timedelta(hours=24))
        token, value = await _issued(tokens, user_id)
        assert len(value) == 43
        assert value not in repr(token) and token.token_id not in repr(token)
        validated = await tokens.validate(value)
        assert validated.user_id == user_id
        assert validated.name == "email_verification"
        assert validated.value is None and validated.token_id == token.token_id

    async def test_t1_link_token_validates_once_under_20_concurrent_validations(
        self, auth: Lucia, user_id: str
    ) -> None:
        """Of 20 concurrent validations of one link token exactly one succeeds."""
        tokens = id_token(auth, "password_reset", timedelta(hours=1))
        _, value = await _issued(tokens, user_id)
        results = await gather_outcomes(20, lambda: tokens.validate(value))
        winners = [r for r in results if not isinstance(r, Exception)]
        assert len(winners) == 1, results
        assert winners[0].user_id == user_id
        losers = [r for r in results if isinstance(r, Exception)]
        assert all(isinstance(r, LuciaTokenError) and r.code == "INVALID_TOKEN" for r in losers), losers

    async def test_t2_expired_link_token_is_refused(self, auth: Lucia, user_id: str, clock: FakeClock) -> None:
        """A link token past its lifetime fails with EXPIRED_TOKEN, then is gone."""
        tokens = id_token(auth, "password_reset", timedelta(hours=1))
        _, value = await _issued(tokens, user_id)
        clock.advance(timedelta(hours=1, seconds=1))
        await _refused(tokens.validate(value), "EXPIRED_TOKEN")
        await _refused(tokens.validate(value), "INVALID_TOKEN")

    async def test_link_token_valid_until_just_before_expiry(self, auth: Lucia, user_id: str, clock: FakeClock) -> None:
        """A link token still validates one second before it expires."""
        tokens = id_token(auth, "email_verification", timedelta(hours=24))
        _, value = await _issued(tokens, user_id)
        clock.advance(timedelta(hours=24) - timedelta(seconds=1))
        assert (await tokens.validate(value)).user_id == user_id

    async def test_t2_tokens_of_different_names_never_validate_as_each_other(self, auth: Lucia, user_id: str) -> None:
        """A verification token is refused by the password-reset wrapper, and still works for its own."""
        verification = id_token(auth, "email_verification", timedelta(hours=24))
        reset = id_token(auth, "password_reset", timedelta(hours=1))
        _, value = await _issued(verification, user_id)
        await _refused(reset.validate(value), "INVALID_TOKEN")
        assert await reset.get_all_user_tokens(user_id) == []
        assert (await verification.validate(value)).user_id == user_id

    async def test_t2_new_reset_token_supersedes_older_ones(self, auth: Lucia, user_id: str) -> None:
        """Issuing a reset token invalidates the user's older ones of that name only."""
        reset = id_token(auth, "password_reset", timedelta(hours=1))
        verification = id_token(auth, "email_verification", timedelta(hours=24))
        _, other = await _issued(verification, user_id)
        _, old = await _issued(reset, user_id)
        new, new_value = await _issued(reset, user_id)
        assert [t.token_id for t in await reset.get_all_user_tokens(user_id)] == [new.token_id]
        await _refused(reset.validate(old))
        assert (await reset.validate(new_value)).user_id == user_id
        assert (await verification.validate(other)).user_id == user_id

    async def test_t2_tokens_are_bound_to_their_user(self, auth: Lucia, user_id: str) -> None:
        """Superseding one user's tokens leaves another user's alone; each validates to its owner."""
        reset = id_token(auth, "password_reset", timedelta(hours=1))
        bob = await self._other_user(auth)
        _, ada_value = await _issued(reset, user_id)
        _, bob_value = await _issued(reset, bob)
        assert (await reset.validate(bob_value)).user_id == bob
        assert (await reset.validate(ada_value)).user_id == user_id

    async def test_t2_raw_storage_never_holds_a_token_or_code(
        self,
        auth: Lucia,
        user_id: str,
        sign_in_codes: PasswordTokenWrapper,
        raw_dump: Callable[[], Awaitable[str]],
    ) -> None:
        """Every stored row, read raw, contains neither a link token nor a code, only their hashes."""
        link, link_value = await _issued(id_token(auth, "email_verification", timedelta(hours=24)), user_id)
        _, code_value = await _issued(sign_in_codes, user_id)
        dump = await raw_dump()
        assert link.token_id in dump
        assert not _appears(link_value, dump)
        assert not _appears(code_value, dump)

    async def test_invalidate_and_list_tokens(self, auth: Lucia, user_id: str, clock: FakeClock) -> None:
        """Without supersede a user holds several tokens; invalidate removes one, invalidate_all the rest."""
        tokens = id_token(auth, "email_verification", timedelta(hours=2), supersede=False)
        first, first_value = await _issued(tokens, user_id)
        clock.advance(timedelta(minutes=1))
        second, _ = await _issued(tokens, user_id)
        third, third_value = await _issued(tokens, user_id)
        listed = await tokens.get_all_user_tokens(user_id)
        assert listed[0].token_id == first.token_id
        assert {t.token_id for t in listed} == {first.token_id, second.token_id, third.token_id}
        assert all(t.value is None and not t.expired and t.user_id == user_id for t in listed)
        await tokens.invalidate(first_value)
        await tokens.invalidate(first_value)  # idempotent
        await _refused(tokens.validate(first_value))
        await tokens.invalidate_all_user_tokens(user_id)
        assert await tokens.get_all_user_tokens(user_id) == []
        await _refused(tokens.validate(third_value))

    async def test_expired_tokens_are_not_listed(self, auth: Lucia, user_id: str, clock: FakeClock) -> None:
        """get_all_user_tokens leaves out (and cleans up) expired tokens."""
        tokens = id_token(auth, "email_verification", timedelta(hours=1))
        await tokens.issue(user_id)
        clock.advance(timedelta(hours=2))
        assert await tokens.get_all_user_tokens(user_id) == []
        assert await auth.get_all_user_keys(user_id) == []

    async def test_issue_for_unknown_user_fails(self, auth: Lucia, code_secret: str | None) -> None:
        """Issuing a token or code for an unknown user raises AUTH_INVALID_USER_ID."""
        with pytest.raises(LuciaError) as link:
            await id_token(auth, "email_verification", timedelta(hours=1)).issue("nobody")
        assert link.value.code == "AUTH_INVALID_USER_ID"
        with pytest.raises(LuciaError) as code:
            await password_token(auth, "sign_in_code", timedelta(minutes=5), secret=code_secret).issue("nobody")
        assert code.value.code == "AUTH_INVALID_USER_ID"

    async def test_deleting_the_user_deletes_its_tokens(self, auth: Lucia, user_id: str) -> None:
        """A deleted user's token no longer validates."""
        tokens = id_token(auth, "email_verification", timedelta(hours=1))
        _, value = await _issued(tokens, user_id)
        await auth.delete_user(user_id)
        await _refused(tokens.validate(value))

    # -- H14: tokens bound to the address they were sent to --------------------------

    async def test_h14_link_token_bound_to_an_address_fails_once_the_address_changed(
        self, auth: Lucia, user_id: str
    ) -> None:
        """A verification link bound to the address it was mailed to is refused for the user's new address."""
        verification = id_token(auth, "email_verification", timedelta(hours=24))
        _, value = await _issued(verification, user_id, bind="ada@example.com")
        for current in ("mallory@example.net", "Ada@example.com"):
            await _refused(verification.validate(value, bind=current), "INVALID_TOKEN")
        await _refused(verification.validate(value))  # a bound token needs its bind
        assert (await verification.validate(value, bind="ada@example.com")).user_id == user_id

    async def test_h14_unbound_token_is_refused_with_a_bind(self, auth: Lucia, user_id: str) -> None:
        """A token issued without a bind does not validate as one bound to an address."""
        verification = id_token(auth, "email_verification", timedelta(hours=24))
        _, value = await _issued(verification, user_id)
        await _refused(verification.validate(value, bind="ada@example.com"))
        assert (await verification.validate(value)).user_id == user_id

    async def test_h14_code_bound_to_an_address_fails_once_the_address_changed(
        self, auth: Lucia, user_id: str, code_secret: str | None
    ) -> None:
        """A typed code bound to the address it was sent to is refused for another address, then accepted for it."""
        codes = password_token(auth, "confirm_email", timedelta(minutes=10), secret=code_secret)
        _, value = await _issued(codes, user_id, bind="ada@example.com")
        await _refused(codes.validate(value, user_id, bind="mallory@example.net"))
        await _refused(codes.validate(value, user_id))
        assert (await codes.validate(value, user_id, bind="ada@example.com")).user_id == user_id

    # -- typed codes -----------------------------------------------------------------

    async def test_code_round_trip(self, user_id: str, sign_in_codes: PasswordTokenWrapper) -> None:
        """An issued code is eight ASCII digits and validates once for its user."""
        token, value = await _issued(sign_in_codes, user_id)
        assert len(value) == 8 and value.isdigit()
        validated = await sign_in_codes.validate(value, user_id)
        assert validated.user_id == user_id and validated.token_id == token.token_id
        await _refused(sign_in_codes.validate(value, user_id), "INVALID_TOKEN")

    async def test_alphanumeric_code_accepts_lower_case(
        self, auth: Lucia, user_id: str, code_secret: str | None
    ) -> None:
        """A letters-and-digits code validates when typed in lower case."""
        codes = password_token(
            auth, "sign_in_code", timedelta(minutes=10), length=10, digits_only=False, secret=code_secret
        )
        _, value = await _issued(codes, user_id)
        assert len(value) == 10
        assert (await codes.validate(value.lower(), user_id)).user_id == user_id

    async def test_new_code_supersedes_the_older_one(self, user_id: str, sign_in_codes: PasswordTokenWrapper) -> None:
        """Issuing a code invalidates the user's previous code of that name; the listing shows the new one."""
        _, old = await _issued(sign_in_codes, user_id)
        new, new_value = await _issued(sign_in_codes, user_id)
        listed = await sign_in_codes.get_all_user_tokens(user_id)
        assert [(t.token_id, t.expires_at, t.value) for t in listed] == [(new.token_id, new.expires_at, None)]
        if old != new_value:
            await _refused(sign_in_codes.validate(old, user_id))
        assert (await sign_in_codes.validate(new_value, user_id)).user_id == user_id

    async def test_invalidate_a_code(self, user_id: str, sign_in_codes: PasswordTokenWrapper) -> None:
        """invalidate(value, user_id) deletes that code; another value leaves it alone."""
        _, value = await _issued(sign_in_codes, user_id)
        await sign_in_codes.invalidate(_another_code(value), user_id)
        assert len(await sign_in_codes.get_all_user_tokens(user_id)) == 1
        await sign_in_codes.invalidate(value, user_id)
        await sign_in_codes.invalidate(value, user_id)  # idempotent
        assert await sign_in_codes.get_all_user_tokens(user_id) == []
        await _refused(sign_in_codes.validate(value, user_id))

    async def test_t3_code_is_bound_to_its_user(
        self, auth: Lucia, user_id: str, sign_in_codes: PasswordTokenWrapper
    ) -> None:
        """A user's code is refused for another user."""
        bob = await self._other_user(auth)
        _, value = await _issued(sign_in_codes, user_id)
        await _refused(sign_in_codes.validate(value, bob))
        assert (await sign_in_codes.validate(value, user_id)).user_id == user_id

    async def test_t3_expired_code_is_refused(
        self, user_id: str, clock: FakeClock, sign_in_codes: PasswordTokenWrapper
    ) -> None:
        """A code past its lifetime fails with EXPIRED_TOKEN."""
        _, value = await _issued(sign_in_codes, user_id)
        clock.advance(timedelta(minutes=10, seconds=1))
        await _refused(sign_in_codes.validate(value, user_id), "EXPIRED_TOKEN")

    async def test_t3_codes_of_different_names_never_validate_as_each_other(
        self, auth: Lucia, user_id: str, code_secret: str | None, sign_in_codes: PasswordTokenWrapper
    ) -> None:
        """A sign-in code is refused by a wrapper of another name."""
        confirm = password_token(auth, "confirm_email", timedelta(minutes=10), secret=code_secret)
        _, value = await _issued(sign_in_codes, user_id)
        await _refused(confirm.validate(value, user_id))
        assert (await sign_in_codes.validate(value, user_id)).user_id == user_id

    async def test_t3_five_failed_attempts_invalidate_the_codes(
        self, user_id: str, clock: FakeClock, sign_in_codes: PasswordTokenWrapper
    ) -> None:
        """After five wrong codes the right one is refused too, until a new code is issued."""
        _, value = await _issued(sign_in_codes, user_id)
        wrong = _another_code(value)
        for _ in range(MAX_ATTEMPTS):
            await _refused(sign_in_codes.validate(wrong, user_id))
        assert await sign_in_codes.get_all_user_tokens(user_id) == []
        await _refused(sign_in_codes.validate(value, user_id), "INVALID_TOKEN")
        _, fresh = await _issued(sign_in_codes, user_id)
        clock.advance(timedelta(minutes=1))  # past any back-off a throttle of the core set after five failures
        assert (await sign_in_codes.validate(fresh, user_id)).user_id == user_id

    async def test_t3_four_failed_attempts_then_the_right_code_succeeds(self, auth: Lucia, user_id: str) -> None:
        """Fewer than five failures leave the codes usable, and success resets the count."""
        codes = password_token(auth, "sign_in_code", timedelta(minutes=10), supersede=False, secret=CODE_SECRET)
        _, first = await _issued(codes, user_id)
        _, second = await _issued(codes, user_id)
        wrong = next(c for c in ("00000000", "11111111", "22222222") if c not in (first, second))
        for right in (first, second):
            for _ in range(MAX_ATTEMPTS - 1):
                await _refused(codes.validate(wrong, user_id))
            assert (await codes.validate(right, user_id)).user_id == user_id

    async def test_t3_concurrent_wrong_guesses_never_exceed_the_limit(
        self, user_id: str, sign_in_codes: PasswordTokenWrapper
    ) -> None:
        """Of 20 concurrent wrong guesses at most five are checked, the rest refused unchecked; then the codes go."""
        _, value = await _issued(sign_in_codes, user_id)
        guesses = [str(n).zfill(8) for n in range(21) if str(n).zfill(8) != value][:20]
        pending = iter(guesses)
        results = await gather_outcomes(len(guesses), lambda: sign_in_codes.validate(next(pending), user_id))
        assert all(isinstance(r, LuciaTokenError) for r in results), results
        checked = [r for r in results if "too many failed attempts" not in str(r)]
        assert 1 <= len(checked) <= MAX_ATTEMPTS, results
        assert await sign_in_codes.get_all_user_tokens(user_id) == []
        await _refused(sign_in_codes.validate(value, user_id))

    async def test_t1_code_validates_once_under_20_concurrent_validations(
        self, user_id: str, sign_in_codes: PasswordTokenWrapper
    ) -> None:
        """Of 20 concurrent validations of one code exactly one succeeds."""
        _, value = await _issued(sign_in_codes, user_id)
        results = await gather_outcomes(20, lambda: sign_in_codes.validate(value, user_id))
        winners = [r for r in results if not isinstance(r, Exception)]
        assert len(winners) == 1, results
        # A concurrent loser may be answered by the throttle instead (SPEC §2, as for single-use keys).
        assert all(isinstance(r, (LuciaTokenError, TooManyRequestsError)) for r in results if r not in winners)

    # -- H2: nothing public or stored lets a code be recovered offline -----------------

    async def test_h2_keyed_code_is_stored_as_an_hmac_that_only_the_secret_recomputes(
        self, auth: Lucia, user_id: str, raw_dump: Callable[[], Awaitable[str]]
    ) -> None:
        """With a secret the dump holds HMAC-SHA-256(secret, ...) of a code: no unkeyed hash of a candidate matches."""
        codes = password_token(auth, "sign_in_code", timedelta(minutes=10), secret=CODE_SECRET)
        token, value = await _issued(codes, user_id)
        dump = await raw_dump()
        stored = re.findall(r"lucia-code\.sign_in_code:([0-9a-f]{32})\.([0-9a-f]{64})", dump)
        assert len(set(stored)) == 1, dump
        handle, mac = stored[0]
        assert handle == token.token_id  # the listed handle is the random half, not the code's

        def keyed(secret: bytes, code: str) -> str:
            message = "\x00".join(("lucia-code", "sign_in_code", user_id, handle, code, ""))
            return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()

        assert keyed(CODE_SECRET.encode(), value) == mac
        assert keyed(secrets.token_bytes(32), value) != mac
        # An attacker with the dump but not the secret hashes candidates: no hash of any matches.
        candidates = [value, *(str(n).zfill(8) for n in range(500))]
        found = [c for c in candidates if _unkeyed_digests(user_id, c, handle) & set(_hex_strings(dump))]
        assert found == []
        # Another secret (a guessed one) does not validate the code.
        guessed = password_token(auth, "sign_in_code", timedelta(minutes=10), secret=secrets.token_hex(32))
        await _refused(guessed.validate(value, user_id))

    async def test_h2_code_without_a_secret_is_stored_as_a_salted_slow_password_hash(
        self, auth: Lucia, user_id: str, hasher: Argon2idHasher, raw_dump: Callable[[], Awaitable[str]]
    ) -> None:
        """Without a secret a code is an Argon2id PHC string under a key id derived from the user alone."""
        codes = password_token(auth, "sign_in_code", timedelta(minutes=10))
        _, value = await _issued(codes, user_id)
        dump = await raw_dump()
        user_key = hashlib.sha256(user_id.encode()).hexdigest()
        assert f"lucia-code.sign_in_code:{user_key}" in dump  # derivable without the code
        phc = re.findall(r"\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+", dump)
        assert len(phc) == 1, dump
        assert hasher.verify(phc[0], value)
        assert not hasher.verify(phc[0], _another_code(value))
        candidates = [value, *(str(n).zfill(8) for n in range(500))]
        found = [c for c in candidates if _unkeyed_digests(user_id, c) & set(_hex_strings(dump))]
        assert found == []
        assert (await codes.validate(value, user_id)).user_id == user_id

    async def test_h2_repr_and_listings_carry_nothing_derived_from_a_value(
        self,
        auth: Lucia,
        user_id: str,
        sign_in_codes: PasswordTokenWrapper,
        raw_dump: Callable[[], Awaitable[str]],
    ) -> None:
        """Printed tokens show no value, stored id or hash of a code, and listed tokens carry no hash of a code."""
        links, codes = id_token(auth, "email_verification", timedelta(hours=1)), sign_in_codes
        link, link_value = await _issued(links, user_id)
        code, code_value = await _issued(codes, user_id)
        dump = await raw_dump()
        code_hashes = set(re.findall(r"lucia-code\.sign_in_code:[0-9a-f]{32}\.([0-9a-f]{64})", dump))
        code_hashes |= set(re.findall(r"\$argon2id\$[^'\"\s,)]+", dump))
        assert code_hashes, dump  # the stored form of the code, whichever way it is stored
        code_hashes |= _unkeyed_digests(user_id, code_value)
        listed = [*await links.get_all_user_tokens(user_id), *await codes.get_all_user_tokens(user_id)]
        printed = " ".join(f"{t!r} {t!s}" for t in (link, code, *listed))
        assert not _appears(link_value, printed) and not _appears(code_value, printed)
        assert link.token_id not in printed  # a link token's stored id is not printed either
        assert [h for h in code_hashes if h in printed] == []
        listed_fields = " ".join(f"{t.name} {t.user_id} {t.token_id} {t.expires_at} {t.value}" for t in listed)
        assert [h for h in code_hashes if h in listed_fields] == []
        assert not _appears(code_value, listed_fields)

    # -- input bounds ----------------------------------------------------------------

    async def test_d3_bad_values_are_refused_without_a_query(
        self, auth: Lucia, user_id: str, counting: CountingAdapter, sign_in_codes: PasswordTokenWrapper
    ) -> None:
        """Empty, oversized, non-ASCII, lone-surrogate, NUL or non-string values raise INVALID_TOKEN, no query."""
        links, codes, totp, secret = self._entry_points(auth, sign_in_codes)
        counting.calls.clear()
        for value in (*BAD_VALUES, "a" * 42, "a" * 44, "a" * 42 + "=", "a" * 42 + "+", "\ud800" * 43):
            await _refused(links.validate(value), "INVALID_TOKEN")
            await _refused(links.invalidate(value))
        for value in (*BAD_VALUES, "1234567", "123456789", "1234567a", " 1234567"):
            await _refused(codes.validate(value, user_id), "INVALID_TOKEN")
            await _refused(codes.invalidate(value, user_id))
        for value in (*BAD_VALUES, "12345", "1234567", "12345a", "12345\x00"):
            await _refused(totp.verify(user_id, secret, value))
        assert counting.calls == []

    async def test_d3_bad_user_ids_binds_and_secrets_are_refused_without_a_query(
        self, auth: Lucia, user_id: str, counting: CountingAdapter, sign_in_codes: PasswordTokenWrapper
    ) -> None:
        """Malformed user ids, bind values and TOTP secrets raise AUTH_INVALID_INPUT before any query."""
        links, codes, totp, secret = self._entry_points(auth, sign_in_codes)
        link_value, code_value = "a" * 43, "12345678"
        calls: list[Callable[[Any], Awaitable[Any]]] = [
            lambda bad: links.issue(bad),
            lambda bad: codes.issue(bad),
            lambda bad: codes.validate(code_value, bad),
            lambda bad: codes.invalidate(code_value, bad),
            lambda bad: links.get_all_user_tokens(bad),
            lambda bad: codes.invalidate_all_user_tokens(bad),
            lambda bad: totp.verify(bad, secret, "123456"),
        ]
        bind_calls: list[Callable[[Any], Awaitable[Any]]] = [
            lambda bad: links.issue(user_id, bind=bad),
            lambda bad: links.validate(link_value, bind=bad),
            lambda bad: links.invalidate(link_value, bind=bad),
            lambda bad: codes.issue(user_id, bind=bad),
            lambda bad: codes.validate(code_value, user_id, bind=bad),
        ]
        counting.calls.clear()
        cases = [(call, bad) for call in calls for bad in BAD_IDS]
        cases += [(call, bad) for call in bind_calls for bad in BAD_BINDS]
        cases += [(lambda bad: totp.verify(user_id, bad, "123456"), bad) for bad in BAD_TOTP_SECRETS]
        for call, bad in cases:
            with pytest.raises(LuciaError) as refused:
                await call(bad)
            assert refused.value.code == "AUTH_INVALID_INPUT", (bad, refused.value)
        assert counting.calls == []

    # -- TOTP ------------------------------------------------------------------------

    async def test_t4_totp_code_is_refused_when_replayed(self, auth: Lucia, user_id: str, clock: FakeClock) -> None:
        """A TOTP code accepted once is refused again for the rest of its window, also by another Lucia."""
        secret = generate_secret()
        code = generate_totp(secret, at=clock())
        await TOTPVerifier(auth).verify(user_id, secret, code)
        await _refused(TOTPVerifier(auth).verify(user_id, secret, code), "INVALID_TOKEN")
        second_instance = Lucia(adapter=auth.users, clock=clock, password_hasher=fast_password_hasher())
        clock.advance(30)  # still inside the +-1 step window
        await _refused(TOTPVerifier(second_instance).verify(user_id, secret, code))
        clock.advance(30)
        next_code = generate_totp(secret, at=clock())
        await TOTPVerifier(second_instance).verify(user_id, secret, next_code)

    async def test_h3_totp_code_of_an_earlier_step_is_refused_after_a_later_one(
        self, auth: Lucia, user_id: str, clock: FakeClock
    ) -> None:
        """After the code of step t is accepted, the still-in-window code of step t-1 is refused (RFC 6238 5.2)."""
        secret = generate_secret()
        verifier = TOTPVerifier(auth)
        now = clock()
        current, previous = generate_totp(secret, at=now), generate_totp(secret, at=now - 30)
        assert verify_totp(secret, previous, at=now) is not None  # inside the drift window
        await verifier.verify(user_id, secret, current)
        await _refused(verifier.verify(user_id, secret, previous), "INVALID_TOKEN")
        later = generate_totp(secret, at=now + 30)  # the next step is still accepted
        await verifier.verify(user_id, secret, later)
        await _refused(verifier.verify(user_id, secret, current))

    async def test_h3_parallel_submissions_of_one_totp_code_have_one_winner(
        self, auth: Lucia, user_id: str, clock: FakeClock
    ) -> None:
        """Of 20 concurrent submissions of one TOTP code exactly one is accepted."""
        verifier, secret = self._totp_race(auth)
        code = generate_totp(secret, at=clock())
        results = await gather_outcomes(20, lambda: verifier.verify(user_id, secret, code))
        winners = [r for r in results if not isinstance(r, Exception)]
        assert len(winners) == 1, results
        assert all(isinstance(r, LuciaTokenError) for r in results if r not in winners), results

    async def test_h3_parallel_codes_of_two_steps_never_accept_the_earlier_after_the_later(
        self, auth: Lucia, user_id: str, clock: FakeClock
    ) -> None:
        """Racing codes of steps t and t-1: t is accepted once, t-1 at most once, and neither again afterwards."""
        verifier, secret = self._totp_race(auth)
        current, previous = generate_totp(secret, at=clock()), generate_totp(secret, at=clock() - 30)
        submitted = iter([current, previous] * 10)

        async def submit() -> str:
            code = next(submitted)
            await verifier.verify(user_id, secret, code)
            return code

        results = await gather_outcomes(20, submit)
        accepted = [r for r in results if isinstance(r, str)]
        assert accepted.count(current) == 1 and accepted.count(previous) <= 1, results
        assert all(isinstance(r, LuciaTokenError) for r in results if not isinstance(r, str)), results
        for code in (current, previous):
            await _refused(verifier.verify(user_id, secret, code))

    async def test_t4_totp_replay_records_are_per_user(self, auth: Lucia, user_id: str, clock: FakeClock) -> None:
        """Two users with the same secret each get their code accepted once."""
        secret = generate_secret()
        bob = await self._other_user(auth)
        code = generate_totp(secret, at=clock())
        await TOTPVerifier(auth).verify(user_id, secret, code)
        await TOTPVerifier(auth).verify(bob, secret, code)

    async def test_t4_totp_replay_records_are_cleaned_up(self, auth: Lucia, user_id: str, clock: FakeClock) -> None:
        """Records of used steps are deleted once their window has passed."""
        secret = generate_secret()
        verifier = TOTPVerifier(auth)
        await verifier.verify(user_id, secret, generate_totp(secret, at=clock()))
        clock.advance(300)
        await verifier.verify(user_id, secret, generate_totp(secret, at=clock()))
        assert len(await auth.get_all_user_keys(user_id)) == 1

    # -- logs ------------------------------------------------------------------------

    async def test_p5_no_token_code_or_secret_reaches_the_logs(
        self,
        auth: Lucia,
        user_id: str,
        clock: FakeClock,
        code_secret: str | None,
        sign_in_codes: PasswordTokenWrapper,
        raw_dump: Callable[[], Awaitable[str]],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """A full flow at DEBUG, its errors, and every public object of it logged with %r and %s show no secret."""
        caplog.set_level(logging.DEBUG)
        log = logging.getLogger("lucia_tokens")
        secrets_used: list[str] = [] if code_secret is None else [code_secret]
        links, codes = id_token(auth, "password_reset", timedelta(hours=1)), sign_in_codes
        link, link_value = await _issued(links, user_id, bind="ada@example.com")
        code, code_value = await _issued(codes, user_id)
        secrets_used += [link_value, code_value]
        # Stored ids are not secrets (drivers may log them at DEBUG), but Lucia's own lines never show them.
        stored_ids = [
            link.token_id,
            *re.findall(r"lucia-code\.sign_in_code:[0-9a-f]{32}\.([0-9a-f]{64})", await raw_dump()),
        ]
        listed = [*await links.get_all_user_tokens(user_id), *await codes.get_all_user_tokens(user_id)]
        await links.validate(link_value, bind="ada@example.com")
        errors: list[BaseException] = [await _refused(links.validate(link_value, bind="ada@example.com"))]
        wrong = _another_code(code_value)
        secrets_used.append(wrong)
        for _ in range(MAX_ATTEMPTS):
            errors.append(await _refused(codes.validate(wrong, user_id)))
        code, code_value = await _issued(codes, user_id)
        secrets_used.append(code_value)
        clock.advance(timedelta(minutes=1))  # past any back-off a throttle of the core set after five failures
        validated = await codes.validate(code_value, user_id)
        secret = generate_secret()
        totp_code = generate_totp(secret, at=clock())
        secrets_used += [secret, totp_code]
        verifier = TOTPVerifier(auth)
        await verifier.verify(user_id, secret, totp_code)
        replay = await _refused(verifier.verify(user_id, secret, totp_code))
        errors.append(replay)
        uri = provisioning_uri(secret, account_name="ada@example.com", issuer="Example")
        shown: list[object] = [link, code, validated, *listed, links, codes, verifier, parse_provisioning_uri(uri)]
        for obj in [*shown, *errors]:
            log.debug("object %r / %s", obj, obj)
        log.debug("refused", exc_info=replay)
        assert caplog.records, "the flow should log something at DEBUG"
        lines = [
            (record.name, f"{record.name} {record.getMessage()} {record.exc_text or ''} {record.args!r}")
            for record in caplog.records
        ]
        text = "\n".join(line for _, line in lines)
        text += "\n".join(f"{error!s} {error!r}" for error in errors)  # shown to people and logged too
        ours = "\n".join(line for name, line in lines if name.split(".")[0] in ("lucia", "lucia_tokens"))
        leaked = [f"secret {i}" for i, s in enumerate(secrets_used) if _appears(s, text)]
        leaked += [f"stored id {i}" for i, s in enumerate(stored_ids) if s in ours]
        assert leaked == [], leaked  # indexes only: a failing run must not print the secrets either
