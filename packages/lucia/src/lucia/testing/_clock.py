"""A clock tests move by hand, so no test sleeps to watch a session expire."""

from __future__ import annotations

import time
from datetime import timedelta


class FakeClock:
    """Seconds since the epoch that only move when told: ``Lucia(clock=clock)``.

    It starts at the real time (whole seconds) unless given ``start``, so stores that
    expire data on their own clock agree with it at first.
    """

    def __init__(self, start: float | None = None) -> None:
        self.now = float(int(time.time())) if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, delta: timedelta | float) -> None:
        """Move the clock forward by a ``timedelta`` or a number of seconds."""
        self.now += delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
