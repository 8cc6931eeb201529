"""Trace every security promise to the tests that prove it.

Scans every test file for functions named ``test_<id>_...`` (``test_s2_...``,
``test_t1_...``) and prints a Markdown table, promise by promise. ``--check`` exits 1
if a promise has no test. ``docs/security.md`` embeds the table; ``--write`` updates it there.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROMISES = {
    "S1": "Tokens from `secrets`, >= 160 bits, unique and unbiased",
    "S2": "Only SHA-256 of the token is stored",
    "S3": "Expiry on the server clock; idle sessions rotate, the old token dies",
    "S4": "Only the cookie (or an opted-in Bearer header) carries a token",
    "S5": "No fixation; malformed tokens refused without a query",
    "S6": "Sign out everywhere / other devices",
    "S7": "Renewal and revocation linearizable on every adapter (>= 100 races, 0 survivors)",
    "S8": "Parallel requests with one idle cookie never sign the user out (renewal grace)",
    "S9": "Absolute lifetime bounds every renewal; created_at kept; session cap holds",
    "C1": "Session cookie attributes",
    "C2": "Cookie parsing never fails",
    "C3": "CSRF: Origin / Sec-Fetch-Site matrix",
    "C4": "Redirect targets validated",
    "P1": "Argon2id at OWASP parameters, off the event loop",
    "P2": "NFKC both ways, no truncation, NUL significant, bounded length",
    "P3": "Rehash after success only",
    "P4": "No user enumeration",
    "P5": "No secrets in logs",
    "T1": "Atomic single use: one winner",
    "T2": "Link tokens: 256 bits, hashed, bound, expiring, superseded",
    "T3": "Typed codes: 8 digits, hashed, attempt-limited",
    "T4": "TOTP: RFC 6238, window, replay refused",
    "O1": "OAuth state checked in constant time",
    "O2": "PKCE S256",
    "O3": "Fixed redirect URI, secret never in a URL, no redirects followed",
    "O4": "id_token fully verified",
    "O5": "Identity is (provider, subject)",
    "O6": "Provider faults fail closed",
    "D1": "Atomic create_user; database-enforced uniqueness",
    "D2": "A storage error never authenticates",
    "D3": "Input bounds checked before any database or hashing call",
    "B1": "Per-key exponential back-off without hashing; unknown keys counted the same",
    "B2": "Per-client sliding-window limit across keys (spraying)",
    "B3": "Password tokens and TOTP codes share the throttle",
    "B4": "Throttle stores atomic and shared across processes",
    "B5": "Throttled attempts logged without secrets; a store that is down fails closed",
    "H1": "Emails link only if IDNA domains and ASCII-case local parts match",
    "H2": "No public value lets a typed code or token be recovered offline",
    "H3": "TOTP refuses any step at or before the last accepted one",
    "H4": "No repr/str/log shows a token, also with hash_session_ids=False",
    "H5": "Reserved attribute names refused in any letter case",
    "H6": "JOSE by a maintained library, strict base64url",
    "H7": "needs_rehash never downgrades",
    "H8": "allowed_origins admits its origins whatever Sec-Fetch-Site says",
    "H9": "Legacy-hash verification costs one verification like any other (timing residue documented)",
    "H10": "OAuth endpoints https except loopback",
    "H11": "__Host- cookie prefix option",
    "H12": "OAuth flow cookies per provider; refreshed id_token sub unchanged",
    "H13": "Apple form_post accepted by a documented exemption that still checks state",
    "H14": "Email-verification tokens bound to the address",
    "H15": "Own-origin parsing tolerates any query",
    "H16": "A session of a deleted user never authenticates",
    "H17": "Lone surrogates and unencodable text are invalid input, never a crash",
    "H18": "Unknown primary-key fields refused (no passwordless key by typo)",
}
TEST = re.compile(r"^\s*(?:async\s+)?def\s+(test_([a-z]\d+)_\w*)", re.MULTILINE)


def collect() -> dict[str, list[str]]:
    """Promise id -> ``path::test_name`` of every test carrying it."""
    found: dict[str, list[str]] = defaultdict(list)
    files = [
        *ROOT.glob("packages/*/tests/**/*.py"),
        *ROOT.glob("packages/*/src/*/testing/*.py"),
        *ROOT.glob("packages/*/src/*/testing.py"),
        *ROOT.glob("tests/**/*.py"),
    ]
    for path in sorted(files):
        for match in TEST.finditer(path.read_text(encoding="utf-8")):
            promise = match.group(2).upper()
            if promise in PROMISES:
                found[promise].append(f"{path.relative_to(ROOT)}::{match.group(1)}")
    return found


def write_table(page: Path, lines: list[str]) -> None:
    """Replace the table starting with ``lines[0]`` in ``page`` (up to the first line not starting with ``|``)."""
    text = page.read_text(encoding="utf-8").split("\n")
    start = text.index(lines[0])
    end = next((i for i in range(start, len(text)) if not text[i].startswith("|")), len(text))
    page.write_text("\n".join([*text[:start], *lines, *text[end:]]), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if a promise has no test")
    parser.add_argument("--write", action="store_true", help="replace the table in docs/security.md")
    args = parser.parse_args()
    found = collect()
    lines = ["| promise | what | tests |", "|---|---|---|"]
    for promise, what in PROMISES.items():
        tests = found.get(promise, [])
        shown = "<br>".join(f"`{t}`" for t in tests[:6]) + (f"<br>… {len(tests) - 6} more" if len(tests) > 6 else "")
        lines.append(f"| {promise} | {what} | {shown or '**none**'} |")
    print("\n".join(lines))
    if args.write:
        write_table(ROOT / "docs" / "security.md", lines)
    missing = [p for p in PROMISES if p not in found]
    if missing:
        print(f"\npromises without a test: {', '.join(missing)}", file=sys.stderr)
    return 1 if args.check and missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
