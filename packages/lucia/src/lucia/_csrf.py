"""The CSRF rule for unsafe requests (SECURITY C3). Pure logic, no I/O.

An unsafe request (any method but GET, HEAD, OPTIONS) is trusted when its ``Origin``
is one of the configured ``allowed_origins`` (exact scheme, host and port, whatever
``Sec-Fetch-Site`` says: a partner site is cross-site by definition, H8); or when it is
not marked ``Sec-Fetch-Site: cross-site`` and either its ``Origin`` is the request's own
origin or an allowed subdomain of the request's host with the same scheme and port, or,
with no ``Origin``, ``Sec-Fetch-Site`` says ``same-origin`` (or ``same-site`` where
configured). With neither header it is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from lucia._config import CsrfProtection

__all__ = ["SAFE_METHODS", "CsrfPolicy", "Origin", "parse_origin"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]


def parse_origin(value: str, *, allow_path: bool = False) -> Origin | None:
    """``(scheme, ascii host, port)`` of an origin or URL, or ``None`` if it is not one.

    Hosts are lowercased and IDNA-encoded, so ``https://BÜCHER.example`` and
    ``https://xn--bcher-kva.example`` are the same origin. ``null`` is not an origin.
    With ``allow_path`` (the request's own URL), the path, query and fragment are the
    request's business and are not judged (H15): only scheme, host and port count.
    """
    if not value or len(value) > 8192:
        return None
    if allow_path:
        scheme, sep, rest = value.partition("://")
        if not sep:
            return None
        end = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
        value = f"{scheme}://{rest[:end]}"
    if len(value) > 2048 or any(c in value for c in "\x00\r\n\t \\"):
        return None
    try:
        parts = urlsplit(value)
        scheme = parts.scheme.lower()
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if scheme not in _DEFAULT_PORTS or not host or parts.username is not None or parts.password is not None:
        return None
    if not allow_path and (parts.path not in ("", "/") or parts.query or parts.fragment):
        return None
    try:
        ascii_host = host.encode("idna").decode("ascii").lower() if not host.isascii() else host.lower()
    except UnicodeError:
        return None
    return scheme, ascii_host, port if port is not None else _DEFAULT_PORTS[scheme]


@dataclass(frozen=True, slots=True)
class CsrfPolicy:
    """A :class:`CsrfProtection` with its origins parsed once."""

    enabled: bool
    allowed_origins: frozenset[Origin]
    allowed_subdomains: frozenset[str] | Literal["*"]
    allow_same_site: bool

    @classmethod
    def from_options(cls, options: bool | CsrfProtection) -> CsrfPolicy:
        """Build the policy from the ``csrf_protection`` option of :class:`lucia.Lucia`."""
        if options is False:
            return cls(False, frozenset(), frozenset(), False)
        config = CsrfProtection() if options is True else options
        origins: set[Origin] = set()
        for origin in config.allowed_origins:
            parsed = parse_origin(origin)
            if parsed is None:
                raise ValueError(f"allowed origin {origin!r} is not an http(s) origin")
            origins.add(parsed)
        subdomains: frozenset[str] | Literal["*"]
        if config.allowed_subdomains == "*":
            subdomains = "*"
        else:
            subdomains = frozenset(_subdomain_labels(config.allowed_subdomains))
        return cls(True, frozenset(origins), subdomains, config.allow_same_site)

    def is_trusted(self, method: str, url: str, origin: str | None, sec_fetch_site: str | None) -> bool:
        """Whether a request may act on the session its cookie names."""
        if not self.enabled or method.upper() in SAFE_METHODS:
            return True
        parsed = parse_origin(origin.strip()) if origin is not None else None
        if parsed is not None and parsed in self.allowed_origins:
            return True
        site = sec_fetch_site.strip().lower() if sec_fetch_site is not None else None
        if site == "cross-site":
            return False
        if origin is not None:
            return parsed is not None and self._is_own_or_subdomain(parsed, url)
        return site == "same-origin" or (site == "same-site" and self.allow_same_site)

    def _is_own_or_subdomain(self, origin: Origin, url: str) -> bool:
        own = parse_origin(url, allow_path=True)
        if own is None:
            return False
        if origin == own:
            return True
        scheme, host, port = origin
        if (scheme, port) != (own[0], own[2]) or not host.endswith("." + own[1]):
            return False
        label = host[: -len(own[1]) - 1]
        return self.allowed_subdomains == "*" or label in self.allowed_subdomains


def _subdomain_labels(labels: Sequence[str]) -> list[str]:
    checked = []
    for label in labels:
        if not isinstance(label, str) or not label or "/" in label or ":" in label:
            raise ValueError(f"allowed subdomain {label!r} must be a host label such as 'app'")
        checked.append(label.lower())
    return checked
