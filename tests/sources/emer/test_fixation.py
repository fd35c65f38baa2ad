"""EMER's third subset, the eye fixation maps (kejun1/EMER README and data/example.png): found beside
face/ and eye/ (or inside eye/), excluded as unsupported_modality file by file, counted by prepare and
named by `curator inspect` — through the real CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from curator.sources.emer.samples import FIXATION_FOLDER
from tests.sources.emer.helpers import build_sample, inspect_cli, metrics, prepare_cli, rejects, rows


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("emer-fixation")
    raw = shutil.copytree(build_sample(base / "built"), base / "raw")
    inner = raw / "eye" / "Fixation maps" / "3_film_sad Sad"  # a second spelling, inside eye/
    inner.mkdir(parents=True)
    (inner / "1.png").write_bytes((raw / FIXATION_FOLDER / "3_film_happy Happy" / "0001.jpg").read_bytes())
    return raw


def test_prepare_excludes_and_counts_every_fixation_map(raw: Path, tmp_path: Path) -> None:
    out = prepare_cli(tmp_path / "ws", raw)
    files = [p.relative_to(raw).as_posix() for p in raw.rglob("*") if p.is_file()]
    maps = sorted(f for f in files if "ixation" in f)
    assert len(maps) == 5
    excluded = sorted(r["path"] for r in rejects(out) if r["reason"] == "unsupported_modality")
    assert excluded == maps
    m = metrics(out)
    assert m["rejected_by_reason"] == {"unsupported_modality": 5} and m["kept"] == 15 == len(rows(out))
    assert not any(r["image"]["path"].startswith((FIXATION_FOLDER, "eye/")) for r in rows(out).values())


def test_inspect_names_the_fixation_maps(raw: Path, tmp_path: Path) -> None:
    lines = inspect_cli(tmp_path, raw)
    assert "5 eye fixation map file(s) excluded (unsupported_modality: no column for them)" in lines[0]
    assert "rejects: unsupported_modality 5" in lines
