"""Data classes whose secret fields never reach a ``repr``, a log line or a traceback.

Mark a field with ``metadata=SECRET`` and the class with :func:`redacted`; the
generated ``repr`` shows ``'**********'`` for a set secret (and ``None`` / ``''`` as
they are)::

    from dataclasses import dataclass, field
    from lucia.redaction import SECRET, redacted

    @redacted
    @dataclass(frozen=True, slots=True)
    class ApiKey:
        name: str
        value: str = field(metadata=SECRET)

    repr(ApiKey("ci", "s3cr3t"))  # "ApiKey(name='ci', value='**********')"

One mechanism for every package of Lucia (SECURITY P5, H4), instead of a hand-written
``__repr__`` per class.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

__all__ = ["MASK", "SECRET", "redacted"]

#: What a set secret prints as.
MASK = "'**********'"

#: Field metadata marking a secret: ``field(metadata=SECRET)``.
SECRET: Mapping[str, bool] = MappingProxyType({"lucia_secret": True})

_T = TypeVar("_T")


def _masked(value: object) -> str:
    return repr(value) if value is None or value == "" else MASK


def redacted(cls: type[_T]) -> type[_T]:
    """Give a dataclass a ``repr`` that masks its ``metadata=SECRET`` fields.

    Fields declared with ``repr=False`` are left out, as dataclasses do.
    """
    fields = [f for f in dataclasses.fields(cls) if f.repr]  # type: ignore[arg-type]
    secrets = {f.name for f in fields if f.metadata.get("lucia_secret")}
    names = [f.name for f in fields]

    def __repr__(self: Any) -> str:
        parts = (
            f"{name}={_masked(getattr(self, name)) if name in secrets else repr(getattr(self, name))}" for name in names
        )
        return f"{type(self).__qualname__}({', '.join(parts)})"

    method: Callable[[Any], str] = __repr__
    cls.__repr__ = method  # type: ignore[method-assign]
    return cls
