"""FaultProxy in front of a small echo server: what each fault does to a client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from lucia_testkit import FaultProxy

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def received() -> list[bytes]:
    """Every chunk the echo server has read."""
    return []


@pytest.fixture
async def echo_port(received: list[bytes]) -> AsyncIterator[int]:
    """A server that writes back every byte it reads."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                received.append(data)
                writer.write(data)
                await writer.drain()
        except ConnectionError:  # cut: the proxy resets its side
            pass
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


@pytest.fixture
def proxy(echo_port: int) -> Iterator[FaultProxy]:
    with FaultProxy(("127.0.0.1", echo_port)) as proxy:
        yield proxy


async def open_client(proxy: FaultProxy) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", proxy.port)


async def round_trip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes) -> None:
    """Send ``data`` and check that it comes back within 5 seconds."""
    writer.write(data)
    assert await asyncio.wait_for(reader.readexactly(len(data)), 5) == data


async def new_client_round_trip(proxy: FaultProxy, data: bytes) -> None:
    """Open a new connection through ``proxy``, check that ``data`` comes back, and close it."""
    reader, writer = await open_client(proxy)
    await round_trip(reader, writer, data)
    writer.close()


async def test_bytes_are_forwarded_both_ways(proxy: FaultProxy) -> None:
    """Without a fault the proxy is transparent."""
    await new_client_round_trip(proxy, b"ping")
    assert proxy.accepted == 1


async def test_cut_drops_every_connection(proxy: FaultProxy) -> None:
    """After ``cut()`` an open connection reads end of file or a reset; a new one works."""
    reader, writer = await open_client(proxy)
    await round_trip(reader, writer, b"a")
    proxy.cut()
    with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
        await asyncio.wait_for(reader.readexactly(1), 5)
    writer.close()
    await new_client_round_trip(proxy, b"b")


async def test_refuse_refuses_new_connections_until_resume(proxy: FaultProxy) -> None:
    """While refusing, connecting fails at once; ``resume()`` (or the time running out) ends it."""
    proxy.refuse(30)
    assert proxy.refusing
    with pytest.raises(ConnectionRefusedError):
        await open_client(proxy)
    proxy.resume()
    await new_client_round_trip(proxy, b"c")


async def test_stall_holds_requests_until_resume(proxy: FaultProxy) -> None:
    """``stall(after_requests=1)`` lets one request through, holds the next, and ``resume()`` delivers it."""
    reader, writer = await open_client(proxy)
    proxy.stall(after_requests=1)
    await round_trip(reader, writer, b"1")
    writer.write(b"2")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.readexactly(1), 0.3)
    assert proxy.held_requests == 1
    proxy.resume()
    assert await asyncio.wait_for(reader.readexactly(1), 5) == b"2"
    writer.close()


async def test_held_bytes_of_a_client_that_hung_up_are_dropped(proxy: FaultProxy, received: list[bytes]) -> None:
    """A request held while its client went away never reaches the server after ``resume()``."""
    _, writer = await open_client(proxy)
    proxy.stall()
    writer.write(b"late")
    while proxy.held_requests == 0:
        await asyncio.sleep(0.01)
    writer.close()
    await writer.wait_closed()
    proxy.resume()
    await asyncio.sleep(0.2)
    assert proxy.connections == 0
    assert b"late" not in b"".join(received)
