"""The augment stage: train only, deterministic for any worker count, provenance on every row."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from curator.config import Augment, Split
from curator.io.parquet import ShardWriter, iter_records, shard_paths
from curator.pipeline.lineage import stamp
from curator.record.record import empty_record
from curator.record.schema import arrow_schema
from curator.stages.augment.stage import run_augment
from curator.stages.split.stage import run_split
from tests.conftest import ROOT, run_cli

POLICY = str(ROOT / "pipelines" / "augment" / "default.yaml")


def _jpeg(i: int, mode: str = "RGB") -> bytes:
    img = Image.new(mode, (96, 96), (40 + i * 7) % 255 if mode == "L" else (30, (i * 37) % 255, 90))
    ImageDraw.Draw(img).rectangle((20 + i % 30, 30, 50 + i % 30, 60), fill=255 if mode == "L" else (250, 250, 250))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92)
    return buf.getvalue()


def _records(n: int = 40) -> list[dict]:
    rows = []
    for i in range(n):
        rec = empty_record()
        rec.update(id=f"viri/Happy/p{i}", source="viri", group_id=f"viri/p{i}", license="test",
                   label=1 if i % 2 else 2, label_original="Happy" if i % 2 else "Sad",
                   image={"bytes": _jpeg(i), "path": f"p{i}.JPG"})
        if i % 4 == 0:
            rec["infrared"] = {"bytes": _jpeg(i, "L"), "path": f"p{i}_IR.JPG"}
        rows.append(rec)
    for i in range(6):  # tabular rows: nothing to augment
        rec = empty_record()
        rec.update(id=f"kaggle_physio/{i}", source="kaggle_physio", group_id=f"k{i}", license="MIT", label=0,
                   label_original="Neutral", physio={"hr_mean": float(i)})
        rows.append(rec)
    return rows


@pytest.fixture(scope="module")
def split_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("aug")
    with ShardWriter(root / "normalized", arrow_schema()) as writer:
        writer.write_rows(_records())
    stamp(root / "normalized", "normalized")  # hand-made records, declared as normalize's output
    run_split(root / "normalized", root / "split", Split(seed=1))
    return root / "split"


def _conf(workers: int, **changes: Any) -> Augment:
    return Augment(**{"policy": str(POLICY), "copies": 2, "seed": 7, "workers": workers, "jpeg_quality": 90, **changes})


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in shard_paths(folder):
        h.update(path.read_bytes())
    return h.hexdigest()


def test_one_and_two_workers_give_identical_bytes(split_dir, tmp_path):
    run_augment(split_dir, tmp_path / "w1", _conf(1))
    run_augment(split_dir, tmp_path / "w2", _conf(2))
    assert _digest(tmp_path / "w1") == _digest(tmp_path / "w2")
    assert (tmp_path / "w1" / "before_after.png").read_bytes() == (tmp_path / "w2" / "before_after.png").read_bytes()


def test_only_train_images_are_augmented_with_provenance(split_dir, tmp_path):
    result = run_augment(split_dir, tmp_path / "out", _conf(1))
    train = list(iter_records(split_dir / "train"))
    train_images = {r["id"] for r in train if r["image"] is not None}
    rows = list(iter_records(tmp_path / "out"))
    assert len(rows) == 2 * len(train_images) == result["augmented_rows"]
    assert {r["augmented_from"] for r in rows} == train_images
    parents = {r["id"]: r for r in train}
    for row in rows:
        parent = parents[row["augmented_from"]]
        transform = json.loads(row["transform"])
        assert transform["seed"] and transform["geometric"]["applied"] is not None
        assert row["label"] == parent["label"] and row["group_id"] == parent["group_id"]
        assert (row["infrared"] is None) == (parent["infrared"] is None)
        assert row["image"]["bytes"] != parent["image"]["bytes"]
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["inputs"] == metrics["kept"] == len(train_images)
    assert metrics["not_applicable"] == sum(1 for r in train if r["image"] is None) > 0


def test_a_different_seed_changes_the_output(split_dir, tmp_path):
    run_augment(split_dir, tmp_path / "a", _conf(1))
    run_augment(split_dir, tmp_path / "b", _conf(1, seed=8))
    assert _digest(tmp_path / "a") != _digest(tmp_path / "b")


def test_before_after_grid_is_written(split_dir, tmp_path):
    run_augment(split_dir, tmp_path / "out", _conf(1))
    grid = Image.open(tmp_path / "out" / "before_after.png")
    assert grid.width == 4 * 128 and grid.height > 128


def test_cli_augment_then_publish_carries_augmented_rows(split_dir, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(f"augment: {{policy: {POLICY}, copies: 1, seed: 0, workers: 1, jpeg_quality: 85}}\n")
    run_cli("--params", str(params), "augment", "--in", str(split_dir), "--out", str(tmp_path / "aug"))
    run_cli("--params", str(params), "publish", "--in", str(split_dir), "--augmented", str(tmp_path / "aug"),
            "--out", str(tmp_path / "pub"))
    import datasets

    ds = datasets.load_dataset(str(tmp_path / "pub"), "faces")
    augmented = list(ds["train_augmented"])  # the copies are their own split; train holds the originals
    assert augmented and all(r["augmented_from"] for r in augmented)
    assert not any(r["augmented_from"] for split in ("train", "test") for r in ds[split])
    assert augmented[0]["image"].size == (96, 96)
    assert (tmp_path / "pub" / "augment.yaml").read_text() == Path(POLICY).read_text()


@pytest.mark.parametrize("workers", [1, 2])
def test_an_undecodable_train_image_is_rejected_and_every_record_accounted_for(tmp_path, workers):
    # prepare validates images, so this is a train shard damaged or hand-made afterwards
    rows = _records(12)
    rows[3]["image"] = {"bytes": b"\xff\xd8 not a jpeg", "path": "p3.JPG"}
    with ShardWriter(tmp_path / "split" / "train", arrow_schema()) as writer:
        writer.write_rows(rows)
    stamp(tmp_path / "split", "split")
    result = run_augment(tmp_path / "split", tmp_path / "out", _conf(workers, copies=1))
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert (metrics["inputs"], metrics["kept"], metrics["rejected"]) == (12, 11, 1)
    assert metrics["not_applicable"] == 6  # the tabular rows are not inputs of this stage
    assert result["augmented_rows"] == 11
    rejects = [json.loads(line) for line in (tmp_path / "out" / "rejects.jsonl").read_text().splitlines()]
    assert [(r["id"], r["source"], r["reason"]) for r in rejects] == [("viri/Happy/p3", "viri", "corrupt_image")]
    children = list(iter_records(tmp_path / "out"))
    assert [c["augmented_from"] for c in children] == [r["id"] for r in rows[:12] if r["id"] != "viri/Happy/p3"]
    assert all(c["id"] == f"{c['augmented_from']}#aug0" and c["hashes"] is None for c in children)
