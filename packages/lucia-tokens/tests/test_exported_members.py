"""The public surface is what we mean it to be."""

from __future__ import annotations

import lucia_tokens
import lucia_tokens.testing
import lucia_tokens.totp


def test_all_is_pinned() -> None:
    """Each public module exports exactly these names (ruff keeps them sorted), and every one exists."""
    expected = {
        lucia_tokens: [
            "MAX_ATTEMPTS",
            "IdTokenWrapper",
            "LuciaTokenError",
            "PasswordTokenWrapper",
            "Token",
            "TokenErrorCode",
            "__version__",
            "id_token",
            "password_token",
        ],
        lucia_tokens.totp: [
            "Algorithm",
            "TOTPParameters",
            "TOTPVerifier",
            "generate_secret",
            "generate_totp",
            "parse_provisioning_uri",
            "provisioning_uri",
            "verify_totp",
        ],
        lucia_tokens.testing: ["CountingAdapter", "TokenTests", "gather_outcomes"],
    }
    for module, names in expected.items():
        assert module.__all__ == names
        assert all(hasattr(module, name) for name in names)
