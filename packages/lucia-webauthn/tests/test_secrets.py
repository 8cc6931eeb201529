"""No challenge id leaves the server: not in storage (only its SHA-256), a repr, a log line or an error."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from _soft_authenticator import SoftAuthenticator

from lucia import User
from lucia.adapters.memory import MemoryAdapter
from lucia_webauthn import LuciaWebAuthnError, Passkeys

pytestmark = pytest.mark.anyio


async def _challenge_rows(adapter: Any, tmp_path: Path) -> str:
    """Every stored challenge row, as text, read the way an attacker with a dump would."""
    if isinstance(adapter, MemoryAdapter):
        return repr([(key, dataclasses.astuple(row)) for key, row in adapter.challenges.items()])
    async with aiosqlite.connect(tmp_path / "auth.db") as conn:
        return repr(await conn.execute_fetchall("SELECT * FROM auth_passkey_challenge"))


async def test_s2_challenge_ids_are_stored_hashed(passkeys: Passkeys, adapter: Any, user: User, tmp_path: Path) -> None:
    """A dump of the challenge table holds SHA-256 of each challenge id, never the id itself."""
    _, registration_id = await passkeys.begin_registration(user.user_id, user_name="ada")
    _, authentication_id = await passkeys.begin_authentication()
    dump = await _challenge_rows(adapter, tmp_path)
    for challenge_id in (registration_id, authentication_id):
        assert challenge_id not in dump
        assert hashlib.sha256(challenge_id.encode()).hexdigest() in dump


async def test_p5_h4_no_log_repr_or_error_shows_a_challenge_id(
    passkeys: Passkeys, user: User, caplog: pytest.LogCaptureFixture
) -> None:
    """Across full ceremonies and refused ones, logged at DEBUG, no challenge id appears anywhere.

    The challenges themselves are public (the page gets them) and a driver may log the
    rows it writes; Lucia's own log lines hold neither.
    """
    authenticator = SoftAuthenticator()
    challenge_ids: list[str] = []
    challenges: list[str] = []
    texts: list[str] = [repr(passkeys)]
    with caplog.at_level(logging.DEBUG):
        options, challenge_id = await passkeys.begin_registration(user.user_id, user_name="ada")
        challenge_ids.append(challenge_id)
        challenges.append(options["challenge"])
        credential = await passkeys.finish_registration(user.user_id, challenge_id, authenticator.create(options))
        texts.append(repr(credential))
        options, challenge_id = await passkeys.begin_authentication()
        challenge_ids.append(challenge_id)
        challenges.append(options["challenge"])
        for attempt in (
            lambda: passkeys.finish_authentication(challenge_id, authenticator.get(options, origin="https://evil")),
            lambda: passkeys.finish_authentication(challenge_id, authenticator.get(options)),
            lambda: passkeys.finish_registration(user.user_id, challenge_id, {}),
        ):
            try:
                await attempt()
            except LuciaWebAuthnError as exc:
                texts += [repr(exc), str(exc), exc.detail]
        texts.append(repr(passkeys.challenge_cookie("authentication", challenge_id)))
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("lucia")]
    assert any("registered passkey" in line for line in ours)  # the flows did log
    for challenge_id in challenge_ids:
        assert all(challenge_id not in text for text in [*texts, caplog.text])
    for challenge in challenges:
        assert all(challenge not in text for text in [*texts, *ours])
