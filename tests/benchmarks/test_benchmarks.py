"""The benchmark command still runs end to end (tiny N): every measurement, the ratio table, the
record counts. No timing is asserted: ratios on a shared CI machine mean nothing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
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
                 "curator prepare, whole process", "curator pipeline, 5 whole processes",
                 "tuned datasets pipeline, equal output (JPEG by hand, originals never decoded)"):
        assert what in rows, f"{what!r} missing from the table:\n{proc.stdout}"
    records = {what: int(cells[0]) for what, cells in rows.items() if cells[0].strip().isdigit()}
    assert records["curator prepare"] == records["curator normalize"] == records["curator split"] == N
    assert 0 < records["curator augment, 2 workers"] == records["curator augment, 1 worker"] < N  # the train share
    # the naive pipeline publishes curator's rows: every split, same ids and parents (benchmarks/equal.py)
    for pipeline in ("Naive", "Tuned"):
        assert re.search(rf"^{pipeline} pipeline: Equal output \(rows per split.*\): True\.$", proc.stdout, re.M), \
            proc.stdout[-3000:]
    for what in ("curator prepare", "curator augment, 2 workers", "curator pipeline, prepare..publish",
                 "curator prepare, whole process"):
        ratio = rows[what][2].strip()
        assert float(ratio) > 0, f"{what}: no ratio"
        assert rows[what][5].strip() in ("yes", "**no**")  # a verdict against its target
    assert results.read_bytes() == recorded  # --no-record: a smoke run never adds an entry


def test_scale_benchmark_runs_every_stage_as_a_cli_process(tmp_path):
    """The EmoNet-Big scale entry at a tiny N (the real run is 203,201 images): the layout is the recipe's,
    every stage runs, and the tables carry time, RSS and output per stage."""
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.scale", "--n", "40", "--also", "20", "--no-record", "--work", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = re.findall(r"^\| (prepare|normalize|split|augment|publish) \| ([\d.]+) \|", proc.stdout, re.M)
    assert [stage for stage, _ in rows[:5]] == ["prepare", "normalize", "split", "augment", "publish"]
    assert len(rows) == 10  # a stage table per N
    growth = re.findall(r"^\| (prepare|normalize|split|augment|publish) \| \d+ MiB \| \d+ MiB \| [+-]\d+% \|",
                        proc.stdout, re.M)
    assert growth == ["prepare", "normalize", "split", "augment", "publish"]  # the RSS comparison
    kept = re.search(r"^\| prepare \| [\d.]+ \| \d+ \| [^|]+ \| [^|]+ \| (\d+) \|", proc.stdout, re.M)
    assert kept and int(kept.group(1)) == 20  # every synthesized sample became a record (the smaller N first)
    assert "Peak RSS from 20 to 40 images" in proc.stdout


def test_cli_cost_benchmark_times_help_and_tiny_stage_calls():
    proc = subprocess.run([sys.executable, "-m", "benchmarks.clicost", "--repeat", "1", "--no-record"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for what in ("curator normalize --help", "curator normalize (30 records)", "curator publish (30 records"):
        assert re.search(rf"^\| `{re.escape(what)}.*\| (yes|\*\*no\*\*) \|$", proc.stdout, re.M), what


def test_versus_benchmark_alternates_prepare_and_the_bare_decode_loop(tmp_path):
    """`benchmarks.versus` (prepare against the bare decode loop, whole processes): both rows, the
    pair-by-pair verdict, and prepare's output really written; RESULTS.md untouched with --no-record."""
    results = ROOT / "benchmarks" / "RESULTS.md"
    recorded = results.read_bytes()
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.versus", "--n", str(N), "--sizes", "64", "--rounds", "1", "--no-record",
         "--work", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(r"^\| bare full-decode loop \| [\d.]+ \| [\d.]+ \|$", proc.stdout, re.M), proc.stdout
    assert re.search(r"^\| curator prepare \| [\d.]+ \| [\d.]+ \|$", proc.stdout, re.M), proc.stdout
    assert re.search(r"prepare / bare loop, pair by pair \(median\): speed \*\*[\d.]+×\*\*", proc.stdout)
    assert len(list((tmp_path / "prepared64").rglob("*.parquet"))) >= 1
    assert results.read_bytes() == recorded
