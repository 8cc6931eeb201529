"""Fixtures for lucia-oauth's tests: a Lucia on SQLite, loopback servers, a local issuer, oidc-provider.

Fixtures shared with ``tests/providers/`` (emulated named providers):

- ``auth``: a :class:`lucia.Lucia` on a fresh SQLite file (user column ``username``).
- ``serve``: ``base_url = serve(asgi_app)`` runs an ASGI app with uvicorn on a free loopback port
  for the duration of the test.
- ``issuer``: a :class:`LocalIssuer`, an OpenID Connect issuer on loopback whose keys, token
  answers and failures the test controls (for negative tests).
- ``example_app``: the module ``docs/examples/oauth_starlette.py`` (its ``create_app``).
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lucia import Lucia
from lucia.testing import FakeClock, fast_password_hasher
from lucia.testing.services import free_port, require_service
from lucia_sqlite import SQLiteAdapter
from lucia_testkit import npm_ci, stop_process

OIDC_SERVER_DIR = Path(__file__).parent / "oidc_provider"
EXAMPLE_APP = Path(__file__).resolve().parents[3] / "docs" / "examples" / "oauth_starlette.py"
CLIENT_ID = "lucia-test-client"
CLIENT_SECRET = "lucia-test-secret-7f3a9c"
REDIRECT_URI = "http://127.0.0.1:8765/login/oidc/callback"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=time.time())


@pytest.fixture
async def auth(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Lucia]:
    adapter = SQLiteAdapter(tmp_path / "auth.db")
    await adapter.create_schema(user_columns={"username": "string"})
    yield Lucia(adapter=adapter, clock=clock, password_hasher=fast_password_hasher())
    await adapter.close()


@pytest.fixture(scope="session")
def example_app() -> ModuleType:
    """``docs/examples/oauth_starlette.py``, imported as a module: call its ``create_app(auth, providers)``."""
    spec = importlib.util.spec_from_file_location("oauth_starlette_example", EXAMPLE_APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- loopback servers -----------------------------------------------------------------------


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test runner owns the signals
        pass


@pytest.fixture
def serve() -> Iterator[Callable[[Any], str]]:
    """``serve(app) -> base_url``: the ASGI app on a free loopback port until the test ends."""
    servers: list[tuple[_Server, threading.Thread]] = []

    def start(app: Any) -> str:
        port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="none")
        server = _Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the loopback test server did not start")
            time.sleep(0.01)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


# -- a local issuer the tests control -------------------------------------------------------


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_b64(value: int, size: int | None = None) -> str:
    return _b64(value.to_bytes(size or (value.bit_length() + 7) // 8, "big"))


def rsa_public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": _int_b64(numbers.n), "e": _int_b64(numbers.e)}


def ec_public_jwk(key: ec.EllipticCurvePrivateKey, kid: str) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {"kty": "EC", "kid": kid, "crv": "P-256", "x": _int_b64(numbers.x, 32), "y": _int_b64(numbers.y, 32)}


def sign_token(header: dict[str, Any], claims: dict[str, Any], key: Any) -> str:
    """A compact JWS of ``claims``: RS256/ES256 with a private key, HS256 with bytes, none with None."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    alg = header["alg"]
    if alg == "RS256":
        signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    elif alg == "ES256":
        r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    elif alg == "HS256":
        mac = hmac.HMAC(key, hashes.SHA256())
        mac.update(signing_input.encode())
        signature = mac.finalize()
    elif alg == "none":
        signature = b""
    else:
        raise ValueError(alg)
    return f"{signing_input}.{_b64(signature)}"


@functools.cache
def _shared_rsa_key() -> rsa.RSAPrivateKey:
    """One issuer key per test run: RSA generation is slow; tests that rotate make their own."""
    return rsa.generate_private_key(65537, 2048)


