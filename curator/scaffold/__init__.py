"""`curator new-source NAME`: a new source folder that already works, from the templates beside this file.

The templates (`template/*.tmpl`, package data) make a recipe for a folder of images and one CSV of
`image,label` rows, its typed Params, placeholder facts, a small label map, samples (tiny PNGs + the
CSV) and a README whose sections say what to fill. `${name}` in a template becomes NAME.
"""

from __future__ import annotations

import keyword
import re
from importlib.resources import files
from pathlib import Path
from string import Template

from curator.errors import CuratorError

TEMPLATES = "template"
SUFFIX = ".tmpl"
NAME_RULE = re.compile(r"^[a-z][a-z0-9_]*$")  # a Python package name, lower case, as every source's


def check_name(name: str, sources: Path) -> None:
    """A new source's name: a lower-case identifier, not taken, not a family or helper module's."""
    if not NAME_RULE.match(name) or keyword.iskeyword(name):
        raise CuratorError(f"{name!r} is not a source name: use lower-case letters, digits and _, "
                           "starting with a letter (e.g. my_faces)")
    taken = sources / name
    if taken.exists() or taken.with_suffix(".py").exists():
        raise CuratorError(f"{taken} already exists; choose another name")


def templates() -> list[Path]:
    folder = files("curator.scaffold").joinpath(TEMPLATES)
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(SUFFIX))


def new_source(name: str, sources: Path) -> list[Path]:
    """Write curator/sources/NAME/ (under `sources`) from the templates; returns the files written."""
    check_name(name, sources)
    folder = sources / name
    folder.mkdir()
    written = []
    for template in templates():
        target = folder / template.name.removesuffix(SUFFIX)
        target.write_text(Template(template.read_text(encoding="utf-8")).substitute(name=name), encoding="utf-8")
        written.append(target)
    return written
