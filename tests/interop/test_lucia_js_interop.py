"""Phase 1 of a migration from Lucia-JS 1.x: one database, a Node app and a Python app on it.

Everything made on one side works on the other: users, keys and passwords (Python with
``ScryptHasher``), sessions (validate, renew, delete; ``hash_session_ids=False``), cookies.
The Node side is a real lucia-auth 1.8.0 app (``lucia_js_app.mjs``) on the Lucia-JS DDL.
"""

from __future__ import annotations

import hashlib
import re
import time
from datetime import datetime, timedelta

import pytest
from _lucia_js import LuciaJSApp, LuciaJSError, sql

from lucia import Lucia, LuciaError, Session
from lucia.passwords import Argon2idHasher, ScryptHasher

pytestmark = [pytest.mark.anyio, pytest.mark.service("node"), pytest.mark.service("postgresql")]

S2_HASH = re.compile(r"s2:[A-Za-z0-9]{16}:[0-9a-f]{128}")
LUCIA_JS_SESSION_ID = re.compile(r"[A-Za-z0-9]{40}")
DAY_MS = 24 * 60 * 60 * 1000


def ms(moment: datetime | None) -> int | None:
    """A datetime as Lucia-JS gives it: epoch milliseconds."""
    return None if moment is None else round(moment.timestamp() * 1000)


def stored_session(url: str, session_id: str) -> tuple[int, int] | None:
    """The stored (active_expires, idle_expires) of a session row, or None."""
    rows = sql(url, "SELECT active_expires, idle_expires FROM auth_session WHERE id = %s", (session_id,))
    return (rows[0][0], rows[0][1]) if rows else None


def make_idle(url: str, session_id: str) -> None:
    """Move a session past its active period (as time would), still inside its idle period."""
    now = int(time.time() * 1000)
    sql(url, "UPDATE auth_session SET active_expires = %s WHERE id = %s", (now - 1000, session_id))


def make_dead(url: str, session_id: str) -> None:
    """Move a session past its idle period."""
    now = int(time.time() * 1000)
    sql(
        url,
        "UPDATE auth_session SET active_expires = %s, idle_expires = %s WHERE id = %s",
        (now - 2000, now - 1000, session_id),
    )


def js_session_matches(js: dict[str, object], session: Session) -> None:
    """A Lucia-JS session and a Python session describe the same row, to the millisecond."""
    assert js["sessionId"] == session.session_id
    assert js["userId"] == session.user_id
    assert js["activePeriodExpiresAt"] == ms(session.active_period_expires_at)
    assert js["idlePeriodExpiresAt"] == ms(session.idle_period_expires_at)


async def node_user(lucia_js: LuciaJSApp, name: str, password: str | None = "correct horse") -> str:
    """A user signed up on the Node side with a ``username`` key; its id."""
    user = lucia_js.call(
        "createUser", providerId="username", providerUserId=name, password=password, attributes={"username": name}
    )
    return str(user["userId"])


# -- users, keys and passwords ----------------------------------------------------------


async def test_user_signed_up_on_node_signs_in_on_python(
    lucia_js: LuciaJSApp, auth: Lucia, name: str, database_url: str
) -> None:
    """A Node user's password (s2 scrypt) verifies in Python; a wrong one is refused; nothing is rehashed."""
    user_id = await node_user(lucia_js, name)
    [(stored,)] = sql(database_url, "SELECT hashed_password FROM auth_key WHERE id = %s", (f"username:{name}",))
    assert S2_HASH.fullmatch(stored)

    key = await auth.use_key("username", name, "correct horse")
    assert (key.user_id, key.primary, key.password_defined) == (user_id, True, True)
    assert (await auth.get_user(user_id)).attributes["username"] == name
    with pytest.raises(LuciaError) as wrong:
        await auth.use_key("username", name, "wrong horse")
    assert wrong.value.code == "AUTH_INVALID_PASSWORD"
    assert sql(database_url, "SELECT hashed_password FROM auth_key WHERE id = %s", (f"username:{name}",)) == [(stored,)]


