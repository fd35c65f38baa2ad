"""`curator sync`: rewrite every file the project derives from its code, or (`--check`) name the stale ones.

- params.yaml: the defaults (curator/config.py and each recipe's Params), `sources.enabled` as
  `name: family` for every recipe whose source.yaml says `enabled_by_default`;
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

from curator.config import render_defaults
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


DERIVED: dict[str, Callable[[str], str]] = {
    "params.yaml": lambda _old: render_defaults(),
    "README.md": readme_text,
    "dvc.yaml": dvc_yaml_text,
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
        new = derive(old)
        if new != old:
            stale.append(name)
            if not check:
                path.write_text(new, encoding="utf-8")
    return stale
