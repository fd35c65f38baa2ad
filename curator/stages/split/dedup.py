"""Duplicate clusters across all images (visible and IR): exact by sha256, near by dHash.

Near-duplicate search uses multi-index hashing instead of comparing every pair: split each
64-bit hash into `max_distance + 1` bands; two hashes within that Hamming distance must agree
on at least one band (pigeonhole), so only hashes sharing a band bucket are compared. Face
images crowd some buckets (hundreds to thousands of hashes), so buckets are compared with numpy
(XOR + popcount), in blocks that keep memory bounded however large a bucket grows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curator.config import Dedup
from curator.record.schema import image_columns

COLUMNS = tuple(sorted(image_columns()))  # in name order: a record's fingerprints sort by column name
SMALL_BUCKET = 64  # buckets up to this size are compared all together, larger ones one by one
BLOCK = 1 << 18  # hash pairs compared at once in a large bucket (2 MB of uint64)


@dataclass(frozen=True)
class Fingerprint:
    record_id: str
    column: str  # "image" or "infrared"
    sha256: str
    dhash: int


@dataclass(frozen=True)
class Fingerprints:
    """Fingerprints as columns, one row per (record, image column), sorted by (record id, column).

    Whole-dataset dedup holds no Python object per image: `record` indexes `ids`, equal `sha`
    codes mean equal sha256.
    """

    ids: pa.Array | pa.ChunkedArray  # record ids (any order; each id once)
    record: np.ndarray  # int64, index into ids
    column: np.ndarray  # uint8, index into COLUMNS
    sha: np.ndarray  # int64 codes
    dhash: np.ndarray  # uint64

    @classmethod
    def from_prints(cls, prints: Iterable[Fingerprint]) -> Fingerprints:
        prints = sorted(prints, key=lambda p: (p.record_id, p.column))
        ids = list(dict.fromkeys(p.record_id for p in prints))
        index = {rid: i for i, rid in enumerate(ids)}
        shas: dict[str, int] = {}
        return cls(
            ids=pa.array(ids, pa.string()),
            record=np.array([index[p.record_id] for p in prints], np.int64),
            column=np.array([COLUMNS.index(p.column) for p in prints], np.uint8),
            sha=np.array([shas.setdefault(p.sha256, len(shas)) for p in prints], np.int64),
            dhash=np.array([p.dhash for p in prints], np.uint64),
        )


@dataclass
class Cluster:
    record_ids: list[str]
    edges: list[dict] = field(default_factory=list)  # {a, b, kind: exact|near, distance, columns}


def fingerprints_of(ids: pa.ChunkedArray | pa.Array, hashes: Iterable[pa.Array]) -> Fingerprints:
    """Fingerprints from the records' `hashes` column (filled in at prepare).

    `hashes` comes chunk by chunk in the order of `ids` (e.g. streamed from the shards), so the
    hex strings are never all in memory at once; ids must be unique.
    """
    rows, columns = [np.zeros(0, np.int64)], [np.zeros(0, np.uint8)]
    shas, dhashes = [np.zeros((0, 32), np.uint8)], [np.zeros(0, np.uint64)]
    offset = 0
    for chunk in hashes:
        if isinstance(chunk, pa.ChunkedArray):
            chunk = chunk.combine_chunks()
        for code, column in enumerate(COLUMNS):
            sha = pc.struct_field(chunk, f"{column}_sha256")  # null where the whole struct is
            present = pc.fill_null(pc.greater(pc.binary_length(sha), 0), False)
            rows.append(np.flatnonzero(present.to_numpy(zero_copy_only=False)) + offset)
            columns.append(np.full(len(rows[-1]), code, np.uint8))
            shas.append(_hex_bytes(sha.filter(present), 32))
            dhashes.append(_hex_bytes(pc.struct_field(chunk, f"{column}_dhash").filter(present), 8)
                           .view(">u8").ravel().astype(np.uint64))
        offset += len(chunk)
    if offset != len(ids):
        raise ValueError(f"hashes cover {offset} records, ids {len(ids)}")
    record, column = np.concatenate(rows), np.concatenate(columns)
    rank = np.empty(len(ids), np.int64)
    rank[pc.sort_indices(ids).to_numpy()] = np.arange(len(ids))
    order = np.lexsort((column, rank[record]))
    _, sha = np.unique(np.concatenate(shas).view(np.dtype((np.void, 32))).ravel(), return_inverse=True)
    return Fingerprints(ids, record[order], column[order], sha.ravel()[order].astype(np.int64),
                        np.concatenate(dhashes)[order])


def _hex_bytes(strings: pa.Array, width: int) -> np.ndarray:
    """(n, width) uint8 from n hex strings of 2 * width characters (sha256 / dHash as written)."""
    fixed = strings.cast(pa.binary(2 * width))  # fails unless every string has that length
    if not len(fixed):
        return np.zeros((0, width), np.uint8)
    if fixed.null_count:
        raise ValueError("a hash is missing: a sha256 without its dHash")
    text = np.frombuffer(fixed.buffers()[1], np.uint8, count=2 * width * len(fixed), offset=2 * width * fixed.offset)
    return np.frombuffer(bytes.fromhex(text.tobytes().decode("ascii")), np.uint8).reshape(len(fixed), width)


def find_clusters(prints: Fingerprints | Iterable[Fingerprint], max_distance: int) -> list[Cluster]:
    """Clusters of records whose images are identical or within `max_distance` dHash bits.

    Each record pair keeps only its first edge, in this discovery order: fingerprints in (record
    id, column) order; for each, first the exact link (same sha256 as the first fingerprint with
    it, in another record), then near links band by band, to earlier fingerprints in order.
    """
    fp = prints if isinstance(prints, Fingerprints) else Fingerprints.from_prints(prints)
    later, stage, earlier, distance = _candidate_edges(fp, max_distance)
    # keep each record pair's first edge in discovery order, then list edges in that order
    order = np.lexsort((earlier, stage, later))
    pair = fp.record[earlier] * len(fp.ids) + fp.record[later]  # earlier fingerprint = smaller id
    _, first = np.unique(pair[order], return_index=True)
    keep = order[np.sort(first)]
    later, stage, earlier, distance = later[keep], stage[keep], earlier[keep], distance[keep]
    a, b = fp.record[earlier].tolist(), fp.record[later].tolist()
    involved = np.unique(np.concatenate([fp.record[earlier], fp.record[later]]))
    name = dict(zip(involved.tolist(), fp.ids.take(pa.array(involved)).to_pylist(), strict=True))
    root = components(a, b)
    clusters: dict[int, Cluster] = {}
    for r in sorted(involved.tolist(), key=name.__getitem__):
        clusters.setdefault(root[r], Cluster([])).record_ids.append(name[r])
    for ra, rb, s, d, ca, cb in zip(a, b, stage.tolist(), distance.tolist(), fp.column[earlier].tolist(),
                                    fp.column[later].tolist(), strict=True):
        clusters[root[ra]].edges.append({"a": name[ra], "b": name[rb], "kind": "near" if s else "exact",
                                         "distance": d, "columns": [COLUMNS[ca]] if ca == cb else list(COLUMNS)})
    return sorted(clusters.values(), key=lambda c: c.record_ids[0])


def components(a: list[int], b: list[int]) -> dict[int, int]:
    """Each node of the edges (a[k], b[k]) -> the smallest node of its connected component (union-find)."""
    parent = {x: x for x in a + b}

    def find(x: int) -> int:
        while (up := parent[x]) != x:
            parent[x] = x = parent[up]  # path halving
        return x

    for x, y in zip(a, b, strict=True):
        rx, ry = find(x), find(y)
        parent[max(rx, ry)] = min(rx, ry)  # the smallest node stays the root
    return {x: find(x) for x in parent}


def _candidate_edges(fp: Fingerprints, max_distance: int) -> tuple[np.ndarray, ...]:
    """(later, stage, earlier, distance) fingerprint pairs: stage 0 = exact, 1 + b = near in band b."""
    n = len(fp.record)
    _, first_index, sha_group = np.unique(fp.sha, return_index=True, return_inverse=True)
    first = first_index[sha_group]  # the first fingerprint with each one's sha256
    exact = np.flatnonzero((first != np.arange(n)) & (fp.record[first] != fp.record))
    parts = [(exact, np.zeros(len(exact), np.int64), first[exact], np.zeros(len(exact), np.int64))]
    bands = _bands(max_distance + 1) if max_distance >= 0 else []
    for band, (shift, mask) in enumerate(bands):
        i, j, d = _close_pairs((fp.dhash >> shift) & mask, fp.dhash, max_distance)
        x = fp.dhash[i] ^ fp.dhash[j]
        first_shared = np.ones(len(i), bool)  # found in an earlier band already: that one counts
        for s, m in bands[:band]:
            first_shared &= ((x >> s) & m) != 0
        ok = first_shared & (fp.record[i] != fp.record[j]) & (fp.sha[i] != fp.sha[j])
        parts.append((j[ok], np.full(ok.sum(), 1 + band, np.int64), i[ok], d[ok]))
    return tuple(np.concatenate(column).astype(np.int64) for column in zip(*parts, strict=True))


def _bands(count: int) -> list[tuple[np.uint64, np.uint64]]:
    """(shift, mask) of each band; the last band takes the leftover bits."""
    width = 64 // count
    bits = [width] * (count - 1) + [64 - width * (count - 1)]
    return [(np.uint64(i * width), np.uint64((1 << b) - 1)) for i, b in enumerate(bits)]


def _close_pairs(keys: np.ndarray, hashes: np.ndarray, max_distance: int) -> tuple[np.ndarray, ...]:
    """(i, j, distance), i < j, of positions with equal `keys` and hashes within max_distance bits."""
    found = list(_pairs_within(keys, hashes, max_distance))
    if not found:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return tuple(np.concatenate(column).astype(np.int64) for column in zip(*found, strict=True))


def _pairs_within(keys: np.ndarray, hashes: np.ndarray, max_distance: int) -> Iterator[tuple[np.ndarray, ...]]:
    order = np.argsort(keys, kind="stable")  # a bucket lists its positions in ascending order
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    sizes = np.diff(np.r_[starts, len(keys)])
    ends = np.repeat(starts + sizes, sizes)
    # small buckets all at once: pair every position with the one `step` places after it
    pos = np.flatnonzero(np.repeat((sizes > 1) & (sizes <= SMALL_BUCKET), sizes))
    for step in range(1, SMALL_BUCKET):
        pos = pos[pos + step < ends[pos]]
        if not len(pos):
            break
        i, j = order[pos], order[pos + step]
        d = popcount(hashes[i] ^ hashes[j])
        close = d <= max_distance
        yield i[close], j[close], d[close]
    # large buckets: each member against the later ones, a block of rows at a time
    for start, size in zip(starts[sizes > SMALL_BUCKET].tolist(), sizes[sizes > SMALL_BUCKET].tolist(), strict=True):
        members = order[start:start + size]
        rows = max(1, BLOCK // size)
        for top in range(0, size - 1, rows):
            a, b = members[top:top + rows], members[top + 1:]
            d = popcount(hashes[a][:, None] ^ hashes[b][None, :])
            upper = np.arange(len(b))[None, :] >= np.arange(len(a))[:, None]  # b[y] comes after a[x]
            x, y = np.nonzero((d <= max_distance) & upper)
            yield a[x], b[y], d[x, y]


_BYTE_BITS = np.array([bin(v).count("1") for v in range(256)], np.uint8)


def popcount(values: np.ndarray) -> np.ndarray:
    """Set bits of each uint64 (np.bitwise_count needs numpy >= 2.0; else a byte table)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(values)
    return _popcount_table(values)


