"""`curator sync`: rewrite every file the project derives from its code, or (`--check`) name the stale ones.

- params.yaml: every param of curator/config.py and each recipe's Params, with its comment, holding the
  file's own values (a new param gets its default; `sources.enabled` is written `name: family`); a
  file that does not load is refused with its problem, never overwritten with defaults;
- README.md: the source table between `<!-- sources:begin -->` and `<!-- sources:end -->`, from each
  recipe's facts (`curator.sources.markdown_table`);
- dvc.yaml: each run of per-source deps (`curator/sources/<name>/labels.yaml` or `source.yaml`
  lines) lists every source folder that has the file, so a new source's label map and facts are deps.

Everything else in those files is left as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import yaml

from curator.config import families, load_config, render_params
from curator.errors import CuratorError
from curator.resources import packaged
from curator.sources import all_recipes, markdown_table

BEGIN, END = "<!-- sources:begin -->", "<!-- sources:end -->"
PER_SOURCE_DEP = re.compile(r"^(?P<pad>\s*)- curator/sources/\w+/(?P<file>labels|source)\.yaml\s*$")


def readme_text(text: str) -> str:
    """README.md with the table between the markers replaced by the recipes' table."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise CuratorError(f"README.md has no {BEGIN} ... {END} pair around the source table; add them")
    return f"{text[:start]}{BEGIN}\n{markdown_table()}{text[end:]}"


def dvc_yaml_text(text: str) -> str:
    """dvc.yaml with each run of per-source file deps listing every source folder that holds those files."""
    names = list(all_recipes())
    lines, out, i = text.splitlines(keepends=True), [], 0
    while i < len(lines):
        match = PER_SOURCE_DEP.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        files: list[str] = []
        while i < len(lines) and (m := PER_SOURCE_DEP.match(lines[i])):
            files += [] if m["file"] in files else [m["file"]]
            i += 1
        out += [f"{match['pad']}- curator/sources/{name}/{file}.yaml\n" for name in names for file in files
                if packaged("sources", name, f"{file}.yaml").is_file()]
    return "".join(out)


def params_text(path: Path) -> str:
    """params.yaml re-rendered with the values it holds: editing a knob and syncing must not undo the edit.

    A source with no section in the file yet (just added) starts enabled as its source.yaml says;
    after that, `sources.enabled` is the project's own choice."""
    try:
        config = load_config(path)
    except CuratorError as exc:
        raise CuratorError(f"{exc}; `curator sync` keeps params.yaml's values, so fix that first") from None
    written = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("sources") or {}
    new = [name for name, recipe in all_recipes().items()
           if name not in written and recipe.INFO.enabled_by_default and name not in config.sources.enabled]
    if new:
        config.sources.enabled = {**config.sources.enabled, **families(new)}
    return render_params(config)


DERIVED: dict[str, Callable[[Path, str], str]] = {
    "params.yaml": lambda path, _old: params_text(path),
    "README.md": lambda _path, old: readme_text(old),
    "dvc.yaml": lambda _path, old: dvc_yaml_text(old),
}


def check_checkout(root: Path) -> None:
    """The code that runs must be `root`'s own, or the derived files would describe another checkout."""
    mine = root / "curator"
    if not mine.is_dir():
        raise CuratorError(f"{root} is not a curator checkout (no curator/ folder); run this in the repository root")
    if mine.resolve() != packaged().resolve():
        raise CuratorError(f"this curator runs from {packaged()}, not from {mine}; run this checkout's code "
                           "(`pip install -e .` there, or PYTHONPATH=.)")


def sync(root: Path, *, check: bool = False) -> list[str]:
    """Rewrite each derived file under `root` that is out of date (none when `check`); returns their names."""
    check_checkout(root)
    stale = []
    for name, derive in DERIVED.items():
        path = root / name
        if not path.is_file():
            raise CuratorError(f"{path}: missing; run this in the repository root")
        old = path.read_text(encoding="utf-8")
        new = derive(path, old)
        if new != old:
            stale.append(name)
            if not check:
                path.write_text(new, encoding="utf-8")
    return stale
