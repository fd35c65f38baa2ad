"""`curator inspect SRC PATH`: what a recipe makes of a download, without writing anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.testing.samples import build_samples
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def dirty_samples(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("inspect")
    return root, build_samples(root, dirty=True)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*"))


def test_inspect_reports_layout_classes_groups_and_problems_and_writes_nothing(dirty_samples, tmp_path) -> None:
    root, manifest = dirty_samples
    before = _files(root)
    proc = run_cli("inspect", "kaggle_physio", str(root / "kaggle_physio"), cwd=tmp_path)
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("kaggle_physio: one CSV, ")
    items = manifest["kaggle_physio"]["items"]
    rejected = sum(manifest["kaggle_physio"]["expected"]["prepare_rejects"].values())
    assert rejected > 0
    assert lines[1] == f"items: {items} ({items - rejected} records, {rejected} rejected or excluded)"
    classes = dict(part.rsplit(" ", 1) for part in lines[2].removeprefix("classes: ").split(", "))
    assert set(classes) >= {"Neutral", "Happy", "Sad", "Angry", "Fear", "Surprise"}  # spellings folded by the map
    assert any(line.startswith("groups: ") and "record only" in line for line in lines)
    assert sum(line.startswith("problem: ") for line in lines) == min(rejected, 10)
    assert _files(root) == before and list(tmp_path.iterdir()) == []


def test_inspect_of_a_missing_path_is_one_line(tmp_path) -> None:
    proc = run_cli("inspect", "viri", str(tmp_path / "nope"), cwd=tmp_path, check=False)
    assert proc.returncode == 1 and proc.stderr.strip() == f"error: {tmp_path / 'nope'} does not exist"
