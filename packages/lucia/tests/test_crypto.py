"""Session tokens and ids: where secrets come from and how they are stored."""

from __future__ import annotations

import base64
import hashlib
from collections import Counter

from lucia._crypto import TOKEN_PATTERN, constant_time_equal, generate_random_id, generate_token, hash_token


def test_s1_tokens_are_unique_long_and_unbiased() -> None:
    """10^5 tokens: no duplicates, 200 bits each, every base32 symbol equally likely (chi-square)."""
    tokens = [generate_token() for _ in range(100_000)]
    assert len(set(tokens)) == len(tokens)
    assert all(TOKEN_PATTERN.fullmatch(t) for t in tokens)
    assert len(base64.b32decode(tokens[0].upper())) * 8 == 200
    counts = Counter("".join(tokens))
    assert len(counts) == 32
    expected = 40 * len(tokens) / 32
    chi_square = sum((observed - expected) ** 2 / expected for observed in counts.values())
    # 31 degrees of freedom: the 1 - 10^-6 quantile is 84.2, so a fair source fails one run in a
    # million (at the 0.999 quantile, 61.1, a CI that runs this on four Pythons failed 1 in 250),
    # while a symbol drawn 3 % too often (chi-square ~ 110 here) still fails every run.
    assert chi_square < 84.2, chi_square


def test_s2_stored_id_is_sha256_of_the_token() -> None:
    """The stored id is the SHA-256 hex digest of the token."""
    token = generate_token()
    assert hash_token(token) == hashlib.sha256(token.encode()).hexdigest()
    assert token not in hash_token(token)


def test_random_ids_are_distinct() -> None:
    """Generated user ids are random and distinct."""
    ids = {generate_random_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    assert all(len(i) == 16 for i in ids)


def test_constant_time_equal() -> None:
    """Secret comparison is exact."""
    assert constant_time_equal("abc", "abc")
    assert not constant_time_equal("abc", "abd")
    assert not constant_time_equal("abc", "abcd")
