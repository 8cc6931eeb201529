"""The native sync path over an adapter's blocking twin, with real threads (SECURITY S7 for sync apps)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import anyio.to_thread

from lucia._core import Lucia
from lucia._errors import InvalidSessionError
from lucia._sync import SyncLucia
from lucia.testing._clock import FakeClock
from lucia.testing._harness import Harness, fast_password_hasher

__all__ = ["SyncPathTests"]

THREADS = 16
RACE_TRIALS = 50


def _in_threads(count: int, work: Callable[[int], object]) -> list[object]:
    """Run ``work(n)`` in ``count`` threads released together; each result or exception."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(n: int) -> None:
        barrier.wait()
        try:
            results[n] = work(n)
        except Exception as exc:  # the outcomes are what the tests assert on
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "a thread never finished: a deadlock"
    return results


class SyncPathTests(Harness):
    """:class:`lucia.SyncLucia` over the adapter takes the native path, and it holds under threads.

    Subclasses supply ``adapter`` (the async adapter, on a file or server that other
    connections can reach: the twin opens its own).
    """

    def _sync(self, adapter: Any, clock: FakeClock, **options: Any) -> SyncLucia:
        auth = Lucia(adapter=adapter, clock=clock, password_hasher=fast_password_hasher(), throttle=None, **options)
        return SyncLucia(auth)

    async def test_sync_lucia_takes_the_native_path(self, adapter: Any, clock: FakeClock) -> None:
        """No event loop, no thread hop: SyncLucia drives the core over the blocking twin."""
        with self._sync(adapter, clock) as sync:
            assert sync.native

    async def test_sixteen_threads_validate_at_once_without_cross_talk(self, adapter: Any, clock: FakeClock) -> None:
        """16 threads sign up and validate at once; each sees only its own user."""
        with self._sync(adapter, clock) as sync:

            def work(n: int) -> bool:
                user = sync.create_user(primary_key=None, attributes={"username": f"t{n}"})
                token = sync.create_session(user.user_id).token or ""
                return all(sync.validate_session_user(token)[1].user_id == user.user_id for _ in range(20))

            results = await anyio.to_thread.run_sync(_in_threads, THREADS, work)
            assert results == [True] * THREADS

    async def test_s7_threads_renewing_and_signing_out_leave_no_survivor(self, adapter: Any, clock: FakeClock) -> None:
        """Threads renewing an idle session while another signs the user out everywhere: 0 survivors."""
        with self._sync(adapter, clock) as sync:

            def trials() -> int:
                survivors = 0
                for _ in range(RACE_TRIALS):
                    user = sync.create_user(primary_key=None, attributes={"username": "race"})
                    token = sync.create_session(user.user_id).token or ""
                    clock.advance(timedelta(days=1, seconds=1))

                    def work(n: int, token: str = token, user_id: str = user.user_id) -> object:
                        if n == 0:
                            sync.invalidate_all_user_sessions(user_id)
                            return None
                        return sync.validate_session(token)

                    renewed = [r for r in _in_threads(4, work) if r is not None and not isinstance(r, Exception)]
                    for session in [None, *renewed]:
                        candidate = token if session is None else session.token or ""  # type: ignore[attr-defined]
                        try:
                            sync.get_session(candidate)
                        except InvalidSessionError:
                            continue
                        survivors += 1
                        break
                return survivors

            assert await anyio.to_thread.run_sync(trials) == 0