@dataclass
class LocalIssuer:
    """An OpenID Connect issuer on loopback: discovery, JWKS, token and userinfo endpoints.

    Tests set :attr:`id_token` (or :attr:`token_body`/:attr:`token_status`/:attr:`token_raw`)
    and read :attr:`requests` to see what the client sent.
    """

    base_url: str = ""
    key: Any = field(default_factory=lambda: _shared_rsa_key())
    kid: str = "key-1"
    jwks_keys: list[dict[str, Any]] = field(default_factory=list)
    id_token: str | None = None
    token_status: int = 200
    token_body: dict[str, Any] | None = None
    token_raw: bytes | None = None
    token_delay: float = 0.0
    token_redirect: str | None = None
    userinfo: dict[str, Any] | None = None
    userinfo_status: int = 200
    userinfo_raw: bytes | None = None
    discovery_status: int = 200
    discovery_overrides: dict[str, Any] = field(default_factory=dict)
    code_challenge_methods: list[str] = field(default_factory=lambda: ["S256"])
    requests: list[dict[str, Any]] = field(default_factory=list)

    def claims(self, nonce: str | None, **overrides: Any) -> dict[str, Any]:
        """Valid id_token claims for our client, changed by ``overrides`` (``None`` removes one)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.base_url,
            "sub": "local-user-1",
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "email": "local@example.test",
            "email_verified": True,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(
        self,
        claims: dict[str, Any],
        *,
        alg: str | None = None,
        kid: str | None = None,
        key: Any = None,
        with_kid: bool = True,
    ) -> str:
        """Sign claims with the issuer's key (or another ``key``); RS256 or ES256 by the key's type."""
        if alg is None:
            alg = "ES256" if isinstance(self.key, ec.EllipticCurvePrivateKey) else "RS256"
        header: dict[str, Any] = {"alg": alg, "typ": "JWT"}
        if with_kid:
            header["kid"] = kid or self.kid
        return sign_token(header, claims, self.key if key is None else key)

    def public_jwk(self) -> dict[str, str]:
        """The issuer's public signing key as a JWK."""
        if isinstance(self.key, ec.EllipticCurvePrivateKey):
            return ec_public_jwk(self.key, self.kid)
        return rsa_public_jwk(self.key, self.kid)

    def rotate(self, key: Any, kid: str) -> None:
        """Replace the signing key: the JWKS then holds only the new public key."""
        self.key, self.kid = key, kid
        self.jwks_keys = [self.public_jwk()]

    def count(self, path: str) -> int:
        """How many requests reached ``path``."""
        return sum(1 for r in self.requests if r["path"] == path)

    def app(self) -> Starlette:
        async def record(request: Request) -> None:
            form = dict(await request.form()) if request.method == "POST" else {}
            self.requests.append(
                {
                    "method": request.method,
                    "path": request.url.path,
                    "query": request.url.query,
                    "form": form,
                    "headers": dict(request.headers),
                }
            )

        async def discovery(request: Request) -> Response:
            await record(request)
            return JSONResponse(
                {
                    "issuer": self.base_url,
                    "authorization_endpoint": f"{self.base_url}/authorize",
                    "token_endpoint": f"{self.base_url}/token",
                    "userinfo_endpoint": f"{self.base_url}/userinfo",
                    "jwks_uri": f"{self.base_url}/jwks",
                    "code_challenge_methods_supported": self.code_challenge_methods,
                    **self.discovery_overrides,
                },
                status_code=self.discovery_status,
            )

        async def jwks(request: Request) -> Response:
            await record(request)
            return JSONResponse({"keys": self.jwks_keys})

        async def token(request: Request) -> Response:
            await record(request)
            if self.token_delay:
                await asyncio.sleep(self.token_delay)
            if self.token_redirect is not None:
                return Response(status_code=307, headers={"Location": self.token_redirect})
            if self.token_raw is not None:
                return Response(self.token_raw, status_code=self.token_status, media_type="application/json")
            body = self.token_body or {
                "access_token": "local-access-token",
                "token_type": "Bearer",
                "expires_in": 3600,
                "refresh_token": "local-refresh-token",
                **({"id_token": self.id_token} if self.id_token else {}),
            }
            return JSONResponse(body, status_code=self.token_status)

        async def userinfo(request: Request) -> Response:
            await record(request)
            if self.userinfo_raw is not None:
                return Response(self.userinfo_raw, status_code=self.userinfo_status, media_type="application/json")
            body = self.userinfo or {"sub": "local-user-1", "email": "local@example.test"}
            return JSONResponse(body, status_code=self.userinfo_status)

        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", discovery),
                Route("/jwks", jwks),
                Route("/token", token, methods=["POST"]),
                Route("/elsewhere", token, methods=["GET", "POST"]),
                Route("/userinfo", userinfo),
            ]
        )


