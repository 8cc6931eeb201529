"""One loopback emulator for the named providers: an EMULATION, not the real services.

The named providers cannot be reached from the test machine, so a small Starlette app,
served by uvicorn on a free loopback port once per test session, plays each of them
under ``http://127.0.0.1:<port>/<name>/``. Its authorize, token, user(info), emails,
JWKS and discovery endpoints answer with the response shapes each provider's public
documentation gives, and it enforces what the real server enforces: the registered
client, the exact redirect URI, the client authentication method of the provider
(HTTP Basic or POST body; for Apple an ES256 client-secret JWT), the PKCE S256
verifier, single-use codes, bearer access tokens and refresh grants. Every request is
recorded so tests can check what the client sent (no secret in a URL, no redirects).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import uvicorn
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from lucia.testing.services import free_port

CLIENT_ID = "emulated-client-id"
CLIENT_SECRET = "emulated-" + secrets.token_urlsafe(24)
REDIRECT_URI = "http://127.0.0.1:8000/login/callback"
#: Where docs/examples/oauth_starlette.py is served in tests (in process): its callbacks are registered too.
EXAMPLE_APP_ORIGIN = "https://app.example"
APPLE_TEAM_ID = "EMUTEAM123"
APPLE_KEY_ID = "EMUKEY4567"
ENTRA_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"

_APPLE_KEY = ec.generate_private_key(ec.SECP256R1())
APPLE_PRIVATE_KEY_PEM = _APPLE_KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode("ascii")


def b64url(data: bytes) -> str:
    """Base64url without padding (JOSE)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Inverse of :func:`b64url`."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier (RFC 7636 §4.2)."""
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


# -- what the emulator stores ---------------------------------------------------------------


@dataclass
class Grant:
    """One authorization: what the client asked for at the authorize endpoint."""

    provider: str
    params: dict[str, str]
    scopes: list[str]

    @property
    def nonce(self) -> str | None:
        return self.params.get("nonce")


@dataclass
class Recorded:
    """One request the client made to the emulator."""

    provider: str
    path: str
    method: str
    url: str
    headers: dict[str, str]
    form: dict[str, str]


UserRoute = Callable[["Emulation", Grant, Request], Any]


@dataclass
class Emulation:
    """How one provider behaves, from its public documentation.

    Paths are relative to ``/<name>/``. ``client_auth`` is the token endpoint
    authentication method the provider documents: ``client_secret_basic``,
    ``client_secret_post`` or ``apple_jwt`` (a POSTed ES256 JWT). ``issuer_path`` makes
    it an OpenID Provider: it serves discovery and JWKS there and issues id_tokens.
    """

    name: str
    client_auth: str
    pkce: bool
    authorize_path: str
    token_path: str
    user_routes: dict[str, UserRoute] = field(default_factory=dict)
    scope_separator: str = " "
    token_scope_separator: str | None = None  # GitHub answers "read:user,user:email"
    refresh: bool = True
    rotate_refresh_token: bool = True
    token_type: str = "Bearer"
    scope_as_list: bool = False
    issuer_path: str | None = None
    issuer_trailing_slash: bool = False
    # Entra ID multi-tenant: discovery names a template, id_tokens the user's own tenant.
    discovery_issuer: str | None = None
    token_issuer_path: str | None = None
    id_token_claims: dict[str, Any] = field(default_factory=dict)
    slack_envelope: bool = False
    required_headers: dict[str, str] = field(default_factory=dict)
    extra_token_fields: dict[str, Any] = field(default_factory=dict)


