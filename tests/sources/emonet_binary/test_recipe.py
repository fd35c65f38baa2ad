"""emonet_binary rules: the vote-derived label, the stem join (padded, unpadded, shifted), accounting."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curator.errors import SchemaError
from curator.io.parquet import iter_records
from curator.reasons import Reason
from curator.record.taxonomy import taxonomy
from curator.sources import emonet_binary
from curator.sources.emonet_binary import Join, Vote, vote_label
from curator.sources.emonet_binary import samples as binary_samples
from curator.sources.recipe import Reject
from curator.stages.prepare.stage import run_prepare
from tests.conftest import run_cli
from tests.sources.emonet import oracle

FINE = taxonomy().fine


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("binary")
    for names in binary_samples.NAMES:
        binary_samples.build(out / names, 0, False, names)
    return {names: out / names / "emonet_binary" for names in binary_samples.NAMES}


def _items(raw: Path) -> tuple[dict[str, dict[str, Any]], list[Reject]]:
    return oracle.split_items(emonet_binary.prepare(raw))


def _votes(*votes: tuple[str, bool]) -> list[Vote]:
    return [Vote(f"human-{i}", emotion, present) for i, (emotion, present) in enumerate(votes, 1)]


@pytest.mark.parametrize(("votes", "expected"), [
    (_votes(("Anger", True), ("Contentment", False)), ("Anger", 1.0)),
    (_votes(("Anger", False), ("Contentment", False)), (None, None)),  # no majority
    (_votes(("Anger", True), ("Anger", False), ("Fear", False)), (None, None)),  # a tie is no majority
    (_votes(("Anger", True), ("Fear", True)), ("Fear", 1.0)),  # same share and votes: taxonomy order
    (_votes(("Anger", True), ("Anger", True), ("Fear", True)), ("Anger", 1.0)),  # same share: more votes
    (_votes(("Fear", True), ("Fear", True), ("Fear", False), ("Anger", True)), ("Anger", 1.0)),  # higher share
    (_votes(("Hopelessness", True), ("Sadness", True)), ("Sadness", 1.0)),  # Hopelessness sorts as Helplessness
    # one class, two spellings: 2 of 3 votes present, so a majority (tallied apart, neither would be)
    (_votes(("Hopelessness", True), ("Helplessness", True), ("Helplessness", False)), ("Hopelessness", 2 / 3)),
    ([], (None, None)),
])
def test_vote_label(votes: list[Vote], expected: tuple[str | None, float | None]) -> None:
    assert FINE.index("Fear") < FINE.index("Anger") and FINE.index("Sadness") < FINE.index("Helplessness")
    assert vote_label(votes) == expected


def test_unpadded_names_join_like_padded_ones(built: dict[str, Path]) -> None:
    padded, _ = _items(built["padded"])
    unpadded, rejects = _items(built["unpadded"])
    assert not rejects and unpadded.keys() == padded.keys()  # ids are binary.csv's stems: emonet_binary/00017
    assert {r["image"]["path"] for r in unpadded.values()} >= {"17.jpg", "2000.jpg"}
    expected = oracle.binary_expected(built["unpadded"] / "binary.csv")
    for rid, record in unpadded.items():
        assert record["label_original"] == expected[rid.removeprefix("emonet_binary/")][0]
        assert record["label_provided"] == padded[rid]["label_provided"]


def test_shifted_names_stop_prepare_with_one_line(built: dict[str, Path], tmp_path: Path) -> None:
    proc = run_cli("prepare", "emonet_binary", "--raw", str(built["shifted"]), "--out", "out", cwd=tmp_path,
                   check=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1 and "Traceback" not in proc.stderr
    assert "of the Parquet image names as named match a binary.csv path (need 90%)" in lines[0]
    assert "-1 would match 100%" in lines[0] and "never applied on its own" in lines[0]
    assert "set sources.emonet_binary.name_offset: -1 in params.yaml" in lines[0]
    assert not (tmp_path / "out").exists()


def test_an_off_by_one_that_every_name_survives_is_caught_by_the_content() -> None:
    judged = {f"{i:05d}": [Vote("human-1", FINE[i % 40], True), Vote("human-2", FINE[(i + 7) % 40], False)]
              for i in range(100)}
    join = Join(judged)
    as_named = [(str(i), FINE[i % 40]) for i in range(100)]
    join.check(as_named, 0.9)  # right: nothing raised
    shifted = [(str(i + 1), FINE[i % 40]) for i in range(99)]  # 99 of 99 names still match a csv stem
    with pytest.raises(SchemaError, match=r"^[^\n]*$") as err:
        join.check(shifted, 0.9)
    assert "with the names shifted by -1" in str(err.value) and "looks off by one" in str(err.value)


def test_images_without_votes_are_kept_and_votes_without_images_rejected(built: dict[str, Path],
                                                                         tmp_path: Path) -> None:
    raw = shutil.copytree(built["padded"], tmp_path / "raw")
    lines = (raw / "binary.csv").read_text().splitlines()
    kept = [ln for ln in lines if not ln.startswith("00007,")]
    (raw / "binary.csv").write_text("\n".join([*kept, "99999,human-1,True,Anger", "00008,human-1,Maybe,Anger"])
                                    + "\n")
    records, rejects = _items(raw)
    assert len(records) == 40
    unvoted = records["emonet_binary/00007"]
    assert unvoted["annotations"] == [] and unvoted["label_original"] is None and unvoted["label_provided"]
    assert [(r.reason, r.id) for r in rejects] == [(Reason.MALFORMED_ANNOTATION, "emonet_binary/00008"),
                                                   (Reason.MISSING_IMAGE, "emonet_binary/99999")]


def test_hopelessness_survives_to_normalize_as_helplessness(built: dict[str, Path], tmp_path: Path) -> None:
    raw = shutil.copytree(built["padded"], tmp_path / "raw")
    shard = raw / "data" / "train-00000-of-00002.parquet"
    table = pq.read_table(shard)
    names = json.loads(table.schema.metadata[b"huggingface"])["info"]["features"]["emotion"]["names"]
    emotion = pa.array([names.index("Hopelessness")] * table.num_rows, table.schema.field("emotion").type)
    pq.write_table(table.set_column(table.schema.get_field_index("emotion"), "emotion", emotion), shard)
    lines = (raw / "binary.csv").read_text().splitlines()
    first = {ln.split(",")[0] for ln in lines[1:]}
    (raw / "binary.csv").write_text("\n".join([*lines, *(f"{s},human-9,True,Hopelessness" for s in sorted(first))])
                                    + "\n")
    run_prepare("emonet_binary", emonet_binary.prepare, raw, tmp_path / "prepared")
    run_cli("normalize", "--in", "prepared", "--out", "normalized", cwd=tmp_path)
    records = list(iter_records(tmp_path / "normalized"))
    shard_ids = {f"emonet_binary/{Path(p['path']).stem}" for p in table.column("path").to_pylist()}
    assert len(shard_ids) == 20 and all(r["label_provided"] == "Hopelessness" for r in records if r["id"] in shard_ids)
    voted = [r for r in records if r["label_original"] == "Hopelessness"]
    assert voted and {FINE[r["label_fine"]] for r in voted} == {"Helplessness"}
    notes = {(a["target"], a["note"]) for r in voted for a in r["annotations"] if a["annotator"] == "human-9"}
    assert notes == {("Helplessness", "as written: Hopelessness")}  # one name per class in annotations
    assert not any(a["target"] == "Hopelessness" for r in records for a in r["annotations"] or [])


def test_layout_line(built: dict[str, Path]) -> None:
    line = emonet_binary.layout(built["padded"], emonet_binary.Params())
    assert line == ("Hub Parquet: 2 shard(s), 40 rows; image `path`, label `emotion`; "
                    f"binary.csv: 96 vote(s) for 40 image(s); unverified: {emonet_binary.UNKNOWN}")
    shifted = emonet_binary.layout(built["shifted"], emonet_binary.Params(name_offset=-1))
    assert "binary.csv: 96 vote(s) for 40 image(s); name_offset -1 applied; unverified: " in shifted