async def test_user_signed_up_on_python_signs_in_on_node(
    lucia_js: LuciaJSApp, auth: Lucia, name: str, database_url: str
) -> None:
    """A Python user's ScryptHasher hash is the Lucia-JS format and verifies in Node."""
    user = await auth.create_user(
        primary_key={"provider_id": "username", "provider_user_id": name, "password": "correct horse"},
        attributes={"username": name},
    )
    [(stored,)] = sql(database_url, "SELECT hashed_password FROM auth_key WHERE id = %s", (f"username:{name}",))
    assert S2_HASH.fullmatch(stored)

    key = lucia_js.call("useKey", providerId="username", providerUserId=name, password="correct horse")
    assert (key["userId"], key["primary"], key["passwordDefined"]) == (user.user_id, True, True)
    assert lucia_js.call("getUser", userId=user.user_id) == {"userId": user.user_id, "username": name}
    with pytest.raises(LuciaJSError) as wrong:
        lucia_js.call("useKey", providerId="username", providerUserId=name, password="wrong horse")
    assert wrong.value.code == "AUTH_INVALID_PASSWORD"


async def test_keys_added_on_either_side_sign_in_on_the_other(lucia_js: LuciaJSApp, auth: Lucia, name: str) -> None:
    """Persistent keys with and without a password, added on one side, are used on the other."""
    user_id = await node_user(lucia_js, name)
    lucia_js.call(
        "createKey", userId=user_id, providerId="email", providerUserId=f"{name}@example.com", password="pw 1"
    )
    await auth.create_key(user_id, provider_id="github", provider_user_id=f"{name}-gh", password=None)
    await auth.create_key(user_id, provider_id="phone", provider_user_id=f"{name}-555", password="pw 2")

    assert (await auth.use_key("email", f"{name}@example.com", "pw 1")).user_id == user_id
    assert lucia_js.call("useKey", providerId="github", providerUserId=f"{name}-gh")["userId"] == user_id
    assert (
        lucia_js.call("useKey", providerId="phone", providerUserId=f"{name}-555", password="pw 2")["userId"] == user_id
    )
    with pytest.raises(LuciaJSError, match="AUTH_INVALID_PASSWORD"):
        lucia_js.call("useKey", providerId="phone", providerUserId=f"{name}-555", password="pw 1")

    python_keys = {
        (k.provider_id, k.provider_user_id, k.primary, k.password_defined)
        for k in await auth.get_all_user_keys(user_id)
    }
    node_keys = {
        (k["providerId"], k["providerUserId"], k["primary"], k["passwordDefined"])
        for k in lucia_js.call("getAllUserKeys", userId=user_id)
    }
    assert (
        python_keys
        == {
            ("username", name, True, True),
            ("email", f"{name}@example.com", False, True),
            ("github", f"{name}-gh", False, False),
            ("phone", f"{name}-555", False, True),
        }
        == node_keys
    )


async def test_single_use_keys_are_consumed_once_across_both_sides(
    lucia_js: LuciaJSApp, auth: Lucia, name: str
) -> None:
    """A single-use key made on one side is used once on the other; its expiry agrees to the millisecond."""
    user_id = await node_user(lucia_js, name)
    python_key = await auth.create_key(
        user_id, provider_id="link", provider_user_id=f"{name}-py", password=None, expires_in=timedelta(hours=1)
    )
    seen_by_node = lucia_js.call("getKey", providerId="link", providerUserId=f"{name}-py")
    assert (seen_by_node["type"], seen_by_node["expiresAt"]) == ("single_use", ms(python_key.expires_at))
    assert lucia_js.call("useKey", providerId="link", providerUserId=f"{name}-py")["userId"] == user_id
    with pytest.raises(LuciaError) as used:
        await auth.use_key("link", f"{name}-py", None)
    assert used.value.code == "AUTH_INVALID_KEY_ID"

    node_key = lucia_js.call(
        "createKey", userId=user_id, providerId="link", providerUserId=f"{name}-js", password="otp 1", expiresIn=3600
    )
    seen_by_python = await auth.get_key("link", f"{name}-js")
    assert (seen_by_python.type, ms(seen_by_python.expires_at)) == ("single_use", node_key["expiresAt"])
    assert (await auth.use_key("link", f"{name}-js", "otp 1")).user_id == user_id
    with pytest.raises(LuciaJSError, match="AUTH_INVALID_KEY_ID"):
        lucia_js.call("useKey", providerId="link", providerUserId=f"{name}-js", password="otp 1")