class Emulator:
    """The running emulator: its base URL, the provider emulations and what it saw.

    It also carries the registered client and the helpers tests need (test modules
    cannot import this conftest).
    """

    client_id = CLIENT_ID
    client_secret = CLIENT_SECRET
    redirect_uri = REDIRECT_URI
    example_app_origin = EXAMPLE_APP_ORIGIN
    apple_team_id = APPLE_TEAM_ID
    apple_key_id = APPLE_KEY_ID
    apple_private_key_pem = APPLE_PRIVATE_KEY_PEM
    entra_tenant = ENTRA_TENANT
    s256 = staticmethod(s256)
    b64url_decode = staticmethod(b64url_decode)

    def __init__(self, base_url: str, emulations: dict[str, Emulation]) -> None:
        self.base_url = base_url
        self.emulations = emulations
        self.codes: dict[str, Grant] = {}
        self.access_tokens: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self.log: list[Recorded] = []
        self.rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "emulated-" + secrets.token_hex(4)

    def url(self, name: str) -> str:
        """The emulated base URL of provider ``name`` (stands for every host it has)."""
        return f"{self.base_url}/{name}"

    def issuer(self, name: str) -> str:
        """The OpenID issuer of an emulated OpenID Provider: where discovery is, and ``iss``."""
        emulation = self.emulations[name]
        path = emulation.token_issuer_path or emulation.issuer_path
        assert path is not None, f"{name} is not an OpenID Provider"
        issuer = f"{self.url(name)}/{path}".rstrip("/")
        return issuer + "/" if emulation.issuer_trailing_slash else issuer

    def configured_issuer(self, name: str) -> str:
        """The issuer a client is configured with (differs from ``iss`` only for Entra ``common``)."""
        emulation = self.emulations[name]
        assert emulation.issuer_path is not None
        return f"{self.url(name)}/{emulation.issuer_path}".rstrip("/")

    def example_redirect_uri(self, name: str) -> str:
        """The example app's callback for provider ``name``, registered with every emulation."""
        return f"{EXAMPLE_APP_ORIGIN}/login/{name}/callback"

    def client_options(self, redirect_uri: str = REDIRECT_URI) -> dict[str, str]:
        """The registered client's options (``client_id``, ``client_secret``, ``redirect_uri``)."""
        return {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uri": redirect_uri}

    def apple_options(self, redirect_uri: str = REDIRECT_URI) -> dict[str, str]:
        """Apple's options for the registered client: the team's key instead of a client secret."""
        return {
            "client_id": CLIENT_ID,
            "team_id": APPLE_TEAM_ID,
            "key_id": APPLE_KEY_ID,
            "private_key": APPLE_PRIVATE_KEY_PEM,
            "redirect_uri": redirect_uri,
            "issuer": self.issuer("apple"),
        }

    def registered(self, redirect_uri: str | None) -> bool:
        """Whether ``redirect_uri`` is registered: exactly the shared one, or one of the example app's callbacks."""
        return redirect_uri == REDIRECT_URI or redirect_uri in {self.example_redirect_uri(n) for n in self.emulations}

    def requests_to(self, name: str) -> list[Recorded]:
        """Every request the client made to provider ``name``."""
        return [r for r in self.log if r.provider == name]

    # -- JOSE ----------------------------------------------------------------------------

    def jwks(self) -> dict[str, Any]:
        numbers = self.rsa_key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": self.kid,
                    "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
                    "e": b64url(numbers.e.to_bytes(3, "big")),
                }
            ]
        }

    def sign_id_token(self, claims: dict[str, Any]) -> str:
        header = {"alg": "RS256", "kid": self.kid, "typ": "JWT"}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        signature = self.rsa_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"

    def id_token(self, emulation: Emulation, grant: Grant) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer(emulation.name),
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 3600,
            **emulation.id_token_claims,
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        return self.sign_id_token(claims)

    # -- the browser's part --------------------------------------------------------------

    def authorize(self, authorization_url: str) -> dict[str, str]:
        """Follow the authorization URL as the user's browser would; return the callback params."""
        redirect_uri = parse_qs(urlsplit(authorization_url).query)["redirect_uri"][0]
        response = httpx.get(authorization_url, follow_redirects=False)
        if response.status_code == 302:
            location = response.headers["location"]
            assert location.startswith(redirect_uri + "?"), location
            return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        # response_mode=form_post: an auto-submitting form to the redirect URI.
        assert response.status_code == 200, response.text
        assert f'action="{redirect_uri}"' in response.text
        return json.loads(response.headers["x-emulated-form"])

    # -- the server's part ---------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{provider}/{path:path}", self._dispatch, methods=["GET", "POST"])])

    async def _dispatch(self, request: Request) -> Response:
        name = request.path_params["provider"]
        path = request.path_params["path"]
        emulation = self.emulations.get(name)
        if emulation is None:
            return JSONResponse({"error": "unknown provider"}, status_code=404)
        form: dict[str, str] = {}
        if request.method == "POST":
            content_type = request.headers.get("content-type", "")
            if not content_type.startswith("application/x-www-form-urlencoded"):
                return self._error(emulation, "invalid_request")
            parsed = parse_qs((await request.body()).decode("ascii"))
            if any(len(values) > 1 for values in parsed.values()):  # RFC 6749 §3.2: at most once
                return self._error(emulation, "invalid_request")
            form = {k: v[0] for k, v in parsed.items()}
        self.log.append(Recorded(name, path, request.method, str(request.url), dict(request.headers), form))
        if CLIENT_SECRET in str(request.url):
            return JSONResponse({"error": "invalid_request", "error_description": "secret in URL"}, status_code=400)
        if emulation.issuer_path is not None:
            issuer_path = emulation.issuer_path.strip("/")
            prefix = f"{issuer_path}/" if issuer_path else ""
            if path == f"{prefix}.well-known/openid-configuration":
                return JSONResponse(self._discovery(emulation))
            if path == f"{prefix}jwks":
                return JSONResponse(self.jwks())
        if path == emulation.authorize_path and request.method == "GET":
            return self._authorize(emulation, request)
        if path == emulation.token_path and request.method == "POST":
            return self._token(emulation, request, form)
        route = emulation.user_routes.get(path)
        if route is not None:
            return self._user(emulation, route, request)
        return JSONResponse({"error": "not found"}, status_code=404)

    def _discovery(self, emulation: Emulation) -> dict[str, Any]:
        base = self.url(emulation.name)
        issuer = self.issuer(emulation.name)
        if emulation.discovery_issuer is not None:
            issuer = emulation.discovery_issuer.format(base=base)
        userinfo = next((p for p in emulation.user_routes), None)
        prefix = (emulation.issuer_path or "").strip("/")
        document: dict[str, Any] = {
            "issuer": issuer,
            "authorization_endpoint": f"{base}/{emulation.authorize_path}",
            "token_endpoint": f"{base}/{emulation.token_path}",
            "jwks_uri": f"{base}/{prefix}/jwks" if prefix else f"{base}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_post" if emulation.client_auth == "apple_jwt" else emulation.client_auth
            ],
            "scopes_supported": ["openid", "email", "profile"],
            "claims_supported": sorted({"sub", "iss", "aud", "exp", "iat", *emulation.id_token_claims}),
        }
        if userinfo is not None:
            document["userinfo_endpoint"] = f"{base}/{userinfo}"
        if emulation.pkce:
            document["code_challenge_methods_supported"] = ["S256"]
        return document

    def _error(self, emulation: Emulation, error: str, status: int = 400) -> JSONResponse:
        if emulation.slack_envelope:  # Slack answers errors with 200 and ok=false.
            return JSONResponse({"ok": False, "error": error})
        return JSONResponse({"error": error, "error_description": f"emulated {emulation.name}: {error}"}, status)

    def _authorize(self, emulation: Emulation, request: Request) -> Response:
        params = dict(request.query_params)
        if len(params) != len(request.query_params.multi_items()):  # RFC 6749 §3.1: at most once
            return HTMLResponse("a parameter was repeated", status_code=400)
        if params.get("client_id") != CLIENT_ID or not self.registered(params.get("redirect_uri")):
            return HTMLResponse("unknown client or redirect_uri", status_code=400)
        if params.get("response_type") != "code" or not params.get("state"):
            return HTMLResponse("response_type=code and state are required", status_code=400)
        if emulation.pkce and params.get("code_challenge_method") != "S256":
            return HTMLResponse("PKCE S256 is required", status_code=400)
        scopes = [s for s in params.get("scope", "").split(emulation.scope_separator) if s]
        code = secrets.token_urlsafe(24)
        self.codes[code] = Grant(emulation.name, params, scopes)
        callback = {"code": code, "state": params["state"]}
        if params.get("response_mode") == "form_post":
            inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in callback.items())
            page = f'<form method="post" action="{params["redirect_uri"]}">{inputs}</form>'
            return HTMLResponse(page, headers={"x-emulated-form": json.dumps(callback)})
        return RedirectResponse(f"{params['redirect_uri']}?{urlencode(callback)}", status_code=302)

    def _client_authenticated(self, emulation: Emulation, request: Request, form: dict[str, str]) -> bool:
        authorization = request.headers.get("authorization")
        if emulation.client_auth == "client_secret_basic":
            expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            return authorization == expected and "client_secret" not in form
        if authorization is not None or form.get("client_id") != CLIENT_ID:
            return False
        if emulation.client_auth == "client_secret_post":
            return form.get("client_secret") == CLIENT_SECRET
        return self._apple_client_secret_valid(emulation, form.get("client_secret", ""))

    def _apple_client_secret_valid(self, emulation: Emulation, token: str) -> bool:
        """Apple's rule: an ES256 JWT from the team's key, iss=team, sub=client, aud=Apple."""
        try:
            header_b64, claims_b64, signature_b64 = token.split(".")
            header = json.loads(b64url_decode(header_b64))
            claims = json.loads(b64url_decode(claims_b64))
            raw = b64url_decode(signature_b64)
            signature = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
            _APPLE_KEY.public_key().verify(
                signature, f"{header_b64}.{claims_b64}".encode("ascii"), ec.ECDSA(hashes.SHA256())
            )
        except (ValueError, InvalidSignature):
            return False
        now = time.time()
        return (
            len(raw) == 64
            and header.get("alg") == "ES256"
            and header.get("kid") == APPLE_KEY_ID
            and claims.get("iss") == APPLE_TEAM_ID
            and claims.get("sub") == CLIENT_ID
            and claims.get("aud") == self.issuer(emulation.name)
            and claims.get("iat", now + 1) <= now + 60
            and now < claims.get("exp", 0) <= now + 15777000  # Apple: at most six months
        )

    def _token(self, emulation: Emulation, request: Request, form: dict[str, str]) -> Response:
        if not self._client_authenticated(emulation, request, form):
            return self._error(emulation, "invalid_client", 401)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            grant = self.codes.pop(form.get("code", ""), None)
            if grant is None or grant.provider != emulation.name:
                return self._error(emulation, "invalid_grant")
            if form.get("redirect_uri") != grant.params["redirect_uri"]:
                return self._error(emulation, "invalid_grant")
            challenge = grant.params.get("code_challenge")
            if challenge is not None and s256(form.get("code_verifier", "")) != challenge:
                return self._error(emulation, "invalid_grant")
            issue_refresh = emulation.refresh
        elif grant_type == "refresh_token" and emulation.refresh:
            refresh_token = form.get("refresh_token", "")
            grant = self.refresh_tokens.get(refresh_token)  # type: ignore[assignment]
            if grant is None or grant.provider != emulation.name:
                return self._error(emulation, "invalid_grant")
            if emulation.rotate_refresh_token:
                del self.refresh_tokens[refresh_token]
            issue_refresh = emulation.rotate_refresh_token
        else:
            return self._error(emulation, "unsupported_grant_type")
        access_token = secrets.token_urlsafe(32)
        self.access_tokens[access_token] = grant
        body: dict[str, Any] = {"access_token": access_token, "token_type": emulation.token_type, "expires_in": 3600}
        separator = emulation.token_scope_separator or emulation.scope_separator
        scope: Any = grant.scopes if emulation.scope_as_list else separator.join(grant.scopes)
        body["scope"] = scope
        if issue_refresh:
            refresh_token = secrets.token_urlsafe(32)
            self.refresh_tokens[refresh_token] = grant
            body["refresh_token"] = refresh_token
        if emulation.issuer_path is not None and "openid" in grant.scopes:
            body["id_token"] = self.id_token(emulation, grant)
        body.update(emulation.extra_token_fields)
        if emulation.slack_envelope:
            body = {"ok": True, **body}
        return JSONResponse(body, headers={"cache-control": "no-store"})

    def _user(self, emulation: Emulation, route: UserRoute, request: Request) -> Response:
        authorization = request.headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        grant = self.access_tokens.get(token) if scheme.lower() == "bearer" else None
        if grant is None or grant.provider != emulation.name:
            return self._error(emulation, "invalid_token", 401)
        for header, value in emulation.required_headers.items():
            if request.headers.get(header) != value:
                return self._error(emulation, f"missing header {header}", 401)
        return JSONResponse(route(emulation, grant, request))


