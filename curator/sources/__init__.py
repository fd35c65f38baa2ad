"""One module per source ("recipe"), each with INFO, download() and prepare().

Adding a source means adding one module here and its label map in schemas/maps/;
recipes are discovered, not listed.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import ModuleType

from curator.errors import CuratorError

_NOT_RECIPES = {"base", "common"}


@cache
def all_recipes() -> dict[str, ModuleType]:
    found = {}
    for mod in pkgutil.iter_modules(__path__):
        if mod.name in _NOT_RECIPES or mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{mod.name}")
        if hasattr(module, "INFO"):
            found[module.INFO.name] = module
    return dict(sorted(found.items()))


def get_recipe(name: str) -> ModuleType:
    recipes = all_recipes()
    if name not in recipes:
        raise CuratorError(f"unknown source {name!r}; known: {', '.join(recipes)}")
    return recipes[name]
