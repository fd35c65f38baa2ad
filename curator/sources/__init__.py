"""One package per source ("recipe"), found here by looking, never listed by hand.

A recipe is a subpackage `curator/sources/<name>/` whose `__init__` defines INFO, download() and
prepare() (the contract: curator.sources.recipe), beside its `samples.py` (miniature sample
builder and demo wiring). Packages without INFO (emonet, thermal) hold code a family of recipes
shares. Adding a source means one new package here and its label map in schemas/maps/.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import ModuleType

from curator.errors import CuratorError

FACTS_FILE = "source.yaml"  # a recipe's facts as data (SourceInfo.read); a folder holding one is a recipe


@cache
def all_recipes() -> dict[str, ModuleType]:
    """Every recipe package, by INFO.name, sorted."""
    found = {}
    for mod in pkgutil.iter_modules(__path__):
        if not mod.ispkg or mod.name.startswith("_"):
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


def recipe_samples(name: str) -> ModuleType:
    """A recipe's sample kit module (curator/sources/<name>/samples.py): build() and demo_params()."""
    return importlib.import_module(f"{get_recipe(name).__name__}.samples")


def markdown_table() -> str:
    """The README's source table (between `<!-- sources:begin -->` and `<!-- sources:end -->`), from each
    source's facts (source.yaml). Narrow on purpose: what `label` means, the groups and what is still
    unverified are in each source's folder and the dataset card."""
    rows = ["| source | what | licence (public push) | needs |", "|---|---|---|---|"]
    for name, recipe in all_recipes().items():
        i = recipe.INFO
        cells = [f"[`{name}`](curator/sources/{name}/)", f"{i.title}: {i.size}",
                 f"{i.license} ({i.redistributable})", i.needs]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows) + "\n"
