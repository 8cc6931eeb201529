"""What every test of this repository shares (pytest loads this file for any test path below it).

The folders whose tests import helper modules by name (``_scenario``, ``_demo``, ...) are on
``sys.path`` through ``pythonpath`` in pyproject.toml: importlib import mode adds none.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import pytest

with contextlib.suppress(ImportError):  # the sessions without property tests have no Hypothesis
    from hypothesis import settings

    # No timing assertion in a test: Hypothesis's per-example deadline (200 ms) fails a
    # property test whenever a loaded CI machine pauses the process.
    settings.register_profile("lucia", deadline=None)
    settings.load_profile("lucia")

if TYPE_CHECKING:  # the docs session runs a test here without lucia installed
    from lucia.testing import FakeClock


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    """A clock the test moves by hand (a test or suite that needs another start defines its own)."""
    from lucia.testing import FakeClock

    return FakeClock()
