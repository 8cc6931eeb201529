"""SecantusDB (PyPI ``secantusdb``, MongoDB-wire-compatible) for the MongoDB tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lucia.testing.services import free_port, require_service
from lucia_testkit._process import stop_process, wait_for_port

__all__ = ["secantus_server"]


@contextmanager
def secantus_server(*extra_args: str, startup_seconds: float = 60) -> Iterator[str]:
    """Run SecantusDB (PyPI ``secantusdb``, MongoDB-wire-compatible) in memory on a free port.

    Yields its ``mongodb://`` URL and stops the server afterwards. A missing launcher or
    a server that does not listen is a missing service (:func:`lucia.testing.services.require_service`).

    Args:
        extra_args: More ``secantusd-py`` options, e.g. ``"--standalone"``.
        startup_seconds: How long to wait for the server to listen.
    """
    beside = Path(sys.executable).with_name("secantusd-py")
    launcher = str(beside) if beside.exists() else shutil.which("secantusd-py")
    if launcher is None:
        require_service("mongodb", "secantusd-py (PyPI: secantusdb) is not installed")
    port = free_port()
    command = [launcher, "--host", "127.0.0.1", "--port", str(port), "--storage-path", ":memory:", *extra_args]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_for_port("127.0.0.1", port, startup_seconds, process=process):
            if process.poll() is not None:
                require_service("mongodb", f"secantusd-py exited with status {process.returncode}")
            require_service("mongodb", f"secantusd-py did not listen within {startup_seconds:g} s")
        yield f"mongodb://127.0.0.1:{port}/?directConnection=true"
    finally:
        stop_process(process)
