"""emonet_hq rules: the `label` cell, the content signature and ids, hq.csv's join and its absence."""

from __future__ import annotations

import csv
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curator.io.parquet import iter_records
from curator.io.rejects import read_rejects
from curator.reasons import Reason
from curator.record.taxonomy import taxonomy
from curator.sources import emonet_hq
from curator.sources.emonet_hq import label as hq_label
from curator.sources.emonet_hq import samples as hq_samples
from curator.sources.emonet_hq.baselines import scale_note
from curator.sources.recipe import Reject
from curator.stages.prepare.stage import run_prepare
from tests.sources.emonet import oracle

FINE = taxonomy().fine
ANGER, FEAR = "Negative High-Energy Emotions|Anger", "Negative High-Energy Emotions|Fear"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hq")
    hq_samples.build(out, 0, False)
    return out / "emonet_hq"


def _copy(sample: Path, tmp_path: Path) -> Path:
    return shutil.copytree(sample, tmp_path / "raw")


def _items(raw: Path) -> tuple[dict[str, dict[str, Any]], list[Reject]]:
    return oracle.split_items(emonet_hq.prepare(raw))


def _cell(*raters: tuple[str, dict[str, Any]]) -> str:
    return str([{name: ratings} for name, ratings in raters])


# --------------------------------------------------------------------------- the label cell


def test_label_cell_family_keys_extra_dimensions_and_merge() -> None:
    cell = _cell(("human-1", {ANGER: 6, FEAR: 2, "Extra Dimensions|Valence": -2}),
                 ("human-2", {ANGER: 1}), ("human-2", {ANGER: 3, FEAR: 4}))  # a repeated rater: the later wins
    parsed = hq_label.parse_label(cell)
    assert [(e.rater, e.emotions, e.extra) for e in parsed.experts] == [
        ("human-1", {"Anger": 6.0, "Fear": 2.0}, {"Valence": -2.0}), ("human-2", {"Anger": 3.0, "Fear": 4.0}, {})]
    assert parsed.signature == oracle.signature({"human-1": {ANGER: 6, FEAR: 2, "Extra Dimensions|Valence": -2},
                                                 "human-2": {ANGER: 3, FEAR: 4}})
    fields = emonet_hq.expert_fields(parsed.experts)
    scores = dict(zip(FINE, fields["scores"], strict=True))
    assert scores["Anger"] == pytest.approx(4.5 / 7) and scores["Fear"] == pytest.approx(3 / 7)
    assert sum(fields["scores"]) == pytest.approx((4.5 + 3) / 7)  # every other class: absent = 0
    assert fields["label_original"] == "Anger"
    assert fields["agreement"] == pytest.approx(1 - 1.5 / 3.5)  # ratings 6 and 3: sd 1.5
    assert [(d["name"], d["value"], d["original_name"], d["original_value"]) for d in fields["dimensions"]] == [
        ("valence", pytest.approx(1 / 6), "Valence", -2.0)]  # -2 on the guide's -3..3
    assert {a["target"] for a in fields["annotations"]} == {"Anger", "Fear", "Extra Dimensions|Valence"}


@pytest.mark.parametrize(("cell", "message"), [
    (str([{"human-1": {"Anger": 3}}]), "is not 'Family|Name'"),
    (str([{"human-1": {"Happy Emotions|Anger": 3}}]), "is not a family of the annotation guide"),
    (str([{"human-1": {"Negative Low-Energy Emotions|Anger": 3}}]), "is not in the family"),
    (str([{"human-1": {ANGER: 9}}]), "outside 0-7"),
    (str([{"human-1": {ANGER: "high"}}]), "is not a number"),
    (str([{"human-1": {"Extra Dimensions|Arousal": 8}}]), "Arousal = 8 is outside the stated range 0..7"),
    (str({"human-1": {ANGER: 3}}), "not a non-empty list"),
    ("[{'human-1': {'Negative High-Energy Emotions|Anger': 3,", "is not a Python literal"),
    ("__import__('os').system('touch PWNED')", "is not a Python literal"),
])
def test_malformed_label_cells_raise_one_line(cell: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"^[^\n]*$") as err:
        hq_label.parse_label(cell)
    assert message in str(err.value)