async def test_password_changed_on_either_side_works_on_the_other(lucia_js: LuciaJSApp, auth: Lucia, name: str) -> None:
    """A password reset on one side is the password on the other; the old one stops working."""
    await node_user(lucia_js, name, password="old password")
    lucia_js.call("updateKeyPassword", providerId="username", providerUserId=name, password="node password")
    await auth.use_key("username", name, "node password")
    with pytest.raises(LuciaError, match="AUTH_INVALID_PASSWORD"):
        await auth.use_key("username", name, "old password")

    await auth.update_key_password("username", name, "python password")
    lucia_js.call("useKey", providerId="username", providerUserId=name, password="python password")
    with pytest.raises(LuciaJSError, match="AUTH_INVALID_PASSWORD"):
        lucia_js.call("useKey", providerId="username", providerUserId=name, password="node password")


async def test_legacy_bare_scrypt_hashes_verify_on_both_sides(
    lucia_js: LuciaJSApp, auth: Lucia, name: str, database_url: str
) -> None:
    """The older Lucia-JS ``<salt>:<hex>`` hash (scrypt r=8) signs in on both sides; Python upgrades it to s2."""
    user_id = await node_user(lucia_js, name)
    salt = "0123456789abcdef"
    derived = hashlib.scrypt(b"old horse", salt=salt.encode(), n=16384, r=8, p=1, dklen=64, maxmem=64 * 1024 * 1024)
    sql(
        database_url,
        "UPDATE auth_key SET hashed_password = %s WHERE id = %s",
        (f"{salt}:{derived.hex()}", f"username:{name}"),
    )

    assert (
        lucia_js.call("useKey", providerId="username", providerUserId=name, password="old horse")["userId"] == user_id
    )
    assert (await auth.use_key("username", name, "old horse")).user_id == user_id
    [(upgraded,)] = sql(database_url, "SELECT hashed_password FROM auth_key WHERE id = %s", (f"username:{name}",))
    assert S2_HASH.fullmatch(upgraded)
    lucia_js.call("useKey", providerId="username", providerUserId=name, password="old horse")


async def test_hashes_of_each_side_verify_on_the_other_without_a_database(lucia_js: LuciaJSApp) -> None:
    """ScryptHasher and Lucia-JS's scrypt hash and verify the same strings; s2 needs no rehash."""
    hasher = ScryptHasher()
    for password in ("correct horse", "", "pässwörd 🐴", "x" * 1024, "nul\x00byte"):
        node_hash = lucia_js.call("hashPassword", password=password)
        assert S2_HASH.fullmatch(node_hash)
        assert hasher.verify(node_hash, password)
        assert not hasher.verify(node_hash, password + "!")
        assert hasher.needs_rehash(node_hash) is False
        python_hash = hasher.hash(password)
        assert S2_HASH.fullmatch(python_hash)
        assert lucia_js.call("verifyPassword", password=password, hash=python_hash) is True
        assert lucia_js.call("verifyPassword", password=password + "!", hash=python_hash) is False


