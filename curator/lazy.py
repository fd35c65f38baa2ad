"""A module imported on first use, for modules the recipe registry loads but rarely runs.

`curator.cli` and params loading import every recipe package (their Params live there), so
whatever a recipe's modules import at the top is paid by every CLI call: pyarrow, numpy and PIL
together were ~0.3 s of a `--help`. `pa = lazy("pyarrow")` in place of `import pyarrow as pa`
keeps the module's code as it was and loads pyarrow at the first `pa.<name>`. The module is not
put in sys.modules until it is really imported (tests check that set).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any


class _Lazy:
    __slots__ = ("_module", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}{' (loaded)' if self._module else ''}>"


def lazy(name: str) -> Any:
    """A stand-in for `import name`: attribute access imports the module the first time."""
    return _Lazy(name)


@contextmanager
def hidden(*names: str) -> Iterator[None]:
    """Within the block, `import name` (and its submodules) fails as if the package were not
    installed; afterwards it imports as usual. For a library that imports an optional package at
    import time and works without it (albumentations' Hub mixin and huggingface_hub). A package
    already imported stays visible (sys.modules is consulted first)."""
    import sys

    hide = _Hide(names)
    sys.meta_path.insert(0, hide)
    try:
        yield
    finally:
        sys.meta_path.remove(hide)


class _Hide:
    """A finder that makes `import name` fail (a None in sys.modules does not stop Cython's import)."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if any(name == n or name.startswith(n + ".") for n in self.names):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
