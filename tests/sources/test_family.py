"""A recipe's family is the shared package its code imports; params.yaml `sources.enabled` names it, and
the config refuses one that disagrees (dvc.yaml's per-source deps come from it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.config import Config, load_config
from curator.errors import CuratorError
from curator.sources import all_recipes
from curator.sources.family import family_of
from tests.conftest import run_cli


def test_families_are_the_sibling_packages_recipes_import():
    family = {name: family_of(name) for name in all_recipes()}
    assert family["emonet_hq"] == family["emonet_binary"] == family["emonet_big"] == "emonet"
    assert family["viri"] == family["nvie"] == "thermal"
    assert family["kaggle_physio"] == "kaggle_physio" and family["emer"] == "emer"  # no family: itself


def _recipe(root: Path, name: str, code: str) -> None:
    (root / name).mkdir()
    (root / name / "__init__.py").write_text(code)
    (root / name / "source.yaml").write_text(f"name: {name}\n")


def test_any_import_form_counts_and_samples_do_not(tmp_path):
    for family in ("shared", "other"):
        (tmp_path / family).mkdir()
        (tmp_path / family / "__init__.py").write_text("")
    _recipe(tmp_path, "a", "def f():\n    from curator.sources.shared.x import y\n")  # function level
    _recipe(tmp_path, "b", "from curator.sources import shared, recipe\n")
    (tmp_path / "b" / "samples.py").write_text("from curator.sources import other\n")  # samples: not the recipe
    _recipe(tmp_path, "c", "import curator.sources.a\nimport curator.sources.c.sub\n")  # a recipe is no family
    _recipe(tmp_path, "d", "from curator.sources import shared, other\n")
    assert [family_of(n, tmp_path) for n in "abc"] == ["shared", "shared", "c"]
    with pytest.raises(CuratorError, match=r"source 'd' imports 2 family packages \(other, shared\)"):
        family_of("d", tmp_path)


def test_a_list_of_names_is_read_as_the_mapping():
    assert Config({"sources": {"enabled": ["viri", "emer"]}}).sources.enabled == {"viri": "thermal", "emer": "emer"}


def test_a_wrong_family_is_one_line_naming_the_right_one_and_sync(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("sources:\n  enabled:\n    viri: emonet\n    emer: emer\n")
    with pytest.raises(CuratorError) as err:
        load_config(path)
    assert str(err.value) == (f"{path}:2: sources.enabled: viri: family 'emonet' is not the package its recipe "
                              "imports; write `viri: thermal` (or run `curator sync`)")
    proc = run_cli("params", "--check", cwd=tmp_path, check=False)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "write `viri: thermal`" in proc.stderr


def test_an_unknown_source_in_the_mapping_is_named(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("sources:\n  enabled: {virri: thermal}\n")
    with pytest.raises(CuratorError, match=r"params.yaml:2: sources.enabled: unknown source 'virri'; known: emer"):
        load_config(path)
