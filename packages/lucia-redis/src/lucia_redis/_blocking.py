"""The blocking twins: the same adapter and store classes over redis-py's synchronous client.

:class:`lucia.SyncLucia` drives the one async core with a blocking twin in the calling
thread (see :mod:`lucia._blocking`): every method is ``async`` but never suspends. The
twin is not a second copy of the adapter: it is the *same class* (Lua scripts, key
layout, the renewal protocol, error translation), built over :class:`SyncCommands`, a
facade that gives a synchronous ``redis.Redis`` / ``redis.cluster.RedisCluster`` the
asyncio client's API (each command an awaitable that has already run).

The synchronous client is built from the asyncio client's own settings (address,
database, credentials, TLS, socket timeouts, retry policy, decoding, pool size), on
first use. It has no client-side deadline (that needs an event loop): each socket wait
is bounded instead by ``socket_timeout`` and ``socket_connect_timeout``, lowered to the
adapter's ``timeout_ms`` when that is shorter. redis-py's connection pools check the
process id, so a twin used in a forked worker opens its own connections and never
touches the parent's.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar, Union

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.connection
import redis.cluster
import redis.retry

from lucia_redis._guard import DEFAULT_TIMEOUT_MS, Guard, RedisClient, check_prefix, client_from_url, close_client

if TYPE_CHECKING:
    from redis.commands.core import Script

__all__ = ["LuaScript", "RedisStore", "SyncCommands", "sync_client_factory"]

SyncClient = Union[redis.Redis, redis.cluster.RedisCluster]

#: Connection settings that mean the same to redis-py's asyncio and synchronous
#: connections (``ssl_*`` too); the rest of an asyncio pool's kwargs is its own plumbing.
_PORTABLE: Final = frozenset(
    {
        "host",
        "port",
        "path",
        "db",
        "username",
        "password",
        "credential_provider",
        "socket_timeout",
        "socket_connect_timeout",
        "socket_keepalive",
        "socket_keepalive_options",
        "socket_read_size",
        "encoding",
        "encoding_errors",
        "decode_responses",
        "retry_on_timeout",
        "retry_on_error",
        "health_check_interval",
        "client_name",
        "lib_name",
        "lib_version",
        "driver_info",
        "protocol",
    }
)
#: The asyncio connection classes and their synchronous counterparts.
_CONNECTION_CLASSES: Final[Mapping[type, type]] = {
    redis.asyncio.connection.Connection: redis.connection.Connection,
    redis.asyncio.connection.SSLConnection: redis.connection.SSLConnection,
    redis.asyncio.connection.UnixDomainSocketConnection: redis.connection.UnixDomainSocketConnection,
}
#: Cluster nodes are reached over TCP only.
_CLUSTER_ONLY_NODE: Final = frozenset({"host", "port", "path", "db"})


def _settings(kwargs: Mapping[str, Any], deadline: float | None) -> dict[str, Any]:
    """The portable connection settings, each socket wait bounded by ``deadline`` (seconds)."""
    settings = {k: v for k, v in kwargs.items() if k in _PORTABLE or k.startswith("ssl_")}
    if not isinstance(settings.get("socket_keepalive_options", {}), Mapping):
        del settings["socket_keepalive_options"]  # redis-py's "unset" sentinel
    retry = kwargs.get("retry")
    if retry is not None:
        settings["retry"] = _sync_retry(retry)
    if deadline is not None:
        for name in ("socket_timeout", "socket_connect_timeout"):
            given = settings.get(name)
            settings[name] = deadline if given is None else min(float(given), deadline)
    return settings


def _sync_retry(retry: Any) -> redis.retry.Retry:
    """redis-py's synchronous ``Retry`` with the policy of an asyncio one."""
    return redis.retry.Retry(retry._backoff, retry._retries, tuple(retry._supported_errors))


