"""dvc.yaml's code deps are what the code reads (curator.dvcdeps), and the check catches drift.

The `dvc status` side (editing a family module marks exactly the stages that use it) runs on a
real git clone in tests/use/test_real_use.py.
"""

from __future__ import annotations

import ast
import os
import shutil
from pathlib import Path

import pytest

from curator import dvcdeps

ROOT = Path(__file__).resolve().parent.parent


def _project_copy(tmp_path: Path) -> Path:
    """dvc.yaml and the family links of this checkout, in a scratch folder the check can read."""
    shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    shutil.copytree(ROOT / "dvcdeps", tmp_path / "dvcdeps", symlinks=True)
    return tmp_path


def test_dvc_yaml_and_family_links_match_the_code():
    assert dvcdeps.check(ROOT) == []


def test_the_committed_dvc_yaml_is_what_the_generator_writes():
    text = (ROOT / "dvc.yaml").read_text(encoding="utf-8")
    assert dvcdeps.rewrite(text) == text


def test_function_level_imports_and_cli_helpers_are_followed():
    prepare = dvcdeps.stage_deps("prepare", per_source=True)
    # imported only inside cli.prepare(), inside run_prepare's modules, and inside cli._executor_conf()
    assert {"curator/stages/prepare/stage.py", "curator/stages/prepare/worker.py", "curator/io/images.py",
            "curator/pipeline/executor.py", "curator/cli.py"} <= set(prepare)
    # the recipe is found at run time: its folder, its family link, and what recipes import
    assert {"curator/sources/${item}", "dvcdeps/family/${item}", "curator/sources/fetch.py",
            "curator/io/extract.py"} <= set(prepare)
    # EmoNet recipes call taxonomy(): prepare reads taxonomy.yaml; emonet_binary reads only its own
    # label map (label_map(NAME)), which the per-source map link carries, not the whole folder
    assert "schemas/taxonomy.yaml" in prepare and "schemas/maps" not in prepare
    assert "dvcdeps/map/${item}" in prepare
    assert not any(d.startswith("curator/sources/emonet") for d in prepare)  # through the link only


def test_stages_do_not_depend_on_other_stages_modules():
    normalize = set(dvcdeps.stage_deps("normalize", per_source=False))
    augment = set(dvcdeps.stage_deps("augment", per_source=False))
    assert "schemas/maps" in normalize and "curator/stages/normalize/stage.py" in normalize
    shared = ("normalize", "run", "lineage")  # run.py and lineage.py: what every stage shares (the contract)
    assert not {d for d in normalize if d.startswith("curator/stages/") and not any(s in d for s in shared)}
    assert "${augment.policy}" in augment and "schemas/maps" not in augment
    assert "curator/stages/split/stage.py" not in augment and "curator/stages/prepare/stage.py" not in augment


def test_publish_reads_every_recipes_info_but_not_the_download_code():
    publish = set(dvcdeps.stage_deps("publish", per_source=False))
    for recipe in dvcdeps.recipes():
        assert f"curator/sources/{recipe}/__init__.py" in publish
    assert "curator/io/download.py" not in publish and "curator/stages/prepare/stage.py" not in publish


def test_families_are_the_sibling_packages_recipes_import():
    family = {r: dvcdeps.family_of(r) for r in dvcdeps.recipes()}
    assert family["emonet_hq"] == family["emonet_binary"] == family["emonet_big"] == "emonet"
    assert family["viri"] == family["nvie"] == "thermal"
    assert family["kaggle_physio"] is None
    assert os.readlink(ROOT / "dvcdeps" / "family" / "viri") == "../../curator/sources/thermal"


def test_map_links_point_at_the_map_a_recipe_reads():
    assert dvcdeps.map_target("emonet_binary") == "schemas/maps/emonet_binary.yaml"  # label_map(NAME)
    assert dvcdeps.map_target("viri") == "curator/sources/__init__.py"  # reads no map: a file already a dep
    assert os.readlink(ROOT / "dvcdeps" / "map" / "emonet_binary") == "../../schemas/maps/emonet_binary.yaml"


@pytest.mark.parametrize(("call", "own"), [
    ('label_map("emonet_binary")', True), ("label_map(NAME)", True),  # emonet_binary's NAME holds its name
    ('label_map("viri")', False), ("label_map(source)", False), ("label_map()", False),
])
def test_only_a_call_naming_the_recipe_itself_pins_its_own_map(call, own):
    """Any other label_map call makes the map link point at the whole schemas/maps folder."""
    node = ast.parse(call).body[0].value
    assert dvcdeps.walk._names_its_own_map("emonet_binary", "curator.sources.emonet_binary", node) is own


def test_a_missing_dep_is_named(tmp_path):
    root = _project_copy(tmp_path)
    text = (root / "dvc.yaml").read_text()
    assert "        - curator/stages/prepare/worker.py\n" in text
    (root / "dvc.yaml").write_text(text.replace("        - curator/stages/prepare/worker.py\n", "", 1))
    assert dvcdeps.check(root) == [
        "stage prepare (curator prepare) misses deps: curator/stages/prepare/worker.py"]


def test_an_unneeded_dep_is_named(tmp_path):
    root = _project_copy(tmp_path)
    text = (root / "dvc.yaml").read_text()
    (root / "dvc.yaml").write_text(text.replace("      - curator/stages/split/stage.py\n",
                                                "      - curator/stages/split/stage.py\n      - curator/demo.py\n", 1))
    problems = dvcdeps.check(root)
    assert problems == ["stage split (curator split) lists deps its code does not read: curator/demo.py"]


def test_a_wrong_or_missing_family_link_is_named(tmp_path):
    root = _project_copy(tmp_path)
    (root / "dvcdeps" / "family" / "viri").unlink()
    (root / "dvcdeps" / "family" / "viri").symlink_to("../../curator/sources/emonet")
    (root / "dvcdeps" / "family" / "nvie").unlink()
    nvie, viri = dvcdeps.check(root)  # in recipe order
    assert viri.startswith("dvcdeps/family/viri should be a symlink to ../../curator/sources/thermal, found ")
    assert nvie.startswith("dvcdeps/family/nvie should be a symlink") and "found nothing" in nvie
    dvcdeps.write_links(root)
    assert dvcdeps.check(root) == []


@pytest.mark.parametrize("command", ["sources", "nosuch"])
def test_a_dvc_stage_running_an_unknown_command_is_an_error(command):
    if command == "sources":  # a real command that no stage runs still resolves
        assert "curator/cli.py" in dvcdeps.stage_deps(command, per_source=False)
    else:
        with pytest.raises(KeyError, match="no command 'nosuch'"):
            dvcdeps.stage_deps(command, per_source=False)
