"""SyncLucia: the async core called from plain threads."""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lucia import Cookie, Lucia, LuciaError, LuciaRequest, SessionExpiresIn, SyncLucia
from lucia.adapters.memory import MemoryAdapter
from lucia.testing import FakeClock, fast_password_hasher
from lucia_sqlite import SQLiteAdapter

PASSWORD = "correct horse battery staple"


@pytest.fixture
def adapter(tmp_path: Path) -> SQLiteAdapter:
    return SQLiteAdapter(str(tmp_path / "sync.db"))


@pytest.fixture
def sync(adapter: SQLiteAdapter, clock: FakeClock) -> Iterator[SyncLucia]:
    auth = Lucia(
        adapter=adapter,
        clock=clock,
        password_hasher=fast_password_hasher(),
        session_expires_in=SessionExpiresIn(),
    )
    with SyncLucia(auth) as sync:
        sync.call(adapter.create_schema)
        yield sync
        if "closed" not in repr(sync):
            sync.call(adapter.close)


def _loop_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "lucia-sync-loop"]


def test_every_public_method_of_lucia_is_on_sync_lucia() -> None:
    """SyncLucia offers every public method of Lucia, synchronously, with the same parameters."""
    for name, member in inspect.getmembers(Lucia, inspect.isfunction):
        if name.startswith("_"):
            continue
        mirror = getattr(SyncLucia, name)
        assert not inspect.iscoroutinefunction(mirror), name
        assert list(inspect.signature(mirror).parameters) == list(inspect.signature(member).parameters), name


def test_users_keys_and_sessions_synchronously(sync: SyncLucia) -> None:
    """A full user, key and session life cycle works without await."""
    user = sync.create_user(
        primary_key={"provider_id": "email", "provider_user_id": "ada@example.com", "password": PASSWORD},
        attributes={},
    )
    assert sync.get_user(user.user_id) == user
    assert sync.use_key("email", "ada@example.com", PASSWORD).user_id == user.user_id
    sync.create_key(user.user_id, provider_id="github", provider_user_id="42", password=None)
    assert {k.provider_id for k in sync.get_all_user_keys(user.user_id)} == {"email", "github"}
    session = sync.create_session(user.user_id)
    assert session.token is not None
    assert sync.validate_session(session.token).session_id == session.session_id
    assert sync.validate_session_user(session.token)[1].user_id == user.user_id
    assert [s.session_id for s in sync.get_all_user_sessions(user.user_id)] == [session.session_id]
    sync.invalidate_session(session.session_id)
    with pytest.raises(LuciaError) as raised:
        sync.validate_session(session.token)
    assert raised.value.code == "AUTH_INVALID_SESSION_ID"
    sync.delete_user(user.user_id)
    with pytest.raises(LuciaError):
        sync.get_user(user.user_id)


def test_errors_keep_their_code(sync: SyncLucia) -> None:
    """A LuciaError raised on the loop thread reaches the caller with its code."""
    with pytest.raises(LuciaError) as raised:
        sync.use_key("email", "nobody@example.com", PASSWORD)
    assert raised.value.code == "AUTH_INVALID_KEY_ID"


def test_sync_auth_request_renews_and_sets_the_cookie(sync: SyncLucia, clock: FakeClock) -> None:
    """handle_request gives a synchronous AuthRequest that renews an idle session and sets its cookie."""
    user = sync.create_user(primary_key=None, attributes={})
    session = sync.create_session(user.user_id)
    clock.advance(SessionExpiresIn().active_period.total_seconds() + 60)
    cookies: list[Cookie] = []
    request = LuciaRequest("GET", "http://testserver/", [("Cookie", f"auth_session={session.token}")])
    auth_request = sync.handle_request(request, set_cookie=cookies.append)
    renewed, renewed_user = auth_request.validate_user()
    assert renewed is not None and renewed_user is not None and renewed.fresh
    assert auth_request.validate() == renewed
    assert [c.value for c in cookies] == [renewed.token]
    auth_request.set_session(None)
    assert cookies[-1].value == "" and cookies[-1].attributes.max_age == 0


