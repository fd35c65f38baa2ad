"""`curator prepare emonet_binary` through the real CLI: the model's label, majority's beside it, the metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curator.io.parquet import iter_records
from curator.record.taxonomy import taxonomy
from curator.sources.emonet_binary import fine_name
from curator.sources.emonet_binary import samples as binary_samples
from tests.conftest import run_cli
from tests.sources.emonet import oracle


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("binary")
    binary_samples.build(out, 0, False)
    return out / "emonet_binary"


def _prepare(raw: Path, cwd: Path, env: dict[str, str] | None = None) -> tuple[dict, dict, str]:
    proc = run_cli("prepare", "emonet_binary", "--raw", str(raw), "--out", "out", cwd=cwd, env=env)
    records = {r["id"]: r for r in iter_records(cwd / "out")}
    return records, json.loads((cwd / "out" / "metrics.json").read_text())["aggregation"], proc.stderr


def test_records_carry_the_models_label_and_majoritys(raw: Path, tmp_path: Path) -> None:
    records, metrics, log = _prepare(raw, tmp_path)
    expected = oracle.binary_expected(raw / "binary.csv")
    assert metrics["used"] == {"prompted": "dawid_skene", "distractor": "dawid_skene"} and not metrics["fallback"]
    changed = set()
    for rid, record in records.items():
        assert record["label_majority"] == expected[rid.removeprefix("emonet_binary/")][0]
        scores = dict(zip(taxonomy().fine, record["scores"], strict=True))
        judged = {a["target"] for a in record["annotations"]}
        assert {n for n, s in scores.items() if s > 0} <= judged
        if record["label_original"] is not None:
            assert scores[fine_name(record["label_original"])] == max(scores.values()) > 0.5
        if record["label_original"] != record["label_majority"]:
            changed.add(rid)
    assert changed and len(changed) == metrics["changed_from_majority"] and set(metrics["changed_examples"]) == changed
    assert metrics["labelled"] == sum(r["label_original"] is not None for r in records.values())
    assert {a["annotator"] for a in metrics["annotators"]} >= {"human-1", "human-4"}
    assert f"{len(changed)} differ from majority vote" in log


def test_without_crowd_kit_the_build_uses_majority_and_says_so(raw: Path, tmp_path: Path) -> None:
    blocked = tmp_path / "blocked" / "crowdkit"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text("raise ImportError('crowd-kit blocked for this test')\n")
    records, metrics, log = _prepare(raw, tmp_path, env={"PYTHONPATH": str(blocked.parent)})
    assert metrics["used"] == {"prompted": "majority", "distractor": "majority"}
    assert "crowd-kit is not installed" in metrics["fallback"]["prompted"]
    assert "fell back to majority vote: crowd-kit is not installed" in log and "Traceback" not in log
    assert all(r["label_original"] == r["label_majority"] for r in records.values())
    assert metrics["changed_from_majority"] == 0
