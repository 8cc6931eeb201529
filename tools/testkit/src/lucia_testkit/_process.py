"""Servers the tests start in subprocesses: wait until one listens, stop it, install its Node packages."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

__all__ = ["npm_ci", "stop_process", "wait_for_port"]


def wait_for_port(host: str, port: int, timeout: float = 30, *, process: subprocess.Popen[Any] | None = None) -> bool:
    """Wait until something accepts TCP connections on ``host:port``.

    Args:
        host: The address to connect to.
        port: The port to connect to.
        timeout: How many seconds to wait.
        process: The server's process: stop waiting as soon as it has exited.

    Returns:
        Whether the port accepted a connection in time (``False`` also when ``process`` exited).
    """
    deadline = time.monotonic() + timeout
    while process is None or process.poll() is None:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
    return False


def stop_process(process: subprocess.Popen[Any], *, timeout: float = 10, group: bool = False) -> None:
    """Stop a server process: SIGTERM, then SIGKILL if it is still running after ``timeout`` seconds.

    Args:
        process: The process to stop (one that has already exited is only reaped).
        timeout: How many seconds it has to exit after SIGTERM.
        group: Signal its whole process group (a process started with ``start_new_session=True``
            whose children, such as an autoreloader's server, must stop too).
    """

    def send(sig: signal.Signals) -> None:
        if group:
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)

    if process.poll() is None:
        send(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            send(signal.SIGKILL)
    process.wait()


def npm_ci(directory: Path, npm: str = "npm", *, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``npm ci`` quietly in ``directory`` (versions from its package-lock.json); return the result.

    Args:
        directory: The folder holding package.json and package-lock.json.
        npm: The ``npm`` executable.
        timeout: How many seconds the install may take.
    """
    return subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