def sync_client_factory(client: object, *, deadline: float | None) -> Callable[[], SyncClient] | None:
    """How to build a synchronous client with the settings of ``client``, or ``None`` when it cannot be.

    ``None`` for a client that is not redis-py's asyncio ``Redis`` or ``RedisCluster``, or
    whose connections are of a class of its own (the adapter then has no blocking twin).

    Args:
        client: The asyncio client the adapter was given or built.
        deadline: The adapter's ``timeout_ms`` in seconds: no socket wait may be longer.
    """
    if isinstance(client, redis.asyncio.cluster.RedisCluster):
        kwargs: Mapping[str, Any] = client.connection_kwargs
        connection_class = kwargs.get("connection_class", redis.asyncio.connection.Connection)
        if connection_class not in (redis.asyncio.connection.Connection, redis.asyncio.connection.SSLConnection):
            return None
        options = {k: v for k, v in _settings(kwargs, deadline).items() if k not in _CLUSTER_ONLY_NODE}
        retry = getattr(client, "retry", None)  # a cluster's retry policy is the client's, not its nodes'
        if retry is not None:
            options["retry"] = _sync_retry(retry)
        if "max_connections" in kwargs:
            options["max_connections"] = kwargs["max_connections"]
        options["ssl"] = connection_class is redis.asyncio.connection.SSLConnection
        nodes = [(node.host, int(node.port)) for node in client.nodes_manager.startup_nodes.values()]

        def cluster() -> SyncClient:
            startup = [redis.cluster.ClusterNode(host, port) for host, port in nodes]  # type: ignore[no-untyped-call]
            return redis.cluster.RedisCluster(startup_nodes=startup, **options)

        return cluster
    if not isinstance(client, redis.asyncio.Redis):
        return None
    pool = client.connection_pool
    sync_class = _CONNECTION_CLASSES.get(pool.connection_class)
    if sync_class is None:
        return None
    settings = _settings(pool.connection_kwargs, deadline)
    max_connections = pool.max_connections
    blocking = isinstance(pool, redis.asyncio.BlockingConnectionPool)
    wait = getattr(pool, "timeout", None)

    def standalone() -> SyncClient:
        sync_pool: redis.ConnectionPool
        if blocking:
            sync_pool = redis.BlockingConnectionPool(  # type: ignore[no-untyped-call]
                connection_class=sync_class, max_connections=max_connections, timeout=wait, **settings
            )
        else:
            sync_pool = redis.ConnectionPool(connection_class=sync_class, max_connections=max_connections, **settings)
        return redis.Redis(connection_pool=sync_pool)

    return standalone


#: Every facade, so that a forked child gets fresh locks (a lock held by a thread that
#: does not exist in the child would never be released).
_facades: weakref.WeakSet[SyncCommands] = weakref.WeakSet()


def _new_locks_after_fork() -> None:
    for facade in list(_facades):
        facade._lock = threading.Lock()


os.register_at_fork(after_in_child=_new_locks_after_fork)


class SyncCommands:
    """A synchronous redis-py client seen through the asyncio client's API.

    Commands are awaitables that run the synchronous command and never suspend;
    ``pipeline()`` queues synchronously and its ``execute()`` is awaitable, as on the
    asyncio client; ``register_script()`` gives an awaitable script. The client is
    built on first use (a cluster client discovers its nodes then), so a server that is
    down fails the first call with a storage error instead of the construction.
    Thread-safe: redis-py's synchronous clients share a thread-safe connection pool.

    Args:
        build: Builds the synchronous client (:func:`sync_client_factory`).
    """

    def __init__(self, build: Callable[[], SyncClient]) -> None:
        self._build = build
        self._client: SyncClient | None = None
        self._scripts: dict[str, Script] = {}
        self._lock = threading.Lock()
        _facades.add(self)

    def __repr__(self) -> str:
        return f"SyncCommands({self._client!r})"

    def client(self) -> SyncClient:
        """The synchronous client, built on first use."""
        client = self._client
        if client is None:
            with self._lock:
                client = self._client
                if client is None:
                    client = self._client = self._build()
        return client

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)

        async def command(*args: Any, **kwargs: Any) -> Any:
            return getattr(self.client(), name)(*args, **kwargs)

        return command

    def pipeline(self, *, transaction: bool = True) -> _SyncPipeline:
        """A pipeline of the synchronous client with an awaitable ``execute``."""
        return _SyncPipeline(self.client().pipeline(transaction=transaction))

    def register_script(self, source: str) -> _SyncScript:
        """An awaitable script (registered on the synchronous client when first run)."""
        return _SyncScript(self, source)

    def script(self, source: str) -> Script:
        """The synchronous client's script object for ``source``."""
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self.client().register_script(source)
        return script

    async def aclose(self) -> None:
        """Close the synchronous client; the next command builds a new one."""
        with self._lock:
            client, self._client = self._client, None
            self._scripts = {}
        if client is None:
            return
        client.close()
        if isinstance(client, redis.Redis):
            client.connection_pool.disconnect()  # the pool was given, so close() leaves it