def test_sixteen_threads_at_once_without_deadlock_or_cross_talk(sync: SyncLucia) -> None:
    """16 threads sharing one SyncLucia each see only their own user; its loop thread stops afterwards."""
    barrier = threading.Barrier(16)
    results: dict[int, list[bool]] = {}
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            barrier.wait()
            user = sync.create_user(primary_key=None, attributes={})
            token = sync.create_session(user.user_id).token
            assert token is not None
            seen = []
            for _ in range(20):
                session, found = sync.validate_session_user(token)
                seen.append(found.user_id == user.user_id and session.user_id == user.user_id)
            results[n] = seen
        except BaseException as error:  # collected and re-raised by the main thread
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads), "deadlock: a worker thread never finished"
    assert errors == []
    assert len(results) == 16 and all(all(seen) for seen in results.values())
    mine = sync._thread
    sync.close()
    assert mine is None or not mine.is_alive()


class NoTwin(MemoryAdapter):
    """A third-party adapter without a blocking twin: SyncLucia falls back to its loop thread."""

    def blocking_twin(self) -> None:  # type: ignore[override]
        return None


def test_native_path_runs_in_the_calling_thread_without_a_loop() -> None:
    """With blocking twins for every store, calls run in the caller's thread: no loop thread starts."""
    before = len(_loop_threads())
    with SyncLucia(Lucia(adapter=MemoryAdapter(), password_hasher=fast_password_hasher())) as sync:
        assert sync.native
        user = sync.create_user(
            primary_key={"provider_id": "e", "provider_user_id": "a", "password": "pw"}, attributes={}
        )
        session = sync.create_session(user.user_id)
        assert sync.validate_session_user(session.token or "")[1].user_id == user.user_id
        assert sync.use_key("e", "a", "pw").user_id == user.user_id
        assert len(_loop_threads()) == before
    with pytest.raises(RuntimeError):
        sync.get_user(user.user_id)


def test_lazy_start_and_close() -> None:
    """The loop thread starts on the first call and is gone after close(); later calls are refused."""
    before = len(_loop_threads())
    sync = SyncLucia(Lucia(adapter=NoTwin()))
    assert not sync.native
    assert len(_loop_threads()) == before
    assert sync.read_session_cookie("auth_session=x") is None  # no I/O: no thread needed
    assert len(_loop_threads()) == before
    with pytest.raises(LuciaError):
        sync.get_user("nobody")
    assert len(_loop_threads()) == before + 1
    sync.close()
    sync.close()
    assert len(_loop_threads()) == before
    with pytest.raises(RuntimeError):
        sync.get_user("nobody")


