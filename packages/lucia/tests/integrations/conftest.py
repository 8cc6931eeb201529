"""Fixtures shared by every framework integration test (see ``_scenario.py``)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from types import ModuleType

import pytest
from _scenario import Servers

from lucia.testing import FakeClock

HERE = Path(__file__).resolve().parent

#: docs/examples/frameworks/: the runnable apps the docs show and these tests run.
EXAMPLES = HERE.parents[3] / "docs" / "examples" / "frameworks"


@pytest.fixture
def database(tmp_path: Path) -> str:
    """The path of a fresh SQLite database (the example apps create their schema at start-up)."""
    return str(tmp_path / "auth.db")


@pytest.fixture
def servers(database: str, clock: FakeClock) -> Iterator[Servers]:
    """Serves the apps of one test and stops them at its end (the ``serve`` fixtures use it)."""
    with ExitStack() as stack:
        yield Servers(stack, database, clock)


def load_example(name: str) -> ModuleType:
    """Import ``docs/examples/frameworks/<name>.py`` (once per process)."""
    module_name = f"lucia_docs_example_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def example() -> Callable[[str], ModuleType]:
    """``example("starlette_app")`` imports that docs example."""
    return load_example
