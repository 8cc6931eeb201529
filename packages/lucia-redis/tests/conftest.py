"""Real Redis for the tests: the standalone server at LUCIA_TEST_REDIS_URL and a 3-master cluster started here."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from lucia.testing.services import free_port, require_service, unique_name
from lucia_testkit import redis_server_url, stop_process


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The standalone server's URL, after checking that it answers."""
    return redis_server_url()


def _wait(check: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, redis.RedisError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def _answers(port: int, *command: str) -> Any:
    """Run one command on a local node and return its parsed reply."""
    with redis.Redis(port=port, socket_connect_timeout=1) as client:
        return client.execute_command(*command)


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[int]]:
    """Start a 3-master Redis Cluster on loopback from the redis-server binary; yield its ports."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        require_service("redis-cluster", "the redis-server and redis-cli binaries are not on PATH")
    workdir: Path = tmp_path_factory.mktemp("redis-cluster")
    processes: list[subprocess.Popen[bytes]] = []
    ports: list[int] = []
    try:
        for _ in range(3):
            port = free_port()
            # fmt: off
            command = [
                server, "--port", str(port), "--bind", "127.0.0.1", "--cluster-port", str(free_port()),
                "--cluster-enabled", "yes", "--cluster-config-file", str(workdir / f"nodes-{port}.conf"),
                "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", str(workdir),
            ]
            # fmt: on
            processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            ports.append(port)
        for port in ports:
            _wait(lambda p=port: _answers(p, "ping") is True, f"redis-server on {port}")
        nodes = [f"127.0.0.1:{port}" for port in ports]
        subprocess.run(
            [cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        for port in ports:
            _wait(lambda p=port: b"cluster_state:ok" in _answers(p, "CLUSTER", "INFO"), f"cluster_state:ok on {port}")
        yield ports
    finally:
        for process in processes:
            stop_process(process)


async def _close(client: Any) -> None:
    close = getattr(client, "aclose", None) or client.close
    await close()


@pytest.fixture
async def standalone_client(redis_url: str) -> AsyncIterator[Redis]:
    """A client of the standalone server."""
    client = Redis.from_url(redis_url)
    yield client
    await _close(client)


@pytest.fixture
async def cluster_client(redis_cluster: list[int]) -> AsyncIterator[RedisCluster]:
    """A cluster client (startup node: the first master)."""
    client = RedisCluster(host="127.0.0.1", port=redis_cluster[0])
    await client.initialize()
    yield client
    await _close(client)


@pytest.fixture
def key_prefix() -> str:
    """A fresh key prefix per test."""
    return unique_name("lucia_test") + ":"