def test_no_thread_left_at_interpreter_exit(tmp_path: Path) -> None:
    """A program that never calls close() still exits cleanly: the loop thread is stopped at exit."""
    script = textwrap.dedent(
        f"""
        import atexit, threading
        # Registered first, so it runs after SyncLucia's own exit handler.
        atexit.register(lambda: print(sorted(t.name for t in threading.enumerate()), flush=True))
        from lucia import Lucia, SyncLucia
        from lucia_sqlite import SQLiteAdapter

        adapter = SQLiteAdapter({str(tmp_path / "exit.db")!r})
        sync = SyncLucia(Lucia(adapter=adapter))
        sync.call(adapter.create_schema)
        print(sync.create_user(primary_key=None, attributes={{}}).user_id != "")
        print(sorted(t.name for t in threading.enumerate()), flush=True)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    created, running, at_exit = done.stdout.splitlines()
    assert created == "True"
    assert "lucia-sync-loop" in running
    assert "lucia-sync-loop" not in at_exit


def test_a_worker_forked_after_start_up_works_instead_of_hanging(tmp_path: Path) -> None:
    """``gunicorn --preload``: SyncLucia used before ``fork()`` keeps working in the child (issue #19.1)."""
    script = textwrap.dedent(
        f"""
        import os, sys
        from lucia import Lucia, SyncLucia
        from lucia_sqlite import SQLiteAdapter

        adapter = SQLiteAdapter({str(tmp_path / "fork.db")!r})
        sync = SyncLucia(Lucia(adapter=adapter))
        sync.call(adapter.create_schema)                     # the loop thread starts before the fork
        user = sync.create_user(primary_key=None, attributes={{}})
        pid = os.fork()
        if pid == 0:                                         # the worker
            session = sync.create_session(user.user_id)
            assert sync.validate_session(session.token).user_id == user.user_id
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        session = sync.create_session(user.user_id)          # the parent still works too
        assert sync.validate_session(session.token).user_id == user.user_id
        sys.exit(os.waitstatus_to_exitcode(status))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def test_a_call_from_the_loop_thread_is_refused_instead_of_deadlocking() -> None:
    """On the fallback path, calling SyncLucia from code running on its own loop raises instead of hanging."""
    with SyncLucia(Lucia(adapter=NoTwin())) as sync:

        async def nested() -> None:
            sync.get_user("nobody")

        with pytest.raises(RuntimeError, match="own event loop"):
            sync.call(nested)


def test_key_and_session_management_methods(sync: SyncLucia, clock: FakeClock) -> None:
    """Key updates, session reads without renewal, renewal and bulk invalidation work synchronously."""
    user = sync.create_user(
        primary_key={"provider_id": "email", "provider_user_id": "bob@example.com", "password": PASSWORD},
        attributes={},
    )
    assert sync.update_user_attributes(user.user_id, {}).user_id == user.user_id
    sync.update_key_password("email", "bob@example.com", "another password")
    assert sync.use_key("email", "bob@example.com", "another password").user_id == user.user_id
    sync.create_key(user.user_id, provider_id="github", provider_user_id="7", password=None)
    assert sync.get_key("github", "7").user_id == user.user_id
    sync.delete_key("github", "7")
    with pytest.raises(LuciaError):
        sync.get_key("github", "7")
    first, second = sync.create_session(user.user_id), sync.create_session(user.user_id)
    assert first.token is not None and second.token is not None
    clock.advance(SessionExpiresIn().active_period.total_seconds() + 60)
    assert sync.get_session(first.token).state == "idle"
    assert sync.get_session_user(first.token)[1].user_id == user.user_id
    renewed = sync.renew_session(first.token)
    assert renewed.fresh and renewed.token != first.token
    sync.invalidate_all_user_sessions(user.user_id, except_session_id=renewed.session_id)
    assert [s.session_id for s in sync.get_all_user_sessions(user.user_id)] == [renewed.session_id]
    clock.advance(SessionExpiresIn().idle_period.total_seconds() * 2)
    sync.delete_dead_user_sessions(user.user_id)
    assert sync.get_all_user_sessions(user.user_id) == []


def test_request_helpers_run_without_the_loop(sync: SyncLucia) -> None:
    """Cookie, bearer and header helpers are plain calls; a refused origin shows on csrf_error."""
    assert sync.read_bearer_token("Bearer nope") is None
    request = LuciaRequest("POST", "http://testserver/", [("Origin", "https://evil.example")])
    with pytest.raises(LuciaError) as raised:
        sync.parse_request_headers(request)
    assert raised.value.code == "AUTH_INVALID_REQUEST"
    auth_request = sync.handle_request(request, set_cookie=lambda cookie: None)
    assert auth_request.credentials.csrf_trusted is False
    assert auth_request.validate_user() == (None, None)
    assert auth_request.csrf_error is not None and auth_request.csrf_error.code == "AUTH_INVALID_REQUEST"
    assert sync.create_session_cookie(None).value == ""
