"""`curator sync`: the checkout's derived files are in sync; a changed copy is named stale, then rewritten."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from curator.commands.sync import BEGIN, END
from curator.config import load_config, render_defaults, render_params
from curator.sources import all_recipes, markdown_table
from tests.conftest import ROOT, run_cli

DERIVED = ("params.yaml", "README.md", "dvc.yaml")


def _copy(tmp_path: Path) -> Path:
    """The derived files in a scratch folder, with the checkout's code as its curator/ (the code that runs)."""
    root = tmp_path / "checkout"
    root.mkdir()
    for name in DERIVED:
        shutil.copy(ROOT / name, root / name)
    (root / "curator").symlink_to(ROOT / "curator")
    return root


def test_the_checkout_is_in_sync(cli):
    proc = cli("sync", "--check", cwd=ROOT)
    assert proc.stdout.strip() == "every derived file is in sync"


def test_a_stale_copy_is_named_then_rewritten(tmp_path):
    root = _copy(tmp_path)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["sources"]["enabled"] = ["viri"]  # a hand-written list: valid, but not the rendered form
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    readme = (root / "README.md").read_text()
    (root / "README.md").write_text(readme.replace("[`viri`]", "[`viri (old)`]"))
    dvc = (root / "dvc.yaml").read_text()
    dropped = "      - curator/sources/nvie/labels.yaml\n"
    assert dvc.count(dropped) == 3  # normalize, publish, report
    (root / "dvc.yaml").write_text(dvc.replace(dropped, ""))

    proc = run_cli("sync", "--check", cwd=root, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "error: out of date: params.yaml, README.md, dvc.yaml; run `curator sync`"
    assert (root / "dvc.yaml").read_text() != dvc  # --check changed nothing

    assert run_cli("sync", cwd=root).stdout.strip() == "rewrote: params.yaml, README.md, dvc.yaml"
    rewritten = yaml.safe_load((root / "params.yaml").read_text())
    assert rewritten["sources"]["enabled"] == {"viri": "thermal"}  # the project's choice, in the rendered form
    assert (root / "params.yaml").read_text() == render_params(load_config(root / "params.yaml"))
    assert (root / "dvc.yaml").read_text() == dvc
    text = (root / "README.md").read_text()
    assert text == readme and text[text.index(BEGIN) + len(BEGIN) + 1:text.index(END)] == markdown_table()
    assert run_cli("sync", "--check", cwd=root).returncode == 0


def test_every_sources_label_map_is_listed_for_the_stages_that_read_them():
    doc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    readers = {"normalize": ["labels"], "publish": ["source", "labels"], "report": ["source", "labels"]}
    for stage, files in readers.items():
        deps = doc["stages"][stage]["deps"]
        assert {f"curator/sources/{s}/{f}.yaml" for s in all_recipes() for f in files} <= set(deps), stage


def test_the_params_yaml_names_each_enabled_source_with_its_family():
    enabled = yaml.safe_load((ROOT / "params.yaml").read_text())["sources"]["enabled"]
    expected = {name: name for name, r in all_recipes().items() if r.INFO.enabled_by_default}
    expected.update({k: v for k, v in {"emonet_binary": "emonet", "emonet_hq": "emonet", "emonet_big": "emonet",
                                       "viri": "thermal", "nvie": "thermal"}.items() if k in expected})
    assert enabled == expected


def test_a_readme_without_the_markers_is_one_line(tmp_path):
    root = _copy(tmp_path)
    (root / "README.md").write_text("# a readme with no table\n")
    proc = run_cli("sync", cwd=root, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"error: README.md has no {BEGIN} ... {END} pair around the source table; add them"


@pytest.mark.parametrize("where", ["no curator folder", "another checkout's code"])
def test_sync_refuses_a_folder_whose_code_is_not_the_one_running(tmp_path, where):
    root = tmp_path / "elsewhere"
    root.mkdir()
    for name in DERIVED:
        shutil.copy(ROOT / name, root / name)
    if where == "another checkout's code":
        (root / "curator").mkdir()
    proc = run_cli("sync", cwd=root, check=False)
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1
    assert ("is not a curator checkout" in proc.stderr) == (where == "no curator folder")
    assert (root / "params.yaml").read_bytes() == (ROOT / "params.yaml").read_bytes()


def test_sync_keeps_the_projects_values_and_adds_what_is_new(tmp_path):
    """Editing a knob then syncing must not undo the edit; a param the file lacks gets its default."""
    root = _copy(tmp_path)
    text = (root / "params.yaml").read_text()
    edited = text.replace("  seed: 20250523", "  seed: 7", 1)
    assert edited != text
    params = yaml.safe_load(edited)
    del params["publish"]["shard_max_bytes"]  # a param this file predates
    disabled = dict(params["sources"]["enabled"])
    disabled.pop("emonet_hq")  # a default source the project turned off stays off
    params["sources"]["enabled"] = disabled
    (root / "params.yaml").write_text(yaml.safe_dump(params))

    assert run_cli("sync", cwd=root).stdout.strip() == "rewrote: params.yaml"
    after = yaml.safe_load((root / "params.yaml").read_text())
    assert after["split"]["seed"] == 7
    assert after["publish"]["shard_max_bytes"] == yaml.safe_load(render_defaults())["publish"]["shard_max_bytes"]
    assert after["sources"]["enabled"] == disabled
    assert "# " in (root / "params.yaml").read_text()  # the comments are back


def test_sync_refuses_a_params_file_that_does_not_load(tmp_path):
    root = _copy(tmp_path)
    broken = (root / "params.yaml").read_text().replace("  seed: 20250523", "  seed: forty-two", 1)
    (root / "params.yaml").write_text(broken)
    proc = run_cli("sync", cwd=root, check=False)
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1
    assert "split.seed" in proc.stderr and "fix that first" in proc.stderr
    assert (root / "params.yaml").read_text() == broken
