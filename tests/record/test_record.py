"""Records refuse typos: an unknown key or a wrong-typed value never becomes a silent null."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from curator.io.parquet import ShardWriter, iter_records
from curator.io.rejects import read_rejects
from curator.record.record import RecordError, empty_record, record_problem
from curator.record.schema import arrow_schema
from curator.stages.prepare.stage import run_prepare


def _record(rid: str, **fields: Any) -> dict[str, Any]:
    return {**empty_record(), "id": rid, "source": "kaggle_physio", "group_id": rid, "license": "MIT", **fields}


def test_a_misspelt_key_is_refused_at_once_and_named() -> None:
    record = empty_record()
    with pytest.raises(RecordError, match=r"unknown field label_orignal \(did you mean label_original\?\)"):
        record["label_orignal"] = "Happy"
    with pytest.raises(RecordError, match="label_orignal"):
        record.update(label_orignal="Happy")
    with pytest.raises(RecordError, match="label_orignal"):
        empty_record(label_orignal="Happy")


def test_unknown_nested_keys_and_wrong_types_are_described() -> None:
    assert record_problem(_record("a")) is None
    assert "demographics.gendre" in record_problem(_record("a", demographics={"gendre": "woman"}))
    assert "annotations[].anotator" in record_problem(
        _record("a", annotations=[{"anotator": "h1", "is_model": False, "target": "x", "value": 1.0, "note": None}]))
    assert record_problem(_record("a", frame_count="seven")).startswith("frame_count: str value does not fit int64")
    assert record_problem(_record("a", label_original=3)).startswith("label_original: int value")


def test_shard_writer_refuses_a_row_with_an_unknown_key(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="label_orignal"), ShardWriter(tmp_path, arrow_schema()) as writer:
        writer.write_rows([{**_record("a"), "label_orignal": "Happy"}])


def _items(raw: Path) -> Iterator[dict[str, Any]]:
    yield _record("ok")
    bad = _record("bad")
    dict.__setitem__(bad, "label_orignal", "Happy")  # as a recipe would by mistake, strict mode off
    yield bad
    yield _record("wrong-type", frame_count="seven")


def test_in_a_run_an_invalid_record_is_a_reject_with_its_reason(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURATOR_STRICT_RECORDS", "0")
    result = run_prepare("kaggle_physio", _items, tmp_path / "raw", tmp_path / "out")  # raw: not read by _items
    assert (result["inputs"], result["kept"], result["rejected"]) == (3, 1, 2)
    assert [r["id"] for r in iter_records(tmp_path / "out")] == ["ok"]
    rejects = {r["id"]: r for r in read_rejects(tmp_path / "out" / "rejects.jsonl")}
    assert rejects["bad"]["reason"] == "invalid_record" and "label_orignal" in rejects["bad"]["detail"]
    assert rejects["wrong-type"]["reason"] == "invalid_record" and "frame_count" in rejects["wrong-type"]["detail"]


def test_in_tests_an_invalid_record_raises(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="label_orignal"):
        run_prepare("kaggle_physio", _items, tmp_path / "raw", tmp_path / "out")