async def test_p2_passwords_whose_nfkc_form_differs_sign_in_only_on_python(
    lucia_js: LuciaJSApp, auth: Lucia, name: str
) -> None:
    """Lucia-JS normalises (NFKC) when hashing but not when verifying: such passwords fail on Node (L1)."""
    password = "ｆｕｌｌｗｉｄｔｈ ﬁ Ⅸ"  # NFKC: "fullwidth fi IX"
    await node_user(lucia_js, name, password=password)
    with pytest.raises(LuciaJSError, match="AUTH_INVALID_PASSWORD"):
        lucia_js.call("useKey", providerId="username", providerUserId=name, password=password)
    await auth.use_key("username", name, password)  # Python normalises on both sides (P2)
    await auth.use_key("username", name, "fullwidth fi IX")
    # The NFKC form itself signs in on Node too.
    lucia_js.call("useKey", providerId="username", providerUserId=name, password="fullwidth fi IX")


async def test_argon2id_hashes_do_not_sign_in_on_node(lucia_js: LuciaJSApp, auth: Lucia, name: str) -> None:
    """Why phase 1 needs ScryptHasher: a password hashed with the default Argon2id fails on Node."""
    default = Lucia(adapter=auth.users, hash_session_ids=False, password_hasher=Argon2idHasher())
    await default.create_user(
        primary_key={"provider_id": "username", "provider_user_id": name, "password": "correct horse"},
        attributes={"username": name},
    )
    with pytest.raises(LuciaJSError, match="AUTH_INVALID_PASSWORD"):
        lucia_js.call("useKey", providerId="username", providerUserId=name, password="correct horse")


async def test_user_deleted_on_python_is_gone_on_node(lucia_js: LuciaJSApp, auth: Lucia, name: str) -> None:
    """delete_user of a Node user removes its keys and sessions for Node too."""
    user_id = await node_user(lucia_js, name)
    session = lucia_js.call("createSession", userId=user_id)
    await auth.delete_user(user_id)
    for op, args in (
        ("getUser", {"userId": user_id}),
        ("useKey", {"providerId": "username", "providerUserId": name, "password": "correct horse"}),
        ("validateSession", {"sessionId": session["sessionId"]}),
    ):
        with pytest.raises(LuciaJSError):
            lucia_js.call(op, **args)


async def test_d1_a_sign_up_with_a_taken_key_leaves_a_user_behind_on_node_only(
    lucia_js: LuciaJSApp, auth: Lucia, name: str, database_url: str
) -> None:
    """Python's create_user is atomic; @lucia-auth/adapter-postgresql 1.0.1 keeps the user of a failed sign-up."""
    await node_user(lucia_js, name)

    def users() -> int:
        return int(sql(database_url, "SELECT count(*) FROM auth_user WHERE username = %s", (name,))[0][0])

    with pytest.raises(LuciaError, match="AUTH_DUPLICATE_KEY_ID"):
        await auth.create_user(
            primary_key={"provider_id": "username", "provider_user_id": name, "password": "x"},
            attributes={"username": name},
        )
    assert users() == 1
    with pytest.raises(LuciaJSError, match="AUTH_DUPLICATE_KEY_ID"):
        lucia_js.call(
            "createUser", providerId="username", providerUserId=name, password="x", attributes={"username": name}
        )
    assert users() == 2


# -- sessions ------------------------------------------------------------------------------


async def test_session_created_on_node_validates_on_python(
    lucia_js: LuciaJSApp, auth: Lucia, name: str, database_url: str
) -> None:
    """A Lucia-JS session id (40 of [A-Za-z0-9]) is a valid token for Python; expiries agree in ms."""
    user_id = await node_user(lucia_js, name)
    js = lucia_js.call("createSession", userId=user_id)
    assert LUCIA_JS_SESSION_ID.fullmatch(js["sessionId"])
    assert js["idlePeriodExpiresAt"] - js["activePeriodExpiresAt"] == 14 * DAY_MS

    session = await auth.validate_session(js["sessionId"])
    js_session_matches(js, session)
    assert (session.token, session.state, session.fresh) == (js["sessionId"], "active", False)
    assert stored_session(database_url, js["sessionId"]) == (js["activePeriodExpiresAt"], js["idlePeriodExpiresAt"])
    session, user = await auth.validate_session_user(js["sessionId"])
    assert (user.user_id, user.attributes["username"]) == (user_id, name)