# -- the emulations: response shapes from each provider's public documentation ---------------


def _static(body: Any) -> UserRoute:
    return lambda emulation, grant, request: body


def _oidc_userinfo(emulation: Emulation, grant: Grant, request: Request) -> Any:
    claims = {k: v for k, v in emulation.id_token_claims.items() if k not in ("azp", "auth_time", "ver")}
    return {"ok": True, **claims} if emulation.slack_envelope else claims


def _facebook_me(emulation: Emulation, grant: Grant, request: Request) -> Any:
    # The Graph API returns exactly the fields asked for.
    person = {"id": "10153862387463487", "name": "Emulated Facebook User", "email": "fb.user@example.com"}
    fields = request.query_params.get("fields", "id,name").split(",")
    return {k: v for k, v in person.items() if k in fields}


def _patreon_identity(emulation: Emulation, grant: Grant, request: Request) -> Any:
    attributes = {
        "email": "patron@example.com",
        "full_name": "Emulated Patron",
        "image_url": "https://c8.patreon.com/2/200/12345678",
        "is_email_verified": True,
        "vanity": None,
    }
    wanted = request.query_params.get("fields[user]", "").split(",")
    return {
        "data": {
            "attributes": {k: v for k, v in attributes.items() if k in wanted},
            "id": "12345678",
            "type": "user",
        },
        "links": {"self": "https://www.patreon.com/api/oauth2/v2/user/12345678"},
    }


