"""Servers the documentation tests start as a reader would: a command in a shell of this virtual environment."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


def environ(**extra: str) -> dict[str, str]:
    """The environment of a shell that has this virtual environment activated."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "PATH": path, "VIRTUAL_ENV": str(Path(sys.executable).parent.parent), **extra}


@contextmanager
def serving(command: str, cwd: Path, env: Mapping[str, str], port: int) -> Iterator[None]:
    """Run a server command of a guide until the block ends; fail with its log if it never listens."""
    log = cwd / "server.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            ["bash", "-c", f"exec {command}"], cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,  # runserver's autoreloader starts a child: stop the whole group
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise AssertionError(f"{command} exited with {process.returncode}:\n{log.read_text()}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"{command} did not listen on {port} within 30 s:\n{log.read_text()}")
            time.sleep(0.1)
        yield
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
