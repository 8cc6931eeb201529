"""``async with``: ``connect()`` on entry, ``close()`` on exit, for Lucia and the adapters alike."""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

__all__ = ["Connectable"]

_C = TypeVar("_C", bound="Connectable")


class Connectable:
    """``async with obj:`` opens ``obj`` with ``connect()`` and closes it with ``close()``, even on error.

    A subclass defines ``connect()`` and ``close()``; entering returns the object itself.
    """

    __slots__ = ()

    async def connect(self) -> None:
        """Open what the object needs."""
        raise NotImplementedError

    async def close(self) -> None:
        """Close what the object opened itself."""
        raise NotImplementedError

    async def __aenter__(self: _C) -> _C:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
