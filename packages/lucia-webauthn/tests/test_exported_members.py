"""The public surface of lucia_webauthn is pinned: a change to it is a deliberate act."""

from __future__ import annotations

import inspect

import lucia_webauthn
from lucia_testkit import check_public_surface


def test_public_names_are_pinned_and_documented() -> None:
    """Each public module exports exactly its pinned names (``public_names.json``), each documented."""
    check_public_surface(__file__)


def test_passkey_credential_fields_are_specs() -> None:
    """``PasskeyCredential`` has SPEC §8's fields, in order."""
    fields = list(inspect.signature(lucia_webauthn.PasskeyCredential).parameters)
    assert fields == [
        "credential_id", "user_id", "name", "sign_count", "transports", "aaguid", "backed_up", "created_at",
        "last_used_at",
    ]  # fmt: skip
