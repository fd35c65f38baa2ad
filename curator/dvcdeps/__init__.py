"""What each DVC stage reads, derived from the code: `python -m curator.dvcdeps` prints it,
`--check` compares it with dvc.yaml (a test runs that), `--links` (re)writes the family links.

A stage's code is the `curator` sub-command its dvc.yaml `cmd` runs. Starting from that command's
function in curator/cli.py (the imports inside it and inside the cli helpers it calls, plus
cli.py's own module-level imports), the walk follows every `curator.*` import of every module it
reaches, at module granularity: function-level imports count, since any of them may run.
Importing `curator.a.b` also runs `curator/__init__.py` and `curator/a/__init__.py`.

What the static walk cannot see, and how it is handled:

- **Recipes are found by looking** (`curator.sources.all_recipes`, importlib). A per-source stage
  (`foreach: ${sources.enabled}`) depends on its recipe package `curator/sources/${item}` as a
  whole, on the one family package that recipe imports through the link
  `dvcdeps/family/${item}` (DVC 3 cannot vary a dep list per foreach item, and follows a dep
  that is itself a symlink), and on the helper modules any recipe imports (curator/io...). A
  stage that reads recipes' `INFO` (publish: card, Croissant) depends on each recipe's
  `__init__.py` and the `curator/sources` modules it imports.
- **curator.config loads every recipe's `Params`** to parse params.yaml: their values reach a
  stage as DVC `params`, so config's dynamic recipe import is not a code dependency.
- **Files read at run time**: a string constant naming an entry of `schemas/` (`"record.yaml"`,
  `"maps"`) in a module the stage imports makes `schemas/<entry>` a dep; a module that calls
  `policy_path` reads the policy named by params, so the stage depends on `${augment.policy}`.
- The checksum registry is not a dep: it only accepts or refuses a download's bytes, so the
  downloaded files (the download stage's output) change whenever a registry entry that matters does.
"""

from curator.dvcdeps.project import check, family_target, report, rewrite, write_links
from curator.dvcdeps.walk import (
    FAMILY_DIR,
    MAP_DIR,
    closure,
    family_of,
    map_target,
    module_file,
    recipe_packages,
    recipes,
    stage_code,
    stage_deps,
)

__all__ = [
    "FAMILY_DIR",
    "MAP_DIR",
    "check",
    "closure",
    "family_of",
    "family_target",
    "map_target",
    "module_file",
    "recipe_packages",
    "recipes",
    "report",
    "rewrite",
    "stage_code",
    "stage_deps",
    "write_links",
]
