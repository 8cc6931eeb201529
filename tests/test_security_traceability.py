"""Every promise of SECURITY.md is proven by at least one test that carries its id."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_security_promise_has_a_named_test() -> None:
    """``tools/security_matrix.py --check`` finds a ``test_<id>_...`` for every promise."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "security_matrix.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "**none**" not in result.stdout


def test_docs_security_page_shows_the_current_table() -> None:
    """``docs/security.md`` embeds what ``tools/security_matrix.py`` prints today (``--write`` updates it)."""
    table = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "security_matrix.py")], capture_output=True, text=True, check=True
    ).stdout
    assert table.strip() in (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
