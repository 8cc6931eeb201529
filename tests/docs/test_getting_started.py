"""The getting-started guides, followed as a newcomer follows them, against a real server.

- ``getting-started/fastapi-postgresql.md``: its Python blocks, in order, become
  ``app.py``; its "Run it" command serves that file with uvicorn on a fresh PostgreSQL
  database (``DATABASE_URL``, as the guide says); its curl session runs in bash and must
  print what the guide shows.
- ``getting-started/django-sqlite.md``: ``django-admin startproject`` runs as written, each
  Python block goes into the file its first line names (appended where it says "add at the
  end"), ``manage.py lucia create_schema`` and ``manage.py runserver`` run as written, and
  the curl session must print what the guide shows.

Only the port changes (a free one instead of 8000); the user ids, random, are compared as
"some id". The installation commands are not run (this environment has the packages);
``test_install_commands_name_real_files`` checks the paths they name.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path

import pytest
from _demo import postgres_database
from _markdown import DOCS, Block, blocks
from _servers import environ, serving

from lucia.testing.services import free_port

ROOT = DOCS.parent
FASTAPI_GUIDE = "getting-started/fastapi-postgresql.md"
DJANGO_GUIDE = "getting-started/django-sqlite.md"
SERVER_COMMANDS = re.compile(r"\b(uvicorn|runserver)\b")
_USER_ID = re.compile(r'("user_id": ?")[^"]+(")')


def _block(page: str, language: str, containing: str) -> Block:
    [found] = [b for b in blocks(DOCS / page) if b.language == language and containing in b.code]
    return found


def _shown_after(page: str, block: Block) -> str:
    """The text block the guide shows right after ``block``: its expected output."""
    found = blocks(DOCS / page)
    following = [b for b in found[found.index(block) + 1 :] if b.language == "text"]
    return following[0].code.strip("\n")


def _with_port(command: str, port: int) -> str:
    return command.replace("127.0.0.1:8000", f"127.0.0.1:{port}").replace(" 8000", f" {port}")


def _bash(script: str, cwd: Path, env: Mapping[str, str]) -> str:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"{script}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    return result.stdout


def _run_steps(block: Block, cwd: Path, env: Mapping[str, str], port: int, stack: ExitStack) -> None:
    """Run a guide's shell block line by line; a server command keeps running (until ``stack`` closes)."""
    for line in block.code.strip().splitlines():
        command = line.split("#", 1)[0].strip()
        if not command:
            continue
        if SERVER_COMMANDS.search(command):
            stack.enter_context(serving(_with_port(command, port), cwd, env, port))
        else:
            _bash(command, cwd, env)


def _try_it(page: str, cwd: Path, env: Mapping[str, str], port: int) -> None:
    """The guide's curl session prints what the guide shows (any user id standing for any other)."""
    session = _block(page, "sh", "curl ")
    printed = _bash(_with_port(session.code, port), cwd, env).strip("\n")
    expected = _shown_after(page, session)
    assert _USER_ID.sub(r"\1ID\2", printed) == _USER_ID.sub(r"\1ID\2", expected)


def test_fastapi_postgresql_guide(tmp_path: Path) -> None:
    """getting-started/fastapi-postgresql.md as written: app.py under uvicorn, then its curl session."""
    code = [b.code.strip("\n") for b in blocks(DOCS / FASTAPI_GUIDE) if b.is_python and b.not_run is None]
    (tmp_path / "app.py").write_text("\n\n\n".join(code) + "\n", encoding="utf-8")
    port = free_port()
    with postgres_database() as database_url, ExitStack() as stack:
        env = environ(DATABASE_URL=database_url)
        _run_steps(_block(FASTAPI_GUIDE, "sh", "uvicorn app:app"), tmp_path, env, port, stack)
        _try_it(FASTAPI_GUIDE, tmp_path, env, port)


def _write_into_project(block: Block, project: Path) -> None:
    """Put a Python block where its first line says: ``# mysite/views.py`` (or ``...: add at the end``)."""
    first, _, rest = block.code.strip("\n").partition("\n")
    match = re.fullmatch(r"#\s*(?P<path>[\w/]+\.py)(?P<how>.*)", first.strip())
    assert match is not None, f"{block.id}: the first line should name the file the block goes into"
    target = project / match["path"]
    if "add at the end" in match["how"]:
        target.write_text(target.read_text(encoding="utf-8") + "\n\n" + rest + "\n", encoding="utf-8")
    else:
        target.write_text(block.code.strip("\n") + "\n", encoding="utf-8")


def test_django_sqlite_guide(tmp_path: Path) -> None:
    """getting-started/django-sqlite.md as written: startproject, the files, create_schema, runserver, curl."""
    env = environ(PYTHONDONTWRITEBYTECODE="1")
    port = free_port()
    with ExitStack() as stack:
        _run_steps(_block(DJANGO_GUIDE, "sh", "django-admin startproject"), tmp_path, env, port, stack)
        for block in blocks(DOCS / DJANGO_GUIDE):
            if block.is_python and block.not_run is None:
                _write_into_project(block, tmp_path)
        _run_steps(_block(DJANGO_GUIDE, "sh", "manage.py lucia create_schema"), tmp_path, env, port, stack)
        assert (tmp_path / "auth.db").is_file()
        _try_it(DJANGO_GUIDE, tmp_path, env, port)


@pytest.mark.parametrize("page", ["getting-started/index.md", FASTAPI_GUIDE, DJANGO_GUIDE, "demo.md"])
def test_install_commands_name_real_files(page: str) -> None:
    """``pip install -e packages/...`` names a package of this repository, ``dist/...whl`` a wheel nox builds."""
    packages = {p.parent.name for p in (ROOT / "packages").glob("*/pyproject.toml")}
    wheels = {name.replace("-", "_") for name in packages}
    text = (DOCS / page).read_text(encoding="utf-8")
    editable = re.findall(r"-e packages/([\w-]+)", text)
    built = re.findall(r"dist/(\w+)-\*\.whl", text)
    assert editable or built or page == "demo.md"
    assert set(editable) <= packages, set(editable) - packages
    assert set(built) <= wheels, set(built) - wheels
    for line in re.findall(r"^pip install .*$", text, flags=re.M):
        shlex.split(line)  # quoted as a shell reads it
