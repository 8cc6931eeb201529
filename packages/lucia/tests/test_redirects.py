"""Redirect targets after sign-in (SECURITY C4)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lucia.redirects import is_safe_redirect, safe_redirect

ALLOWED = ["https://app.example.com"]


@pytest.mark.parametrize(
    "target", ["/", "/account", "/a/b?next=//x#frag", "/search?q=%2F", "https://app.example.com/welcome"]
)
def test_c4_relative_paths_and_allowed_origins_pass(target: str) -> None:
    """Site-relative paths and URLs on an allowed origin are kept."""
    assert is_safe_redirect(target, allowed_origins=ALLOWED)
    assert safe_redirect(target, allowed_origins=ALLOWED) == target


@pytest.mark.parametrize(
    "target",
    [
        "//evil.com",
        "/\\evil.com",
        "\\\\evil.com",
        "https:evil.com",
        "https://evil.com",
        "http://app.example.com",
        "https://app.example.com.evil.com/",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,x",
        "%2F%2Fevil.com",
        "/%2F/evil.com",
        "/%252F%252Fevil.com",
        "/%5Cevil.com",
        " //evil.com",
        "/\t/evil.com",
        "/\n/evil.com",
        "evil.com",
        "",
        None,
        42,
        "/" + "a" * 3000,
    ],
)
def test_c4_foreign_and_encoded_targets_are_refused(target: object) -> None:
    """Protocol-relative, backslash, scheme-only, javascript: and encoded forms fall back to the default."""
    assert not is_safe_redirect(target, allowed_origins=ALLOWED)
    assert safe_redirect(target, default="/home", allowed_origins=ALLOWED) == "/home"


@given(st.text(max_size=60))
def test_c4_any_accepted_target_stays_on_site(target: str) -> None:
    """Whatever is accepted without an allowlist is a single-slash path."""
    if is_safe_redirect(target):
        assert target.startswith("/") and not target.startswith("//")
