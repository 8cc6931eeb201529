"""Deadlines, error translation and client construction shared by the session adapter and the throttle store."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final, Union

import anyio
from redis.exceptions import ClusterError, ReadOnlyError, RedisClusterException, RedisError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from lucia import LuciaError, StorageTimeoutError, StorageUnavailableError

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster

__all__ = [
    "CLIENT_DEFAULTS",
    "DEFAULT_TIMEOUT_MS",
    "Guard",
    "RedisClient",
    "check_prefix",
    "client_from_url",
    "close_client",
    "storage_error",
    "text",
]

RedisClient = Union["Redis", "RedisCluster"]

#: The default deadline of one adapter or store call (all its round trips), in milliseconds.
DEFAULT_TIMEOUT_MS: Final = 5_000
#: Client options ``from_url`` sets unless given: a stalled or unreachable server fails a call
#: fast, and a burst of requests does not hit redis-py's default of 100 connections per pool
#: (per node on a cluster), which refuses the excess with ``MaxConnectionsError``.
CLIENT_DEFAULTS: Final[Mapping[str, Any]] = {
    "socket_timeout": 5.0,
    "socket_connect_timeout": 5.0,
    "max_connections": 1_000,
}


def text(value: object) -> str:
    """A reply as ``str``, whether or not the client decodes responses."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def check_prefix(key_prefix: str) -> str:
    """Refuse a ``key_prefix`` with a hash tag: it would put every key in one cluster slot."""
    if not isinstance(key_prefix, str) or "{" in key_prefix or "}" in key_prefix:
        raise ValueError("key_prefix must be a string without '{' or '}' (a hash tag would pin every key to one slot)")
    return key_prefix


def storage_error(exc: BaseException) -> LuciaError | None:
    """The :class:`lucia.StorageError` for a Redis error, or ``None`` to let it propagate.

    Timeouts are *timeouts*; refused or lost connections, a cluster that is down or
    moving slots, and a replica answering writes are *unavailable*. Other replies (a
    script error, a wrong key type) are not storage faults.
    """
    if isinstance(exc, (RedisTimeoutError, TimeoutError)):
        return StorageTimeoutError(None, "Redis did not answer in time")
    if isinstance(exc, (RedisConnectionError, ClusterError, RedisClusterException, TryAgainError, ReadOnlyError)):
        return StorageUnavailableError(None, "Redis is unavailable")
    return None


class Guard:
    """The deadline of every call (a client-side bound), and the translation of Redis errors.

    redis-py disconnects a connection whose command was cancelled, so a call that hits
    the deadline never leaves a half-read reply in the pool.
    """

    __slots__ = ("_seconds",)

    def __init__(self, timeout_ms: int | None) -> None:
        if timeout_ms is not None and (
            isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int) or timeout_ms <= 0
        ):
            raise ValueError("timeout_ms must be a positive integer (milliseconds) or None")
        self._seconds = None if timeout_ms is None else timeout_ms / 1000

    @property
    def seconds(self) -> float | None:
        """The deadline in seconds, or ``None``."""
        return self._seconds

    @contextmanager
    def __call__(self) -> Iterator[None]:
        """Run the body under the deadline; translate storage failures."""
        try:
            if self._seconds is None:
                yield
            else:
                with anyio.fail_after(self._seconds):
                    yield
        except (RedisError, RedisClusterException, TimeoutError) as exc:
            error = storage_error(exc)
            if error is None:
                raise
            raise error from exc


def client_from_url(url: str, *, cluster: bool, options: Mapping[str, Any]) -> RedisClient:
    """A ``Redis`` or ``RedisCluster`` client with :data:`CLIENT_DEFAULTS` unless ``options`` say otherwise.

    Raises:
        ValueError: A URL that is not ``redis://``, ``rediss://`` or ``unix://``.
    """
    if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("a Redis URL must start with redis://, rediss:// or unix://")
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster

    settings = {**CLIENT_DEFAULTS, **options}
    if cluster:
        return RedisCluster.from_url(url, **settings)
    return Redis.from_url(url, **settings)


async def close_client(client: RedisClient) -> None:
    """Close a client (``aclose`` where redis-py has it)."""
    close = getattr(client, "aclose", None) or client.close
    await close()
