"""The storage-fault suite (issue #17 "Faults", SECURITY D1-D3): cut, refused and stalled servers, cancellation.

A store's test class puts a fault injector between the adapter and its real server
(``lucia_testkit.FaultProxy`` in this repository) and supplies, besides ``raw_dump``:

- ``faults``: the :class:`FaultInjector`;
- ``adapter``: the adapter, connected through the injector with short timeouts, on
  empty tables with the conformance columns;
- ``storage_time_limit``: the adapter's promise, in seconds: the longest any call may
  take against a stalled server;
- ``adapter_recipe``: how a new process builds the same adapter, through the injector
  and with a pool of one connection: ``("module:callable", kwargs)``.

::

    class TestMyAdapterFaults(FaultTests):
        @pytest.fixture
        def faults(self):
            with FaultProxy(("127.0.0.1", 5432)) as proxy:
                yield proxy

        @pytest.fixture
        async def adapter(self, faults):
            ...  # MyAdapter(f"...127.0.0.1:{faults.port}...", pool_timeout=1, statement_timeout=1)

        @pytest.fixture
        def storage_time_limit(self) -> float:
            return 3.0

Capabilities: ``kill_connection`` (the store can be put behind an injector) and
``fork`` (its connections survive ``os.fork()``: the child opens its own). A store
that lacks one does not declare it, and those tests are skipped with that reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import secrets
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, ClassVar, Protocol

import anyio
import pytest

from lucia._core import Lucia
from lucia._errors import (
    InvalidSessionError,
    InvalidUserError,
    LuciaError,
    StorageError,
    StorageTimeoutError,
    StorageUnavailableError,
)
from lucia.adapters.sql import SQLAdapter
from lucia.testing._clock import FakeClock
from lucia.testing._harness import Harness, fast_password_hasher, needs, new_id, required_fixture

__all__ = ["FaultInjector", "FaultTests"]

#: How long connections are refused in the refusal test (seconds).
REFUSE_SECONDS = 2.0
#: How long a recovered store may take to answer again once the fault is gone (seconds).
RECOVERY_SECONDS = 15.0
#: An application's own timeout in the tests that cancel calls (seconds).
APP_TIMEOUT = 0.3
#: How much later than the application's timeout its call must have returned (seconds).
APP_SLACK = 1.5
#: Requests a write path may need before the cancellation sweep has stopped it everywhere.
MAX_REQUESTS = 12

#: A process that opens the adapter's pool, forks, and uses the adapter on both sides.
_FORK_SCRIPT = """
import asyncio, importlib, json, os, sys, traceback
from lucia import Lucia
from lucia.testing import fast_password_hasher

target, kwargs = json.loads(sys.argv[1])
module, _, name = target.partition(":")
adapter = getattr(importlib.import_module(module), name)(**kwargs)
auth = Lucia(adapter=adapter, password_hasher=fast_password_hasher(), throttle=None)
loop = asyncio.new_event_loop()

async def sign_in():
    user = await auth.create_user(primary_key=None, attributes={"username": "fork"})
    return user.user_id, (await auth.create_session(user.user_id)).token

async def validate():
    return (await auth.validate_session(token)).user_id

user_id, token = loop.run_until_complete(sign_in())
parent_pool = getattr(adapter, "pool", None)  # the adapter's own pool, where it shows it
child = os.fork()
if child == 0:  # like a gunicorn --preload worker: a new event loop, the same adapter
    async def in_child():
        assert await validate() == user_id
        fresh = parent_pool is None or adapter.pool not in (parent_pool, None)
        await adapter.close()
        return fresh
    try:
        sys.exit(0 if asyncio.run(in_child()) else 3)
    except Exception:
        traceback.print_exc()
        sys.exit(2)
_, status = os.waitpid(child, 0)
try:  # the parent goes on with its own pool and loop: its connections must still work
    parent = loop.run_until_complete(asyncio.wait_for(validate(), 10)) == user_id
finally:
    loop.run_until_complete(adapter.close())
    loop.close()