async def test_session_created_on_python_validates_on_node(
    lucia_js: LuciaJSApp, auth: Lucia, name: str, database_url: str
) -> None:
    """A Python session (token stored as the id) validates on Node with the same expiries in ms."""
    user_id = await node_user(lucia_js, name)
    session = await auth.create_session(user_id)
    assert session.token == session.session_id and len(session.session_id) == 40
    assert stored_session(database_url, session.session_id) == (
        ms(session.active_period_expires_at),
        ms(session.idle_period_expires_at),
    )

    js = lucia_js.call("validateSession", sessionId=session.token)
    js_session_matches(js, session)
    assert (js["state"], js["fresh"]) == ("active", False)
    js_user = lucia_js.call("validateSessionUser", sessionId=session.token)
    assert js_user["user"] == {"userId": user_id, "username": name}


async def test_both_sides_list_the_same_sessions(lucia_js: LuciaJSApp, auth: Lucia, name: str) -> None:
    """get_all_user_sessions and getAllUserSessions see the sessions of both sides alike."""
    user_id = await node_user(lucia_js, name)
    node_made = lucia_js.call("createSession", userId=user_id)
    python_made = await auth.create_session(user_id)
    python_view = {
        (s.session_id, ms(s.active_period_expires_at), ms(s.idle_period_expires_at))
        for s in await auth.get_all_user_sessions(user_id)
    }
    node_view = {
        (s["sessionId"], s["activePeriodExpiresAt"], s["idlePeriodExpiresAt"])
        for s in lucia_js.call("getAllUserSessions", userId=user_id)
    }
    assert python_view == node_view
    assert {node_made["sessionId"], python_made.session_id} == {s[0] for s in python_view}


async def test_idle_node_session_renews_on_python_and_the_renewal_works_on_node(
    lucia_js: LuciaJSApp, auth: Lucia, name: str, database_url: str
) -> None:
    """Python renews an idle Node session (new token, old row gone at once); Node validates the new one."""
    user_id = await node_user(lucia_js, name)
    old = lucia_js.call("createSession", userId=user_id)["sessionId"]
    make_idle(database_url, old)

    renewed = await auth.validate_session(old)
    assert renewed.fresh and renewed.token != old and renewed.user_id == user_id
    assert LUCIA_JS_SESSION_ID.fullmatch(renewed.token or "")
    js = lucia_js.call("validateSession", sessionId=renewed.token)
    js_session_matches(js, renewed)
    assert js["state"] == "active"
    # A Lucia-JS 4-column table cannot record a renewal grace: the replaced row is deleted.
    assert stored_session(database_url, old) is None
    with pytest.raises(LuciaJSError, match="AUTH_INVALID_SESSION_ID"):
        lucia_js.call("getSession", sessionId=old)


async def test_idle_python_session_renews_on_node_and_the_renewal_works_on_python(
    lucia_js: LuciaJSApp, auth: Lucia, name: str, database_url: str
) -> None:
    """Node renews an idle Python session; Python validates the renewal; Node leaves the old row (L1)."""
    user_id = await node_user(lucia_js, name)
    old = await auth.create_session(user_id)
    make_idle(database_url, old.session_id)

    js = lucia_js.call("validateSession", sessionId=old.token)
    assert js["fresh"] is True and js["sessionId"] != old.token
    renewed = await auth.validate_session(js["sessionId"])
    js_session_matches(js, renewed)
    assert renewed.state == "active" and not renewed.fresh
    # Lucia-JS 1.x does not delete the session it replaced (SECURITY S3 names this L1 defect).
    assert (await auth.get_session(old.token or "")).state == "idle"


