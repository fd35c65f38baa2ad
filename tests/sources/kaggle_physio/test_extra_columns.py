"""Kaggle table with columns the evidence does not list, through the real CLI: the rows are read as
before, byte for byte, and each extra column is listed as not read — never a reject, never a stop."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curator.sources.kaggle_physio import NOT_EVIDENCED
from curator.sources.kaggle_physio import samples as kaggle_samples
from tests.conftest import run_cli

CSV = "face_emotion_physio.csv"


def _prepare(ws: Path, csv_path: Path) -> Path:
    ws.mkdir(parents=True)
    run_cli("download", "kaggle_physio", "--from", str(csv_path), cwd=ws)
    run_cli("prepare", "kaggle_physio", cwd=ws)
    return ws / "data" / "prepared" / "kaggle_physio"


def _rows(out: Path) -> list[dict]:
    return [r for f in sorted(out.glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


def _with_extra_columns(src: Path, dst: Path) -> int:
    """Insert a text column in the middle, a second `hr_mean` and a trailing unnamed column; change the
    label header's case. Returns the number of data rows."""
    rows = list(csv.reader(io.StringIO(src.read_text())))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for k, row in enumerate(rows):
        extra = ("session_note", "hr_mean", "") if k == 0 else (f"s{k}", "999", str(k))
        if k == 0:
            row = [*row[:-1], "Emotion_Label"]
        writer.writerow([*row[:3], extra[0], *row[3:], extra[1], extra[2]])
    dst.write_text(out.getvalue())
    return len(rows) - 1


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("kaggle-extra")
    kaggle_samples.build(base / "built", seed=0, dirty=False)
    src = base / "built" / "kaggle_physio" / CSV
    (base / "extra").mkdir()
    n = _with_extra_columns(src, base / "extra" / CSV)
    return {"plain": _prepare(base / "plain", src), "extra": _prepare(base / "extra-ws", base / "extra" / CSV),
            "n": n, "inspect": run_cli("inspect", "kaggle_physio", str(base / "extra"), cwd=base).stdout}


def test_extra_columns_leave_every_record_identical(runs: dict) -> None:
    plain, extra = _rows(runs["plain"]), _rows(runs["extra"])
    assert len(extra) == runs["n"] == 120 and extra == plain  # same ids, physio values and labels


def test_extra_columns_are_listed_as_not_read(runs: dict) -> None:
    metrics = json.loads((runs["extra"] / "metrics.json").read_text())
    assert metrics["rejected"] == 0 and metrics["kept"] == 120
    assert sorted((n["what"], n["count"]) for n in metrics["not_read"]) == [
        (f"{CSV} column '(unnamed column 16)'", 1), (f"{CSV} column 'hr_mean'", 1),
        (f"{CSV} column 'session_note'", 1)]
    assert {n["why"] for n in metrics["not_read"]} == {NOT_EVIDENCED}
    assert "not_read" not in json.loads((runs["plain"] / "metrics.json").read_text())
    assert f"not read: {CSV} column 'session_note' (1x): {NOT_EVIDENCED}" in runs["inspect"]
