"""A clock tests move by hand, so no test sleeps to watch a session expire."""

from __future__ import annotations

from datetime import timedelta


class FakeClock:
    """Seconds since the epoch that only move when told: ``Lucia(clock=clock)``."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, delta: timedelta | float) -> None:
        """Move the clock forward by a ``timedelta`` or a number of seconds."""
        self.now += delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
