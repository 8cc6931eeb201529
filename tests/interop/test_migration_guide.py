"""docs/guides/migrate-from-lucia-js.md, run as written on a fresh Lucia-JS database.

The guide's Python blocks are executed as they stand (with ``DATABASE_URL`` set) and its
shell commands are run by bash: phase 1 beside a running Lucia-JS app, then phase 2 with
Node gone. Every session, made on either side, must still validate after the move.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from _lucia_js import ROOT, LuciaJSApp, lucia_js_database, sha256_hex, sql

from lucia import Lucia, LuciaError

pytestmark = [pytest.mark.anyio, pytest.mark.service("node"), pytest.mark.service("postgresql")]

GUIDE = ROOT / "docs" / "guides" / "migrate-from-lucia-js.md"
_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.M | re.S)
HASHED_ID = re.compile(r"[0-9a-f]{64}")


def guide_blocks(section: str) -> list[tuple[str, str]]:
    """The fenced (language, code) blocks of one ``## `` section of the guide, in order.

    Each code is preceded by blank lines up to its place in the guide, so a traceback
    through it names the guide's own line numbers.
    """
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index(f"\n## {section}")
    end = text.find("\n## ", start + 1)
    blocks = []
    for match in _BLOCK.finditer(text, start, len(text) if end == -1 else end):
        line = text.count("\n", 0, match.start(2))
        blocks.append((match.group(1), "\n" * line + match.group(2)))
    return blocks


def guide_block(section: str, language: str, containing: str) -> str:
    """The one block of a section in ``language`` whose code contains ``containing``."""
    [code] = [code for lang, code in guide_blocks(section) if lang == language and containing in code]
    return code


def run_python_block(code: str) -> dict[str, Any]:
    """Execute a Python block of the guide; its namespace."""
    namespace: dict[str, Any] = {"__name__": "guide"}
    exec(compile(code, str(GUIDE), "exec"), namespace)
    return namespace


def run_shell_block(code: str, database_url: str) -> str:
    """Run a shell block of the guide with bash, ``python`` being this interpreter; its stdout."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"{code}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture
