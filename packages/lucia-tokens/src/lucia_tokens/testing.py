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

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import anyio
import pytest

from lucia import Lucia, LuciaError
from lucia.testing import FakeClock, fast_password_hasher
from lucia_tokens._errors import LuciaTokenError
from lucia_tokens._tokens import MAX_ATTEMPTS, id_token, password_token
from lucia_tokens.totp import TOTPVerifier, generate_secret, generate_totp

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
    None,
    12345678,
)


async def gather_outcomes(count: int, call: Callable[[], Awaitable[Any]]) -> list[Any]:
    """Run ``call`` ``count`` times concurrently; return each result or raised exception."""
    results: list[Any] = [None] * count

    async def one(index: int) -> None:
        try:
            results[index] = await call()
        except Exception as exc:  # the outcomes are what the tests assert on
            results[index] = exc

    async with anyio.create_task_group() as group:
        for index in range(count):
            group.start_soon(one, index)
    return results


class CountingAdapter:
    """Wraps an adapter and counts every call of its async methods (to prove "no query")."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if name.startswith("_") or not callable(attribute):
            return attribute

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args))
            return await attribute(*args, **kwargs)

        return counted


def _appears(secret: str, text: str) -> bool:
    """Whether ``secret`` occurs in ``text``; a digit code only as a whole word.

    A six-digit code is too short to search as a bare substring: it turns up inside
    hex hashes and timestamps by chance. A leak shows it on its own.
    """
    if secret.isdigit():
        return re.search(rf"(?<![0-9A-Za-z]){re.escape(secret)}(?![0-9A-Za-z])", text) is not None
    return secret in text


class TokenTests:
    """Link tokens, typed codes and TOTP replay refusal on the adapter under test."""

    pytestmark = pytest.mark.anyio

    @pytest.fixture
    def anyio_backend(self) -> str:
        """The suite runs on asyncio."""
        return "asyncio"

    @pytest.fixture
    def raw_dump(self) -> Callable[[], Awaitable[str]]:
        """Every stored row as text; a subclass must supply it."""
        pytest.fail("the token suite needs a `raw_dump` fixture: every stored row as text")

    @pytest.fixture
    def clock(self) -> FakeClock:
        """A clock the tests move by hand."""
        return FakeClock()

    @pytest.fixture
    def counting(self, adapter: Any) -> CountingAdapter:
        """The adapter under test, with its calls counted."""
        return CountingAdapter(adapter)

    @pytest.fixture
    def auth(self, counting: CountingAdapter, clock: FakeClock) -> Lucia:
        """A ``Lucia`` on the counted adapter and the fake clock."""
        return Lucia(adapter=counting, clock=clock, password_hasher=fast_password_hasher())

    @pytest.fixture
    async def user_id(self, auth: Lucia) -> str:
        """The id of a fresh user."""
        return (await auth.create_user(primary_key=None, attributes={"username": "ada"})).user_id

    async def _other_user(self, auth: Lucia) -> str:
        return (await auth.create_user(primary_key=None, attributes={"username": "bob"})).user_id

    # -- link tokens -----------------------------------------------------------------

    async def test_link_token_round_trip(self, auth: Lucia, user_id: str) -> None:
        """An issued link token validates to its user and hides its value when printed."""
        tokens = id_token(auth, "email_verification", timedelta(hours=24))
        token = await tokens.issue(user_id)
        assert token.value is not None and len(token.value) == 43
        assert token.value not in repr(token)
        validated = await tokens.validate(token.value)
        assert validated.user_id == user_id
        assert validated.name == "email_verification"
        assert validated.value is None and validated.token_id == token.token_id

    async def test_t1_link_token_validates_once_under_20_concurrent_validations(
        self, auth: Lucia, user_id: str
    ) -> None:
        """Of 20 concurrent validations of one link token exactly one succeeds."""
        tokens = id_token(auth, "password_reset", timedelta(hours=1))
        token = await tokens.issue(user_id)
        assert token.value is not None
        value = token.value
        results = await gather_outcomes(20, lambda: tokens.validate(value))
        winners = [r for r in results if not isinstance(r, Exception)]
        assert len(winners) == 1, results
        assert winners[0].user_id == user_id
        losers = [r for r in results if isinstance(r, Exception)]
        assert all(isinstance(r, LuciaTokenError) and r.code == "INVALID_TOKEN" for r in losers), losers

    async def test_t2_expired_link_token_is_refused(self, auth: Lucia, user_id: str, clock: FakeClock) -> None:
        """A link token past its lifetime fails with EXPIRED_TOKEN, then is gone."""
        tokens = id_token(auth, "password_reset", timedelta(hours=1))
        token = await tokens.issue(user_id)
        assert token.value is not None
        clock.advance(timedelta(hours=1, seconds=1))
        with pytest.raises(LuciaTokenError) as expired:
            await tokens.validate(token.value)
        assert expired.value.code == "EXPIRED_TOKEN"
        with pytest.raises(LuciaTokenError) as gone:
            await tokens.validate(token.value)
        assert gone.value.code == "INVALID_TOKEN"

    async def test_link_token_valid_until_just_before_expiry(self, auth: Lucia, user_id: str, clock: FakeClock) -> None:
        """A link token still validates one second before it expires."""
        tokens = id_token(auth, "email_verification", timedelta(hours=24))
        token = await tokens.issue(user_id)
        assert token.value is not None
        clock.advance(timedelta(hours=24) - timedelta(seconds=1))
        assert (await tokens.validate(token.value)).user_id == user_id

    async def test_t2_tokens_of_different_names_never_validate_as_each_other(self, auth: Lucia, user_id: str) -> None:
        """A verification token is refused by the password-reset wrapper, and still works for its own."""
        verification = id_token(auth, "email_verification", timedelta(hours=24))
        reset = id_token(auth, "password_reset", timedelta(hours=1))
        token = await verification.issue(user_id)
        assert token.value is not None
        with pytest.raises(LuciaTokenError) as refused:
            await reset.validate(token.value)
        assert refused.value.code == "INVALID_TOKEN"
        assert await reset.get_all_user_tokens(user_id) == []
        assert (await verification.validate(token.value)).user_id == user_id

    async def test_t2_new_reset_token_supersedes_older_ones(self, auth: Lucia, user_id: str) -> None:
        """Issuing a reset token invalidates the user's older ones of that name only."""
        reset = id_token(auth, "password_reset", timedelta(hours=1))
        verification = id_token(auth, "email_verification", timedelta(hours=24))
        other = await verification.issue(user_id)
        old = await reset.issue(user_id)
        new = await reset.issue(user_id)
        assert old.value is not None and new.value is not None and other.value is not None
        assert [t.token_id for t in await reset.get_all_user_tokens(user_id)] == [new.token_id]
        with pytest.raises(LuciaTokenError):
            await reset.validate(old.value)
        assert (await reset.validate(new.value)).user_id == user_id
        assert (await verification.validate(other.value)).user_id == user_id

    async def test_t2_tokens_are_bound_to_their_user(self, auth: Lucia, user_id: str) -> None:
        """Superseding one user's tokens leaves another user's alone; each validates to its owner."""
        reset = id_token(auth, "password_reset", timedelta(hours=1))
        bob = await self._other_user(auth)
        ada_token = await reset.issue(user_id)
        bob_token = await reset.issue(bob)
        assert ada_token.value is not None and bob_token.value is not None
        assert (await reset.validate(bob_token.value)).user_id == bob
        assert (await reset.validate(ada_token.value)).user_id == user_id

    async def test_t2_raw_storage_never_holds_a_token_or_code(
        self, auth: Lucia, user_id: str, raw_dump: Callable[[], Awaitable[str]]
    ) -> None:
        """Every stored row, read raw, contains neither a link token nor a code, only their hashes."""
        link = await id_token(auth, "email_verification", timedelta(hours=24)).issue(user_id)
        code = await password_token(auth, "sign_in_code", timedelta(minutes=10)).issue(user_id)
        assert link.value is not None and code.value is not None
        dump = await raw_dump()
        assert link.token_id in dump and code.token_id in dump
        assert not _appears(link.value, dump)
        assert not _appears(code.value, dump)

    async def test_invalidate_and_list_tokens(self, auth: Lucia, user_id: str, clock: FakeClock) -> None:
        """Without supersede a user holds several tokens; invalidate removes one, invalidate_all the rest."""
        tokens = id_token(auth, "email_verification", timedelta(hours=2), supersede=False)
        first = await tokens.issue(user_id)
        clock.advance(timedelta(minutes=1))
        second = await tokens.issue(user_id)
        third = await tokens.issue(user_id)
        assert first.value is not None and second.value is not None and third.value is not None
        listed = await tokens.get_all_user_tokens(user_id)
        assert listed[0].token_id == first.token_id
        assert {t.token_id for t in listed} == {first.token_id, second.token_id, third.token_id}
        assert all(t.value is None and not t.expired and t.user_id == user_id for t in listed)
        await tokens.invalidate(first.value)
        await tokens.invalidate(first.value)  # idempotent
        with pytest.raises(LuciaTokenError):
            await tokens.validate(first.value)
        await tokens.invalidate_all_user_tokens(user_id)
        assert await tokens.get_all_user_tokens(user_id) == []
        with pytest.raises(LuciaTokenError):
            await tokens.validate(third.value)

    async def test_expired_tokens_are_not_listed(self, auth: Lucia, user_id: str, clock: FakeClock) -> None:
        """get_all_user_tokens leaves out (and cleans up) expired tokens."""
        tokens = id_token(auth, "email_verification", timedelta(hours=1))
        await tokens.issue(user_id)
        clock.advance(timedelta(hours=2))
        assert await tokens.get_all_user_tokens(user_id) == []
        assert await auth.get_all_user_keys(user_id) == []

    async def test_issue_for_unknown_user_fails(self, auth: Lucia) -> None:
        """Issuing a token or code for an unknown user raises AUTH_INVALID_USER_ID."""
        with pytest.raises(LuciaError) as link:
            await id_token(auth, "email_verification", timedelta(hours=1)).issue("nobody")
        assert link.value.code == "AUTH_INVALID_USER_ID"
        with pytest.raises(LuciaError) as code:
            await password_token(auth, "sign_in_code", timedelta(minutes=5)).issue("nobody")
        assert code.value.code == "AUTH_INVALID_USER_ID"

    async def test_deleting_the_user_deletes_its_tokens(self, auth: Lucia, user_id: str) -> None:
        """A deleted user's token no longer validates."""
        tokens = id_token(auth, "email_verification", timedelta(hours=1))
        token = await tokens.issue(user_id)
        assert token.value is not None
        await auth.delete_user(user_id)
        with pytest.raises(LuciaTokenError):
            await tokens.validate(token.value)

    # -- typed codes -----------------------------------------------------------------

    async def test_code_round_trip(self, auth: Lucia, user_id: str) -> None:
        """An issued code is eight ASCII digits and validates once for its user."""
        codes = password_token(auth, "sign_in_code", timedelta(minutes=10))
        token = await codes.issue(user_id)
        assert token.value is not None and len(token.value) == 8 and token.value.isdigit()
        assert (await codes.validate(token.value, user_id)).user_id == user_id
        with pytest.raises(LuciaTokenError) as again:
            await codes.validate(token.value, user_id)
        assert again.value.code == "INVALID_TOKEN"

    async def test_alphanumeric_code_accepts_lower_case(self, auth: Lucia, user_id: str) -> None:
        """A letters-and-digits code validates when typed in lower case."""
        codes = password_token(auth, "sign_in_code", timedelta(minutes=10), length=10, digits_only=False)
        token = await codes.issue(user_id)
        assert token.value is not None and len(token.value) == 10
        assert (await codes.validate(token.value.lower(), user_id)).user_id == user_id

    async def test_t3_code_is_bound_to_its_user(self, auth: Lucia, user_id: str) -> None:
        """A user's code is refused for another user."""
        codes = password_token(auth, "sign_in_code", timedelta(minutes=10))
        bob = await self._other_user(auth)
        token = await codes.issue(user_id)
        assert token.value is not None
        with pytest.raises(LuciaTokenError):
            await codes.validate(token.value, bob)
        assert (await codes.validate(token.value, user_id)).user_id == user_id

    async def test_t3_expired_code_is_refused(self, auth: Lucia, user_id: str, clock: FakeClock) -> None:
        """A code past its lifetime fails with EXPIRED_TOKEN."""
        codes = password_token(auth, "sign_in_code", timedelta(minutes=10))
        token = await codes.issue(user_id)
        assert token.value is not None
        clock.advance(timedelta(minutes=10, seconds=1))
        with pytest.raises(LuciaTokenError) as expired:
            await codes.validate(token.value, user_id)
        assert expired.value.code == "EXPIRED_TOKEN"

    async def test_t3_codes_of_different_names_never_validate_as_each_other(self, auth: Lucia, user_id: str) -> None:
        """A sign-in code is refused by a wrapper of another name."""
        sign_in = password_token(auth, "sign_in_code", timedelta(minutes=10))
        confirm = password_token(auth, "confirm_email", timedelta(minutes=10))
        token = await sign_in.issue(user_id)
        assert token.value is not None
        with pytest.raises(LuciaTokenError):
            await confirm.validate(token.value, user_id)
        assert (await sign_in.validate(token.value, user_id)).user_id == user_id

    async def test_t3_five_failed_attempts_invalidate_the_codes(self, auth: Lucia, user_id: str) -> None:
        """After five wrong codes the right one is refused too, until a new code is issued."""
        codes = password_token(auth, "sign_in_code", timedelta(minutes=10))
        token = await codes.issue(user_id)
        assert token.value is not None
        wrong = str((int(token.value) + 1) % 10**8).zfill(8)
        for _ in range(MAX_ATTEMPTS):
            with pytest.raises(LuciaTokenError):
                await codes.validate(wrong, user_id)
        assert await codes.get_all_user_tokens(user_id) == []
        with pytest.raises(LuciaTokenError) as locked:
            await codes.validate(token.value, user_id)
        assert locked.value.code == "INVALID_TOKEN"
        fresh = await codes.issue(user_id)
        assert fresh.value is not None
        assert (await codes.validate(fresh.value, user_id)).user_id == user_id

    async def test_t3_four_failed_attempts_then_the_right_code_succeeds(self, auth: Lucia, user_id: str) -> None:
        """Fewer than five failures leave the code usable, and success resets the count."""
        codes = password_token(auth, "sign_in_code", timedelta(minutes=10), supersede=False)
        first = await codes.issue(user_id)
        second = await codes.issue(user_id)
        assert first.value is not None and second.value is not None
        wrong = next(c for c in ("00000000", "11111111", "22222222") if c not in (first.value, second.value))
        for _ in range(MAX_ATTEMPTS - 1):
            with pytest.raises(LuciaTokenError):
                await codes.validate(wrong, user_id)
        assert (await codes.validate(first.value, user_id)).user_id == user_id
        for _ in range(MAX_ATTEMPTS - 1):
            with pytest.raises(LuciaTokenError):
                await codes.validate(wrong, user_id)
        assert (await codes.validate(second.value, user_id)).user_id == user_id

    async def test_t3_concurrent_wrong_guesses_never_exceed_the_limit(
        self, auth: Lucia, user_id: str, counting: CountingAdapter
    ) -> None:
        """Of 20 concurrent wrong guesses at most five look a code up; then the codes are gone."""
        codes = password_token(auth, "sign_in_code", timedelta(minutes=10))
        token = await codes.issue(user_id)
        assert token.value is not None
        guesses = [str(n).zfill(8) for n in range(20) if str(n).zfill(8) != token.value][:20]
        counting.calls.clear()
        pending = iter(guesses)
        results = await gather_outcomes(len(guesses), lambda: codes.validate(next(pending), user_id))
        assert all(isinstance(r, LuciaTokenError) for r in results), results
        lookups = [args for name, args in counting.calls if name in ("get_key", "use_single_use_key")]
        code_lookups = [args for args in lookups if str(args[0]).startswith("lucia-code.")]
        assert 1 <= len(code_lookups) <= MAX_ATTEMPTS, code_lookups
        assert await codes.get_all_user_tokens(user_id) == []
        with pytest.raises(LuciaTokenError):
            await codes.validate(token.value, user_id)

    async def test_t1_code_validates_once_under_20_concurrent_validations(self, auth: Lucia, user_id: str) -> None:
        """Of 20 concurrent validations of one code at most one succeeds, and exactly one when within the limit."""
        codes = password_token(auth, "sign_in_code", timedelta(minutes=10))
        token = await codes.issue(user_id)
        assert token.value is not None
        value = token.value
        results = await gather_outcomes(20, lambda: codes.validate(value, user_id))
        winners = [r for r in results if not isinstance(r, Exception)]
        assert len(winners) == 1, results
        assert all(isinstance(r, LuciaTokenError) for r in results if r not in winners)

    # -- input bounds ----------------------------------------------------------------

    async def test_d3_bad_values_are_refused_without_a_query(
        self, auth: Lucia, user_id: str, counting: CountingAdapter, clock: FakeClock
    ) -> None:
        """Empty, oversized, non-ASCII or non-string values raise INVALID_TOKEN and reach no database."""
        links = id_token(auth, "email_verification", timedelta(hours=1))
        codes = password_token(auth, "sign_in_code", timedelta(minutes=10))
        totp = TOTPVerifier(auth)
        secret = generate_secret()
        counting.calls.clear()
        for value in (*BAD_VALUES, "a" * 42, "a" * 44, "a" * 42 + "=", "a" * 42 + "+"):
            with pytest.raises(LuciaTokenError) as link:
                await links.validate(value)
            assert link.value.code == "INVALID_TOKEN"
            with pytest.raises(LuciaTokenError):
                await links.invalidate(value)
        for value in (*BAD_VALUES, "1234567", "123456789", "1234567a", " 1234567"):
            with pytest.raises(LuciaTokenError) as code:
                await codes.validate(value, user_id)
            assert code.value.code == "INVALID_TOKEN"
        for value in (*BAD_VALUES, "12345", "1234567", "12345a", generate_totp(secret, at=clock() + 3600)):
            with pytest.raises(LuciaTokenError):
                await totp.verify(user_id, secret, value)
        assert counting.calls == []

    # -- TOTP ------------------------------------------------------------------------

    async def test_t4_totp_code_is_refused_when_replayed(self, auth: Lucia, user_id: str, clock: FakeClock) -> None:
        """A TOTP code accepted once is refused again for the rest of its window, also by another Lucia."""
        secret = generate_secret()
        code = generate_totp(secret, at=clock())
        await TOTPVerifier(auth).verify(user_id, secret, code)
        with pytest.raises(LuciaTokenError) as replayed:
            await TOTPVerifier(auth).verify(user_id, secret, code)
        assert replayed.value.code == "INVALID_TOKEN"
        second_instance = Lucia(adapter=auth.users, clock=clock, password_hasher=fast_password_hasher())
        clock.advance(30)  # still inside the +-1 step window
        with pytest.raises(LuciaTokenError):
            await TOTPVerifier(second_instance).verify(user_id, secret, code)
        clock.advance(30)
        next_code = generate_totp(secret, at=clock())
        await TOTPVerifier(second_instance).verify(user_id, secret, next_code)

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
        self, auth: Lucia, user_id: str, clock: FakeClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A full flow logged at DEBUG by every logger, and its errors, never show a token, code or TOTP secret."""
        caplog.set_level(logging.DEBUG)
        secrets_used: list[str] = []
        links = id_token(auth, "password_reset", timedelta(hours=1))
        codes = password_token(auth, "sign_in_code", timedelta(minutes=10))
        link = await links.issue(user_id)
        code = await codes.issue(user_id)
        assert link.value is not None and code.value is not None
        secrets_used += [link.value, code.value]
        logging.getLogger("lucia_tokens").debug("issued %r and %r", link, code)
        await links.validate(link.value)
        errors: list[str] = []
        with pytest.raises(LuciaTokenError) as used:
            await links.validate(link.value)
        errors.append(f"{used.value!s} {used.value!r}")
        wrong = str((int(code.value) + 1) % 10**8).zfill(8)
        secrets_used.append(wrong)
        for _ in range(MAX_ATTEMPTS):
            with pytest.raises(LuciaTokenError) as refused:
                await codes.validate(wrong, user_id)
            errors.append(f"{refused.value!s} {refused.value!r}")
        code = await codes.issue(user_id)
        assert code.value is not None
        secrets_used.append(code.value)
        await codes.validate(code.value, user_id)
        secret = generate_secret()
        totp_code = generate_totp(secret, at=clock())
        secrets_used += [secret, totp_code]
        await TOTPVerifier(auth).verify(user_id, secret, totp_code)
        with pytest.raises(LuciaTokenError) as replay:
            await TOTPVerifier(auth).verify(user_id, secret, totp_code)
        logging.getLogger("lucia_tokens").debug("refused: %s", replay.value)
        errors.append(f"{replay.value!s} {replay.value!r}")
        assert caplog.records, "the flow should log something at DEBUG"
        text = "\n".join(
            f"{record.name} {record.getMessage()} {record.exc_text or ''} {record.args!r}" for record in caplog.records
        )
        text += "\n".join(errors)  # error messages are shown to people and logged too
        leaked = [s for s in secrets_used if _appears(s, text)]
        assert leaked == []
