"""The public surface of lucia_webauthn is pinned: a change to it is a deliberate act."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import lucia_webauthn

#: What the package exports, in ``__all__`` order: data, kept beside this test.
PUBLIC_SURFACE: dict[str, list[str]] = json.loads(Path(__file__).with_name("public_names.json").read_text())


def test_lucia_webauthn_exports() -> None:
    """lucia_webauthn exports SPEC §8's names, the error subclasses and the cookie names."""
    assert lucia_webauthn.__all__ == PUBLIC_SURFACE["lucia_webauthn"]


def test_every_public_name_exists_and_is_documented() -> None:
    """Each exported name exists; each exported class and each public method has a docstring."""
    for name in lucia_webauthn.__all__:
        obj = getattr(lucia_webauthn, name)
        if inspect.isclass(obj):
            assert obj.__doc__, name
            for attribute, member in vars(obj).items():
                if not attribute.startswith("_") and inspect.isfunction(member):
                    assert member.__doc__, f"{name}.{attribute}"


def test_passkey_credential_fields_are_specs() -> None:
    """``PasskeyCredential`` has SPEC §8's fields, in order."""
    fields = list(inspect.signature(lucia_webauthn.PasskeyCredential).parameters)
    assert fields == [
        "credential_id", "user_id", "name", "sign_count", "transports", "aaguid", "backed_up", "created_at",
        "last_used_at",
    ]  # fmt: skip
