"""find_clusters (numpy, banded) gives exactly what a plain O(n^2) loop over all pairs gives:
the same clusters, the same edges (first per record pair) in the same discovery order."""

from __future__ import annotations

import hashlib
import random

import numpy as np
import pyarrow as pa
import pytest

from curator.stages.split import dedup
from curator.stages.split.dedup import Cluster, Fingerprint, find_clusters, fingerprints_of


def _reference(prints: list[Fingerprint], max_distance: int) -> list[Cluster]:
    """Every earlier fingerprint, band by band, in order; each record pair keeps its first edge."""
    prints = sorted(prints, key=lambda p: (p.record_id, p.column))
    count = max_distance + 1

    def band(value: int, b: int) -> int:
        width = 64 // count
        bits = width if b < count - 1 else 64 - width * (count - 1)
        return (value >> (b * width)) & ((1 << bits) - 1)

    edges, seen = [], set()

    def link(q: Fingerprint, p: Fingerprint, kind: str, distance: int) -> None:
        pair = tuple(sorted((q.record_id, p.record_id)))
        if pair not in seen:
            seen.add(pair)
            edges.append({"a": pair[0], "b": pair[1], "kind": kind, "distance": distance,
                          "columns": sorted({q.column, p.column})})

    for j, p in enumerate(prints):
        first = next(q for q in prints if q.sha256 == p.sha256)
        if first is not p and first.record_id != p.record_id:
            link(first, p, "exact", 0)
        for b in range(max(count, 0)):
            for q in prints[:j]:
                if band(q.dhash, b) == band(p.dhash, b) and q.record_id != p.record_id and q.sha256 != p.sha256:
                    distance = (p.dhash ^ q.dhash).bit_count()
                    if distance <= max_distance:
                        link(q, p, "near", distance)
    component = {p.record_id: {p.record_id} for p in prints}
    for e in edges:
        merged = component[e["a"]] | component[e["b"]]
        for rid in merged:
            component[rid] = merged
    clusters = {min(c): Cluster(sorted(c)) for c in component.values() if len(c) > 1}
    for e in edges:
        clusters[min(component[e["a"]])].edges.append(e)
    return sorted(clusters.values(), key=lambda c: c.record_ids[0])


def _crowded_prints(seed: int, records: int, centres: int) -> list[Fingerprint]:
    """Face-like: hashes near a few centres, exact copies across records, IR twins of the image."""
    rng = random.Random(seed)
    middle = [rng.getrandbits(64) for _ in range(centres)]
    prints = []
    for r in range(records):
        rid = f"s{rng.randrange(3)}/{rng.getrandbits(24):06x}-{r}"  # ids not in creation order
        value = rng.choice(middle)
        for _ in range(rng.randrange(6)):
            value ^= 1 << rng.randrange(64)
        sha = f"sha{r}"
        if prints and rng.random() < 0.1:  # exact copy of an earlier image
            copy = rng.choice(prints)
            sha, value = copy.sha256, copy.dhash if rng.random() < 0.8 else value
        prints.append(Fingerprint(rid, "image", sha, value))
        if rng.random() < 0.4:  # infrared: same bytes, same hash, or a nearby one
            ir_sha = sha if rng.random() < 0.2 else f"ir{r}"
            ir_value = value if rng.random() < 0.3 else value ^ (1 << rng.randrange(64))
            prints.append(Fingerprint(rid, "infrared", ir_sha, ir_value))
    rng.shuffle(prints)
    return prints


@pytest.mark.parametrize("max_distance", [-1, 0, 1, 3, 6, 12])
@pytest.mark.parametrize("seed", range(4))
def test_same_clusters_and_edges_as_brute_force(seed, max_distance):
    prints = _crowded_prints(seed, records=120, centres=1 + seed * 3)
    assert find_clusters(prints, max_distance) == _reference(prints, max_distance)


def test_more_bands_than_bits_compares_every_pair():
    prints = _crowded_prints(5, records=40, centres=3)
    assert find_clusters(prints, 70) == _reference(prints, 70)


@pytest.mark.parametrize("max_distance", [0, 2, 5])
def test_large_buckets_compared_in_blocks(monkeypatch, max_distance):
    prints = _crowded_prints(7, records=150, centres=2)
    expected = _reference(prints, max_distance)
    monkeypatch.setattr(dedup, "SMALL_BUCKET", 3)  # nearly every bucket takes the block path
    monkeypatch.setattr(dedup, "BLOCK", 50)  # a few rows per block
    assert find_clusters(prints, max_distance) == expected


def test_no_prints_no_clusters():
    assert find_clusters([], 3) == []


def test_popcount_table_matches_bit_count():
    values = np.array([0, 1, 2**64 - 1, 0x8000_0000_0000_0001] + [random.Random(i).getrandbits(64) for i in range(50)],
                      np.uint64)
    expected = [int(v).bit_count() for v in values]
    assert dedup._popcount_table(values).tolist() == expected
    assert dedup._popcount_table(values.reshape(6, 9)).ravel().tolist() == expected
    assert dedup.popcount(values).tolist() == expected


def _hashes_struct(prints: list[Fingerprint], ids: list[str]) -> pa.Array:
    by_id: dict[str, dict] = {}
    for p in prints:
        by_id.setdefault(p.record_id, {})[p.column] = p
    rows = []
    for rid in ids:
        got = by_id.get(rid)
        if got is None:
            rows.append(None if len(rows) % 2 else {"image_sha256": "", "image_dhash": None})
            continue
        row = {}
        for column in ("image", "infrared"):
            p = got.get(column)
            row[f"{column}_sha256"] = p and hashlib.sha256(p.sha256.encode()).hexdigest()
            row[f"{column}_dhash"] = p and f"{p.dhash:016x}"
        rows.append(row)
    fields = [(f"{c}_{k}", pa.string()) for c in ("image", "infrared") for k in ("sha256", "dhash")]
    return pa.array(rows, pa.struct(fields))


def test_fingerprints_from_the_hashes_column_match_the_objects():
    prints = _crowded_prints(3, records=200, centres=4)
    ids = [*sorted({p.record_id for p in prints}), "z/no-image-1", "z/no-image-2"]
    random.Random(2).shuffle(ids)
    hashes = _hashes_struct(prints, ids)
    chunks = [hashes.slice(0, 70), hashes.slice(70, 0), hashes.slice(70)]  # streamed, offsets kept
    columnar = fingerprints_of(pa.chunked_array([pa.array(ids[:50]), pa.array(ids[50:])]), chunks)
    hashed = [Fingerprint(p.record_id, p.column, hashlib.sha256(p.sha256.encode()).hexdigest(), p.dhash)
              for p in prints]
    for max_distance in (-1, 0, 4):
        assert find_clusters(columnar, max_distance) == find_clusters(hashed, max_distance)
