"""The public surface of lucia_oauth is pinned: a change to it is a deliberate act."""

from __future__ import annotations

import lucia_oauth
import lucia_oauth.providers
from lucia_testkit import check_public_surface, pinned_surface

#: The sixteen named providers: the pinned names of ``lucia_oauth.providers`` that are not options classes.
NAMED_PROVIDERS = {name for name in pinned_surface(__file__)["lucia_oauth.providers"] if not name.endswith("Options")}


def test_lucia_oauth_exports() -> None:
    """lucia_oauth exports the SPEC §5 names, the 16 named providers, the options, the errors and the helpers."""
    check_public_surface(__file__)
    assert len(NAMED_PROVIDERS) == 16
    assert set(lucia_oauth.__all__) >= NAMED_PROVIDERS


def test_named_providers_are_the_same_classes_everywhere() -> None:
    """``lucia_oauth.GitHub is lucia_oauth.providers.GitHub``, and each is an OAuth2Provider."""
    for name in NAMED_PROVIDERS:
        cls = getattr(lucia_oauth, name)
        assert cls is getattr(lucia_oauth.providers, name)
        assert issubclass(cls, lucia_oauth.OAuth2Provider)
        assert ":" not in cls.provider_id
