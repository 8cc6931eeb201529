"""Linking by email: the same mailbox only, never a look-alike (O5, H1).

``ProviderSession.can_link_by_email`` says yes only when both sides are verified and the
addresses name the same mailbox: the domain equal after IDNA (UTS #46), the local part
equal except for ASCII letter case. ``str.casefold()`` said ``user@straße.de`` was
``user@strasse.de``: two people's mailboxes.
"""

from __future__ import annotations

import string

import idna
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lucia import Lucia
from lucia.adapters.memory import MemoryAdapter
from lucia_oauth import OAuth2Tokens, ProviderSession, ProviderUser

AUTH = Lucia(adapter=MemoryAdapter(), env="DEV")


def can_link(provider_email: str, local_email: str) -> bool:
    """Whether a provider account vouching for ``provider_email`` may link to a verified ``local_email``."""
    session = ProviderSession(
        auth=AUTH,
        provider_id="example",
        user=ProviderUser(provider_user_id="subject-1", data={}, email=provider_email, email_verified=True),
        tokens=OAuth2Tokens(access_token="t"),
        existing_user=None,
    )
    return session.can_link_by_email(email=local_email, email_verified=True)


@pytest.mark.parametrize(
    ("provider_email", "local_email"),
    [
        ("ada@example.com", "ada@example.com"),
        ("Ada@Example.COM", "ada@example.com"),
        ("ADA.LOVELACE+tag@EXAMPLE.com", "ada.lovelace+TAG@example.COM"),
        ("ada@ｅｘａｍｐｌｅ.com", "ada@example.com"),  # fullwidth domain: the same DNS name after UTS #46
        ("ada@ﬁnance.example", "ada@finance.example"),  # the ligature in a domain maps to "fi" in DNS
        ("ada@straße.de", "ada@xn--strae-oqa.de"),  # a U-label and its A-label
        ("ada@STRAẞE.de", "ada@straße.de"),  # capital sharp s lower-cases to ß, not "ss"
        ("ada@σας.gr", "ada@ΣΑς.gr"),  # the final sigma stays final: U+03C2 both sides
        ("ada@bücher.example", "ada@BÜCHER.example"),
        ("用户@例子.广告", "用户@例子.广告"),
    ],
)
def test_h1_the_same_mailbox_links(provider_email: str, local_email: str) -> None:
    """ASCII case anywhere, and the domain's IDNA spellings, are the same mailbox."""
    assert can_link(provider_email, local_email)
    assert can_link(local_email, provider_email)


@pytest.mark.parametrize(
    ("provider_email", "local_email"),
    [
        ("user@straße.de", "user@strasse.de"),  # ß is not ss in a domain (non-transitional IDNA)
        ("straße@example.de", "strasse@example.de"),  # nor in a local part
        ("ﬁnance@example.com", "finance@example.com"),  # a ligature is not its letters in a local part
        ("user@σας.gr", "user@σασ.gr"),  # final sigma is not sigma
        ("ας@example.gr", "ασ@example.gr"),
        ("ΑΣ@example.gr", "ας@example.gr"),  # no Unicode case folding in local parts
        ("ａdmin@example.com", "admin@example.com"),  # fullwidth letters in a local part
        ("admın@example.com", "admin@example.com"),  # dotless i
        ("İnfo@example.com", "info@example.com"),  # Turkish capital I with dot
        ("info@İnfo.com", "info@info.com"),  # ... and in a domain (it maps to i + combining dot)
        ("user@fıle.com", "user@file.com"),
        ("\u212aelvin@example.com", "kelvin@example.com"),  # Kelvin sign K
        ("user@example.com.", "user@example.com"),  # a trailing dot: not an address we link
        ("user@example.com.", "user@example.com."),
        ("user@example.com．", "user@example.com"),
        ("user@example..com", "user@example..com"),  # an empty label
        ("a@b@example.com", "a@b@example.com"),  # two "@": which part is the domain?
        ('"a@b"@example.com', '"a@b"@example.com'),  # quoted local parts are not linked
        ("@example.com", "@example.com"),
        ("user@", "user@"),
        ("user", "user"),
        ("user@exa mple.com", "user@exa mple.com"),
        (" user@example.com", "user@example.com"),
        ("user@example.com\n", "user@example.com"),
        ("us\u200der@example.com", "user@example.com"),  # a zero-width joiner
        ("user@ex\u00adample.com", "user@example.com"),  # a soft hyphen UTS #46 would drop
        ("user@ex_ample.com", "user@ex_ample.com"),  # not a host name (STD3)
        ("user@[127.0.0.1]", "user@[127.0.0.1]"),  # an address literal
        ("user@xn--zz.com", "user@xn--zz.com"),  # an invalid A-label
        ("user@☃.com", "user@☃.com"),  # a symbol IDNA 2008 disallows
        ("user@" + "a" * 64 + ".com", "user@" + "a" * 64 + ".com"),  # a label over 63 octets
        ("u" * 250 + "@example.com", "u" * 250 + "@example.com"),  # over 255 characters
    ],
)
def test_h1_look_alikes_and_unusable_addresses_never_link(provider_email: str, local_email: str) -> None:
    """Different mailboxes, and anything that is not a plain ``local@domain``, are never linked."""
    assert not can_link(provider_email, local_email)
    assert not can_link(local_email, provider_email)


