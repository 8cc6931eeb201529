"""The public surface of lucia_oauth is pinned: a change to it is a deliberate act."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import lucia_oauth
import lucia_oauth.providers

#: What the package exports, in ``__all__`` order: data, kept beside this test.
PUBLIC_SURFACE: dict[str, list[str]] = json.loads(Path(__file__).with_name("public_names.json").read_text())

NAMED_PROVIDERS = {
    "Apple", "Auth0", "Discord", "Facebook", "GitHub", "GitLab", "Google", "Keycloak", "LinkedIn",
    "MicrosoftEntraID", "Okta", "Patreon", "Reddit", "Slack", "Spotify", "Twitch",
}  # fmt: skip


def test_lucia_oauth_exports() -> None:
    """lucia_oauth exports the SPEC §5 names, the 16 named providers, the options, the errors and the helpers."""
    assert lucia_oauth.__all__ == PUBLIC_SURFACE["lucia_oauth"]
    assert set(lucia_oauth.__all__) >= NAMED_PROVIDERS


def test_named_providers_are_the_same_classes_everywhere() -> None:
    """``lucia_oauth.GitHub is lucia_oauth.providers.GitHub``, and each is an OAuth2Provider."""
    for name in NAMED_PROVIDERS:
        cls = getattr(lucia_oauth, name)
        assert cls is getattr(lucia_oauth.providers, name)
        assert issubclass(cls, lucia_oauth.OAuth2Provider)
        assert ":" not in cls.provider_id


def test_every_public_name_exists_and_is_documented() -> None:
    """Each exported name exists; each exported class and function has a docstring."""
    for module in (lucia_oauth, lucia_oauth.providers):
        assert len(set(module.__all__)) == len(module.__all__)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                assert obj.__doc__, f"{module.__name__}.{name}"
