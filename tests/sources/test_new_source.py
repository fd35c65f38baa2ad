"""`curator new-source NAME` scaffolds a source folder that already works: in a clone of this checkout,
scaffold, `curator sync`, build the samples, and run the new source through download, prepare,
normalize, split and publish with the real CLI; the published folder loads with `datasets`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
import yaml

from tests.use.test_real_use import clone_checkout

NAME = "mysource"
FILES = ["README.md", "__init__.py", "labels.yaml", "samples.py", "source.yaml"]


def _curator(clone: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """The clone's own code, as its user runs it (PYTHONPATH at the clone, nothing else of ours)."""
    env = {k: v for k, v in os.environ.items() if k not in ("CURATOR_SCHEMAS", "CURATOR_PIPELINES")}
    proc = subprocess.run([sys.executable, "-m", "curator.cli", *args], cwd=clone, capture_output=True, text=True,
                          env={**env, "PYTHONPATH": str(clone)}, timeout=600)
    if check:
        assert proc.returncode == 0, f"curator {' '.join(args)}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    clone = clone_checkout(tmp_path_factory.mktemp("newsource") / "clone")
    out = _curator(clone, "new-source", NAME).stdout
    assert [line.removeprefix("wrote ") for line in out.splitlines()[:-1]] == [
        f"curator/sources/{NAME}/{f}" for f in FILES]
    return clone


@pytest.mark.slow
def test_the_scaffold_is_a_recipe_and_sync_lists_it_everywhere(clone):
    assert _curator(clone, "sync", "--check", check=False).returncode == 1  # the new source is not listed yet
    assert _curator(clone, "sync").stdout.strip() == "rewrote: params.yaml, README.md, dvc.yaml"
    assert _curator(clone, "sync", "--check").returncode == 0
    params = yaml.safe_load((clone / "params.yaml").read_text())
    assert params["sources"][NAME] == {"from": None, "csv": "labels.csv"}
    assert NAME not in params["sources"]["enabled"]  # source.yaml: enabled_by_default false until filled in
    assert f"| [`{NAME}`](curator/sources/{NAME}/) |" in (clone / "README.md").read_text()  # the generated table
    dvc = (clone / "dvc.yaml").read_text()
    assert dvc.count(f"- curator/sources/{NAME}/labels.yaml\n") == 3  # normalize, publish, report
    assert dvc.count(f"- curator/sources/{NAME}/source.yaml\n") == 2  # publish, report
    code = ("import importlib, json\nfrom curator.sources.recipe import Recipe, Samples\n"
            f"r = importlib.import_module('curator.sources.{NAME}')\n"
            f"s = importlib.import_module('curator.sources.{NAME}.samples')\n"
            "print(json.dumps([isinstance(r, Recipe), isinstance(s, Samples), r.INFO.name]))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=clone, capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(clone)})
    assert json.loads(proc.stdout) == [True, True, NAME]


@pytest.mark.slow
def test_the_scaffolded_source_runs_through_the_pipeline_and_loads(clone, tmp_path):
    _curator(clone, "samples", "--out", "samples", "--dirty")
    manifest = json.loads((clone / "samples" / "manifest.json").read_text())[NAME]
    assert manifest["expected"] == {"records": 24, "prepare_rejects": {"missing_image": 1}, "normalize_rejects": {}}
    (clone / "mine.yaml").write_text(f"sources:\n  enabled: {{{NAME}: {NAME}}}\nprepare: {{workers: 1}}\n")
    run = lambda *a: _curator(clone, "--params", "mine.yaml", *a).stdout  # noqa: E731
    run("download", NAME, "--from", f"samples/{NAME}")
    assert run("prepare", NAME).strip() == f"prepare {NAME}: 24 kept, 1 rejected"
    rejects = [json.loads(line) for line in (clone / "data" / "prepared" / NAME / "rejects.jsonl").open()]
    assert [(r["reason"], r["path"]) for r in rejects] == [("missing_image", "images/missing.png")]
    assert run("normalize").strip() == "normalize: 24 kept, 0 rejected"
    assert run("split").strip() == "split: 24 records assigned"
    assert "published to data/publish/emotion-curator" in run("publish")
    published = clone / "data" / "publish" / "emotion-curator"
    assert _curator(clone, "validate", str(published)).stdout.strip() == f"{published}: valid"

    ds = datasets.load_dataset(str(published), NAME, cache_dir=str(tmp_path / "cache"))
    assert sum(ds[s].num_rows for s in ds) == 24 and set(ds) == {"train", "validation", "test"}
    rows = [r for s in ds for r in ds[s].select_columns(["label", "label_original", "source"])]
    names = ds["train"].features["label"].names
    assert {(r["label_original"], names[r["label"]]) for r in rows} == {
        ("happy", "happiness"), ("sad", "sadness"), ("neutral", "neutral")}
    assert {r["source"] for r in rows} == {NAME}
    assert ds["train"][0]["image"].size == (32, 32)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "message"), [
    (NAME, f"error: curator/sources/{NAME} already exists; choose another name"),
    ("viri", "error: curator/sources/viri already exists; choose another name"),
    ("My-Source", "error: 'My-Source' is not a source name: use lower-case letters, digits and _, starting with "
                  "a letter (e.g. my_faces)"),
    ("class", "error: 'class' is not a source name"),
])
def test_an_existing_name_or_a_bad_identifier_is_one_line(clone, name, message):
    proc = _curator(clone, "new-source", name, check=False)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith(message)
