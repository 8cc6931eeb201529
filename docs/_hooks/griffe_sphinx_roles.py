"""A griffe extension for the API reference: the docstrings' Sphinx habits, read as Markdown.

The packages' docstrings are Google style with a few reStructuredText habits that
mkdocstrings would print literally:

- roles such as ``:class:`~lucia.AuthRequest``` become cross-references
  (``<autoref ... optional>``: a link when the target is in the reference, plain code
  otherwise, never a broken link); a bare name (``:meth:`create_session```) becomes code;
- a paragraph ending in ``::`` before an indented literal block ends in ``:`` (a line
  holding only ``::`` goes): the indented block is a code block in Markdown too.

``mkdocs.yml`` loads it with ``extensions: [docs/_hooks/griffe_sphinx_roles.py:SphinxRoles]``.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):`(?P<target>[^`]+)`")
_LITERAL_MARKER = re.compile(r"^(?P<indent>[ \t]*)::[ \t]*$|(?<=\S)::[ \t]*$", re.M)


def _reference(match: re.Match[str]) -> str:
    target = match["target"].strip()
    short = target.startswith("~")
    identifier = target.lstrip("~").removesuffix("()")
    title = identifier.rsplit(".", 1)[-1] if short else identifier
    if target.endswith("()") or match.group(0).startswith((":func:", ":meth:")):
        title += "()"
    code = f"<code>{html.escape(title)}</code>"
    if "." not in identifier:  # a bare name would match page headings ("options"): no link
        return code
    return f'<autoref identifier="{html.escape(identifier)}" optional>{code}</autoref>'


def _literal_marker(match: re.Match[str]) -> str:
    return "" if match["indent"] is not None else ":"


def markdown_docstring(text: str) -> str:
    """``text`` with Sphinx roles as cross-references and ``::`` literal markers as Markdown."""
    return _LITERAL_MARKER.sub(_literal_marker, _ROLE.sub(_reference, text))


class SphinxRoles(griffe.Extension):
    """Rewrite each docstring once, when its object is loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the docstring of every module, class, function and attribute."""
        if obj.docstring is not None:
            obj.docstring.value = markdown_docstring(obj.docstring.value)
