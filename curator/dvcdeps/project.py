"""dvc.yaml and the family links against the walk: check them, rewrite the deps, write the links."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from curator.dvcdeps.walk import FAMILY_DIR, ITEM, MAP_DIR, NEUTRAL, family_of, map_target, recipes, stage_deps
from curator.pipeline.stages import STAGES


def _stages(dvc_yaml: Path) -> dict[str, tuple[str, bool, list[str]]]:
    return _parse_stages(yaml.safe_load(dvc_yaml.read_text(encoding="utf-8")))


def _parse_stages(doc: dict[str, Any]) -> dict[str, tuple[str, bool, list[str]]]:
    """Stage name -> (curator command, per source?, its code/resource deps in dvc.yaml)."""
    out = {}
    for name, stage in doc["stages"].items():
        body = stage.get("do", stage)
        cmd = body["cmd"].split()
        if cmd[0] != "curator":
            continue
        deps = [d if isinstance(d, str) else next(iter(d)) for d in body.get("deps") or []]
        out[name] = (cmd[1], "foreach" in stage, [d for d in deps if not d.startswith("data/")])
    return out


def check(root: Path) -> list[str]:
    """Every way dvc.yaml (and the family links) under `root` disagrees with the code."""
    problems = []
    for name, (command, per_source, listed) in _stages(root / "dvc.yaml").items():
        want = stage_deps(command, per_source)
        missing = [d for d in want if d not in listed]
        unneeded = [d for d in listed if d not in want]
        if missing:
            problems.append(f"stage {name} (curator {command}) misses deps: {', '.join(missing)}")
        if unneeded:
            problems.append(f"stage {name} (curator {command}) lists deps its code does not read: "
                            f"{', '.join(unneeded)}")
    for folder, recipe, want in _links():
        link = root / folder / recipe
        if not link.is_symlink() or os.readlink(link) != want:
            found = os.readlink(link) if link.is_symlink() else "nothing"
            problems.append(f"{folder}/{recipe} should be a symlink to {want}, found {found} "
                            "(python -m curator.dvcdeps --links)")
    for folder in (FAMILY_DIR, MAP_DIR):
        stale = sorted(p.name for p in (root / folder).glob("*") if p.name not in recipes())
        if stale:
            problems.append(f"{folder} has links for no recipe: {', '.join(stale)}")
    return problems


def family_target(recipe: str) -> str:
    """What dvcdeps/family/<recipe> points at: the family package its modules import, if any."""
    family = family_of(recipe)
    return f"curator/sources/{family}" if family else NEUTRAL


def _links() -> list[tuple[str, str, str]]:
    """(folder, recipe, relative target) of every per-source link."""
    out = []
    for recipe in recipes():
        for folder, target in ((FAMILY_DIR, family_target(recipe)), (MAP_DIR, map_target(recipe))):
            out.append((folder, recipe, os.path.relpath(target, folder)))
    return out


def write_links(root: Path) -> list[Path]:
    """(Re)create dvcdeps/family/<recipe> and dvcdeps/map/<recipe> under `root`; returns the links."""
    for folder in (FAMILY_DIR, MAP_DIR):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for stale in (root / folder).iterdir():
            if stale.is_symlink() and stale.name not in recipes():
                stale.unlink()
    links = []
    for folder, recipe, target in _links():
        link = root / folder / recipe
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)
        links.append(link)
    return links


GENERATED = "# code and schemas it reads: `python -m curator.dvcdeps --write` (a test checks them)"


def rewrite(text: str) -> str:
    """dvc.yaml with each curator stage's code/resource deps replaced by what the code needs; data deps
    and everything else kept as written."""
    stages = _stages_from_text(text)
    out: list[str] = []
    lines = text.splitlines()
    i, stage = 0, None
    while i < len(lines):
        line = lines[i]
        top = re.match(r"^  ([\w-]+):\s*(#.*)?$", line)
        if top:
            stage = top.group(1)
        out.append(line)
        i += 1
        if line.strip() != "deps:" or stage not in stages:
            continue
        item_pad = " " * (len(line) - len(line.lstrip()) + 2)
        kept = []
        while i < len(lines) and lines[i].startswith(item_pad) and lines[i].lstrip()[:1] in ("-", "#"):
            if lines[i].lstrip().startswith("- data/"):
                kept.append(lines[i])
            i += 1
        command, per_source = stages[stage]
        out += kept + [item_pad + GENERATED] + [f"{item_pad}- {d}" for d in stage_deps(command, per_source)]
    return "\n".join(out) + "\n"


def _stages_from_text(text: str) -> dict[str, tuple[str, bool]]:
    return {name: (command, per) for name, (command, per, _) in _parse_stages(yaml.safe_load(text)).items()}


def report() -> dict[str, Any]:
    """What `python -m curator.dvcdeps` prints: per stage, the deps its code needs."""
    stages = {s.name: s.per_source for s in STAGES}
    return {
        "stages": {f"{c}@{ITEM}" if per else c: stage_deps(c, per) for c, per in stages.items()},
        "family": {r: family_of(r) for r in recipes()},
    }
