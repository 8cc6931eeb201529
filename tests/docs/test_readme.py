"""README.md's FastAPI app, run as written under uvicorn: start-up creates the tables, sign-in sets the cookie."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import httpx
from _markdown import ROOT
from _servers import environ, serving

from lucia import Lucia, PrimaryKey
from lucia.testing.services import free_port

README = ROOT / "README.md"


def readme_app() -> str:
    """The one Python block of the README."""
    [code] = re.findall(r"^```python\n(.*?)^```$", README.read_text(encoding="utf-8"), flags=re.M | re.S)
    return code


async def _create_user(database: Path) -> None:
    """A user to sign in with (the README's app has no sign-up route), in the tables its start-up created."""
    from lucia_sqlite import SQLiteAdapter

    async with Lucia(adapter=SQLiteAdapter(str(database))) as auth:
        await auth.create_user(
            primary_key=PrimaryKey("username", "ada", password="correct horse battery staple"),
            attributes={"username": "ada"},
        )


def test_readme_fastapi_app(tmp_path: Path) -> None:
    """The README's app signs a user in with the right password only, and /me answers only with the cookie."""
    (tmp_path / "app.py").write_text(readme_app(), encoding="utf-8")
    port = free_port()
    command = f"{sys.executable} -m uvicorn app:app --port {port}"
    with serving(command, tmp_path, environ(), port):
        asyncio.run(_create_user(tmp_path / "app.db"))
        site = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=site, headers={"Origin": site}) as client:
            assert client.get("/me").status_code == 401
            assert client.post("/sign-in", data={"username": "ada", "password": "not it"}).status_code == 401
            right = client.post("/sign-in", data={"username": "ada", "password": "correct horse battery staple"})
            assert right.status_code == 200
            assert "HttpOnly" in right.headers["set-cookie"]
            assert client.get("/me").json() == right.json()
