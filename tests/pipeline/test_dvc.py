"""dvc.yaml's deps are what each stage's code reads, and an edit marks exactly the stages that read it.

Fast: every curator module a stage's code imports lies under one of that stage's deps, and the label
maps left out of a source folder's hash (.dvcignore) are those no recipe reads. Slow: in a git + DVC
workspace holding this pipeline with every source enabled, `dvc status` after an edit of a recipe, a
family, a label map, a source's facts or a stage module names exactly the stages that depend on it.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from curator.config import families
from curator.sources import all_recipes
from curator.sources.family import family_of

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STAGES = ("download", "prepare", "normalize", "split", "augment", "publish", "report")
# prepare/raydata.py imports the EmoNet family's plan classes for its type annotations only (the recipe
# passes the plan in), so a non-EmoNet prepare does not depend on that family's code.
ANNOTATIONS_ONLY = {"prepare": ("curator/sources/emonet/",)}


def _stage_deps(stage: str, source: str | None = None) -> list[str]:
    """`stage`'s code and file deps as dvc.yaml lists them, `${key}`/`${item}` resolved for `source`."""
    body = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"][stage]
    body = body.get("do", body)
    deps = [d if isinstance(d, str) else next(iter(d)) for d in body["deps"]]
    if source is not None:
        deps = [d.replace("${key}", source).replace("${item}", family_of(source)) for d in deps]
    return [d for d in deps if not d.startswith(("data/", "${"))]


def _package_files(package: Path) -> list[Path]:
    return sorted(p for p in package.rglob("*.py") if p.name != "samples.py")


def _dotted(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _curator_imports(files: list[Path]) -> set[str]:
    """Every `curator.*` module these files import, at any depth (function-level imports run too)."""
    found = set()
    for file in files:
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("curator")}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("curator"):
                found.add(node.module)
    return found


def _modules(files: list[Path]) -> list[str]:
    """The modules these files are, and every curator module they import anywhere (function-level too)."""
    return sorted({*map(_dotted, files), *_curator_imports(files)})


