"""The first end-to-end slice through the real CLI: samples -> prepare -> normalize -> split ->
publish -> datasets.load_dataset, for the Kaggle physiological table."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import datasets
import pytest

from curator.io.rejects import read_rejects
from curator.record.taxonomy import taxonomy
from tests.conftest import run_cli

SOURCE = "kaggle_physio"
RATIOS = {"train": 0.70, "validation": 0.15, "test": 0.15}


def _pipeline(work: Path, *, dirty: bool) -> Path:
    run_cli("samples", "--out", "s", *(["--dirty"] if dirty else []), cwd=work)
    run_cli("prepare", SOURCE, "--raw", f"s/{SOURCE}", "--out", "prepared", cwd=work)
    run_cli("normalize", "--in", "prepared", "--out", "normalized", cwd=work)
    run_cli("split", "--in", "normalized", "--out", "split", cwd=work)
    run_cli("publish", "--in", "split", "--out", "published", cwd=work)
    return work


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    return _pipeline(tmp_path_factory.mktemp("clean"), dirty=False)


@pytest.fixture(scope="module")
def dirty(tmp_path_factory) -> Path:
    return _pipeline(tmp_path_factory.mktemp("dirty"), dirty=True)


def test_load_dataset_gives_70_15_15_per_class_with_taxonomy_names(clean):
    ds = datasets.load_dataset(str(clean / "published"), "physio")
    assert set(ds) == {"train", "validation", "test"}
    assert ds["train"].features["label"].names == list(taxonomy().basic)
    per_class = {split: Counter(ds[split]["label"]) for split in ds}
    classes = set(per_class["train"])
    assert len(classes) == 6
    for cls in classes:
        total = sum(per_class[s][cls] for s in ds)
        assert total == 20  # the sample has 20 rows per class
        for split, ratio in RATIOS.items():
            assert abs(per_class[split][cls] - total * ratio) <= 1, (split, cls)


def test_no_record_in_two_splits_and_nothing_lost(clean):
    ds = datasets.load_dataset(str(clean / "published"), SOURCE)
    ids = [rid for split in ds for rid in ds[split]["id"]]
    assert len(ids) == len(set(ids)) == 120


def test_labels_match_the_source_csv(clean):
    ds = datasets.load_dataset(str(clean / "published"), "physio", split="train")
    names = ds.features["label"].names
    expected = {"neutral": "neutral", "happy": "happiness", "sad": "sadness", "angry": "anger", "fear": "fear",
                "surprise": "surprise"}
    for row in ds:
        assert names[row["label"]] == expected[row["label_original"].strip().lower()]
        assert row["physio"]["hr_mean"] is not None and row["physio"]["eye_gaze_x_mean"] is None


def test_standardization_is_fitted_on_train_only(clean):
    stats = json.loads((clean / "published" / "standardization.json").read_text())
    assert stats["fitted_on"] == "train"
    ds = datasets.load_dataset(str(clean / "published"), "physio")
    train = [r["hr_mean"] for r in ds["train"]["physio"]]
    mean = sum(train) / len(train)
    std = math.sqrt(sum((v - mean) ** 2 for v in train) / (len(train) - 1))
    assert stats["features"]["hr_mean"]["n"] == len(train)
    assert math.isclose(stats["features"]["hr_mean"]["mean"], mean, rel_tol=1e-9)
    z_train = [r["hr_mean"] for r in ds["train"]["physio_z"]]
    assert abs(sum(z_train) / len(z_train)) < 1e-9
    raw_val = ds["validation"]["physio"][0]["hr_mean"]
    assert math.isclose(ds["validation"]["physio_z"][0]["hr_mean"], (raw_val - mean) / std, rel_tol=1e-9)


def test_every_stage_accounts_for_every_record(clean):
    for stage_dir in ("prepared", "normalized", "split", "published/.curator"):
        m = json.loads((clean / stage_dir / "metrics.json").read_text())
        assert m["inputs"] == m["kept"] + m["rejected"], stage_dir
    assert json.loads((clean / "prepared/metrics.json").read_text())["inputs"] == 120


def test_card_header_lists_configs_and_split_sizes(clean):
    card = (clean / "published" / "README.md").read_text()
    header = card.split("---")[1]
    import yaml

    meta = yaml.safe_load(header)
    assert meta["license"] == "mit"
    physio = next(c for c in meta["dataset_info"] if c["config_name"] == "physio")
    assert sum(s["num_examples"] for s in physio["splits"]) == 120


def test_dirty_samples_give_the_planted_rejects(dirty):
    manifest = json.loads((dirty / "s" / "manifest.json").read_text())[SOURCE]["expected"]
    prep = read_rejects(dirty / "prepared" / "rejects.jsonl")
    norm = read_rejects(dirty / "normalized" / "rejects.jsonl")
    assert Counter(r["reason"] for r in prep) == manifest["prepare_rejects"]
    assert Counter(r["reason"] for r in norm) == manifest["normalize_rejects"]
    assert "'abc'" in prep[0]["detail"] and prep[0]["path"].startswith("face_emotion_physio.csv:")
    assert "Bored" in norm[0]["detail"]
    ds = datasets.load_dataset(str(dirty / "published"), "physio")
    assert sum(ds.num_rows.values()) == manifest["records"]


def test_missing_column_is_one_clear_line(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "x.csv").write_text("eda_mean,emotion_label\n1.0,Happy\n")
    proc = run_cli("prepare", SOURCE, "--raw", str(raw), "--out", str(tmp_path / "p"), check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("error: x.csv: missing column(s) eda_std")
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "p").exists()


def test_csv_with_bom_and_crlf_reads_the_same(tmp_path, clean):
    src = (clean / "s" / SOURCE / "face_emotion_physio.csv").read_bytes()
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "x.csv").write_bytes(b"\xef\xbb\xbf" + src.replace(b"\n", b"\r\n"))
    run_cli("prepare", SOURCE, "--raw", str(raw), "--out", str(tmp_path / "p"))
    assert json.loads((tmp_path / "p/metrics.json").read_text())["kept"] == 120


@pytest.mark.parametrize("command", ["", "samples", "download", "prepare", "normalize", "split", "publish",
                                     "sources", "demo"])
def test_help_explains_itself(command):
    proc = run_cli(*([command] if command else []), "--help")
    assert "Usage:" in proc.stdout and len(proc.stdout.splitlines()) > 5


def test_usage_error_exits_2():
    assert run_cli("split", "--bogus", check=False).returncode == 2
    proc = run_cli("prepare", "no_such_source", check=False)
    assert proc.returncode == 1 and "unknown source 'no_such_source'" in proc.stderr
