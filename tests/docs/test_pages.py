"""Every Python block of every documentation page runs.

The blocks of a page run in page order, in one namespace, as a reader pasting them into
one ``python -m asyncio`` session would run them (top-level ``await`` included), in a
fresh directory (``app.db`` files land there). What a page takes for granted — an
``auth`` it set up on another page, the ``request`` of a handler, a ``mailer`` — comes
from its setup in ``_pages.py``, made of real objects; a page about PostgreSQL (or
MongoDB, Redis) runs against the local server. A block is left out only by a
``<!-- not-run: reason -->`` marker above it (``_markdown.py``); each one is listed by
``test_not_run_blocks_say_why``.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _markdown import DOCS, Block, blocks, pages
from _pages import PAGES, Page

from lucia import Lucia, SyncLucia

PAGE_TIMEOUT = 60  # seconds, for a whole page: each one takes well under a second or two


def _python_pages() -> list[str]:
    """Pages with Python blocks, but those a test of their own runs (``Page.run_elsewhere``)."""
    found = [p.relative_to(DOCS).as_posix() for p in pages() if any(b.is_python for b in blocks(p))]
    return [name for name in found if PAGES.get(name, Page()).run_elsewhere is None]


@contextlib.contextmanager
def _services(page: Page) -> Iterator[dict[str, str]]:
    """The URLs of the services the page needs, each a fresh database (skipped, with the reason, if missing)."""
    from _demo import mongodb_database, mysql_database, postgres_database

    from lucia.testing.services import unique_name
    from lucia_testkit import redis_server_url

    with contextlib.ExitStack() as stack:
        urls: dict[str, str] = {"prefix": unique_name("docs") + ":"}
        if "postgresql" in page.services:
            urls["postgres_url"] = stack.enter_context(postgres_database())
            urls["postgres_sqlalchemy_url"] = urls["postgres_url"].replace("postgresql://", "postgresql+psycopg://", 1)
        if "mysql" in page.services:
            urls["mysql_url"] = stack.enter_context(mysql_database())
        if "mongodb" in page.services:
            urls["mongodb_url"] = stack.enter_context(mongodb_database())
        if "redis" in page.services:
            urls["redis_url"] = redis_server_url()
        yield urls


def _compile(code: str, filename: str) -> Any:
    return compile(code, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)


def _fill(text: str, urls: dict[str, str]) -> str:
    """``text`` with ``{postgres_url}`` and the like filled in (other braces are code)."""
    for name, value in urls.items():
        text = text.replace("{" + name + "}", value)
    return text


async def _run(code: Any, namespace: dict[str, Any]) -> None:
    result = eval(code, namespace)  # exec of a code object that may hold top-level awaits
    if inspect.iscoroutine(result):
        await result


def _openers(namespace: dict[str, Any]) -> list[Any]:
    """What a block left in the namespace that holds connections: Lucia, SyncLucia, adapters."""
    found = []
    for value in list(namespace.values()):
        if isinstance(value, (Lucia, SyncLucia)):
            found.append(value)
        elif (type(value).__module__ or "").startswith("lucia_") and hasattr(value, "close"):
            found.append(value)  # (the module test also keeps framework proxies such as flask.request out)
    return found


async def _close(opened: list[Any]) -> None:
    """Close what the page opened (each Lucia closes its adapters; a closed one closes again harmlessly)."""
    for value in opened:
        if isinstance(value, SyncLucia):
            value.close()
        elif inspect.iscoroutinefunction(value.close):
            await value.close()


async def _run_page(page_name: str, page: Page, urls: dict[str, str]) -> dict[str, Any]:
    path = DOCS / page_name
    namespace: dict[str, Any] = {"__name__": "docs_page", "__file__": str(path)}
    replacements = {old: _fill(new, urls) for old, new in page.replace.items()}
    unused = set(replacements)
    preludes = dict(page.before)
    opened: list[Any] = []  # every Lucia or adapter a block made, even if a later block rebinds its name
    try:
        if page.setup:
            await _run(_compile(_fill(page.setup, urls), f"<setup of {page_name}>"), namespace)
            opened.extend(_openers(namespace))
        for block in blocks(path):
            if not block.is_python or block.not_run is not None or block.includes:
                continue
            code = block.code
            for old, new in replacements.items():
                if old in code:
                    code, _ = code.replace(old, new), unused.discard(old)
            for key in [key for key in preludes if key in code]:
                await _run(_compile(preludes.pop(key), f"<before {block.id}>"), namespace)
            try:
                await _run(_compile(code, str(path)), namespace)
            except Exception as error:
                raise AssertionError(f"{block.id}: {type(error).__name__}: {error}") from error
            finally:
                opened.extend(o for o in _openers(namespace) if not any(o is seen for seen in opened))
        assert not unused, f"{page_name}: replacements that match no block any more: {sorted(unused)}"
        assert not preludes, f"{page_name}: `before` keys that match no block any more: {sorted(preludes)}"
        if page.check is not None:
            await page.check(namespace)
    finally:
        opened.extend(o for o in _openers(namespace) if not any(o is seen for seen in opened))
        await _close(opened)
    return namespace


@pytest.mark.parametrize("page_name", _python_pages())
def test_page_code_runs(page_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's Python blocks run in order without an error (and its check, if it has one, passes)."""
    page = PAGES.get(page_name, Page())
    monkeypatch.chdir(tmp_path)
    for name, value in page.environ.items():
        monkeypatch.setenv(name, value)
    with _services(page) as urls:
        asyncio.run(asyncio.wait_for(_run_page(page_name, page, urls), PAGE_TIMEOUT))


def _not_run() -> list[Block]:
    return [b for p in pages() for b in blocks(p) if b.is_python and b.not_run is not None]


def test_not_run_blocks_say_why() -> None:
    """Every block left out carries its reason, and they stay few (each one is a block no test runs)."""
    left_out = _not_run()
    assert all(block.not_run for block in left_out)
    assert len(left_out) <= 20, "\n".join(f"{b.id}: {b.not_run}" for b in left_out)


def _test_sources() -> str:
    roots = [DOCS.parent / "tests", *sorted((DOCS.parent / "packages").glob("*/tests"))]
    return "\n".join(p.read_text(encoding="utf-8") for root in roots for p in root.rglob("*.py"))


def test_included_files_are_run_by_tests() -> None:
    """A block that shows a file (``--8<--``) shows a runnable example that some test imports or runs."""
    sources = _test_sources()
    shown = {path for p in pages() for b in blocks(p) for path in b.includes if b.is_python}
    assert shown, "no page shows an example file any more"
    for path in sorted(shown):
        file = DOCS.parent / path
        assert file.is_file() and file.suffix == ".py", path
        assert path.startswith(("docs/examples/", "docs/passkeys/")), f"{path}: examples live under docs/"
        assert path in sources or f'"{file.stem}"' in sources, f"no test imports or runs {path}"


def test_every_configured_page_exists() -> None:
    """The setups of _pages.py name pages that exist (a renamed page would silently lose its setup)."""
    assert sorted(name for name in PAGES if not (DOCS / name).is_file()) == []


def test_pages_run_elsewhere_have_their_test() -> None:
    """A page left to another test names a test file that exists and reads that page."""
    for name, page in PAGES.items():
        if page.run_elsewhere is not None:
            test_file = DOCS.parent / page.run_elsewhere.split("::")[0]
            assert test_file.is_file(), f"{name}: {page.run_elsewhere} does not exist"
            assert name in test_file.read_text(encoding="utf-8"), f"{test_file} does not read {name}"
