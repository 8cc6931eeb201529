"""The CSRF rule for unsafe requests, over the whole matrix of SECURITY C3."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lucia import CsrfProtection, Lucia, LuciaError, LuciaRequest
from lucia.adapters.memory import MemoryAdapter

URL = "https://example.com/account"


def _check(
    origin: str | None, site: str | None = None, *, method: str = "POST", url: str = URL, **csrf: object
) -> bool:
    auth = Lucia(adapter=MemoryAdapter(), csrf_protection=CsrfProtection(**csrf) if csrf else True)  # type: ignore[arg-type]
    headers = [(k, v) for k, v in (("Origin", origin), ("Sec-Fetch-Site", site)) if v is not None]
    try:
        auth.parse_request_headers(LuciaRequest(method, url, headers))
    except LuciaError as error:
        if error.code != "AUTH_INVALID_REQUEST":
            raise
        return False
    return True


@pytest.mark.parametrize(
    ("origin", "site", "trusted"),
    [
        ("https://example.com", None, True),
        ("https://example.com", "same-origin", True),
        ("https://EXAMPLE.com:443", None, True),
        (None, "same-origin", True),
        (None, None, False),
        (None, "same-site", False),
        (None, "none", False),
        ("https://example.com", "cross-site", False),
        (None, "cross-site", False),
        ("null", None, False),
        ("null", "same-origin", False),
        ("https://evil.com", None, False),
        ("https://evil.com", "same-origin", False),
        ("http://example.com", None, False),
        ("https://example.com:8443", None, False),
        ("https://example.com.evil.com", None, False),
        ("https://evilexample.com", None, False),
        ("https://app.example.com", None, False),
        ("https://example.com/path", None, False),
        ("https://user@example.com", None, False),
        ("", None, False),
        ("javascript:alert(1)", None, False),
        ("https://exa mple.com", None, False),
    ],
)
def test_c3_origin_and_fetch_metadata_matrix(origin: str | None, site: str | None, trusted: bool) -> None:
    """Unsafe requests are trusted only from the request's own origin or same-origin fetch metadata."""
    assert _check(origin, site) is trusted


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "get"])
def test_c3_safe_methods_are_never_checked(method: str) -> None:
    """GET, HEAD and OPTIONS pass whatever their headers say."""
    assert _check("https://evil.com", "cross-site", method=method)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "PROPFIND"])
def test_c3_every_unsafe_method_is_checked(method: str) -> None:
    """Every method but GET/HEAD/OPTIONS needs a trusted origin."""
    assert not _check("https://evil.com", method=method)
    assert _check("https://example.com", method=method)


def test_c3_ports_and_schemes_of_the_request_count() -> None:
    """The request's own port and scheme define its origin."""
    assert _check("http://127.0.0.1:8000", url="http://127.0.0.1:8000/x")
    assert not _check("http://127.0.0.1:8001", url="http://127.0.0.1:8000/x")
    assert not _check("https://127.0.0.1:8000", url="http://127.0.0.1:8000/x")
    assert _check("http://[::1]:8000", url="http://[::1]:8000/")


def test_c3_idn_hosts_compare_in_punycode() -> None:
    """A unicode host and its punycode form are one origin; a look-alike is not."""
    assert _check("https://xn--bcher-kva.example", url="https://bücher.example/")
    assert _check("https://bücher.example", url="https://xn--bcher-kva.example/")
    assert not _check("https://xn--bcher-kva.example", url="https://bucher.example/")


def test_c3_allowed_subdomains_and_origins() -> None:
    """Configured subdomains (or ``*``) and origins are trusted, with the request's scheme and port."""
    assert _check("https://app.example.com", allowed_subdomains=["app"])
    assert not _check("https://api.example.com", allowed_subdomains=["app"])
    assert not _check("http://app.example.com", allowed_subdomains=["app"])
    assert _check("https://deep.api.example.com", allowed_subdomains="*")
    assert not _check("https://example.org", allowed_subdomains="*")
    assert _check("https://partner.test", allowed_origins=["https://partner.test"])
    assert not _check("https://partner.test:444", allowed_origins=["https://partner.test"])


def test_c3_same_site_only_when_configured() -> None:
    """``Sec-Fetch-Site: same-site`` without an Origin passes only with ``allow_same_site``."""
    assert not _check(None, "same-site")
    assert _check(None, "same-site", allow_same_site=True)


def test_c3_protection_can_be_switched_off_and_bad_config_is_refused() -> None:
    """``csrf_protection=False`` skips the check; malformed configuration fails early."""
    auth = Lucia(adapter=MemoryAdapter(), csrf_protection=False)
    assert auth.parse_request_headers(LuciaRequest("POST", URL, {})) is None
    with pytest.raises(ValueError):
        Lucia(adapter=MemoryAdapter(), csrf_protection=CsrfProtection(allowed_origins=["not a url"]))
    with pytest.raises(ValueError):
        Lucia(adapter=MemoryAdapter(), csrf_protection=CsrfProtection(allowed_subdomains=["a/b"]))


@given(origin=st.text(max_size=80), site=st.one_of(st.none(), st.text(max_size=20)), url=st.text(max_size=80))
def test_c3_garbage_headers_never_raise_anything_but_invalid_request(origin: str, site: str | None, url: str) -> None:
    """Any Origin, Sec-Fetch-Site and URL give a verdict, never a crash; garbage origins are refused."""
    verdict = _check(origin, site, url=url)
    if verdict:
        assert origin.strip().lower().startswith(("http://", "https://"))


@pytest.mark.parametrize("site", [None, "cross-site", "same-site", "same-origin", "none"])
def test_h8_an_allowed_origin_is_trusted_whatever_sec_fetch_site_says(site: str | None) -> None:
    """A configured partner origin (exact scheme, host, port) passes; its look-alikes never do."""
    partner = "https://partner.example"
    assert _check(partner, site, allowed_origins=[partner])
    for other in ("https://partner.example:8443", "http://partner.example", "https://evil.partner.example"):
        assert not _check(other, site, allowed_origins=[partner])


@given(
    origin=st.text(max_size=80),
    query=st.text(max_size=80),
)
def test_h15_origin_parsing_never_raises_and_any_query_is_the_requests_business(origin: str, query: str) -> None:
    """Arbitrary Origin headers and queries: a boolean verdict, never an exception; own origin still trusted."""
    safe_query = query.replace("#", "").replace("\r", "").replace("\n", "")
    _check(origin, None, url=f"https://example.com/a?{safe_query}")
    assert _check("https://example.com", None, url=f"https://example.com/a?{safe_query}")
