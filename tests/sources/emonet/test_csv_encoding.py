"""LAION's annotation CSVs (hq.csv, binary.csv) that are not UTF-8 — in the header or in a row — are a
wrong file: one line naming it and the byte, never an internal error."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.sources import recipe_samples
from tests.conftest import run_cli


@pytest.mark.parametrize(("source", "csv_name"), [("emonet_hq", "hq.csv"), ("emonet_binary", "binary.csv")])
@pytest.mark.parametrize("where", ["header", "row"])
def test_a_csv_that_is_not_utf8_is_one_line(tmp_path: Path, source: str, csv_name: str, where: str) -> None:
    raw = tmp_path / "raw"
    recipe_samples(source).build(raw, seed=0, dirty=False)
    (csv,) = raw.rglob(csv_name)
    data = csv.read_bytes()
    at = data.index(b",") if where == "header" else data.index(b"\n") + 3
    csv.write_bytes(data[:at] + b"\xff\xfe" + data[at:])
    proc = run_cli("prepare", source, "--raw", str(raw), "--out", str(tmp_path / "out"), check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: {csv_name}: not UTF-8 text") and "internal error" not in line, line
    assert not (tmp_path / "out").exists()
