"""AuthRequest: one request's view of its session, cached, renewing, never crashing on garbage."""

from __future__ import annotations

import pytest

from lucia import Cookie, Lucia, LuciaRequest
from lucia.testing import FakeClock

from .conftest import CountingAdapter

pytestmark = pytest.mark.anyio

URL = "http://127.0.0.1:8000/me"


async def _signed_in(auth: Lucia) -> tuple[str, str]:
    user = await auth.create_user(primary_key=None, attributes={"username": "req"})
    session = await auth.create_session(user.user_id)
    assert session.token is not None
    return user.user_id, session.token


async def test_validate_user_reads_the_cookie_once(auth: Lucia, store: CountingAdapter) -> None:
    """The session and user come from the cookie in one query, cached for the request."""
    user_id, token = await _signed_in(auth)
    cookies: list[Cookie] = []
    request = auth.handle_request(
        LuciaRequest("GET", URL, [("cookie", f"auth_session={token}")]), set_cookie=cookies.append
    )
    store.calls.clear()
    session, user = await request.validate_user()
    assert session is not None and user is not None and user.user_id == user_id
    assert (await request.validate()) is session
    assert store.calls == ["get_session_and_user"]
    assert cookies == []


async def test_s3_idle_session_is_renewed_and_its_cookie_set(auth: Lucia, clock: FakeClock) -> None:
    """An idle session is rotated on the request, the new cookie set, the old token dead."""
    _, token = await _signed_in(auth)
    clock.advance(86_400 + 1)
    cookies: list[Cookie] = []
    session = await auth.handle_request(
        LuciaRequest("GET", URL, {"Cookie": f"auth_session={token}"}), set_cookie=cookies.append
    ).validate()
    assert session is not None and session.fresh and session.token != token
    assert [c.value for c in cookies] == [session.token]
    clock.advance(auth.renewal_grace.total_seconds() + 1)
    again = await auth.handle_request(
        LuciaRequest("GET", URL, {"Cookie": f"auth_session={token}"}), set_cookie=cookies.append
    ).validate()
    assert again is None
    assert cookies[-1].value == "" and cookies[-1].attributes.max_age == 0


@pytest.mark.parametrize(
    "cookie",
    [
        "auth_session=garbage",
        "auth_session=" + "a" * 41,
        "auth_session=" + "A" * 39,
        "auth_session=" + "é" * 40,
        "=;;=;",
        "auth_session=\x00" * 3,
        "x" * 100_000,
    ],
)
async def test_s5_garbage_cookie_is_anonymous_without_a_query(auth: Lucia, store: CountingAdapter, cookie: str) -> None:
    """A malformed or oversized cookie is an anonymous request, refused before any query."""
    store.calls.clear()
    request = auth.handle_request(LuciaRequest("GET", URL, {"cookie": cookie}), set_cookie=lambda c: None)
    assert await request.validate_user() == (None, None)
    assert store.calls == []


async def test_s5_unknown_token_is_never_adopted(auth: Lucia, store: CountingAdapter, memory: object) -> None:
    """A well-formed unknown token gives no session, stores nothing and clears the cookie."""
    cookies: list[Cookie] = []
    request = auth.handle_request(
        LuciaRequest("GET", URL, {"cookie": "auth_session=" + "a" * 40}), set_cookie=cookies.append
    )
    assert await request.validate() is None
    assert "set_session" not in store.calls
    assert [c.value for c in cookies] == [""]


async def test_c3_cross_site_post_is_anonymous_and_reports_why(auth: Lucia) -> None:
    """A cross-origin POST with a valid cookie gets no session; the CSRF error is kept for the framework."""
    _, token = await _signed_in(auth)
    headers = [("cookie", f"auth_session={token}"), ("origin", "https://evil.example")]
    request = auth.handle_request(LuciaRequest("POST", URL, headers), set_cookie=lambda c: None)
    assert await request.validate() is None
    assert request.csrf_error is not None and request.csrf_error.code == "AUTH_INVALID_REQUEST"
    same_origin = auth.handle_request(
        LuciaRequest("POST", URL, [("cookie", f"auth_session={token}"), ("origin", "http://127.0.0.1:8000")]),
        set_cookie=lambda c: None,
    )
    assert await same_origin.validate() is not None


async def test_s4_token_in_query_or_authorization_is_ignored_by_default(auth: Lucia) -> None:
    """A token in the query string, or a Bearer header without opt-in, authenticates nobody."""
    _, token = await _signed_in(auth)
    in_query = auth.handle_request(LuciaRequest("GET", f"{URL}?auth_session={token}", {}), set_cookie=lambda c: None)
    assert await in_query.validate() is None
    bearer = LuciaRequest("POST", URL, {"authorization": f"Bearer {token}"})
    assert await auth.handle_request(bearer, set_cookie=lambda c: None).validate() is None
    opted_in = auth.handle_request(bearer, set_cookie=lambda c: None, allow_bearer=True)
    assert (await opted_in.validate()) is not None
    assert auth.read_bearer_token("Basic abc") is None and auth.read_bearer_token(None) is None


async def test_set_session_sets_and_clears_the_cookie(auth: Lucia) -> None:
    """``set_session`` writes the cookie and the request's cached answer."""
    user_id, _ = await _signed_in(auth)
    cookies: list[Cookie] = []
    request = auth.handle_request(
        LuciaRequest("POST", URL, {"origin": "http://127.0.0.1:8000"}), set_cookie=cookies.append
    )
    session = await auth.create_session(user_id)
    request.set_session(session)
    assert cookies[-1].value == session.token
    request.set_session(None)
    assert cookies[-1].value == "" and await request.validate() is None


def test_request_headers_are_case_insensitive_and_repeatable() -> None:
    """Header lookup ignores case and keeps repeated headers."""
    request = LuciaRequest("GET", URL, [("Cookie", "a=1"), ("cookie", "b=2"), ("X", "y")])
    assert request.get_all("COOKIE") == ["a=1", "b=2"]
    assert request.get("x") == "y" and request.get("missing") is None


async def test_validate_reads_only_the_session_without_a_join(clock: FakeClock) -> None:
    """With separate stores, validate() reads the session alone; validate_user() then adds one user read."""
    from lucia.adapters.memory import MemoryAdapter

    users, sessions = MemoryAdapter(), CountingAdapter(MemoryAdapter())
    sessions.inner.users = users.users
    auth = Lucia(adapter={"user": users, "session": sessions}, clock=clock)
    assert not auth.reads_session_with_user
    user_id, token = await _signed_in(auth)
    request = auth.handle_request(
        LuciaRequest("GET", URL, {"cookie": f"auth_session={token}"}), set_cookie=lambda c: None
    )
    sessions.calls.clear()
    session = await request.validate()
    assert session is not None and sessions.calls == ["get_session"]
    _, user = await request.validate_user()
    assert user is not None and user.user_id == user_id
    assert sessions.calls == ["get_session"]
    assert (await request.validate_user())[1] is user


async def test_set_session_is_what_the_request_validates_to(auth: Lucia, store: CountingAdapter) -> None:
    """After sign-in sets a session on the request, validate() returns it without a query."""
    user_id, _ = await _signed_in(auth)
    request = auth.handle_request(
        LuciaRequest("POST", URL, {"origin": "http://127.0.0.1:8000"}), set_cookie=lambda c: None
    )
    session = await auth.create_session(user_id)
    request.set_session(session)
    store.calls.clear()
    assert await request.validate() is session
    assert store.calls == []
    _, user = await request.validate_user()
    assert user is not None and user.user_id == user_id and store.calls == ["get_user"]
