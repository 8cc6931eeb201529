"""The Python code blocks of the documentation's Markdown pages, as a reader sees them.

A fenced block whose info string starts with ``python`` (or ``py``) is a code block of
its page, at any indentation (inside a list item or an admonition too). A block is
left out of the run only by an explicit marker on the line before it (blank lines
between are allowed)::

    <!-- not-run: why this block cannot run as it stands -->

A block that only includes files (``--8<-- "docs/examples/..."``, the snippets
extension) shows a runnable example file: it is not run here, and
``test_pages.py`` checks that a test runs that file.

Every other block runs, in page order, in one namespace per page (see test_pages.py).
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

#: ``<!-- not-run: reason -->``: the reason is required (an empty one is an error).
NOT_RUN = re.compile(r"^\s*<!--\s*not-run:(?P<reason>.*?)-->\s*$")
_INCLUDE = re.compile(r'^\s*--8<--\s+"(?P<path>[^"]+)"\s*$')
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\n]*)$")
PYTHON = ("python", "py", "pycon")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: str  # relative to docs/, with forward slashes
    line: int  # 1-based line of its first code line
    language: str
    code: str  # dedented; preceded by blank lines up to ``line`` so tracebacks name page lines
    not_run: str | None  # the marker's reason, if the block is marked
    includes: tuple[str, ...] = ()  # the files a block made only of ``--8<--`` lines shows

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def is_python(self) -> bool:
        return self.language in PYTHON


def blocks(page: Path) -> list[Block]:
    """Every fenced block of ``page``, in order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    name = page.relative_to(DOCS).as_posix()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        indent, fence = match["indent"], match["fence"]
        language = (match["info"].split() or [""])[0].lstrip(".").lower()
        start = i + 1
        end = start
        while end < len(lines) and not _closes(lines[end], indent, fence):
            end += 1
        body = textwrap.dedent("\n".join(_strip_indent(line, indent) for line in lines[start:end]))
        code_lines = [line for line in body.splitlines() if line.strip()]
        includes = [m["path"] for line in code_lines if (m := _INCLUDE.match(line))]
        included = tuple(includes) if code_lines and len(includes) == len(code_lines) else ()
        found.append(Block(name, start + 1, language, "\n" * start + body + "\n", _marker(lines, i), included))
        i = end + 1
    return found


def _closes(line: str, indent: str, fence: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(fence[0] * len(fence)) and set(stripped) == {fence[0]}


def _strip_indent(line: str, indent: str) -> str:
    return line[len(indent) :] if line.startswith(indent) else line.lstrip()


def _marker(lines: list[str], fence_line: int) -> str | None:
    """The reason of a ``not-run`` marker on the nearest non-blank line above the fence."""
    j = fence_line - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    if j < 0:
        return None
    match = NOT_RUN.match(lines[j])
    if match is None:
        return None
    reason = match["reason"].strip()
    if not reason:
        raise ValueError(f"{lines[j]!r} above line {fence_line + 1}: a not-run marker needs its reason")
    return reason


def pages() -> list[Path]:
    """Every Markdown page of the site (docs/examples/ holds code, not pages)."""
    return sorted(p for p in DOCS.rglob("*.md") if "examples" not in p.relative_to(DOCS).parts)
