"""Session policy as pure functions of rows and the time: states, renewal, grace. No I/O.

A session row is *active* until ``active_expires``, then *idle* until ``idle_expires``,
then dead; with an absolute lifetime it is also dead from ``created_at +
absolute_period`` on, whatever renewals happened (S9). A row reached through its
``previous_id`` (the token it replaced when renewed) authenticates only until
``previous_expires`` and is never renewed again (S8 grace).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from lucia._config import SessionExpiresIn
from lucia._models import Session, SessionState
from lucia.adapters import SessionRow

__all__ = ["SessionPolicy", "ms"]

_UTC = timezone.utc
_from_timestamp = datetime.fromtimestamp


def ms(delta: timedelta) -> int:
    """A ``timedelta`` in whole milliseconds."""
    return int(delta.total_seconds() * 1000)


def _datetime(value: int) -> datetime:
    return _from_timestamp(value / 1000, _UTC)


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """The session rules of one :class:`lucia.Lucia`, in milliseconds."""

    active_ms: int
    idle_ms: int
    absolute_ms: int | None
    grace_ms: int
    get_session_attributes: Callable[[Mapping[str, Any]], Mapping[str, Any]]

    @classmethod
    def build(
        cls,
        expires_in: SessionExpiresIn,
        grace: timedelta,
        get_session_attributes: Callable[[Mapping[str, Any]], Mapping[str, Any]],
    ) -> SessionPolicy:
        """The policy for these options."""
        absolute = expires_in.absolute_period
        return cls(
            ms(expires_in.active_period),
            ms(expires_in.idle_period),
            None if absolute is None else ms(absolute),
            ms(grace),
            get_session_attributes,
        )

    def without_grace(self) -> SessionPolicy:
        """The same policy with the grace window off (a table that cannot record it)."""
        return replace(self, grace_ms=0)

    def deadline(self, row: SessionRow) -> int | None:
        """When everything from this sign-in stops authenticating, if there is an absolute lifetime."""
        absolute = row.absolute_period if row.absolute_period is not None else self.absolute_ms
        if absolute is None or row.created_at is None:
            return None
        return row.created_at + absolute

    def state(self, row: SessionRow, now: int) -> SessionState | None:
        """``"active"``, ``"idle"``, or ``None`` for a dead session."""
        if now >= row.idle_expires:
            return None
        deadline = self.deadline(row)
        if deadline is not None and now >= deadline:
            return None
        return "active" if now < row.active_expires else "idle"

    def in_grace(self, row: SessionRow, session_id: str, now: int) -> bool:
        """Whether ``session_id``, which ``row`` replaced, still authenticates as ``row``."""
        return row.previous_id == session_id and row.previous_expires is not None and now < row.previous_expires

    def _expiry(self, row_periods: SessionRow | None, now: int, created_at: int | None) -> tuple[int, int]:
        active_ms = (
            self.active_ms if row_periods is None or row_periods.active_period is None else row_periods.active_period
        )
        idle_ms = self.idle_ms if row_periods is None or row_periods.idle_period is None else row_periods.idle_period
        active, idle = now + active_ms, now + active_ms + idle_ms
        absolute = self.absolute_ms
        if row_periods is not None and row_periods.absolute_period is not None:
            absolute = row_periods.absolute_period
        if absolute is not None and created_at is not None:
            idle = min(idle, created_at + absolute)
            active = min(active, idle)
        return active, idle

    def new_row(
        self,
        session_id: str,
        user_id: str,
        now: int,
        *,
        persistent: bool,
        expires_in: SessionExpiresIn | None,
        attributes: Mapping[str, Any],
    ) -> SessionRow:
        """The row of a new sign-in."""
        periods = None
        if expires_in is not None:
            absolute = expires_in.absolute_period
            periods = SessionRow(
                "",
                user_id,
                0,
                0,
                active_period=ms(expires_in.active_period),
                idle_period=ms(expires_in.idle_period),
                absolute_period=None if absolute is None else ms(absolute),
            )
        active, idle = self._expiry(periods, now, now)
        return SessionRow(
            session_id,
            user_id,
            active,
            idle,
            created_at=now,
            persistent=persistent,
            active_period=None if periods is None else periods.active_period,
            idle_period=None if periods is None else periods.idle_period,
            absolute_period=None if periods is None else periods.absolute_period,
            attributes=dict(attributes),
        )

    def renewed_row(self, row: SessionRow, replaced_id: str, new_id: str, now: int) -> SessionRow:
        """The row that replaces ``row`` (stored as ``replaced_id``) when it is renewed."""
        active, idle = self._expiry(row, now, row.created_at)
        grace = self.grace_ms > 0
        return replace(
            row,
            id=new_id,
            active_expires=active,
            idle_expires=idle,
            previous_id=replaced_id if grace else None,
            previous_expires=now + self.grace_ms if grace else None,
        )

    def session(self, row: SessionRow, token: str | None, state: SessionState, *, fresh: bool) -> Session:
        """The public :class:`~lucia.Session` of a row."""
        return Session(
            row.id,
            token,
            row.user_id,
            _from_timestamp(row.active_expires / 1000, _UTC),
            _from_timestamp(row.idle_expires / 1000, _UTC),
            state,
            fresh,
            None if row.created_at is None else _datetime(row.created_at),
            self.get_session_attributes(row.attributes) if row.attributes else {},
            row.persistent,
        )
