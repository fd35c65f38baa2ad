"""Every source, prepare -> publish on its real-layout sample: labels, groups, official splits, accounting."""

from __future__ import annotations

import json
from collections import defaultdict

import datasets
import pytest

from tests.conftest import ALL_SOURCES

GROUP_PREFIXES = {  # what a group is, per source (INFO.grouping says it in words)
    "emer": "emer/p", "viri": "viri/pair:", "nvie": "nvie/", "kaggle_physio": "kaggle_physio/",
    "emonet_hq": "emonet_hq/", "emonet_binary": "emonet_binary/", "emonet_big": "emonet_big/",
}


@pytest.fixture(scope="module")
def published(sample_build: dict) -> dict[str, list[dict]]:
    """Original (not augmented) rows of every per-source config, with their split."""
    rows: dict[str, list[dict]] = {}
    for source in ALL_SOURCES:
        ds = datasets.load_dataset(str(sample_build["pub"]), source)
        rows[source] = [{**r, "split": split} for split in ds for r in ds[split] if r["augmented_from"] is None]
    return rows


def test_every_source_has_a_group_rule_listed_here() -> None:
    assert set(GROUP_PREFIXES) == set(ALL_SOURCES)


@pytest.mark.parametrize("source", ALL_SOURCES)
def test_prepare_accounts_for_every_input(sample_build: dict, source: str) -> None:
    metrics = json.loads((sample_build["root"] / "prepared" / source / "metrics.json").read_text())
    assert metrics["inputs"] == metrics["kept"] + metrics["rejected"]
    assert metrics["kept"] > 0


@pytest.mark.parametrize("source", ALL_SOURCES)
def test_published_groups_are_the_sources_own_and_never_straddle_splits(published: dict, source: str) -> None:
    rows = published[source]
    assert rows and all(r["source"] == source for r in rows)
    assert all(r["group_id"].startswith(GROUP_PREFIXES[source]) for r in rows)
    splits_of = defaultdict(set)
    for r in rows:
        splits_of[r["group_id"]].add(r["split"])
    assert all(len(s) == 1 for s in splits_of.values())


def test_emer_keeps_folds_frames_and_participants(published: dict) -> None:
    rows = published["emer"]
    assert {r["official_split"] for r in rows} <= {f"set{k}" for k in range(1, 6)}
    assert len({r["official_split"] for r in rows}) >= 3
    assert all(r["frame_count"] and r["frame_count"] >= 1 for r in rows)
    assert all(r["label"] is not None for r in rows)
    participants = {r["group_id"] for r in rows}
    assert 1 < len(participants) < len(rows)  # several samples per participant, grouped together


def test_emonet_hq_labels_come_from_experts_and_model_baselines_are_kept_apart(published: dict) -> None:
    rows = published["emonet_hq"]
    assert all(r["label_fine"] is not None and 0 <= r["agreement"] <= 1 for r in rows)
    assert all(r["label_family"] is not None for r in rows)
    experts = [a for r in rows for a in r["annotations"] if not a["is_model"]]
    models = [a for r in rows for a in r["annotations"] if a["is_model"]]
    assert experts and all(a["annotator"].startswith("human-") for a in experts)
    assert models and any(a["value"] < 0 for a in models)  # mean-subtracted baselines stay on their own scale


def test_emonet_binary_label_is_the_vote_and_the_parquet_label_is_kept_apart(published: dict) -> None:
    rows = published["emonet_binary"]
    assert all(r["label_provided"] for r in rows)
    voted = [r for r in rows if r["label_fine"] is not None]
    no_majority = [r for r in rows if r["label_fine"] is None]
    assert voted and no_majority  # the real binary.csv rows include images without a True majority
    assert all(r["agreement"] > 0.5 for r in voted)


def test_emonet_big_keeps_the_vlm_reasoning(published: dict) -> None:
    rows = published["emonet_big"]
    assert all(r["label_fine"] is not None for r in rows)
    assert any(a["note"] for r in rows for a in r["annotations"])