async def test_explicit_renewal_on_either_side_validates_on_the_other(
    lucia_js: LuciaJSApp, auth: Lucia, name: str
) -> None:
    """renew_session of a Node session and renewSession of a Python session give sessions the other side takes."""
    user_id = await node_user(lucia_js, name)
    node_made = lucia_js.call("createSession", userId=user_id)
    renewed_by_python = await auth.renew_session(node_made["sessionId"])
    js_session_matches(lucia_js.call("validateSession", sessionId=renewed_by_python.token), renewed_by_python)

    python_made = await auth.create_session(user_id)
    renewed_by_node = lucia_js.call("renewSession", sessionId=python_made.token)
    js_session_matches(renewed_by_node, await auth.validate_session(renewed_by_node["sessionId"]))


async def test_sessions_deleted_on_either_side_stop_on_the_other(lucia_js: LuciaJSApp, auth: Lucia, name: str) -> None:
    """Sign-out (one session, every session) on one side signs out on the other."""
    user_id = await node_user(lucia_js, name)
    node_made = lucia_js.call("createSession", userId=user_id)["sessionId"]
    await auth.invalidate_session(node_made)
    with pytest.raises(LuciaJSError, match="AUTH_INVALID_SESSION_ID"):
        lucia_js.call("validateSession", sessionId=node_made)

    python_made = await auth.create_session(user_id)
    lucia_js.call("invalidateSession", sessionId=python_made.session_id)
    with pytest.raises(LuciaError, match="AUTH_INVALID_SESSION_ID"):
        await auth.validate_session(python_made.token or "")

    tokens = [lucia_js.call("createSession", userId=user_id)["sessionId"], (await auth.create_session(user_id)).token]
    await auth.invalidate_all_user_sessions(user_id)
    for token in tokens:
        with pytest.raises(LuciaJSError, match="AUTH_INVALID_SESSION_ID"):
            lucia_js.call("getSession", sessionId=token)

    tokens = [lucia_js.call("createSession", userId=user_id)["sessionId"], (await auth.create_session(user_id)).token]
    lucia_js.call("invalidateAllUserSessions", userId=user_id)
    for token in tokens:
        with pytest.raises(LuciaError, match="AUTH_INVALID_SESSION_ID"):
            await auth.get_session(token or "")


async def test_dead_sessions_are_refused_on_both_sides(
    lucia_js: LuciaJSApp, auth: Lucia, name: str, database_url: str
) -> None:
    """A session past its idle expiry authenticates on neither side."""
    user_id = await node_user(lucia_js, name)
    node_made = lucia_js.call("createSession", userId=user_id)["sessionId"]
    python_made = (await auth.create_session(user_id)).token or ""
    for token in (node_made, python_made):
        make_dead(database_url, token)
    with pytest.raises(LuciaJSError, match="AUTH_INVALID_SESSION_ID"):
        lucia_js.call("validateSession", sessionId=python_made)
    with pytest.raises(LuciaError, match="AUTH_INVALID_SESSION_ID"):
        await auth.validate_session(node_made)


async def test_cookies_of_each_side_are_read_by_the_other(lucia_js: LuciaJSApp, auth: Lucia, name: str) -> None:
    """Both sides use the cookie ``auth_session``; each reads the other's cookie value as the token."""
    user_id = await node_user(lucia_js, name)
    js = lucia_js.call("createSession", userId=user_id)
    node_cookie = lucia_js.call(
        "createSessionCookie", sessionId=js["sessionId"], idlePeriodExpiresAt=js["idlePeriodExpiresAt"]
    )
    pair = node_cookie.split(";", 1)[0]
    assert pair == f"auth_session={js['sessionId']}"
    assert auth.read_session_cookie(pair) == js["sessionId"]

    python_cookie = auth.create_session_cookie(await auth.create_session(user_id))
    assert python_cookie.name == "auth_session"
    headers = {"cookie": f"{python_cookie.name}={python_cookie.value}", "origin": "http://localhost:3000"}
    token = lucia_js.call("parseRequestHeaders", method="POST", url="http://localhost:3000/", headers=headers)
    assert token == python_cookie.value
    assert lucia_js.call("validateSession", sessionId=token)["userId"] == user_id
