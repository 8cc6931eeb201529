"""The guide's runnable app (docs/passkeys/example_app.py) end to end, with the software authenticator."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from _soft_authenticator import SoftAuthenticator

from lucia.testing import FakeClock

pytestmark = pytest.mark.anyio

DOCS = Path(__file__).resolve().parents[3] / "docs" / "passkeys"
ORIGIN = "http://localhost:8000"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("passkeys_example_app", DOCS / "example_app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = _example().create_app(str(tmp_path / "app.db"), origin=ORIGIN, clock=FakeClock())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=ORIGIN, headers={"Origin": ORIGIN}) as client:
            yield client


async def _create(client: httpx.AsyncClient, prefix: str, authenticator: SoftAuthenticator, **extra: Any) -> Any:
    begun = (await client.post(f"{prefix}/begin", json=extra)).json()
    credential = authenticator.create(begun.pop("options"))
    return await client.post(f"{prefix}/finish", json={**extra, **begun, "credential": credential})


async def _get(client: httpx.AsyncClient, authenticator: SoftAuthenticator, **spoil: Any) -> httpx.Response:
    begun = (await client.post("/login/begin")).json()
    return await client.post("/login/finish", json={"credential": authenticator.get(begun["options"], **spoil)})


async def test_sign_up_add_sign_out_sign_in_and_delete(client: httpx.AsyncClient) -> None:
    """Passkey-only sign-up, a second passkey, usernameless sign-in, and the last passkey kept."""
    phone, laptop = SoftAuthenticator(origin=ORIGIN), SoftAuthenticator(origin=ORIGIN)
    signed_up = await _create(client, "/signup", phone, username="ada")
    assert signed_up.status_code == 200, signed_up.text
    assert "auth_session=" in signed_up.headers["set-cookie"]
    assert (await _create(client, "/passkeys/add", laptop, name="Laptop")).status_code == 200
    listed = (await client.get("/passkeys")).json()
    assert sorted(p["name"] for p in listed) == ["First", "Laptop"]

    assert (await client.post("/logout")).status_code == 200
    assert (await client.get("/passkeys")).status_code == 401
    signed_in = await _get(client, laptop)
    assert signed_in.json() == {"userId": signed_up.json()["userId"]}

    assert (await client.post("/passkeys/delete", json={"id": listed[0]["id"]})).status_code == 200
    last = await client.post("/passkeys/delete", json={"id": listed[1]["id"]})
    assert (last.status_code, last.json()) == (409, {"error": "LAST_SIGN_IN_METHOD"})


async def test_refused_ceremonies_answer_their_code(client: httpx.AsyncClient) -> None:
    """A wrong origin, an unknown passkey and a finish without its cookie are 400 with the code, no session."""
    phone = SoftAuthenticator(origin=ORIGIN)
    await _create(client, "/signup", phone, username="ada")
    await client.post("/logout")
    answer = await _get(client, phone, origin="https://evil.example")
    assert (answer.status_code, answer.json()) == (400, {"error": "INVALID_RESPONSE"})
    assert "auth_session=" not in answer.headers.get("set-cookie", "")
    stranger = SoftAuthenticator(origin=ORIGIN)
    stranger.create({"rp": {"id": "localhost"}, "user": {"id": "AAAA"}, "challenge": "AAAA"})
    assert (await _get(client, stranger)).json() == {"error": "UNKNOWN_CREDENTIAL"}
    client.cookies.clear()
    begun = (await client.post("/login/begin")).json()
    client.cookies.clear()
    answer = await client.post("/login/finish", json={"credential": phone.get(begun["options"])})
    assert (answer.status_code, answer.json()) == (400, {"error": "INVALID_CHALLENGE"})


def test_the_guide_shows_the_script_the_app_serves() -> None:
    """The JavaScript in docs/passkeys/index.md is passkeys.js, character for character."""
    guide = (DOCS / "index.md").read_text()
    blocks = re.findall(r"```js\n(.*?)```", guide, flags=re.S)
    assert (DOCS / "passkeys.js").read_text() in blocks