def fresh_database(node: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A database of its own (the guide rewrites every session in it), as ``DATABASE_URL``."""
    with lucia_js_database() as url:
        monkeypatch.setenv("DATABASE_URL", url)
        yield url


@pytest.fixture
def node_app(node: str, fresh_database: str) -> Iterator[LuciaJSApp]:
    """A Lucia-JS app on the fresh database."""
    app = LuciaJSApp(node, fresh_database)
    yield app
    app.close()


@pytest.fixture
async def closing() -> AsyncIterator[list[Any]]:
    """Adapters made by the guide's code, closed after the test."""
    adapters: list[Any] = []
    yield adapters
    for adapter in adapters:
        await adapter.close()


def test_phase_one_installs_only_this_projects_distributions() -> None:
    """The guide's install command names our distributions (it is not run: they are not on PyPI here)."""
    words = guide_block("Phase 1", "sh", "pip install").split()
    assert words[:2] == ["pip", "install"]
    for requirement in words[2:]:
        name = re.split(r"[\[<>=]", requirement.strip("\"'"))[0]
        assert (ROOT / "packages" / name).is_dir() or name == "psycopg", name


async def test_the_guide_moves_off_node_without_signing_anyone_out(
    node_app: LuciaJSApp, fresh_database: str, closing: list[Any]
) -> None:
    """Phase 1 beside Node, then phase 2's commands: every session still validates, hashes upgrade."""
    url = fresh_database
    # Phase 1: Node and Python on one database.
    ada = node_app.call("createUser", providerId="username", providerUserId="ada", password="ada's pw", attributes={})
    tokens = {
        "node active": node_app.call("createSession", userId=ada["userId"])["sessionId"],
        "node idle": node_app.call("createSession", userId=ada["userId"])["sessionId"],
    }
    namespace = run_python_block(guide_block("Phase 1", "python", "auth = Lucia("))
    closing.append(namespace["adapter"])
    phase_one_auth: Lucia = namespace["auth"]
    bob = await phase_one_auth.create_user(
        primary_key={"provider_id": "username", "provider_user_id": "bob", "password": "bob's pw"}, attributes={}
    )
    tokens["python active"] = (await phase_one_auth.create_session(bob.user_id)).token or ""
    tokens["python idle"] = (await phase_one_auth.create_session(ada["userId"])).token or ""
    node_app.call("validateSession", sessionId=tokens["python active"])  # Node takes Python's sessions
    for name in ("node idle", "python idle"):
        sql(url, "UPDATE auth_session SET active_expires = 0 WHERE id = %s", (tokens[name],))
    owners = {name: (bob.user_id if name == "python active" else ada["userId"]) for name in tokens}
    node_app.close()  # Node is gone.

    # Phase 2: the guide's commands, then its settings.
    commands = guide_block("Phase 2", "sh", "migrate hash-session-ids")
    output = run_shell_block(commands, url)
    assert "4 session ids to hash, 0 already hashed" in output and "Dry run: nothing was changed" in output
    assert "hashed 4 session ids (0 were already hashed)" in output
    stored = {row[0] for row in sql(url, "SELECT id FROM auth_session")}
    assert stored == {sha256_hex(token) for token in tokens.values()}
    assert all(HASHED_ID.fullmatch(session_id) for session_id in stored)

    printed = run_shell_block(guide_block("Phase 2", "sh", "--upgrade"), url)
    assert "ALTER TABLE" in printed
    columns = {
        row[0]
        for row in sql(
            url, "SELECT column_name FROM information_schema.columns WHERE table_name = %s", ("auth_session",)
        )
    }
    assert {"previous_id", "previous_expires", "created_at", "persistent"} <= columns

    namespace = run_python_block(guide_block("Phase 2", "python", "auth = Lucia("))
    closing.append(namespace["adapter"])
    auth: Lucia = namespace["auth"]
    assert auth.hash_session_ids
    for name, token in tokens.items():
        session, user = await auth.validate_session_user(token)
        assert user.user_id == owners[name], name
        if name.endswith("idle"):
            assert session.fresh and HASHED_ID.fullmatch(session.session_id), name  # renewed, stored hashed
        else:
            assert (session.session_id, session.fresh) == (sha256_hex(token), False), name
    # The upgraded table records the renewal: the replaced cookie still works for the grace window.
    in_grace = await auth.validate_session(tokens["node idle"])
    assert (in_grace.user_id, in_grace.fresh) == (ada["userId"], False)

    # Argon2id: each scrypt hash (Node's and phase 1's) is replaced at the next sign-in.
    for username, password in (("ada", "ada's pw"), ("bob", "bob's pw")):
        [(before,)] = sql(url, "SELECT hashed_password FROM auth_key WHERE id = %s", (f"username:{username}",))
        assert before.startswith("s2:")
        await auth.use_key("username", username, password)
        [(after,)] = sql(url, "SELECT hashed_password FROM auth_key WHERE id = %s", (f"username:{username}",))
        assert after.startswith("$argon2id$")
        await auth.use_key("username", username, password)
        with pytest.raises(LuciaError, match="AUTH_INVALID_PASSWORD"):
            await auth.use_key("username", username, "wrong")

    # Running the migration again changes nothing.
    again = run_shell_block(commands.strip().splitlines()[-1], url)
    assert "nothing to do" in again


async def test_the_guides_rewrite_for_mongodb_and_redis_keeps_sessions_valid(
    node_app: LuciaJSApp, fresh_database: str, closing: list[Any]
) -> None:
    """The guide's adapter-level rewrite (for stores the command does not cover) works over the contract."""
    from lucia_postgresql import PostgresAdapter

    url = fresh_database
    user = node_app.call("createUser", providerId="username", providerUserId="cy", password=None, attributes={})
    node_token = node_app.call("createSession", userId=user["userId"])["sessionId"]
    node_app.close()
    namespace = run_python_block(guide_block("Phase 1", "python", "auth = Lucia("))
    closing.append(namespace["adapter"])
    python_token = (await namespace["auth"].create_session(user["userId"])).token or ""

    rewrite = run_python_block(guide_block("Phase 2", "python", "async def hash_session_ids"))["hash_session_ids"]
    adapter = PostgresAdapter(url)
    closing.append(adapter)
    ids = [row[0] for row in sql(url, "SELECT id FROM auth_session")]
    assert await rewrite(adapter, ids) == 2
    assert await rewrite(adapter, [row[0] for row in sql(url, "SELECT id FROM auth_session")]) == 0

    auth = Lucia(adapter=adapter)
    for token in (node_token, python_token):
        session = await auth.validate_session(token)
        assert (session.user_id, session.session_id) == (user["userId"], sha256_hex(token))
