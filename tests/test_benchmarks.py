"""The benchmark command still runs end to end (tiny N): every measurement, the ratio table, the
record counts. No timing is asserted: ratios on a shared CI machine mean nothing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
N = 12


def test_benchmark_command_measures_every_stage_and_prints_ratios(tmp_path):
    results = ROOT / "benchmarks" / "RESULTS.md"
    recorded = results.read_bytes()
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--n", str(N), "--sizes", "64", "--no-dvc", "--no-record",
         "--work", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {m.group(1).strip(): m.group(2).split("|") for m in re.finditer(r"^\| ([^|]+) \|(.*)$", proc.stdout, re.M)}
    for what in ("curator prepare", "curator normalize", "curator split", "curator publish",
                 "curator augment, 2 workers", "curator augment, 1 worker", "curator pipeline, prepare..publish",
                 "naive datasets pipeline, equal output (imagefolder, map, to_parquet)",
                 "curator prepare, whole process", "curator pipeline, 5 whole processes"):
        assert what in rows, f"{what!r} missing from the table:\n{proc.stdout}"
    records = {what: int(cells[0]) for what, cells in rows.items() if cells[0].strip().isdigit()}
    assert records["curator prepare"] == records["curator normalize"] == records["curator split"] == N
    assert 0 < records["curator augment, 2 workers"] == records["curator augment, 1 worker"] < N  # the train share
    # the naive pipeline publishes curator's rows: every split, same ids and parents (benchmarks/equal.py)
    assert re.search(r"^Equal output \(rows per split.*\): True\.$", proc.stdout, re.M), proc.stdout[-3000:]
    for what in ("curator prepare", "curator augment, 2 workers", "curator pipeline, prepare..publish",
                 "curator prepare, whole process"):
        ratio = rows[what][2].strip()
        assert float(ratio) > 0, f"{what}: no ratio"
        assert rows[what][5].strip() in ("yes", "**no**")  # a verdict against its target
    assert results.read_bytes() == recorded  # --no-record: a smoke run never adds an entry
