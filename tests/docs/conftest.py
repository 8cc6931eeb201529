"""Tests that run the documentation: its Python blocks, its getting-started guides, its API reference.

The helper modules of this folder (``_markdown``, ``_pages``, ``_context``) are imported
by name; ``tests/browser/_demo.py`` provides the throw-away databases.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for folder in (HERE, HERE.parent / "browser"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