@pytest.fixture
def issuer(serve: Callable[[Any], str]) -> LocalIssuer:
    local = LocalIssuer()
    local.jwks_keys = [local.public_jwk()]
    local.base_url = serve(local.app())
    return local


# -- the real peer: oidc-provider -----------------------------------------------------------


@dataclass(frozen=True)
class OIDCServer:
    """A running oidc-provider: its issuer URL and the registered client."""

    issuer: str
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    redirect_uri: str = REDIRECT_URI

    def client_options(self) -> dict[str, str]:
        """The options of an :class:`~lucia_oauth.OIDCProvider` for the registered client at this server."""
        return {
            "issuer": self.issuer,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uri": self.redirect_uri,
        }


def _install_oidc_provider() -> None:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        require_service("node", "node and npm are needed to run oidc-provider")
    if (OIDC_SERVER_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
        return
    result = npm_ci(OIDC_SERVER_DIR, npm)
    if result.returncode != 0:
        require_service("node", f"npm ci failed: {result.stderr.strip()[-500:]}")


async def _sign_in_at_oidc_provider(url: str, login: str, redirect_uri: str) -> dict[str, str]:
    """Play the browser at oidc-provider: log in as ``login``, consent, return the callback query."""
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as browser:
        response = await browser.get(url)
        for _ in range(20):
            if response.status_code in (302, 303):
                location = urljoin(str(response.url), response.headers["location"])
                if location.startswith(redirect_uri):
                    return dict(parse_qsl(urlsplit(location).query))
                response = await browser.get(location)
            elif response.status_code == 200 and "/interaction/" in response.url.path:
                form = (
                    {"prompt": "login", "login": login, "password": "any"}
                    if 'name="login"' in response.text
                    else {"prompt": "consent"}
                )
                response = await browser.post(str(response.url), data=form)
            else:
                raise AssertionError(f"unexpected answer {response.status_code} at {response.url}")
    raise AssertionError("the sign-in did not come back to the redirect URI")


@pytest.fixture
def sign_in_at_server() -> Callable[[str, str, str], Awaitable[dict[str, str]]]:
    """``params = await sign_in_at_server(url, login, redirect_uri)``: the browser's part at oidc-provider."""
    return _sign_in_at_oidc_provider


@pytest.fixture(scope="session")
def oidc_server() -> Iterator[OIDCServer]:
    """oidc-provider (pinned in tests/oidc_provider/package-lock.json) on a free loopback port."""
    _install_oidc_provider()
    port = free_port()
    env = {
        **os.environ,
        "OIDC_PORT": str(port),
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_REDIRECT_URI": REDIRECT_URI,
    }
    process = subprocess.Popen(
        [shutil.which("node") or "node", "server.mjs"],
        cwd=OIDC_SERVER_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("ready "):
            require_service("node", f"oidc-provider did not start (exit code {process.poll()})")
        yield OIDCServer(issuer=line.split()[1])
    finally:
        stop_process(process)
        if process.stdout is not None:
            process.stdout.close()