print(json.dumps({"child": os.waitstatus_to_exitcode(status), "parent": parent}))
"""


class FaultInjector(Protocol):
    """What the ``faults`` fixture offers: faults between an adapter and its server, on demand.

    Each method returns once the fault is in place.
    """

    def cut(self) -> None:
        """Drop every open connection at once (a reset), as a network failure or crash would."""

    def refuse(self, seconds: float) -> None:
        """Refuse new connections for ``seconds``; open ones are left alone."""

    def stall(self, *, after_requests: int = 0) -> None:
        """Stop forwarding bytes (connections stay open), after ``after_requests`` more client requests."""

    def resume(self) -> None:
        """Forward the held bytes and go back to normal; also ends a refusal early."""

    @property
    def held_requests(self) -> int:
        """How many client requests the current stall holds."""

    @property
    def accepted(self) -> int:
        """How many connections have been opened through the injector so far."""


class FaultTests(Harness):
    """Storage faults through an injector: no acknowledged write lost, errors typed and bounded, recovery.

    Subclasses supply ``adapter``, ``faults``, ``storage_time_limit``, ``adapter_recipe``
    and ``raw_dump`` (see :mod:`lucia.testing._fault_suite`).
    """

    capabilities: ClassVar[frozenset[str]] = frozenset({"kill_connection", "fork"})

    faults = required_fixture("faults", "The FaultInjector in front of the adapter's server.")
    storage_time_limit = required_fixture(
        "storage_time_limit", "The longest any call may take against a stalled server, in seconds."
    )
    adapter_recipe = required_fixture(
        "adapter_recipe",
        'How a new process builds the adapter: ``("module:callable", kwargs)``, through ``faults``, one connection.',
    )

    # -- helpers ---------------------------------------------------------------------

    def _lucia(self, adapter: Any, clock: FakeClock, **options: Any) -> Lucia:
        return Lucia(adapter=adapter, clock=clock, password_hasher=fast_password_hasher(), throttle=None, **options)

    async def _recover(self, auth: Lucia) -> None:
        """Wait until the store answers again (the fault is gone); fail if it does not within the bound."""
        deadline = time.monotonic() + RECOVERY_SECONDS
        while True:
            try:
                await auth.get_all_user_sessions(new_id("probe"))
            except StorageError:
                if time.monotonic() > deadline:
                    raise
                await anyio.sleep(0.05)
            except InvalidUserError:  # the store answered
                return
            else:
                return

    async def _signed_in(self, auth: Lucia) -> tuple[str, str]:
        user = await auth.create_user(primary_key=None, attributes={"username": "fault"})
        session = await auth.create_session(user.user_id)
        return user.user_id, session.token or ""

    @contextlib.asynccontextmanager
    async def _signed_in_during(
        self, auth: Lucia, faults: FaultInjector, fault: str = "stall"
    ) -> AsyncIterator[tuple[str, str]]:
        """Sign a user in, then yield ``(user_id, token)`` while ``fault`` lasts.

        ``fault`` is ``"stall"`` (the server stops answering) or ``"cut"`` (connections
        cut and new ones refused). Afterwards the injector resumes and the store
        recovers; on a clean exit the session must still authenticate (no sign-out).
        """
        user_id, token = await self._signed_in(auth)
        if fault == "cut":
            faults.refuse(REFUSE_SECONDS)
            faults.cut()
        else:
            faults.stall()
        try:
            yield user_id, token
        finally:
            faults.resume()
        await self._recover(auth)
        assert (await auth.validate_session(token)).user_id == user_id

    async def _sign_up(self, auth: Lucia, email: str) -> str:
        key = {"provider_id": "email", "provider_user_id": email, "password": "correct horse"}
        return (await auth.create_user(primary_key=key, attributes={"username": email})).user_id

    # -- cuts under load ---------------------------------------------------------------

    @needs("kill_connection")
    async def test_d1_cut_connections_under_load_lose_no_acknowledged_write(
        self, adapter: Any, faults: FaultInjector, clock: FakeClock
    ) -> None:
        """16 tasks of mixed traffic, every connection cut three times: nothing acknowledged is lost, no orphan."""
        generated: list[str] = []

        def generate_user_id() -> str:
            generated.append(new_id("u"))
            return generated[-1]

        auth = self._lucia(adapter, clock, generate_user_id=generate_user_id)
        await self._recover(auth)
        users: dict[str, str] = {}  # acknowledged sign-ups: user id -> email
        sessions: dict[str, str] = {}  # acknowledged sign-ins: token -> user id
        revoked: set[str] = set()  # acknowledged sign-outs
        unsure: set[str] = set()  # sign-outs that failed: revoked or not
        unexpected: list[BaseException] = []
        stop = anyio.Event()

        async def worker(number: int) -> None:
            rng = random.Random(number)  # a workload, not a secret
            my_users: list[str] = []
            my_tokens: list[str] = []
            while not stop.is_set():
                live = [t for t in my_tokens if t not in revoked and t not in unsure]
                try:
                    choice = rng.random()
                    if choice < 0.25 or not my_users:
                        email = f"w{number}-{secrets.token_hex(4)}@example.com"
                        user_id = await self._sign_up(auth, email)
                        users[user_id] = email
                        my_users.append(user_id)
                    elif choice < 0.45 or not live:
                        user_id = rng.choice(my_users)
                        key = await auth.use_key("email", users[user_id], "correct horse")
                        assert key.user_id == user_id
                        token = (await auth.create_session(user_id)).token or ""
                        sessions[token] = user_id
                        my_tokens.append(token)
                    elif choice < 0.9:
                        token = rng.choice(live)
                        _, user = await auth.validate_session_user(token)
                        assert user.user_id == sessions[token], "a session authenticated someone else"
                    else:
                        token = rng.choice(live)
                        unsure.add(token)
                        await auth.invalidate_session((await auth.get_session(token)).session_id)
                        unsure.discard(token)
                        revoked.add(token)
                except StorageError:
                    await anyio.sleep(0.01)
                except BaseException as exc:  # anything else is a defect
                    unexpected.append(exc)
                    if not isinstance(exc, Exception):
                        raise

        async with anyio.create_task_group() as group:
            for number in range(16):
                group.start_soon(worker, number)
            for _ in range(3):
                await anyio.sleep(0.4)
                faults.cut()
            await anyio.sleep(0.4)
            stop.set()
        assert unexpected == [], unexpected[:3]
        await self._recover(auth)
        assert users and sessions, "the workload acknowledged nothing"
        for user_id, email in users.items():
            key = await adapter.get_key(f"email:{email}")
            assert key is not None and key.user_id == user_id and key.primary_key, email
        for user_id in generated:  # D1: a user exists only with its primary key
            if await adapter.get_user(user_id) is not None:
                assert [k for k in await adapter.get_keys_by_user_id(user_id) if k.primary_key], user_id
        for token, user_id in sessions.items():
            if token in revoked:
                with pytest.raises(InvalidSessionError):
                    await auth.validate_session(token)
            elif token not in unsure:
                assert (await auth.validate_session_user(token))[1].user_id == user_id

    # -- refused and stalled servers -----------------------------------------------------

    @needs("kill_connection")
    async def test_refused_connections_raise_storage_unavailable_at_once_then_recover(
        self, adapter: Any, faults: FaultInjector, clock: FakeClock, storage_time_limit: float
    ) -> None:
        """Connections cut and refused: each call fails fast with ``StorageUnavailableError``; then calls work."""
        auth = self._lucia(adapter, clock)
        _, token = await self._signed_in(auth)
        faults.refuse(REFUSE_SECONDS)
        faults.cut()
        errors: list[StorageError] = []
        until = time.monotonic() + REFUSE_SECONDS * 0.75
        while time.monotonic() < until:
            with anyio.fail_after(storage_time_limit + 1):
                with pytest.raises(StorageError) as info:
                    await auth.validate_session_user(token)
            errors.append(info.value)
        assert errors and all(isinstance(e, StorageUnavailableError) for e in errors), errors[:3]
        assert all(e.code == "AUTH_STORAGE_UNAVAILABLE" and e.__cause__ is not None for e in errors)
        await self._recover(auth)
        assert (await auth.validate_session(token)).session_id

    @needs("kill_connection")
    async def test_stalled_server_raises_storage_timeout_within_the_bound(
        self, adapter: Any, faults: FaultInjector, clock: FakeClock, storage_time_limit: float
    ) -> None:
        """A server that stops answering: reads and writes fail with ``StorageTimeoutError`` in bounded time."""
        auth = self._lucia(adapter, clock)
        async with self._signed_in_during(auth, faults) as (user_id, token):
            calls: Sequence[Callable[[], Awaitable[object]]] = (
                lambda: auth.validate_session_user(token),
                lambda: self._sign_up(auth, f"{secrets.token_hex(4)}@example.com"),
                lambda: auth.create_session(user_id),
            )
            for call in calls:
                with anyio.fail_after(storage_time_limit + 1):
                    with pytest.raises(StorageTimeoutError) as info:
                        await call()
                assert info.value.code == "AUTH_STORAGE_TIMEOUT" and info.value.__cause__ is not None

    @needs("kill_connection")
    async def test_an_applications_own_timeout_is_not_delayed_by_a_stalled_server(
        self, adapter: Any, faults: FaultInjector, clock: FakeClock
    ) -> None:
        """``asyncio.wait_for`` and a cancel scope around a call on a stalled server return on time."""
        auth = self._lucia(adapter, clock)
        async with self._signed_in_during(auth, faults) as (user_id, token):
            with anyio.fail_after(APP_TIMEOUT + APP_SLACK):
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(auth.validate_session_user(token), APP_TIMEOUT)
            with anyio.fail_after(APP_TIMEOUT + APP_SLACK):
                with anyio.move_on_after(APP_TIMEOUT) as scope:
                    await auth.create_session(user_id)
            assert scope.cancelled_caught

    @needs("kill_connection")
    @pytest.mark.parametrize("fault", ["cut", "stall"])
    async def test_d2_a_storage_error_during_validation_never_authenticates(
        self, adapter: Any, faults: FaultInjector, clock: FakeClock, storage_time_limit: float, fault: str
    ) -> None:
        """While the server is unreachable, validation raises a ``StorageError``: no session, and no sign-out."""
        auth = self._lucia(adapter, clock)
        async with self._signed_in_during(auth, faults, fault) as (_, token):
            for validate in (auth.validate_session_user, auth.validate_session, auth.get_session):
                with anyio.fail_after(storage_time_limit + 1):
                    with pytest.raises(StorageError):  # not InvalidSessionError: a 503, not a 401
                        await validate(token)

    @needs("kill_connection")
    async def test_d3_bad_input_is_refused_without_touching_the_store(
        self, adapter: Any, faults: FaultInjector, clock: FakeClock
    ) -> None:
        """With the server stalled, bad input still fails at once with its own error: no query was made."""
        auth = self._lucia(adapter, clock)
        await self._signed_in(auth)  # start-up reads are done
        too_long = "x" * 256
        calls: list[Callable[[], Awaitable[object]]] = [
            lambda: auth.get_user(""),
            lambda: auth.get_user(too_long),
            lambda: auth.get_user("nul\x00id"),
            lambda: auth.create_user(primary_key=None, attributes={"bad name; --": 1}),
            lambda: auth.create_user(
                primary_key={"provider_id": "e:mail", "provider_user_id": "a", "password": None}, attributes={}
            ),
            lambda: auth.use_key("email", "a@example.com", "p" * 5000),
            lambda: auth.create_session(too_long),
            lambda: auth.validate_session("not a token"),
            lambda: auth.validate_session_user("x" * 10_000),
            lambda: auth.invalidate_all_user_sessions(""),
        ]
        faults.stall()
        try:
            for call in calls:
                with anyio.fail_after(1), pytest.raises(LuciaError) as info:
                    await call()
                assert info.value.code in {"AUTH_INVALID_INPUT", "AUTH_INVALID_SESSION_ID"}, info.value
        finally:
            faults.resume()

    # -- cancellation at every step of each write ------------------------------------------

    @needs("kill_connection")
    @pytest.mark.parametrize("cancel", ["cancel_scope", "wait_for"])
    @pytest.mark.parametrize("write", ["sign_up", "capped_sign_in", "delete_user", "renewal"])
    async def test_cancellation_at_every_step_of_a_write_leaves_nothing_half_written(
        self,
        adapter: Any,
        faults: FaultInjector,
        clock: FakeClock,
        raw_dump: Callable[[], Awaitable[str]],
        write: str,
        cancel: str,
    ) -> None:
        """A write cancelled after each of its requests in turn: all or nothing of it is stored, the next works."""
        auth = self._lucia(adapter, clock, max_sessions_per_user=2)
        await self._recover(auth)
        stopped = 0
        for after in range(MAX_REQUESTS):
            start, check = await self._write_path(auth, adapter, clock, write)
            faults.stall(after_requests=after)
            try:
                finished = await self._cancelled(start, cancel, faults)
            finally:
                faults.resume()
            await self._recover(auth)
            await check()
            # The next write is committed: a separate connection sees it.
            user_id = await self._sign_up(auth, f"next-{secrets.token_hex(4)}@example.com")
            assert user_id in await raw_dump(), "a write after a cancelled one was not committed"
            if finished:
                break
            stopped += 1
        else:
            pytest.fail(f"the {write} write was still not done after {MAX_REQUESTS} requests")
        assert stopped > 0, "no request of the write was ever held: the sweep tested nothing"

    async def _cancelled(self, start: Callable[[], Awaitable[object]], cancel: str, faults: FaultInjector) -> bool:
        """Run ``start()``, cancelled once the injector holds one of its requests; whether it finished first."""
        if cancel == "wait_for":
            try:
                await asyncio.wait_for(start(), APP_TIMEOUT)
            except TimeoutError:
                return False
            return True
        done = anyio.Event()

        async def run() -> None:
            await start()
            done.set()

        with anyio.fail_after(APP_TIMEOUT + APP_SLACK):
            async with anyio.create_task_group() as group:
                group.start_soon(run)
                while not done.is_set() and faults.held_requests == 0:
                    await anyio.sleep(0.002)
                group.cancel_scope.cancel()
        return done.is_set()

    async def _write_path(
        self, auth: Lucia, adapter: Any, clock: FakeClock, write: str
    ) -> tuple[Callable[[], Awaitable[object]], Callable[[], Awaitable[None]]]:
        """A fresh write of kind ``write`` and the check of its all-or-nothing outcome."""
        email = f"{write}-{secrets.token_hex(4)}@example.com"
        if write == "sign_up":
            generated: list[str] = []

            def generate() -> str:
                generated.append(new_id("u"))
                return generated[-1]

            signing_up = self._lucia(adapter, clock, generate_user_id=generate)
            await self._recover(signing_up)  # its start-up reads are done before the sweep

            async def check_sign_up() -> None:
                key = await adapter.get_key(f"email:{email}")
                users = [u for u in generated if await adapter.get_user(u) is not None]
                assert (key is None and users == []) or (key is not None and users == [key.user_id])

            return lambda: self._sign_up(signing_up, email), check_sign_up
        user_id = await self._sign_up(auth, email)
        if write == "capped_sign_in":
            for _ in range(2):
                await auth.create_session(user_id)

            async def check_cap() -> None:
                assert len(await adapter.get_sessions_by_user_id(user_id)) == 2

            return lambda: auth.create_session(user_id), check_cap
        if write == "delete_user":
            await auth.create_session(user_id)

            async def check_delete() -> None:
                rows = (
                    await adapter.get_user(user_id) is not None,
                    bool(await adapter.get_keys_by_user_id(user_id)),
                    bool(await adapter.get_sessions_by_user_id(user_id)),
                )
                assert rows in ((True, True, True), (False, False, False)), rows

            return lambda: auth.delete_user(user_id), check_delete
        session = await auth.create_session(user_id)
        clock.advance(timedelta(days=1, seconds=1))  # idle: validation renews it

        async def check_renewal() -> None:
            rows = await adapter.get_sessions_by_user_id(user_id)
            assert len(rows) == 1, rows
            assert (await auth.get_session(session.token or "")).user_id == user_id

        return lambda: auth.validate_session(session.token or ""), check_renewal

    # -- processes ---------------------------------------------------------------------

    @needs("fork")
    async def test_a_pool_opened_before_fork_is_never_shared_with_the_child(
        self, adapter: Any, faults: FaultInjector, adapter_recipe: tuple[str, Mapping[str, Any]]
    ) -> None:
        """After ``os.fork()`` the child opens its own connection; the parent's stays open and keeps working."""
        del adapter  # its fixture made the tables
        before = faults.accepted
        if not hasattr(os, "fork"):
            pytest.skip("no os.fork on this platform")
        # A script in its own process: forking the (threaded) pytest process itself is unsafe.
        with anyio.fail_after(60):
            result = await anyio.run_process(
                [sys.executable, "-c", _FORK_SCRIPT, json.dumps(adapter_recipe)], check=False
            )
        stdout, stderr = result.stdout.decode(), result.stderr.decode()
        assert result.returncode == 0, stderr[-3000:]
        assert json.loads(stdout.strip().splitlines()[-1]) == {"child": 0, "parent": True}, stderr[-3000:]
        # One connection for the parent (still the same afterwards) and one for the child.
        assert faults.accepted - before == 2

    # -- defence in depth --------------------------------------------------------------

    async def _two_sessions(self, adapter: Any, clock: FakeClock) -> tuple[Lucia, str, str, str]:
        """Two users signed in: Lucia, the first token, and the stored ids of both sessions."""
        if not isinstance(adapter, SQLAdapter):
            pytest.skip("the mix-up is injected through lucia.adapters.sql.SQLAdapter's driver calls")
        auth = self._lucia(adapter, clock)
        _, token = await self._signed_in(auth)
        _, other_token = await self._signed_in(auth)
        mine, other = (await auth.get_session(token)).session_id, (await auth.get_session(other_token)).session_id
        return auth, token, mine, other

    async def test_d2_a_row_of_another_session_never_authenticates(
        self, adapter: Any, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A driver that answers with another session's row (a pool mix-up) raises; it never signs anyone in."""
        auth, token, mine, other = await self._two_sessions(adapter, clock)
        for name in ("_one", "_one_with_names"):
            driver_call = getattr(adapter, name)

            async def mixed_up(query: str, params: Sequence[Any], call: Any = driver_call) -> Any:
                return await call(query, [other if value == mine else value for value in params])

            monkeypatch.setattr(adapter, name, mixed_up)
        for validate in (auth.validate_session_user, auth.validate_session, auth.get_session):
            with pytest.raises(StorageError):
                await validate(token)

    async def test_d2_a_user_row_of_another_session_never_authenticates(
        self, adapter: Any, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The one-round-trip read answering with this session but another user's columns raises."""
        auth, token, mine, other = await self._two_sessions(adapter, clock)
        driver_call = adapter._one_with_names
        session_width = len(await adapter.session_columns() or ())

        async def spliced(query: str, params: Sequence[Any]) -> Any:
            found = await driver_call(query, params)
            theirs = await driver_call(query, [other if value == mine else value for value in params])
            if found is None or theirs is None:
                return found
            return found[0], (*found[1][:session_width], *theirs[1][session_width:])

        monkeypatch.setattr(adapter, "_one_with_names", spliced)
        with pytest.raises(StorageError):
            await auth.validate_session_user(token)
