"""Checking the relying party's configuration once, at construction. Pure: no I/O."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Literal, cast
from urllib.parse import urlsplit

__all__ = ["Requirement", "check_expiry", "check_origins", "check_requirement", "check_rp_id"]

#: WebAuthn's requirement levels, for ``user_verification`` and ``resident_key``.
Requirement = Literal["required", "preferred", "discouraged"]

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}\Z){_LABEL}(?:\.{_LABEL})*")
#: Origins of Android apps (``android:apk-key-hash:<base64url SHA-256 of the signing cert>``).
_ANDROID_ORIGIN = re.compile(r"android:apk-key-hash:[A-Za-z0-9_-]{43}")
_CHOICES = ("required", "preferred", "discouraged")


def check_rp_id(rp_id: object) -> str:
    """The RP ID: a lowercase host name (``example.com``, ``localhost``), never a URL or an IP."""
    if not isinstance(rp_id, str) or _HOSTNAME.fullmatch(rp_id) is None or _is_ip(rp_id):
        raise ValueError("rp_id must be a lowercase host name such as 'example.com' (no scheme, port or path)")
    return rp_id


def check_origins(origins: object, rp_id: str) -> tuple[str, ...]:
    """The origins a ceremony may run on, each exactly as a browser serialises it.

    ``https://<host>[:port]`` where ``<host>`` is ``rp_id`` or one of its subdomains;
    ``http://`` only on loopback (``localhost``, ``127.0.0.1``, ``[::1]``) for
    development; Android app origins ``android:apk-key-hash:...`` as they are.
    """
    if isinstance(origins, str) or not isinstance(origins, Sequence):
        raise TypeError("origins must be a sequence of origins such as ['https://example.com']")
    checked = tuple(_check_origin(origin, rp_id) for origin in origins)
    if not checked:
        raise ValueError("origins must name at least one origin")
    return checked


def _check_origin(origin: object, rp_id: str) -> str:
    if not isinstance(origin, str):
        raise TypeError("each origin must be a string")
    if _ANDROID_ORIGIN.fullmatch(origin):
        return origin
    parts = urlsplit(origin)
    try:
        port = parts.port
    except ValueError:
        port = -1
    host = parts.hostname or ""
    serialised = f"{parts.scheme}://{parts.netloc}"
    if (
        parts.scheme not in ("https", "http")
        or port == -1
        or serialised != origin
        or parts.username is not None
        or parts.password is not None
        or not host
        or parts.netloc.lower() != parts.netloc
        or (port is not None and port == (443 if parts.scheme == "https" else 80))
    ):
        raise ValueError(f"origin {origin!r} must be written as a browser sends it: 'https://example.com[:port]'")
    if parts.scheme == "http" and not _is_loopback(host):
        raise ValueError(f"origin {origin!r}: plain http is allowed on loopback hosts only")
    if host != rp_id and not host.endswith("." + rp_id):
        raise ValueError(f"origin {origin!r} is not on rp_id {rp_id!r} or one of its subdomains")
    return origin


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_expiry(challenge_expires_in: object) -> timedelta:
    """How long a ceremony may take: a positive ``timedelta`` of at most a day."""
    if not isinstance(challenge_expires_in, timedelta) or not (
        timedelta(0) < challenge_expires_in <= timedelta(days=1)
    ):
        raise ValueError("challenge_expires_in must be a timedelta above zero and at most one day")
    return challenge_expires_in


def check_requirement(value: object, what: str) -> Requirement:
    """One of WebAuthn's three requirement levels."""
    if isinstance(value, str) and value in _CHOICES:
        return cast(Requirement, value)
    raise ValueError(f"{what} must be one of {', '.join(map(repr, _CHOICES))}")