def emulations() -> dict[str, Emulation]:
    """The sixteen named providers (and Entra ID's multi-tenant ``common``) as the emulator plays them."""
    items = [
        Emulation(
            name="github",
            client_auth="client_secret_post",
            pkce=True,
            authorize_path="login/oauth/authorize",
            token_path="login/oauth/access_token",
            token_type="bearer",
            token_scope_separator=",",
            extra_token_fields={"refresh_token_expires_in": 15811200},
            user_routes={
                "user": _static(
                    {
                        "login": "octocat",
                        "id": 583231,
                        "node_id": "MDQ6VXNlcjU4MzIzMQ==",
                        "avatar_url": "https://avatars.githubusercontent.com/u/583231?v=4",
                        "html_url": "https://github.com/octocat",
                        "type": "User",
                        "site_admin": False,
                        "name": "The Octocat",
                        "email": None,
                        "created_at": "2011-01-25T18:44:36Z",
                    }
                ),
                "user/emails": _static(
                    [
                        {"email": "octocat@old.example.com", "verified": True, "primary": False, "visibility": None},
                        {"email": "octocat@github.com", "verified": True, "primary": True, "visibility": "private"},
                        {"email": "unverified@example.com", "verified": False, "primary": False, "visibility": None},
                    ]
                ),
            },
        ),
        Emulation(
            name="google",
            client_auth="client_secret_post",
            pkce=True,
            authorize_path="o/oauth2/v2/auth",
            token_path="token",
            issuer_path="",
            id_token_claims={
                "sub": "110169484474386276334",
                "azp": CLIENT_ID,
                "email": "someone@gmail.com",
                "email_verified": True,
                "name": "Emulated Google User",
                "picture": "https://lh3.googleusercontent.com/a/emulated",
                "given_name": "Emulated",
                "family_name": "User",
            },
            user_routes={"v1/userinfo": _oidc_userinfo},
        ),
        Emulation(
            name="discord",
            client_auth="client_secret_basic",
            pkce=True,
            authorize_path="oauth2/authorize",
            token_path="api/oauth2/token",
            user_routes={
                "api/users/@me": _static(
                    {
                        "id": "80351110224678912",
                        "username": "nelly",
                        "discriminator": "0",
                        "global_name": "Nelly",
                        "avatar": "8342729096ea3675442027381ff50dfe",
                        "verified": True,
                        "email": "nelly@discord.com",
                        "flags": 64,
                        "banner": None,
                        "accent_color": None,
                        "premium_type": 1,
                        "public_flags": 64,
                        "mfa_enabled": False,
                        "locale": "en-US",
                    }
                )
            },
        ),
        Emulation(
            name="apple",
            client_auth="apple_jwt",
            pkce=False,
            authorize_path="auth/authorize",
            token_path="auth/token",
            issuer_path="",
            rotate_refresh_token=False,  # Apple's refresh returns a new access token only
            id_token_claims={
                "sub": "001234.8f2f3b4e5c6d7e8f9a0b1c2d3e4f5a6b.1234",
                "email": "abc123@privaterelay.appleid.com",
                "email_verified": "true",
                "is_private_email": "true",
                "auth_time": 1700000000,
                "nonce_supported": True,
            },
        ),
        Emulation(
            name="entra",
            client_auth="client_secret_post",
            pkce=True,
            authorize_path=f"{ENTRA_TENANT}/oauth2/v2.0/authorize",
            token_path=f"{ENTRA_TENANT}/oauth2/v2.0/token",
            issuer_path=f"{ENTRA_TENANT}/v2.0",
            id_token_claims={
                "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
                "oid": "00000000-0000-0000-66f3-3332eca7ea81",
                "tid": ENTRA_TENANT,
                "ver": "2.0",
                "name": "Emulated Entra User",
                "preferred_username": "user@contoso.example",
                "email": "user@contoso.example",
            },
            user_routes={"oidc/userinfo": _oidc_userinfo},
        ),
        Emulation(
            name="entra-common",
            client_auth="client_secret_post",
            pkce=True,
            authorize_path="common/oauth2/v2.0/authorize",
            token_path="common/oauth2/v2.0/token",
            issuer_path="common/v2.0",
            discovery_issuer="{base}/{{tenantid}}/v2.0",
            token_issuer_path=f"{ENTRA_TENANT}/v2.0",
            id_token_claims={
                "sub": "AAAAAAAAAAAAAAAAAAAAAHf2eKDvd0kUxDZmHzNXYdE",
                "oid": "00000000-0000-0000-1d2b-3c4d5e6f7a8b",
                "tid": ENTRA_TENANT,
                "ver": "2.0",
                "name": "Emulated Work Account",
                "preferred_username": "worker@fabrikam.example",
            },
        ),
        Emulation(
            name="gitlab",
            client_auth="client_secret_post",
            pkce=True,
            authorize_path="oauth/authorize",
            token_path="oauth/token",
            extra_token_fields={"created_at": 1607635748},
            user_routes={
                "api/v4/user": _static(
                    {
                        "id": 1,
                        "username": "john_smith",
                        "name": "John Smith",
                        "email": "john@example.com",
                        "state": "active",
                        "locked": False,
                        "avatar_url": "http://localhost:3000/uploads/user/avatar/1/index.jpg",
                        "web_url": "http://localhost:3000/john_smith",
                        "created_at": "2012-05-23T08:00:58Z",
                        "confirmed_at": "2012-05-23T09:05:22Z",
                    }
                )
            },
        ),
        Emulation(
            name="facebook",
            client_auth="client_secret_post",
            pkce=False,
            authorize_path="v22.0/dialog/oauth",
            token_path="v22.0/oauth/access_token",
            scope_separator=",",
            refresh=False,
            token_type="bearer",
            user_routes={"v22.0/me": _facebook_me},
        ),
        Emulation(
            name="twitch",
            client_auth="client_secret_post",
            pkce=False,
            authorize_path="oauth2/authorize",
            token_path="oauth2/token",
            token_type="bearer",
            scope_as_list=True,  # Twitch returns scope as a JSON array
            required_headers={"client-id": CLIENT_ID},
            user_routes={
                "helix/users": _static(
                    {
                        "data": [
                            {
                                "id": "141981764",
                                "login": "twitchdev",
                                "display_name": "TwitchDev",
                                "type": "",
                                "broadcaster_type": "partner",
                                "description": "Supporting third-party developers building Twitch integrations.",
                                "profile_image_url": "https://static-cdn.jtvnw.net/jtv_user_pictures/emulated.png",
                                "offline_image_url": "https://static-cdn.jtvnw.net/jtv_user_pictures/offline.png",
                                "view_count": 5980557,
                                "email": "not-real@email.com",
                                "created_at": "2016-12-14T20:32:28Z",
                            }
                        ]
                    }
                )
            },
        ),
        Emulation(
            name="reddit",
            client_auth="client_secret_basic",
            pkce=False,
            authorize_path="api/v1/authorize",
            token_path="api/v1/access_token",
            token_type="bearer",
            rotate_refresh_token=False,
            user_routes={
                "api/v1/me": _static(
                    {
                        "id": "1w72",
                        "name": "spez",
                        "icon_img": "https://styles.redditmedia.com/emulated.png",
                        "created_utc": 1118030400.0,
                        "verified": True,
                        "has_verified_email": True,
                        "is_suspended": False,
                        "total_karma": 935434,
                    }
                )
            },
        ),
        Emulation(
            name="spotify",
            client_auth="client_secret_basic",
            pkce=True,
            authorize_path="authorize",
            token_path="api/token",
            rotate_refresh_token=False,
            user_routes={
                "v1/me": _static(
                    {
                        "country": "SE",
                        "display_name": "JM Wizzler",
                        "email": "email@example.com",
                        "explicit_content": {"filter_enabled": False, "filter_locked": False},
                        "external_urls": {"spotify": "https://open.spotify.com/user/wizzler"},
                        "followers": {"href": None, "total": 3829},
                        "href": "https://api.spotify.com/v1/users/wizzler",
                        "id": "wizzler",
                        "images": [{"url": "https://i.scdn.co/image/emulated", "height": 300, "width": 300}],
                        "product": "premium",
                        "type": "user",
                        "uri": "spotify:user:wizzler",
                    }
                )
            },
        ),
        Emulation(
            name="linkedin",
            client_auth="client_secret_post",
            pkce=False,
            authorize_path="oauth/v2/authorization",
            token_path="oauth/v2/accessToken",
            issuer_path="oauth",
            refresh=False,
            id_token_claims={
                "sub": "782bbtaQ",
                "name": "John Doe",
                "given_name": "John",
                "family_name": "Doe",
                "picture": "https://media.licdn.com/dms/image/emulated",
                "locale": "en-US",
                "email": "doe@email.com",
                "email_verified": True,
            },
            user_routes={"v2/userinfo": _oidc_userinfo},
        ),
        Emulation(
            name="auth0",
            client_auth="client_secret_post",
            pkce=True,
            authorize_path="authorize",
            token_path="oauth/token",
            issuer_path="",
            issuer_trailing_slash=True,  # Auth0 writes its issuer as https://{domain}/
            id_token_claims={
                "sub": "auth0|507f1f77bcf86cd799439020",
                "name": "Jane Josephine Doe",
                "nickname": "jane",
                "email": "janedoe@example.com",
                "email_verified": True,
                "picture": "http://example.com/janedoe/me.jpg",
            },
            user_routes={"userinfo": _oidc_userinfo},
        ),
        Emulation(
            name="okta",
            client_auth="client_secret_basic",
            pkce=True,
            authorize_path="oauth2/default/v1/authorize",
            token_path="oauth2/default/v1/token",
            issuer_path="oauth2/default",
            id_token_claims={
                "sub": "00uid4BxXw6I6TV4m0g3",
                "name": "John Doe",
                "preferred_username": "john.doe@example.com",
                "email": "john.doe@example.com",
                "email_verified": True,
                "ver": 1,
            },
            user_routes={"oauth2/default/v1/userinfo": _oidc_userinfo},
        ),
        Emulation(
            name="keycloak",
            client_auth="client_secret_basic",
            pkce=True,
            authorize_path="realms/emulated/protocol/openid-connect/auth",
            token_path="realms/emulated/protocol/openid-connect/token",
            issuer_path="realms/emulated",
            id_token_claims={
                "sub": "f:0f8b8f8e-2f4a-4c3e-9d5f-0c1a2b3c4d5e:alice",
                "azp": CLIENT_ID,
                "preferred_username": "alice",
                "email": "alice@example.com",
                "email_verified": True,
                "name": "Alice Liddell",
            },
            user_routes={"realms/emulated/protocol/openid-connect/userinfo": _oidc_userinfo},
        ),
        Emulation(
            name="patreon",
            client_auth="client_secret_post",
            pkce=False,
            authorize_path="oauth2/authorize",
            token_path="api/oauth2/token",
            token_type="Bearer",
            user_routes={"api/oauth2/v2/identity": _patreon_identity},
        ),
        Emulation(
            name="slack",
            client_auth="client_secret_post",
            pkce=False,
            authorize_path="openid/connect/authorize",
            token_path="api/openid.connect.token",
            issuer_path="",
            refresh=False,
            slack_envelope=True,
            id_token_claims={
                "sub": "U0R7JM",
                "https://slack.com/user_id": "U0R7JM",
                "https://slack.com/team_id": "T0R7GR",
                "email": "krane@slack-corp.com",
                "email_verified": True,
                "date_email_verified": 1622128723,
                "name": "krane",
                "picture": "https://secure.gravatar.com/avatar/emulated.jpg",
                "given_name": "Bront",
                "family_name": "Labradoodle",
                "locale": "en-US",
                "https://slack.com/team_name": "kraneflannel",
                "https://slack.com/team_domain": "kraneflannel",
            },
            user_routes={"api/openid.connect.userInfo": _oidc_userinfo},
        ),
    ]
    return {e.name: e for e in items}


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """The emulator, served by uvicorn on a free loopback port for the whole session."""
    port = free_port()
    emulator = Emulator(f"http://127.0.0.1:{port}", emulations())
    config = uvicorn.Config(emulator.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="provider-emulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the emulator did not start"
        time.sleep(0.01)
    yield emulator
    server.should_exit = True
    thread.join(timeout=10)
