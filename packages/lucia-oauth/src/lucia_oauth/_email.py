"""When two email addresses name the same mailbox, for linking accounts by email (H1). No I/O.

Two addresses are the same only when

- each is exactly ``local@domain``: one ``@``, both parts non-empty, at most
  :data:`MAX_EMAIL_LENGTH` characters, no whitespace or control characters;
- their domains are the same DNS name after IDNA processing (UTS #46, non-transitional,
  STD3 rules): ``EXAMPLE.com``, ``ｅｘａｍｐｌｅ.com`` and ``example.com`` are one domain,
  ``straße.de`` (``xn--strae-oqa.de``) and ``strasse.de`` are two, and so are ``σας`` and
  ``σασ``. A domain IDNA refuses (empty labels, ``_``, symbols, a label over 63 octets,
  an address literal) or one that ends in a dot makes the address unusable;
- their local parts are equal code point by code point, except that the ASCII letters
  ``A``-``Z`` match ``a``-``z``. Nothing else is folded: ``ß`` is not ``ss``, ``ﬁ`` is not
  ``fi``, ``K`` (Kelvin) is not ``k``, ``İ`` and ``ı`` are not ``i``, a fullwidth ``ａ`` is
  not ``a``. Quoted local parts (``"a b"@x``, ``"a@b"@x``) are not usable.

Anything else is "not the same address": linking then needs the user to sign in first.
``str.casefold()`` is wrong here: it says ``user@straße.de`` is ``user@strasse.de`` and
``ﬁnance@x`` is ``finance@x``, which are other people's mailboxes.
"""  # noqa: RUF002 - the look-alikes are the point

from __future__ import annotations

import string

import idna

__all__ = ["MAX_EMAIL_LENGTH", "same_email_address"]

#: Longer addresses are refused before any work (SMTP allows 254 octets; D3 bounds emails at 255).
MAX_EMAIL_LENGTH = 255

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _mailbox(address: object) -> tuple[str, bytes] | None:
    """``(local part with ASCII letters lowered, domain as IDNA A-labels)``, or ``None`` if unusable."""
    if not isinstance(address, str) or not address or len(address) > MAX_EMAIL_LENGTH:
        return None
    if not address.isprintable() or any(c.isspace() for c in address):
        return None
    local, at, domain = address.partition("@")
    if not at or not local or not domain or "@" in domain or '"' in local:
        return None
    if domain.endswith((".", "。", "．", "｡")):  # noqa: RUF001 - the dots UTS #46 maps to "."
        return None
    try:
        ascii_domain = idna.encode(domain, uts46=True, std3_rules=True, transitional=False)
    except (idna.IDNAError, UnicodeError, ValueError):
        return None
    if ascii_domain.endswith(b"."):  # a dot that only UTS #46 mapping revealed
        return None
    return local.translate(_ASCII_LOWER), ascii_domain


def same_email_address(first: object, second: object) -> bool:
    """Whether ``first`` and ``second`` are usable addresses of the same mailbox (see the module docstring)."""
    a, b = _mailbox(first), _mailbox(second)
    return a is not None and a == b
