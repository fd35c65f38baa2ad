"""emonet_binary through the real CLI: a shift the user has checked is applied by a param, never by itself."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from curator.io.parquet import iter_records
from curator.sources.emonet_binary import samples as binary_samples
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("binary")
    for names in ("padded", "shifted"):
        binary_samples.build(out / names, 0, False, names)
    return {names: out / names / "emonet_binary" for names in ("padded", "shifted")}


def _prepare(raw: Path, cwd: Path, offset: int | None = None, check: bool = True):
    cwd.mkdir(parents=True, exist_ok=True)
    if offset is not None:
        (cwd / "params.yaml").write_text(yaml.safe_dump({"sources": {"emonet_binary": {"name_offset": offset}}}))
    return run_cli("prepare", "emonet_binary", "--raw", str(raw), "--out", "out", cwd=cwd, check=check)


def test_the_refusal_names_the_param_and_the_param_applies_the_shift(built: dict[str, Path], tmp_path: Path) -> None:
    refused = _prepare(built["shifted"], tmp_path / "refused", check=False)
    (line,) = refused.stderr.strip().splitlines()
    assert refused.returncode == 1 and "name_offset: -1" in line
    _prepare(built["padded"], tmp_path / "padded")
    applied = _prepare(built["shifted"], tmp_path / "applied", offset=-1)
    assert "name_offset -1 applied" in applied.stderr
    padded = {r["id"]: r for r in iter_records(tmp_path / "padded" / "out")}
    shifted = {r["id"]: r for r in iter_records(tmp_path / "applied" / "out")}
    assert shifted.keys() == padded.keys() and len(shifted) == 40  # emonet_binary/00017 holds 18.jpg
    for rid, record in shifted.items():
        assert record["image"]["path"] == f"{int(rid.rsplit('/', 1)[1]) + 1}.jpg"
        assert record["image"]["bytes"] == padded[rid]["image"]["bytes"]
        for column in ("label_original", "label_provided", "agreement", "annotations"):
            assert record[column] == padded[rid][column]


def test_the_wrong_offset_on_right_names_is_refused_too(built: dict[str, Path], tmp_path: Path) -> None:
    proc = _prepare(built["padded"], tmp_path, offset=1, check=False)
    (line,) = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and "shifted by +1 (name_offset)" in line and "name_offset: 0" in line


def test_inspect_names_the_shift_and_what_is_unverified(built: dict[str, Path], tmp_path: Path) -> None:
    refused = run_cli("inspect", "emonet_binary", str(built["shifted"]), cwd=tmp_path, check=False)
    assert refused.returncode == 1 and "name_offset: -1" in refused.stderr and "Traceback" not in refused.stderr
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"sources": {"emonet_binary": {"name_offset": -1}}}))
    out = run_cli("inspect", "emonet_binary", str(built["shifted"]), cwd=tmp_path).stdout.splitlines()
    assert "; name_offset -1 applied; unverified: that the Parquet file names are binary.csv's stems" in out[0]
    assert out[1] == "items: 40 (40 records, 0 rejected or excluded)"
    assert "not read: file README.md (1x): the Hub dataset card (README.md at the top): documentation, not data" in out