def _imported_files(*groups: list[str]) -> list[set[str]]:
    """After importing the CLI and then each group of modules in turn (one fresh interpreter), the curator
    files loaded so far: a download's imports, then a prepare's, cost one interpreter per source."""
    code = ("import importlib, json, sys\nimport curator.cli\nsnapshots = []\n"
            f"for group in {list(groups)!r}:\n"
            "    for m in group:\n        importlib.import_module(m)\n"
            "    snapshots.append(sorted(getattr(m, '__file__', None) or '' for n, m in list(sys.modules.items())"
            " if n == 'curator' or n.startswith('curator.')))\n"
            "print(json.dumps(snapshots))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [{Path(f).resolve().relative_to(ROOT).as_posix() for f in snap if f} for snap in json.loads(out)]


def _uncovered(files: set[str], deps: list[str], stage: str) -> list[str]:
    """Imported files no dep covers; an empty file (a bare package marker) runs nothing, and DVC warns
    about an empty dep on every run, so it is left out until it holds code."""
    allowed = ANNOTATIONS_ONLY.get(stage, ())
    return sorted(f for f in files if not any(f == d or f.startswith(d.rstrip("/") + "/") for d in deps)
                  and not f.startswith(allowed) and (ROOT / f).stat().st_size > 0)


@pytest.mark.parametrize("stage", [s for s in STAGES if s not in ("download", "prepare")])
def test_a_stage_depends_on_every_module_its_code_imports(stage):
    [files] = _imported_files(_modules(_package_files(ROOT / "curator" / "stages" / stage)))
    assert _uncovered(files, _stage_deps(stage), stage) == []


@pytest.mark.parametrize("source", list(all_recipes()))
def test_download_and_prepare_depend_on_the_recipe_and_its_family(source):
    recipe = _modules(_package_files(ROOT / "curator" / "sources" / source))
    download, prepare = _imported_files(recipe, _modules(_package_files(ROOT / "curator" / "stages" / "prepare")))
    for stage, files in (("download", download), ("prepare", prepare)):
        deps = _stage_deps(stage, source)
        assert f"curator/sources/{source}" in deps and f"curator/sources/{family_of(source)}" in deps
        assert _uncovered(files, deps, stage) == [], stage


def test_only_the_label_maps_no_recipe_reads_are_out_of_a_source_folders_hash():
    """.dvcignore leaves label maps out of `curator/sources/<src>` (normalize, publish and report list each);
    a recipe that reads its own map (label_map(...)) must keep it in, or editing it would not re-run prepare."""
    lines = (ROOT / ".dvcignore").read_text(encoding="utf-8").splitlines()
    assert "/curator/sources/*/labels.yaml" in lines
    kept = {m[1] for line in lines if (m := re.fullmatch(r"!/curator/sources/(\w+)/labels\.yaml", line))}
    readers = {name for name in all_recipes()
               if any("label_map(" in p.read_text(encoding="utf-8")
                      for p in _package_files(ROOT / "curator" / "sources" / name))}
    assert readers and kept == readers


# --- dvc status in a real git + DVC workspace ---------------------------------------------------------


def _run(cmd: list[str], cwd: Path) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _outputs(doc: dict, enabled: list[str]) -> list[str]:
    """Every output path of every stage (outs, metrics, plots), foreach stages expanded."""
    paths = []
    for stage in doc["stages"].values():
        body = stage.get("do", stage)
        entries = [e if isinstance(e, str) else next(iter(e))
                   for kind in ("outs", "metrics", "plots") for e in body.get(kind) or []]
        keys = enabled if "foreach" in stage else [None]
        paths += [e.replace("${key}", k) if k else e for e in entries for k in keys]
    return paths


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """This pipeline's files in a git + DVC repository, every source enabled, every output a placeholder
    recorded in dvc.lock (`dvc commit`): `dvc status` then compares only the deps."""
    ws = tmp_path_factory.mktemp("dvc") / "ws"
    ws.mkdir()
    for name in ("dvc.yaml", ".dvcignore"):
        shutil.copy(ROOT / name, ws / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("curator", "schemas", "pipelines"):
        shutil.copytree(ROOT / name, ws / name, ignore=ignore)
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["sources"]["enabled"] = families(list(all_recipes()))
    (ws / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    doc = yaml.safe_load((ws / "dvc.yaml").read_text(encoding="utf-8"))
    for out in _outputs(doc, list(all_recipes())):
        path = ws / out
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix:
            path.write_text("{}\n" if path.suffix == ".json" else "placeholder\n")
        else:
            path.mkdir(exist_ok=True)
            (path / "placeholder").write_text("x\n")
    _run(["git", "init", "-q"], ws)
    _run([str(BIN / "dvc"), "init", "-q"], ws)
    _run([str(BIN / "dvc"), "commit", "-f", "-q"], ws)
    assert "Data and pipelines are up to date" in _run([str(BIN / "dvc"), "status"], ws)
    return ws


def _status_after_edit(ws: Path, path: str) -> set[str]:
    """The stages `dvc status` marks after appending a comment to `path` (then undone)."""
    target = ws / path
    original = target.read_bytes()
    target.write_bytes(original + b"\n# an edit\n")
    try:
        out = _run([str(BIN / "dvc"), "status", "--json"], ws)
    finally:
        target.write_bytes(original)
    return set(json.loads(out[out.index("{"):]))


def _per(*sources: str) -> set[str]:
    return {f"{stage}@{s}" for stage in ("download", "prepare") for s in sources}


EMONET = ("emonet_big", "emonet_binary", "emonet_hq")
EDITS = {
    "a recipe without a family": ("curator/sources/kaggle_physio/__init__.py", _per("kaggle_physio")),
    "a module of one recipe": ("curator/sources/emer/eye.py", _per("emer")),
    "the EmoNet family": ("curator/sources/emonet/__init__.py", _per(*EMONET)),
    "the thermal family": ("curator/sources/thermal/pairing.py", _per("viri", "nvie")),
    "a label map": ("curator/sources/viri/labels.yaml", {"normalize", "publish", "report"}),
    "a label map its recipe reads": ("curator/sources/emonet_binary/labels.yaml",
                                     {"normalize", "publish", "report"} | _per("emonet_binary")),
    "a source's facts": ("curator/sources/nvie/source.yaml", _per("nvie") | {"publish", "report"}),
    "prepare's worker": ("curator/stages/prepare/worker.py", {f"prepare@{s}" for s in all_recipes()}),
    "augment's worker": ("curator/stages/augment/worker.py", {"augment"}),
    "the augment policy": ("pipelines/augment/default.yaml", {"augment", "publish"}),
    "the taxonomy": ("schemas/taxonomy.yaml", {*_per(*all_recipes()), "normalize", "split", "augment", "publish",
                                               "report"}),
}


@pytest.mark.slow
@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edit_marks_exactly_the_stages_that_read_it(workspace, edit):
    path, stages = EDITS[edit]
    assert _status_after_edit(workspace, path) == stages


@pytest.mark.slow
def test_python_bytecode_and_a_new_samples_file_of_one_source_touch_only_that_source(workspace):
    cache = workspace / "curator" / "sources" / "viri" / "__pycache__"
    cache.mkdir()
    (cache / "__init__.cpython-312.pyc").write_bytes(b"bytecode")
    try:
        assert "Data and pipelines are up to date" in _run([str(BIN / "dvc"), "status"], workspace)
    finally:
        shutil.rmtree(cache)
    assert _status_after_edit(workspace, "curator/sources/viri/samples.py") == _per("viri")


@pytest.mark.slow
def test_disabling_a_source_leaves_the_others_download_and_prepare_alone(workspace):
    params_path = workspace / "params.yaml"
    original = params_path.read_text(encoding="utf-8")
    params = yaml.safe_load(original)
    del params["sources"]["enabled"]["nvie"]
    params_path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    try:
        out = _run([str(BIN / "dvc"), "status", "--json"], workspace)
    finally:
        params_path.write_text(original, encoding="utf-8")
    changed = set(json.loads(out[out.index("{"):]))
    assert changed == {"normalize"}  # the only stage reading sources.enabled; nvie's stages are gone
