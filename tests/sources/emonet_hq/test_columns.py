"""emonet_hq through the real CLI: LAION's 8 columns mapped, every other Parquet column named as not read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curator.io.parquet import iter_records
from curator.sources import emonet_hq
from curator.sources.emonet.strays import CARD_WHY
from curator.sources.emonet_hq import samples as hq_samples
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hq")
    hq_samples.build(out, 0, False)
    return out / "emonet_hq"


def _prepare(raw: Path, cwd: Path) -> tuple[list[dict], dict]:
    cwd.mkdir(parents=True, exist_ok=True)
    run_cli("prepare", "emonet_hq", "--raw", str(raw), "--out", "out", "--metrics", "metrics.json", cwd=cwd)
    return list(iter_records(cwd / "out")), json.loads((cwd / "metrics.json").read_text())


def _rows(raw: Path) -> list[dict]:
    (shard,) = raw.rglob("*.parquet")
    return pq.read_table(shard).to_pylist()


def test_emotion_and_ind_are_kept_as_laion_writes_them(sample: Path, tmp_path: Path) -> None:
    records, metrics = _prepare(sample, tmp_path)
    rows = {row["path"]["bytes"]: row for row in _rows(sample)}
    assert len(records) == len(rows) == hq_samples.IMAGES
    for record in records:
        row = rows[record["image"]["bytes"]]
        assert record["label_provided"] == row["Emotion"] and "," in row["Emotion"]  # the prompted words, as given
        assert record["source_index"] == row["ind"]
        assert record["prompt"] == row["Prompt"]
        assert record["demographics"] == {"ethnicity": row["Ethnicity"], "gender": row["Gender"],
                                          "age": str(row["Age"])}
    assert metrics["not_read"] == [{"what": "Parquet column 'image_metadata'",
                                    "why": emonet_hq.NOT_READ["image_metadata"], "count": 1},
                                   {"what": "file README.md", "why": CARD_WHY, "count": 1}]


def test_an_unknown_column_is_named_not_read_and_changes_no_record(sample: Path, tmp_path: Path) -> None:
    before, _ = _prepare(sample, tmp_path / "before")
    raw = shutil.copytree(sample, tmp_path / "raw")
    (shard,) = raw.rglob("*.parquet")
    table = pq.read_table(shard)
    pq.write_table(table.append_column("seed", pa.array(range(table.num_rows), pa.int64())), shard)
    after, metrics = _prepare(raw, tmp_path / "after")
    assert after == before
    assert {(n["what"], n["count"]) for n in metrics["not_read"]} == {("Parquet column 'image_metadata'", 1),
                                                                     ("Parquet column 'seed'", 1),
                                                                     ("file README.md", 1)}
    assert next(n["why"] for n in metrics["not_read"] if "seed" in n["what"]) == emonet_hq.UNKNOWN_COLUMN
    shown = run_cli("inspect", "emonet_hq", str(raw), cwd=tmp_path).stdout
    assert "not read: seed, image_metadata" in shown or "not read: image_metadata, seed" in shown
    assert "not read: Parquet column 'seed' (1x): " + emonet_hq.UNKNOWN_COLUMN in shown
    assert "Emotion (as provided), ind (as index)" in shown


def test_a_bad_ind_never_loses_the_record(sample: Path, tmp_path: Path) -> None:
    raw = shutil.copytree(sample, tmp_path / "raw")
    (shard,) = raw.rglob("*.parquet")
    table = pq.read_table(shard)
    ind = pa.array(["n/a", *map(str, table.column("ind").to_pylist()[1:])])
    pq.write_table(table.set_column(table.schema.get_field_index("ind"), "ind", ind), shard)
    records, _ = _prepare(raw, tmp_path)
    assert len(records) == hq_samples.IMAGES
    assert sorted(r["source_index"] is None for r in records).count(True) == 1
