"""A model listed twice for one image counts once (its first answer), through the real CLI: the record's
annotations hold that answer once, and prepare's metrics count the answers dropped (as binary.csv's repeated
votes, tests/sources/emonet_binary)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from curator.io.parquet import iter_records
from curator.sources.emonet_big import samples as big_samples
from tests.conftest import run_cli


def test_a_model_listed_twice_counts_once(tmp_path: Path) -> None:
    big_samples.build(tmp_path / "sample", 0, False, "imagefolder")
    raw = shutil.copytree(tmp_path / "sample" / "emonet_big", tmp_path / "raw")
    metadata = raw / "data" / "train" / "metadata.jsonl"
    rows = [json.loads(line) for line in metadata.read_text().splitlines()]
    first = rows[0]["annotations"][0]
    again = {"model": first["model"], "predictions": rows[1]["annotations"][0]["predictions"]}  # other ratings
    rows[0]["annotations"] = [first, again, again]
    metadata.write_text("".join(json.dumps(r) + "\n" for r in rows))

    run_cli("prepare", "emonet_big", "--raw", str(raw), "--out", "out", cwd=tmp_path)

    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["repeated_raters_dropped"] == 2
    stem = Path(rows[0]["file_name"]).stem
    record = next(r for r in iter_records(tmp_path / "out") if r["id"].endswith(stem))
    emotions = {a["target"]: a["value"] for a in record["annotations"] if "|" not in a["target"]}
    assert {a["annotator"] for a in record["annotations"]} == {first["model"]}
    assert len(record["annotations"]) == len(first["predictions"]["emotions"]) + len(
        first["predictions"]["extra_dimensions"])  # one answer, not three
    assert emotions == {n: e["rating"] for n, e in first["predictions"]["emotions"].items()}
