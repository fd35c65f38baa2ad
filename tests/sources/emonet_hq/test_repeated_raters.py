"""One expert's dict written several times in a `label` cell counts once, through the real CLI: the record's
scores and annotations hold each rater once, and prepare's metrics count the dicts dropped (as binary.csv's
repeated votes, tests/sources/emonet_binary)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curator.io.parquet import iter_records
from curator.record.taxonomy import taxonomy
from curator.sources.emonet_hq import label as hq_label
from curator.sources.emonet_hq import samples as hq_samples
from tests.conftest import run_cli
from tests.sources.emonet import oracle

ANGER, FEAR = "Negative High-Energy Emotions|Anger", "Negative High-Energy Emotions|Fear"


def test_a_rater_named_three_times_counts_once(tmp_path: Path) -> None:
    hq_samples.build(tmp_path / "sample", 0, False)
    raw = shutil.copytree(tmp_path / "sample" / "emonet_hq", tmp_path / "raw")
    (raw / "hq.csv").unlink()  # expert labels only: the join is not what this test is about
    shard = raw / "data" / "train-00000-of-00001.parquet"
    table = pq.read_table(shard)
    labels = table.column("label").to_pylist()
    # human-1 says Fear twice at 7, then (its last dict, the one kept) Anger 2; human-2 says Anger 6
    labels[0] = str([{"human-1": {FEAR: 7}}, {"human-1": {FEAR: 7}}, {"human-2": {ANGER: 6}},
                     {"human-1": {ANGER: 2}}])
    pq.write_table(table.set_column(table.schema.get_field_index("label"), "label", pa.array(labels)), shard)

    run_cli("prepare", "emonet_hq", "--raw", str(raw), "--out", "out", cwd=tmp_path)

    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["repeated_raters_dropped"] == 2
    kept = {"human-1": {ANGER: 2}, "human-2": {ANGER: 6}}
    record = {r["id"]: r for r in iter_records(tmp_path / "out")}[
        f"emonet_hq/{hq_label.record_key(oracle.signature(kept))}"]
    assert record["label_original"] == "Anger"
    assert record["scores"][taxonomy().fine.index("Anger")] == pytest.approx(4 / 7)
    assert record["scores"][taxonomy().fine.index("Fear")] == 0
    assert sorted(a["annotator"] for a in record["annotations"]) == ["human-1", "human-2"]
