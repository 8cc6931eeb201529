"""Passkeys with Starlette and SQLite: sign up without a password, sign in (usernameless or by
autofill), add, rename and delete passkeys. The guide is ``docs/passkeys/index.md``; the page's
JavaScript is ``passkeys.js`` beside this file. The tests of lucia-webauthn import and run it.

    pip install "lucia[starlette]" lucia-sqlite lucia-webauthn uvicorn
    cd docs/passkeys && uvicorn --factory example_app:create_app   # http://localhost:8000
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from lucia import Lucia, LuciaError
from lucia.integrations.starlette import LuciaMiddleware, get_auth, require_user
from lucia_sqlite import SQLiteAdapter
from lucia_webauthn import LuciaWebAuthnError, Passkeys

HERE = Path(__file__).resolve().parent


def create_app(
    database: str = "passkeys.db", *, origin: str = "http://localhost:8000", clock: Callable[[], float] | None = None
) -> Starlette:
    """The app for one origin (``https://...`` in production, ``http://localhost:...`` in development)."""
    adapter = SQLiteAdapter(database)
    options: dict[str, Any] = {} if clock is None else {"clock": clock}
    auth = Lucia(adapter=adapter, env="PROD" if origin.startswith("https://") else "DEV", **options)
    passkeys = Passkeys(auth, rp_id=urlsplit(origin).hostname or "", rp_name="Lucia passkeys", origins=[origin])

    def with_challenge(body: dict[str, Any], kind: Any, challenge_id: str | None) -> JSONResponse:
        """A JSON answer that sets (or, with ``None``, clears) the ceremony's challenge cookie."""
        response = JSONResponse(body)
        response.headers.append("Set-Cookie", passkeys.challenge_cookie(kind, challenge_id).serialize())
        return response

    def challenge_of(request: Request, kind: Any) -> str | None:
        return passkeys.read_challenge_cookie(kind, request.headers.getlist("cookie"))

    # -- sign-up with a passkey (no password) ------------------------------------------

    async def sign_up_begin(request: Request) -> Response:
        username = str((await request.json()).get("username", "")).strip()
        user = await auth.create_user(primary_key=None, attributes={"username": username})
        options, challenge_id = await passkeys.begin_registration(user.user_id, user_name=username)
        # The ceremony is bound to this user: sending another id back cannot attach the
        # passkey to someone else's account.
        return with_challenge({"options": options, "userId": user.user_id}, "registration", challenge_id)

    async def sign_up_finish(request: Request) -> Response:
        body = await request.json()
        credential = await passkeys.finish_registration(
            str(body.get("userId", "")), challenge_of(request, "registration"), body.get("credential"), name="First"
        )
        get_auth(request).set_session(await auth.create_session(credential.user_id))
        return with_challenge({"userId": credential.user_id}, "registration", None)

    # -- sign-in -------------------------------------------------------------------------

    async def sign_in_begin(request: Request) -> Response:
        options, challenge_id = await passkeys.begin_authentication()  # usernameless / autofill
        return with_challenge({"options": options}, "authentication", challenge_id)

    async def sign_in_finish(request: Request) -> Response:
        body = await request.json()
        user, _ = await passkeys.finish_authentication(challenge_of(request, "authentication"), body.get("credential"))
        get_auth(request).set_session(await auth.create_session(user.user_id))
        return with_challenge({"userId": user.user_id}, "authentication", None)

    # -- the signed-in user's passkeys -------------------------------------------------------

    async def add_begin(request: Request) -> Response:
        _, user = await require_user(request)
        options, challenge_id = await passkeys.begin_registration(user.user_id, user_name=user.attributes["username"])
        return with_challenge({"options": options}, "registration", challenge_id)

    async def add_finish(request: Request) -> Response:
        _, user = await require_user(request)
        body = await request.json()
        credential = await passkeys.finish_registration(
            user.user_id, challenge_of(request, "registration"), body.get("credential"), name=body.get("name") or None
        )
        return with_challenge({"credentialId": credential.credential_id}, "registration", None)

    async def list_passkeys(request: Request) -> Response:
        _, user = await require_user(request)
        listed = await passkeys.list_credentials(user.user_id)
        return JSONResponse(
            [
                {"id": c.credential_id, "name": c.name, "createdAt": c.created_at.isoformat(), "synced": c.backed_up}
                for c in listed
            ]
        )

    async def rename_passkey(request: Request) -> Response:
        _, user = await require_user(request)
        body = await request.json()
        await passkeys.rename_credential(user.user_id, str(body.get("id", "")), str(body.get("name", "")))
        return JSONResponse({})

    async def delete_passkey(request: Request) -> Response:
        _, user = await require_user(request)
        if len(await passkeys.list_credentials(user.user_id)) < 2 and not await auth.get_all_user_keys(user.user_id):
            return JSONResponse({"error": "LAST_SIGN_IN_METHOD"}, status_code=409)
        await passkeys.delete_credential(user.user_id, str((await request.json()).get("id", "")))
        return JSONResponse({})

    async def sign_out(request: Request) -> Response:
        session = await get_auth(request).validate()
        if session is not None:
            await auth.invalidate_session(session.session_id)
        get_auth(request).set_session(None)
        return JSONResponse({})

    async def page(request: Request) -> Response:
        return HTMLResponse(PAGE)

    async def script(request: Request) -> Response:
        return Response((HERE / "passkeys.js").read_text(), media_type="text/javascript")

    async def refused(request: Request, exc: Exception) -> Response:
        # Every refused ceremony is a LuciaWebAuthnError with a stable code; show the code only.
        code = exc.code if isinstance(exc, LuciaError) else "ERROR"
        return JSONResponse({"error": code}, status_code=400 if isinstance(exc, LuciaWebAuthnError) else 422)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await adapter.create_schema(user_columns={"username": "string"})
        yield
        await adapter.close()

    post = ["POST"]
    return Starlette(
        routes=[
            Route("/", page),
            Route("/passkeys.js", script),
            Route("/signup/begin", sign_up_begin, methods=post),
            Route("/signup/finish", sign_up_finish, methods=post),
            Route("/login/begin", sign_in_begin, methods=post),
            Route("/login/finish", sign_in_finish, methods=post),
            Route("/passkeys/add/begin", add_begin, methods=post),
            Route("/passkeys/add/finish", add_finish, methods=post),
            Route("/passkeys", list_passkeys),
            Route("/passkeys/rename", rename_passkey, methods=post),
            Route("/passkeys/delete", delete_passkey, methods=post),
            Route("/logout", sign_out, methods=post),
        ],
        middleware=[Middleware(LuciaMiddleware, auth=auth)],
        exception_handlers={LuciaError: refused},
        lifespan=lifespan,
    )


PAGE = """<!doctype html>
<meta charset="utf-8">
<title>Passkeys</title>
<h1>Passkeys</h1>
<form id="signup"><input name="username" placeholder="username" required> <button>Sign up with a passkey</button></form>
<form id="login"><input name="username" autocomplete="username webauthn" placeholder="username (autofill)">
<button>Sign in with a passkey</button></form>
<p><button id="add">Add a passkey</button> <button id="logout">Sign out</button></p>
<ul id="list"></ul>
<p id="status" role="status"></p>
<script type="module">
import { conditionalMediationAvailable, createPasskey, getPasskey, postJSON } from "/passkeys.js";
const status = (text) => (document.getElementById("status").textContent = text);
let waiting = null;
async function show() {
  const answer = await fetch("/passkeys");
  const list = document.getElementById("list");
  list.replaceChildren();
  if (!answer.ok) return;
  for (const passkey of await answer.json()) {
    const item = document.createElement("li");
    item.textContent = `${passkey.name ?? "Passkey"} (${passkey.synced ? "synced" : "this device"}) `;
    const remove = document.createElement("button");
    remove.textContent = "Delete";
    remove.onclick = () => postJSON("/passkeys/delete", { id: passkey.id }).then(show, (e) => status(e.message));
    item.append(remove);
    list.append(item);
  }
}
async function run(action) {
  waiting?.abort();
  try { status(JSON.stringify(await action())); await show(); } catch (error) { status(error.message); }
}
document.getElementById("signup").onsubmit = (event) => {
  event.preventDefault();
  run(() => createPasskey("/signup", { username: new FormData(event.target).get("username") }));
};
document.getElementById("login").onsubmit = (event) => { event.preventDefault(); run(() => getPasskey("/login")); };
document.getElementById("add").onclick = () => run(() => createPasskey("/passkeys/add", { name: prompt("Name") }));
document.getElementById("logout").onclick = () => run(() => postJSON("/logout"));
if (await conditionalMediationAvailable()) {
  waiting = new AbortController();
  const done = (answer) => { status(JSON.stringify(answer)); show(); };
  getPasskey("/login", { conditional: true, signal: waiting.signal }).then(done, () => {});
}
show();
</script>
"""