def _popcount_table(values: np.ndarray) -> np.ndarray:
    values = np.ascontiguousarray(values, np.uint64)
    return _BYTE_BITS[values.view(np.uint8)].reshape(*values.shape, 8).sum(axis=-1, dtype=np.uint8)


# --------------------------------------------------------------------------- resolving clusters (split uses these)


def rows_of(ids: pa.ChunkedArray, clusters: list[Cluster]) -> dict[str, int]:
    """Row of every clustered record."""
    clustered = pa.array([rid for c in clusters for rid in c.record_ids], pa.string())
    rows = np.flatnonzero(np.asarray(pc.is_in(ids, value_set=clustered)))
    return dict(zip(ids.take(pa.array(rows)).to_pylist(), rows.tolist(), strict=True))


def merge_duplicate_groups(group: np.ndarray, n_groups: int, clusters: list[Cluster],
                           row_of: dict[str, int]) -> np.ndarray:
    """Per group code: the group it is merged into (the smallest of a cluster's groups), so a
    duplicate cluster lands in one split. `group` is each record's group code."""
    pairs = [(int(group[row_of[c.record_ids[0]]]), int(group[row_of[rid]]))
             for c in clusters for rid in c.record_ids[1:]]
    merged = np.arange(n_groups)
    for node, root in components([a for a, _ in pairs], [b for _, b in pairs]).items():
        merged[node] = root
    return merged


