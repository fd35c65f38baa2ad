"""`curator inspect` on each Big layout names what it reads, what it excludes and what it does not know."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.sources.emonet_big import UNKNOWN
from curator.sources.emonet_big import samples as big_samples
from curator.sources.emonet_big.answers import NO_ANSWER_FOLDER
from curator.testing.samples.portraits import face
from curator.testing.samples.writers import png
from tests.conftest import run_cli

KIND = {"webdataset": "webdataset", "parquet": "parquet", "imagefolder": "imagefolder",
        "answer_tree": "answers", "side_by_side": "answers"}


@pytest.mark.slow
@pytest.mark.parametrize("layout", big_samples.LAYOUTS)
def test_inspect_names_read_excluded_and_unknown(layout: str, tmp_path: Path) -> None:
    big_samples.build(tmp_path, 0, False, layout)
    raw, kind = tmp_path / "emonet_big", KIND[layout]
    (raw / "plots").mkdir()
    (raw / "plots" / "loss.png").write_bytes(png(face("Anger", 0, "plot")))
    excluded = 0
    if kind == "answers":  # the VLM failed on one image: that image is a reject, named
        next(raw.rglob("000007.json")).unlink()
        excluded = 1
    out = run_cli("inspect", "emonet_big", str(raw), cwd=tmp_path).stdout.splitlines()
    assert out[0].startswith(f"emonet_big: {kind}: ") and out[0].endswith(f"; unverified: {UNKNOWN[kind]}")
    records = big_samples.IMAGES - excluded
    assert out[1] == f"items: {big_samples.IMAGES} ({records} records, {excluded} rejected or excluded)"
    why = NO_ANSWER_FOLDER if kind == "answers" else f"not part of the {kind} layout the recipe reads"
    assert f"not read: files *.png (1x): {why}" in out
    if excluded:
        assert "rejects: missing_field 1" in out
        assert any(line.startswith("problem: emonet_big/000007: missing_field: ") and "no 000007.json" in line
                   for line in out)
