"""A recipe's family: the shared package beside it under curator/sources/ that its code imports.

EmoNet-Face's three recipes import `curator/sources/emonet/`, VIRI and NVIE `curator/sources/thermal/`;
a recipe that imports no such package is its own family. The imports are the truth (read from the
recipe's modules, its samples.py aside: samples are not what download and prepare run), so
params.yaml's `sources.enabled` (`name: family`), and through it dvc.yaml's per-source deps, follow
the code. `curator sync` writes it; the config refuses a family that disagrees.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

from curator.errors import CuratorError
from curator.sources import FACTS_FILE  # a folder holding one is a recipe, not a family

HERE = Path(__file__).resolve().parent
PACKAGE = "curator.sources"


def _imported_siblings(module: Path) -> set[str]:
    """Names `x` of every `curator.sources.x` a module imports (any form, at any depth)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"), str(module))):
        if isinstance(node, ast.Import):
            dotted = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            dotted = [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in dotted:
            parts = name.split(".")
            if parts[:2] == PACKAGE.split(".") and len(parts) > 2:
                found.add(parts[2])
    return found


def is_family(name: str, root: Path = HERE) -> bool:
    """A package under curator/sources/ that is not a recipe (code several recipes share)."""
    folder = root / name
    return (folder / "__init__.py").is_file() and not (folder / FACTS_FILE).is_file()


@cache
def family_of(recipe: str, root: Path = HERE) -> str:
    """The family package `recipe`'s code imports, else `recipe` itself."""
    folder = root / recipe
    if not (folder / FACTS_FILE).is_file():
        raise CuratorError(f"no source folder {recipe!r} under curator/sources (no {FACTS_FILE})")
    imported: set[str] = set()
    for module in sorted(folder.rglob("*.py")):
        if module.name != "samples.py":
            imported |= _imported_siblings(module)
    families = sorted(n for n in imported if n != recipe and is_family(n, root))
    if len(families) > 1:
        raise CuratorError(f"source {recipe!r} imports {len(families)} family packages ({', '.join(families)}); "
                           "a recipe shares code with at most one family")
    return families[0] if families else recipe