def within_split_drops(clusters: list[Cluster]) -> dict[str, str]:
    """Every cluster member but the first (by id) -> the id it duplicates."""
    return {rid: c.record_ids[0] for c in clusters for rid in c.record_ids[1:]}


def label_conflicts(cluster: Cluster, label_of: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """Exact-duplicate pairs of the cluster whose labels differ (both labelled): the same image can
    hardly show two emotions, so one of the sources (or its label map) is wrong about it."""
    out = []
    for e in cluster.edges:
        if e["kind"] == "exact":
            a, b = label_of(e["a"]), label_of(e["b"])
            if a is not None and b is not None and a != b:
                out.append({"a": e["a"], "b": e["b"], "a_label": a, "b_label": b})
    return out


def leakage_report(clusters: list[Cluster], row_of: dict[str, int], split: np.ndarray, plain: np.ndarray,
                   dedup: Dedup, split_names: tuple[str, ...],
                   label_of: Callable[[str], str | None] = lambda _: None) -> dict[str, Any]:
    """Every cluster with its ids, distances and final split; `moved` = it would have straddled
    splits had duplicates not been merged into one group (`plain`: each record's split then);
    `label_conflicts` = its identical images labelled differently (`label_of`: a record's label)."""
    entries = []
    for c in clusters:
        rows = [row_of[rid] for rid in c.record_ids]
        entries.append({
            "record_ids": c.record_ids,
            "edges": c.edges,
            "split": split_names[split[rows[0]]],
            "moved": len(set(plain[rows].tolist())) > 1,
            "kinds": sorted({e["kind"] for e in c.edges}),
            "label_conflicts": label_conflicts(c, label_of),
        })
    summary = {
        "clusters": len(entries),
        "records_in_clusters": sum(len(e["record_ids"]) for e in entries),
        "exact_clusters": sum("exact" in e["kinds"] for e in entries),
        "near_clusters": sum(e["kinds"] == ["near"] for e in entries),
        "moved_to_one_split": sum(e["moved"] for e in entries),
        "identical_with_conflicting_labels": sum(len(e["label_conflicts"]) for e in entries),
        "max_distance": dedup.max_distance,
        "dropped_within_split": sum(len(e["record_ids"]) - 1 for e in entries) if dedup.drop_within_split else 0,
    }
    return {"summary": summary, "clusters": entries}
