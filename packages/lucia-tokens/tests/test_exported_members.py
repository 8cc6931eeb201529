"""The public surface is what we mean it to be."""

from __future__ import annotations

from lucia_testkit import check_public_surface, pinned_surface


def test_public_names_are_pinned_and_documented() -> None:
    """Each public module exports exactly its pinned names (``public_names.json``), each documented."""
    assert sorted(pinned_surface(__file__)) == ["lucia_tokens", "lucia_tokens.testing", "lucia_tokens.totp"]
    check_public_surface(__file__)
