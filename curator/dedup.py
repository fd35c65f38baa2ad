"""Duplicate clusters across all images (visible and IR): exact by sha256, near by dHash.

Near-duplicate search uses multi-index hashing instead of comparing every pair: split each
64-bit hash into `max_distance + 1` bands; two hashes within that Hamming distance must agree
on at least one band (pigeonhole), so only hashes sharing a band bucket are compared.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Fingerprint:
    record_id: str
    column: str  # "image" or "infrared"
    sha256: str
    dhash: int


@dataclass
class Cluster:
    record_ids: list[str]
    edges: list[dict] = field(default_factory=list)  # {a, b, kind: exact|near, distance}


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # smallest id as root: deterministic


def _bands(value: int, count: int) -> list[tuple[int, int]]:
    width = 64 // count
    bands = []
    for i in range(count):
        bits = width if i < count - 1 else 64 - width * (count - 1)
        bands.append((i, (value >> (i * width)) & ((1 << bits) - 1)))
    return bands


def find_clusters(prints: Iterable[Fingerprint], max_distance: int) -> list[Cluster]:
    """Clusters of records whose images are identical or within `max_distance` dHash bits."""
    prints = sorted(prints, key=lambda p: (p.record_id, p.column))
    uf = _UnionFind()
    edges: list[dict] = []
    by_sha: dict[str, Fingerprint] = {}
    buckets: dict[tuple[int, int], list[Fingerprint]] = defaultdict(list)
    seen_pairs: set[tuple[str, str]] = set()
    for p in prints:
        first = by_sha.setdefault(p.sha256, p)
        if first is not p and first.record_id != p.record_id:
            _link(uf, edges, seen_pairs, first, p, "exact", 0)
        if max_distance < 0:
            continue
        for band in _bands(p.dhash, max_distance + 1):
            for q in buckets[band]:
                if q.record_id != p.record_id and q.sha256 != p.sha256:
                    distance = (p.dhash ^ q.dhash).bit_count()
                    if distance <= max_distance:
                        _link(uf, edges, seen_pairs, q, p, "near", distance)
            buckets[band].append(p)
    members: dict[str, list[str]] = defaultdict(list)
    for rid in {p.record_id for p in prints}:
        members[uf.find(rid)].append(rid)
    clusters = {root: Cluster(sorted(ids)) for root, ids in members.items() if len(ids) > 1}
    for edge in edges:
        clusters[uf.find(edge["a"])].edges.append(edge)
    return sorted(clusters.values(), key=lambda c: c.record_ids[0])


def _link(uf: _UnionFind, edges: list, seen: set, a: Fingerprint, b: Fingerprint, kind: str, distance: int) -> None:
    pair = tuple(sorted((a.record_id, b.record_id)))
    if pair in seen:
        return
    seen.add(pair)
    uf.union(*pair)
    edges.append({"a": pair[0], "b": pair[1], "kind": kind, "distance": distance,
                  "columns": sorted({a.column, b.column})})


def fingerprints_of(ids: list[str], hashes: list[dict | None]) -> list[Fingerprint]:
    """Fingerprints from the records' `hashes` column (filled in at prepare)."""
    out = []
    for rid, h in zip(ids, hashes, strict=True):
        for column in ("image", "infrared"):
            if h and h.get(f"{column}_sha256"):
                out.append(Fingerprint(rid, column, h[f"{column}_sha256"], int(h[f"{column}_dhash"], 16)))
    return out