def test_url_encoded_keys_are_read_and_counted() -> None:
    parsed = hq_label.parse_label(_cell(("human-1", {"Negative%20High-Energy%20Emotions|Impatience%20and%20"
                                                     "Irritability": 4})))
    assert parsed.experts[0].emotions == {"Impatience and Irritability": 4.0} and parsed.encoded_keys == 1


def test_keys_left_out_count_as_zero_and_are_logged(sample: Path, tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    raw = _copy(sample, tmp_path)
    table = pq.read_table(raw / "data" / "train-00000-of-00001.parquet")
    labels = table.column("label").to_pylist()
    sparse = {"human-1": {ANGER: 5}, "human-2": {FEAR: 2, ANGER: 3}}
    labels[0] = _cell(*sparse.items())  # 39 + 38 of the 40 keys left out
    shard = raw / "data" / "train-00000-of-00001.parquet"
    pq.write_table(table.set_column(table.schema.get_field_index("label"), "label", pa.array(labels)), shard)
    (raw / "hq.csv").unlink()
    with caplog.at_level(logging.INFO, logger="curator"):
        records, rejects = _items(raw)
    record = records[f"emonet_hq/{hq_label.record_key(oracle.signature(sparse))}"]
    assert record["label_original"] == "Anger" and record["scores"][FINE.index("Anger")] == pytest.approx(4 / 7)
    assert not rejects and "77 rating(s) left out of 2 expert dict(s) counted as 0" in caplog.text
    assert "no hq.csv: expert labels only" in caplog.text


# --------------------------------------------------------------------------- ids


def test_ids_are_stable_across_runs_shard_splits_and_row_order(sample: Path, tmp_path: Path) -> None:
    first, _ = _items(sample)
    raw = _copy(sample, tmp_path)
    shard = raw / "data" / "train-00000-of-00001.parquet"
    table = pq.read_table(shard)
    shard.unlink()
    reverse = table.take(list(range(table.num_rows - 1, -1, -1)))  # a re-upload in another order and sharding
    pq.write_table(reverse.slice(0, 10), raw / "data" / "train-00000-of-00002.parquet")
    pq.write_table(reverse.slice(10), raw / "data" / "train-00001-of-00002.parquet")
    again, _ = _items(raw)
    assert again.keys() == first.keys() and list(again) == list(first)[::-1]
    assert all(again[k]["label_original"] == r["label_original"] and again[k]["image"] == r["image"]
               for k, r in first.items())


def test_a_repeated_signature_keeps_both_rows_and_joins_the_first(sample: Path, tmp_path: Path) -> None:
    raw = _copy(sample, tmp_path)
    shard = raw / "data" / "train-00000-of-00001.parquet"
    table = pq.read_table(shard)
    pq.write_table(pa.concat_tables([table, table.slice(0, 1)]), shard)
    records, rejects = _items(raw)
    first = next(iter(records))
    assert len(records) == 25 and not rejects and f"{first}-2" in records
    assert any(a["is_model"] for a in records[first]["annotations"])
    assert not any(a["is_model"] for a in records[f"{first}-2"]["annotations"])
    assert records[f"{first}-2"]["image"]["path"] is None  # no name: hq.csv joined the first row only


# --------------------------------------------------------------------------- hq.csv


def _rewrite_csv(raw: Path, edit: Any) -> list[dict[str, str]]:
    with open(raw / "hq.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rows = edit(rows)
    with open(raw / "hq.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["image", "annotator", "annotations", "human"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return rows


def test_without_hq_csv_every_image_keeps_its_expert_labels(sample: Path, tmp_path: Path) -> None:
    with_csv, _ = _items(sample)
    raw = _copy(sample, tmp_path)
    (raw / "hq.csv").unlink()
    records, rejects = _items(raw)
    assert records.keys() == with_csv.keys() and not rejects
    assert all(r["image"]["path"] is None and not any(a["is_model"] for a in r["annotations"])
               for r in records.values())
    assert all(records[k]["scores"] == r["scores"] and records[k]["agreement"] == r["agreement"]
               for k, r in with_csv.items())


def test_the_human_column_decides_who_is_an_expert(sample: Path, tmp_path: Path) -> None:
    raw = _copy(sample, tmp_path)
    rows = _rewrite_csv(raw, lambda rows: [*rows, {**rows[0], "annotator": "human-9", "human": "False"},
                                           {**rows[0], "annotator": "Hume Face*", "human": "maybe"}])
    records, rejects = _items(raw)
    joined = next(r for r in records.values() if r["image"]["path"] == rows[0]["image"])
    assert {(a["annotator"], a["is_model"]) for a in joined["annotations"]} >= {("human-9", True)}
    assert [(r.reason, r.path) for r in rejects] == [(Reason.MALFORMED_ANNOTATION, rows[0]["image"])]
    assert "human True/False" in rejects[0].detail


def test_unjoinable_images_are_excluded_with_their_reason(sample: Path, tmp_path: Path) -> None:
    raw = _copy(sample, tmp_path)

    def edit(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        donor = rows[0]["image"]
        experts = [r for r in rows if r["image"] == donor and r["human"] == "True"]
        twin = [{**r, "image": "flux_dev_one_9-9_s000000001.png"} for r in experts]  # same signature, later
        models_only = {**rows[-1], "image": "flux_dev_one_9-9_s000000002.png", "human": "False"}
        return [*rows, *twin, models_only]

    _rewrite_csv(raw, edit)
    records, rejects = _items(raw)
    assert len(records) == 24 and {r.reason for r in rejects} == {Reason.UNJOINED_ANNOTATION}
    details = {r.path: r.detail for r in rejects}
    assert "has no human rows" in details["flux_dev_one_9-9_s000000002.png"]
    assert "which was joined instead" in details["flux_dev_one_9-9_s000000001.png"]


def test_python_payload_in_hq_csv_is_rejected_and_never_runs(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = _copy(sample, tmp_path)
    name = next(csv.DictReader((raw / "hq.csv").open()))["image"]
    _rewrite_csv(raw, lambda rows: [*rows, *(
        {"image": name, "annotator": who, "annotations": cell, "human": human} for who, cell, human in (
            ("human-9", "__import__('os').system('touch PWNED')", "True"),
            ("GPT-4o ZS", "{'" + ANGER + "': __import__('os').system('touch PWNED')}", "False")))])
    calls: list[str] = []
    monkeypatch.setattr(os, "system", lambda cmd: calls.append(cmd) or 0)
    monkeypatch.chdir(tmp_path)
    result = run_prepare("emonet_hq", emonet_hq.prepare, raw, tmp_path / "out")
    assert result == {"inputs": 26, "kept": 24, "rejected": 2}
    rejects = read_rejects(tmp_path / "out" / "rejects.jsonl")
    assert {r["reason"] for r in rejects} == {"malformed_annotation"} and {r["path"] for r in rejects} == {name}
    assert not calls and not list(tmp_path.rglob("PWNED"))
    assert len(list(iter_records(tmp_path / "out"))) == 24


def test_scale_notes_follow_the_evidence() -> None:
    assert scale_note("Hume Face*") == "Hume Face* 0-1 scale"
    assert "negatives valid" in scale_note("Empathic Insight Face Small")
    assert scale_note("Claude 3.7 MS").endswith("multi-shot VLM 0-7")
    assert scale_note("Qwen Plus ZS").endswith("zero-shot VLM 1-7")
    assert scale_note("Some New Model") == "Some New Model model baseline, scale unverified"


def test_layout_line(sample: Path, tmp_path: Path) -> None:
    line = emonet_hq.layout(sample, emonet_hq.Params())
    assert line.startswith("Hub Parquet: 1 shard(s), 24 rows; image `path`, label `label`")
    assert "extras Prompt, Ethnicity, Gender, Age, Emotion (as provided), ind (as index)" in line
    assert "; not read: image_metadata;" in line and "hq.csv (" in line
    readout = hq_samples.build(tmp_path / "readout", 0, False, columns="readout").files[0].parent
    assert "ethnicity (ClassLabel)" in emonet_hq.layout(readout, emonet_hq.Params())
    raw = _copy(sample, tmp_path)
    (raw / "hq.csv").unlink()
    assert "; no hq.csv (optional: model baselines); unverified: " in emonet_hq.layout(raw, emonet_hq.Params())