class _SyncPipeline:
    """A synchronous pipeline whose ``execute`` is awaitable; commands queue as they do."""

    def __init__(self, pipeline: Any) -> None:
        self._pipeline = pipeline

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pipeline, name)

    async def execute(self) -> list[Any]:
        """Send the queued commands; their replies in order."""
        replies: list[Any] = self._pipeline.execute()
        return replies


class _SyncScript:
    """A Lua script run by the synchronous client, called like an asyncio ``Script``."""

    def __init__(self, commands: SyncCommands, source: str) -> None:
        self._commands = commands
        self._source = source

    async def __call__(self, keys: Sequence[str] = (), args: Sequence[Any] = ()) -> Any:
        return self._commands.script(self._source)(keys=list(keys), args=list(args))


S = TypeVar("S", bound="RedisStore")


class LuaScript:
    """A Lua script declared on a store class (``_hit = LuaScript(_HIT)``), run as ``self._hit(keys=..., args=...)``.

    Each store object registers it on its own client (redis-py's ``register_script``, no
    round trip) at its first use, and keeps it.
    """

    def __init__(self, source: str) -> None:
        self._source = source
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, store: RedisStore | None, owner: type | None = None) -> Any:
        if store is None:
            return self
        script = store._redis.register_script(self._source)
        store.__dict__[self._name] = script  # from now on the object's own attribute
        return script


class RedisStore:
    """What the session adapter and the throttle store share: the client, its ownership, the twin."""

    def __init__(
        self, redis: RedisClient | SyncCommands, *, key_prefix: str = "", timeout_ms: int | None = DEFAULT_TIMEOUT_MS
    ) -> None:
        self._prefix = check_prefix(key_prefix)
        self._guard = Guard(timeout_ms)
        self._redis: RedisClient | SyncCommands = redis
        self._owned = False
        self._twin: Any = self if isinstance(redis, SyncCommands) else None  # a twin is its own twin

    def __repr__(self) -> str:
        return f"{type(self).__name__}(key_prefix={self._prefix!r})"

    @classmethod
    def from_url(
        cls: type[S],
        url: str,
        *,
        key_prefix: str = "",
        cluster: bool = False,
        timeout_ms: int | None = DEFAULT_TIMEOUT_MS,
        **client_options: Any,
    ) -> S:
        """An adapter (or store) with its own client, closed by :meth:`close`.

        The client gets ``socket_timeout=5`` and ``socket_connect_timeout=5`` (and, for a
        cluster, ``max_connections=1000``) unless ``client_options`` say otherwise.

        Args:
            url: A ``redis://``, ``rediss://`` or ``unix://`` URL (for a cluster: any node).
            key_prefix: As for the constructor.
            cluster: Build a ``RedisCluster`` client instead of a ``Redis`` one.
            timeout_ms: As for the constructor.
            client_options: More options for the redis-py client.

        Raises:
            ValueError: A URL of another scheme, or a bad prefix or timeout.
        """
        check_prefix(key_prefix)
        Guard(timeout_ms)
        store = cls(
            client_from_url(url, cluster=cluster, options=client_options), key_prefix=key_prefix, timeout_ms=timeout_ms
        )
        store._owned = True
        return store

    def blocking_twin(self: S) -> S | None:
        """The same store over redis-py's synchronous client, for :class:`lucia.SyncLucia`'s native path.

        It shares this store's key prefix, server and connection settings (with a
        connection pool of its own, opened on first use), bounds each socket wait by
        ``timeout_ms``, and is closed with this store. The same object each time;
        ``None`` for a client that is not redis-py's asyncio ``Redis`` or ``RedisCluster``.
        """
        if self._twin is None:
            build = sync_client_factory(self._redis, deadline=self._guard.seconds)
            if build is None:
                return None
            self._twin = type(self)(SyncCommands(build), key_prefix=self._prefix, timeout_ms=None)
        twin: S = self._twin
        return twin

    async def close(self) -> None:
        """Close the client :meth:`from_url` created and the blocking twin's; a client you passed in stays open."""
        if self._twin is not None and self._twin is not self:
            await self._twin.close()  # it reopens on its next use
        if isinstance(self._redis, SyncCommands):
            await self._redis.aclose()
        elif self._owned:
            self._owned = False
            await close_client(self._redis)
