"""A fault-injecting TCP proxy on loopback, in front of a real database server.

The proxy runs its own event loop in a daemon thread, so it keeps forwarding (or keeps
stalling) whatever the test's own event loop is doing, and every fault method is a plain
synchronous call that returns once the fault is in place.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from types import TracebackType
from typing import Any, TypeVar

__all__ = ["FaultProxy"]

_T = TypeVar("_T")


class FaultProxy:
    """A TCP proxy that forwards to ``upstream`` until told to misbehave.

    ::

        with FaultProxy(("127.0.0.1", 5432)) as proxy:
            adapter = PostgresAdapter(f"postgresql://postgres@127.0.0.1:{proxy.port}/test")
            proxy.cut()           # every connection drops, as on a network failure
            proxy.refuse(2)       # connection attempts are refused for 2 seconds
            proxy.stall()         # bytes stop flowing; connections stay open
            proxy.resume()        # the held bytes flow again

    Args:
        upstream: ``(host, port)`` of the real server.
        host: The loopback address to listen on.
        port: The port to listen on; ``0`` picks a free one (see :attr:`port`).
    """

    def __init__(self, upstream: tuple[str, int], *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.upstream = upstream
        self.host = host
        self._port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._pairs: set[_Pair] = set()
        self._stalled = False
        #: Client requests (chunks sent towards the server) still let through before a stall.
        self._stall_countdown: int | None = None
        self._held_requests = 0
        self._reopen: asyncio.TimerHandle | None = None
        self._accepted = 0

    def __repr__(self) -> str:
        return f"FaultProxy(127.0.0.1:{self._port} -> {self.upstream[0]}:{self.upstream[1]})"

    # -- lifecycle -------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the proxy listens on (known once started)."""
        return self._port

    def start(self) -> FaultProxy:
        """Listen on loopback and start forwarding; returns the proxy."""
        if self._thread is not None:
            return self
        loop = asyncio.new_event_loop()
        ready: Future[None] = Future()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(lambda: ready.set_result(None))
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=run, name=f"lucia-fault-proxy-{id(self):x}", daemon=True)
        self._thread.start()
        ready.result(timeout=10)
        self._call_async(self._listen)
        return self

    def close(self) -> None:
        """Stop listening, drop every connection and stop the proxy's thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def shutdown() -> None:
            self._stop_listening()
            for pair in list(self._pairs):
                pair.close()

        self._call_async(shutdown)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        self._loop = self._thread = None

    def _stop_listening(self) -> None:
        """Close the listening socket and cancel a pending reopen (on the proxy's loop)."""
        if self._reopen is not None:
            self._reopen.cancel()
        if self._server is not None:
            self._server.close()
            self._server = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- faults ----------------------------------------------------------------------

    def cut(self) -> None:
        """Drop every open connection at once (a reset), as a network failure or a server crash would."""

        def cut() -> None:
            for pair in list(self._pairs):
                pair.abort()

        self._call(cut)

    def refuse(self, seconds: float) -> None:
        """Refuse new connections (nothing listens) for ``seconds``; open connections are left alone."""

        async def refuse() -> None:
            self._stop_listening()
            loop = asyncio.get_running_loop()
            self._reopen = loop.call_later(seconds, lambda: loop.create_task(self._listen()))

        self._call_async(refuse)

    @property
    def refusing(self) -> bool:
        """Whether new connections are being refused right now."""
        return self._call(lambda: self._server is None)

    def stall(self, *, after_requests: int = 0) -> None:
        """Stop forwarding bytes in both directions (connections stay open); new ones stall too.

        Args:
            after_requests: Let this many more client requests (chunks sent towards the
                server, on any connection) through before stalling: a test can stop a
                multi-statement write at each of its statements in turn.
        """

        def stall() -> None:
            self._held_requests = 0
            if after_requests <= 0:
                self._stall_countdown = None
                self._stalled = True
            else:
                self._stall_countdown = after_requests

        self._call(stall)

    def resume(self) -> None:
        """Forward every held byte and go back to forwarding; also ends a refusal early.

        The bytes held for a client that has hung up meanwhile are dropped with its connection.
        """

        async def resume() -> None:
            self._stalled = False
            self._stall_countdown = None
            for pair in list(self._pairs):
                pair.flush()
            if self._server is None:
                if self._reopen is not None:
                    self._reopen.cancel()
                    self._reopen = None
                await self._listen()

        self._call_async(resume)

    @property
    def held_requests(self) -> int:
        """How many client requests are held by the current stall (0 when not stalled)."""
        return self._call(lambda: self._held_requests)

    @property
    def connections(self) -> int:
        """How many client connections are open through the proxy."""
        return self._call(lambda: len(self._pairs))

    @property
    def accepted(self) -> int:
        """How many client connections the proxy has accepted since it started."""
        return self._call(lambda: self._accepted)

    # -- the proxy's own loop ----------------------------------------------------------

    def _call(self, function: Callable[[], _T]) -> _T:
        """Run ``function`` on the proxy's loop and return its result."""

        async def call() -> _T:
            return function()

        return self._call_async(call)

    def _call_async(self, function: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
        if self._loop is None:
            raise RuntimeError("the proxy is not running: call start() or use it as a context manager")
        return asyncio.run_coroutine_threadsafe(function(), self._loop).result(timeout=30)

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        self._reopen = None
        self._server = await loop.create_server(
            lambda: _Downstream(self), self.host, self._port, reuse_address=True, backlog=256
        )
        self._port = self._server.sockets[0].getsockname()[1]

    def _forward(self, pair: _Pair, to_server: bool, data: bytes) -> None:
        if to_server and not self._stalled and self._stall_countdown is not None:
            if self._stall_countdown == 0:
                self._stall_countdown = None
                self._stalled = True
            else:
                self._stall_countdown -= 1
        if self._stalled:
            if to_server:
                self._held_requests += 1
            pair.hold(to_server, data)
        else:
            pair.send(to_server, data)


class _Pair:
    """One client connection and its connection to the server."""

    def __init__(self, proxy: FaultProxy, client: asyncio.Transport) -> None:
        self.proxy = proxy
        self.client: asyncio.Transport | None = client
        self.server: asyncio.Transport | None = None
        self.connecting: list[bytes] = []
        #: Bytes held by a stall: (towards the server?, data), in arrival order.
        self.held: list[tuple[bool, bytes]] = []
        self.closed = False

    def send(self, to_server: bool, data: bytes) -> None:
        if to_server:
            if self.server is None:
                self.connecting.append(data)
            else:
                self.server.write(data)
        elif self.client is not None:
            self.client.write(data)

    def hold(self, to_server: bool, data: bytes) -> None:
        self.held.append((to_server, data))

    def flush(self) -> None:
        if self.client_gone():
            # The client hung up while its bytes were held (a cancelled call): they are
            # dropped with the connection, so what a test reads next is already settled.
            self.close()
            return
        held, self.held = self.held, []
        for to_server, data in held:
            self.send(to_server, data)

    def client_gone(self) -> bool:
        """Whether the client has closed its end (an end of file the loop may not have read yet)."""
        sock = None if self.client is None else self.client.get_extra_info("socket")
        if sock is None:
            return True
        try:
            # A duplicate of the descriptor: asyncio's socket wrapper does not read.
            with socket.fromfd(sock.fileno(), sock.family, sock.type) as probe:
                return probe.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    def connected(self, server: asyncio.Transport) -> None:
        self.server = server
        waiting, self.connecting = self.connecting, []
        for data in waiting:
            server.write(data)

    def abort(self) -> None:
        """Reset both sides (RST, not FIN) and forget the held bytes."""
        for transport in (self.client, self.server):
            if transport is not None:
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                transport.abort()
        self.forget()

    def close(self) -> None:
        for transport in (self.client, self.server):
            if transport is not None:
                transport.close()
        self.forget()

    def forget(self) -> None:
        self.closed = True
        self.held.clear()
        self.connecting.clear()
        self.client = self.server = None
        self.proxy._pairs.discard(self)


class _Downstream(asyncio.Protocol):
    """The client's side of a pair."""

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy
        self.pair: _Pair | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        pair = self.pair = _Pair(self.proxy, transport)
        self.proxy._pairs.add(pair)
        self.proxy._accepted += 1
        asyncio.get_running_loop().create_task(self._connect(pair))

    async def _connect(self, pair: _Pair) -> None:
        host, port = self.proxy.upstream
        try:
            transport, _ = await asyncio.get_running_loop().create_connection(lambda: _Upstream(pair), host, port)
        except OSError:
            pair.abort()
            return
        if pair.closed:
            transport.abort()
            return
        assert isinstance(transport, asyncio.Transport)
        pair.connected(transport)

    def data_received(self, data: bytes) -> None:
        if self.pair is not None and not self.pair.closed:
            self.proxy._forward(self.pair, True, data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.pair is not None and not self.pair.closed:
            self.pair.close()


class _Upstream(asyncio.Protocol):
    """The server's side of a pair."""

    def __init__(self, pair: _Pair) -> None:
        self.pair = pair

    def data_received(self, data: bytes) -> None:
        if not self.pair.closed:
            self.pair.proxy._forward(self.pair, False, data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.pair.closed:
            # The server hung up: the client sees it too, once what it was sent is flushed.
            self.pair.close()
