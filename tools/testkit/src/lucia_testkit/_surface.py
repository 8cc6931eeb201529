"""The pinned public surface of a package: ``public_names.json`` beside its test, checked one way everywhere."""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path

__all__ = ["check_public_surface", "pinned_surface"]


def pinned_surface(test_file: str | Path) -> dict[str, list[str]]:
    """The names pinned in the ``public_names.json`` beside ``test_file``: each public module to its ``__all__``."""
    pinned: dict[str, list[str]] = json.loads(Path(test_file).with_name("public_names.json").read_text())
    return pinned


def _isort_key(name: str) -> tuple[int, str]:
    """ruff's order of ``__all__``: CONSTANTS, then Classes, then functions, each alphabetical."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def check_public_surface(test_file: str | Path) -> None:
    """Each module pinned beside ``test_file`` exports exactly its pinned names, in ruff's order, each documented.

    A change to a public surface is then a deliberate act: the data file changes with it.
    Every exported class and function has a docstring (they make the API reference), and
    so has every public method a class defines.

    Raises:
        AssertionError: Naming the module and the name that differs.
    """
    for module_name, names in pinned_surface(test_file).items():
        module = importlib.import_module(module_name)
        assert list(module.__all__) == names, f"{module_name}.__all__ differs from its pin"
        assert names == sorted(set(names), key=_isort_key), f"{module_name}.__all__ is not sorted as ruff sorts it"
        for name in names:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            assert obj.__doc__, f"{module_name}.{name} has no docstring"
            if inspect.isclass(obj) and obj.__module__.startswith(module_name.split(".")[0]):
                for attribute, member in vars(obj).items():
                    if not attribute.startswith("_") and inspect.isfunction(member):
                        assert member.__doc__, f"{module_name}.{name}.{attribute} has no docstring"