def test_h1_both_sides_must_be_verified() -> None:
    """The same address links only when the provider vouches for it and the local address is verified."""
    user = ProviderUser(provider_user_id="s", data={}, email="ada@example.com", email_verified=False)
    session = ProviderSession(
        auth=AUTH, provider_id="example", user=user, tokens=OAuth2Tokens(access_token="t"), existing_user=None
    )
    assert not session.can_link_by_email(email="ada@example.com", email_verified=True)
    assert not ProviderSession(
        auth=AUTH,
        provider_id="example",
        user=ProviderUser(provider_user_id="s", data={}, email="ada@example.com", email_verified=True),
        tokens=OAuth2Tokens(access_token="t"),
        existing_user=None,
    ).can_link_by_email(email="ada@example.com", email_verified=False)


_TRICKY = "aAsSkKiIıİfﬁß\u1e9eσςΣ\u212aｅＥ.-+_@ "
_addresses = st.builds(
    "{}@{}".format,
    st.text(alphabet=_TRICKY + string.ascii_letters, min_size=0, max_size=6),
    st.text(alphabet=_TRICKY + string.ascii_lowercase + "．", min_size=0, max_size=8),
) | st.text(alphabet=_TRICKY, max_size=12)


def _idna(domain: str) -> bytes | None:
    try:
        return idna.encode(domain, uts46=True, std3_rules=True, transitional=False)
    except (idna.IDNAError, UnicodeError, ValueError):
        return None


def _ascii_case_equal(a: str, b: str) -> bool:
    """Equal character by character, where two characters may differ only as one ASCII letter's two cases."""
    return len(a) == len(b) and all(
        x == y or (x in string.ascii_letters and y in string.ascii_letters and x.lower() == y.lower())
        for x, y in zip(a, b, strict=True)
    )


#: What Unicode case folding or compatibility mapping would wrongly call the same.
_LOOK_ALIKES = {
    "ß": "ss",
    "\u1e9e": "ss",
    "ﬁ": "fi",
    "ς": "σ",
    "Σ": "σ",
    "ı": "i",
    "İ": "i",
    "\u212a": "k",
    "ｅ": "e",
    "Ｅ": "e",
    "a": "A",
    "s": "S",
}


@settings(max_examples=300, deadline=None)
@given(first=_addresses, data=st.data())
@example(first="user@straße.de", data=None)
@example(first="ﬁnance@x.de", data=None)
def test_h1_property_linked_addresses_differ_at_most_in_ascii_case_and_idna_spelling(
    first: str, data: st.DataObject | None
) -> None:
    """Two addresses link only if their local parts differ at most in ASCII case and their IDNA domains are equal.

    The second address is either unrelated or the first with some look-alikes of _LOOK_ALIKES swapped in.
    """
    if data is None:
        second = "".join(_LOOK_ALIKES.get(c, c) for c in first)
    else:
        swaps = data.draw(st.lists(st.booleans(), min_size=len(first), max_size=len(first)))
        second = data.draw(_addresses) if data.draw(st.booleans()) else ""
        second = second or "".join(_LOOK_ALIKES.get(c, c) if swap else c for c, swap in zip(first, swaps, strict=True))
    if can_link(first, second):
        local_a, _, domain_a = first.partition("@")
        local_b, _, domain_b = second.partition("@")
        assert _ascii_case_equal(local_a, local_b)
        assert _idna(domain_a) is not None and _idna(domain_a) == _idna(domain_b)


@settings(max_examples=100, deadline=None)
@given(
    local=st.text(alphabet=string.ascii_letters + string.digits + ".+-_", min_size=1, max_size=20),
    domain=st.from_regex(r"[a-z0-9]{1,10}(\.[a-z]{2,6}){1,2}", fullmatch=True),
    flips=st.lists(st.booleans(), min_size=40, max_size=40),
)
def test_h1_property_ascii_case_never_matters(local: str, domain: str, flips: list[bool]) -> None:
    """Changing the case of ASCII letters anywhere in a plain address keeps it the same mailbox."""
    address = f"{local}@{domain}"
    shouted = "".join(c.swapcase() if flip else c for c, flip in zip(address, flips * 8, strict=False))
    assert can_link(address, shouted)
