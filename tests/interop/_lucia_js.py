"""The Node side of the interop tests: fresh databases with the Lucia-JS 1.x tables, and the Node app.

``LuciaJSApp`` runs ``lucia_js_app.mjs`` (lucia-auth 1.8.0 with @lucia-auth/adapter-postgresql
1.0.1, versions pinned by package-lock.json) once and sends it one JSON command per line,
so each call costs a round trip, not a Node start-up.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import subprocess
import threading
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, Any

from lucia.testing.services import require_service
from lucia_testkit import LUCIA_JS_DDL, fresh_postgres_database, npm_ci

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NODE_APP = HERE / "lucia_js_app.mjs"
_NPM_CI_TIMEOUT = 300
_CALL_TIMEOUT = 30


class LuciaJSError(Exception):
    """A Lucia-JS call failed; ``code`` is the ``LuciaError`` message (``AUTH_INVALID_PASSWORD``, ...)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code} {detail}".strip())
        self.code = code


def node_tools() -> tuple[str, str]:
    """The paths of ``node`` and ``npm``; a missing one is a missing service."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = " and ".join(name for name, path in (("node", node), ("npm", npm)) if path is None)
        require_service("node", f"{missing} not found on PATH (the Lucia-JS interop tests need Node 20 and npm)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < 20:
        require_service("node", f"node {version} found, the Lucia-JS interop tests need Node 20 or newer")
    return node, npm


def _lock_packages(path: Path) -> dict[str, Any] | None:
    try:
        packages: dict[str, Any] = json.loads(path.read_text())["packages"]
    except (OSError, ValueError, KeyError):
        return None
    return {name: entry.get("version") for name, entry in packages.items() if name}


def ensure_node_modules(npm: str) -> None:
    """Run ``npm ci`` unless node_modules already holds exactly what package-lock.json pins."""
    wanted = _lock_packages(HERE / "package-lock.json")
    if wanted is not None and wanted == _lock_packages(HERE / "node_modules" / ".package-lock.json"):
        return
    result = npm_ci(HERE, npm, timeout=_NPM_CI_TIMEOUT)
    if result.returncode != 0:
        raise RuntimeError(f"npm ci failed in {HERE}:\n{result.stdout}\n{result.stderr}")


def lucia_js_database() -> AbstractContextManager[str]:
    """A fresh PostgreSQL database holding the Lucia-JS 1.x tables; yields its URL, then drops it."""
    return fresh_postgres_database("lucia_interop", ddl=LUCIA_JS_DDL["postgresql"])


def sql(url: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on the shared database (as an operator would with psql); its rows."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(query, params)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []


def sha256_hex(text: str) -> str:
    """What ``hash_session_ids=True`` stores for a token."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class LuciaJSApp:
    """The running Node app. ``call(op, **args)`` returns its result or raises :class:`LuciaJSError`."""

    def __init__(self, node: str, database_url: str) -> None:
        self._process = subprocess.Popen(
            [node, str(NODE_APP)],
            cwd=HERE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "DATABASE_URL": database_url},
        )
        assert self._process.stdout is not None and self._process.stderr is not None
        self._answers: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read_answers, args=(self._process.stdout,), daemon=True),
            threading.Thread(target=self._stderr.extend, args=(self._process.stderr,), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        self._next_id = 0

    def _read_answers(self, stream: IO[str]) -> None:
        for line in stream:
            self._answers.put(line)
        self._answers.put(None)  # the app exited

    def call(self, op: str, **args: Any) -> Any:
        """Send one command and wait for its answer."""
        self._next_id += 1
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps({"id": self._next_id, "op": op, "args": args}) + "\n")
        self._process.stdin.flush()
        try:
            line = self._answers.get(timeout=_CALL_TIMEOUT)
        except queue.Empty:
            raise RuntimeError(f"the Node app did not answer {op} within {_CALL_TIMEOUT} s") from None
        if line is None:
            raise RuntimeError("the Node app exited:\n" + "".join(self._stderr[-40:]))
        answer = json.loads(line)
        assert answer["id"] == self._next_id, answer
        if not answer["ok"]:
            if answer["error"] == "UNEXPECTED":
                raise RuntimeError(f"the Node app failed on {op}:\n{answer.get('detail', '')}")
            raise LuciaJSError(answer["error"])
        return answer["result"]

    def close(self) -> None:
        """Close stdin (the app ends its pool and exits) and wait for it."""
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for reader in self._readers:
            reader.join(timeout=10)
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()
