"""Duplicate clusters: exact and near, found without comparing every pair, resolved into one split."""

from __future__ import annotations

import hashlib
import io
import json
import random
from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from curator.config import Dedup, Ratios, Split
from curator.io.images import check_image, dhash
from curator.io.parquet import ShardWriter, iter_records
from curator.io.rejects import read_rejects
from curator.pipeline.lineage import stamp
from curator.record.record import empty_record
from curator.record.schema import arrow_schema
from curator.stages.split.dedup import Fingerprint, find_clusters
from curator.stages.split.stage import Group, assign_groups, run_split

RATIOS = {"train": 0.70, "validation": 0.15, "test": 0.15}


def _face(i: int, quality: int = 92) -> bytes:
    rng = random.Random(i)
    img = Image.new("RGB", (96, 96), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x, y = rng.randrange(80), rng.randrange(80)
        draw.ellipse((x, y, x + 16, y + 16), fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _fp(rid: str, data: bytes) -> Fingerprint:
    near = int(dhash(check_image(data, keep=True).image), 16)
    return Fingerprint(rid, "image", hashlib.sha256(data).hexdigest(), near)


def test_exact_and_reencoded_copies_cluster_unrelated_images_do_not():
    a, b = _face(1), _face(2)
    prints = [_fp("x/1", a), _fp("x/2", a), _fp("x/3", _face(1, quality=60)), _fp("x/4", b)]
    clusters = find_clusters(prints, max_distance=4)
    assert [c.record_ids for c in clusters] == [["x/1", "x/2", "x/3"]]
    kinds = {(e["a"], e["b"]): e["kind"] for e in clusters[0].edges}
    assert kinds[("x/1", "x/2")] == "exact"
    assert "near" in kinds.values()


@given(st.lists(st.integers(0, 2**64 - 1), min_size=2, max_size=60), st.integers(0, 8), st.integers(0, 2**32))
@settings(max_examples=100, deadline=None)
def test_banded_search_finds_exactly_the_brute_force_pairs(values, distance, seed):
    rng = random.Random(seed)  # plant near copies so there is something to find
    values = values + [v ^ (1 << rng.randrange(64)) for v in values[:5]]
    prints = [Fingerprint(f"r{i:03d}", "image", f"sha{i}", v) for i, v in enumerate(values)]
    found = {(e["a"], e["b"]) for c in find_clusters(prints, distance) for e in c.edges}
    brute = {(p.record_id, q.record_id) for p, q in combinations(prints, 2)
             if (p.dhash ^ q.dhash).bit_count() <= distance}
    assert found == brute


def _records_with_cross_group_duplicate(seed: int) -> list[dict]:
    """Singleton groups, plus one image copied into a second group that the plain
    assignment would put in another split (so the cluster must be moved)."""
    rows = []
    for i in range(60):
        rec = empty_record()
        rec.update(id=f"emonet_hq/{i:03d}", source="emonet_hq", group_id=f"emonet_hq/{i:03d}", license="t",
                   label=1, image={"bytes": _face(100 + i), "path": f"{i}.jpg"})
        rows.append(rec)
    plain = assign_groups([Group("emonet_hq", r["group_id"], "happiness", 1) for r in rows], RATIOS, seed)
    test_row = next(r for r in rows if plain[("emonet_hq", r["group_id"])] == "test")
    train_row = next(r for r in rows if plain[("emonet_hq", r["group_id"])] == "train")
    train_row["image"] = dict(test_row["image"])  # the same picture in two groups
    return rows, train_row["id"], test_row["id"]


def _run(tmp_path, rows, **dedup):
    with ShardWriter(tmp_path / "norm", arrow_schema()) as writer:
        for r in rows:
            data = r["image"]["bytes"]
            fp = _fp(r["id"], data)
            r["hashes"] = {"image_sha256": fp.sha256, "image_dhash": f"{fp.dhash:016x}"}
        writer.write_rows(rows)
    stamp(tmp_path / "norm", "normalized")  # hand-made records, declared as normalize's output
    run_split(tmp_path / "norm", tmp_path / "split", Split(seed=5, ratios=Ratios(**RATIOS)), Dedup(**dedup))
    return {r["id"]: s for s in ("train", "validation", "test") for r in iter_records(tmp_path / "split" / s)}


def test_a_cluster_straddling_splits_is_moved_whole_and_reported(tmp_path):
    rows, a, b = _records_with_cross_group_duplicate(5)
    where = _run(tmp_path, rows)
    assert where[a] == where[b]
    leakage = json.loads((tmp_path / "split" / "leakage.json").read_text())
    cluster = next(c for c in leakage["clusters"] if set(c["record_ids"]) == {a, b})
    assert cluster["moved"] and cluster["split"] == where[a]
    assert cluster["edges"][0]["kind"] == "exact" and cluster["edges"][0]["distance"] == 0
    metrics = json.loads((tmp_path / "split" / "metrics.json").read_text())
    assert metrics["duplicates"]["moved_to_one_split"] >= 1 and metrics["inputs"] == metrics["kept"] == 60


def test_within_split_duplicates_can_be_dropped_with_a_reason(tmp_path):
    rows, a, b = _records_with_cross_group_duplicate(5)
    where = _run(tmp_path, rows, drop_within_split=True)
    assert (a in where) != (b in where)
    rejects = read_rejects(tmp_path / "split" / "rejects.jsonl")
    assert [r["reason"] for r in rejects] == ["duplicate_content"]
    metrics = json.loads((tmp_path / "split" / "metrics.json").read_text())
    assert metrics["inputs"] == metrics["kept"] + metrics["rejected"] == 60


def test_identical_images_with_conflicting_labels_are_flagged(tmp_path):
    rows, a, b = _records_with_cross_group_duplicate(5)
    same = _run(tmp_path / "same", [dict(r) for r in rows])
    assert same[a] == same[b]
    leakage = json.loads((tmp_path / "same" / "split" / "leakage.json").read_text())
    assert leakage["summary"]["identical_with_conflicting_labels"] == 0  # same picture, same label
    next(r for r in rows if r["id"] == b)["label"] = 2  # now the copy says sadness
    _run(tmp_path / "other", rows)
    leakage = json.loads((tmp_path / "other" / "split" / "leakage.json").read_text())
    cluster = next(c for c in leakage["clusters"] if set(c["record_ids"]) == {a, b})
    first, second = sorted([a, b])
    labels = {a: "happiness", b: "sadness"}
    assert cluster["label_conflicts"] == [{"a": first, "b": second, "a_label": labels[first],
                                           "b_label": labels[second]}]
    metrics = json.loads((tmp_path / "other" / "split" / "metrics.json").read_text())
    assert metrics["duplicates"]["identical_with_conflicting_labels"] == 1
    assert metrics["inputs"] == metrics["kept"] == 60  # flagged, not dropped: both records kept
