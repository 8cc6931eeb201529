"""Integrations are opt-in: ``import lucia`` never loads a web framework."""

from __future__ import annotations

import subprocess
import sys

FRAMEWORKS = ["starlette", "fastapi", "django", "flask", "aiohttp", "litestar", "quart", "werkzeug", "uvicorn"]


def test_importing_lucia_loads_no_framework() -> None:
    """``import lucia`` and the neutral asgi/wsgi helpers import no web framework."""
    script = (
        "import sys, lucia, lucia.integrations, lucia.integrations.asgi, lucia.integrations.wsgi\n"
        f"print([name for name in {FRAMEWORKS!r} if name in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "[]"
