"""split: group-disjoint, label-stratified train/validation/test assignment, per source.

Each group (subject, pair or image) gets a seeded hash in [0, 1). Within one (source, class)
stratum the groups are ordered by that hash and cut at the target ratios, weighting each group
by its record count. So the same inputs and seed give the same assignment, class shares match
the targets, and adding records moves only the few groups near a cut point.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from curator.dedup import Cluster, find_clusters, fingerprints_of
from curator.errors import CuratorError
from curator.io.atomic import atomic_write_json
from curator.io.parquet import iter_batches, read_columns, shard_paths
from curator.progress import track
from curator.reasons import Reason
from curator.schema import physio_fields
from curator.stage import StageRun
from curator.taxonomy import taxonomy

SPLITS = ("train", "validation", "test")  # the Hugging Face split names


def check_ratios(ratios: dict[str, float]) -> dict[str, float]:
    if set(ratios) != set(SPLITS):
        raise CuratorError(f"split.ratios must name exactly {', '.join(SPLITS)}; got {', '.join(ratios)}")
    if any(r < 0 for r in ratios.values()) or not math.isclose(sum(ratios.values()), 1.0, abs_tol=1e-6):
        raise CuratorError(f"split.ratios must be non-negative and sum to 1; got {ratios}")
    return {s: float(ratios[s]) for s in SPLITS}


def unit_hash(seed: int, key: str) -> float:
    """A stable, seeded position in [0, 1) for `key` (independent of process and order)."""
    digest = hashlib.sha256(f"{seed}\x1f{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class Group:
    source: str
    group_id: str
    stratum: str
    size: int


def target_counts(total: int, ratios: dict[str, float]) -> tuple[int, ...]:
    """Integer record counts per split closest to the ratios (minimising the worst share error).

    Plain rounding of each boundary can miss by more than needed on small strata (22 records:
    15/4/3 instead of 16/3/3); trying the few integers around each target finds the best.
    """
    targets = [total * ratios[s] for s in SPLITS]
    near = [range(max(0, round(t) - 2), round(t) + 3) for t in targets[:2]]
    candidates = [(a, b, total - a - b) for a in near[0] for b in near[1] if a + b <= total]

    def worst_error(counts: tuple[int, int, int]) -> float:
        return max(abs(n - t) for n, t in zip(counts, targets, strict=True))

    # ties: favour train, then validation
    return min(candidates, key=lambda c: (worst_error(c), -c[0], -c[1]))


RARE = "(rare classes)"


def pool_rare_strata(groups: Iterable[Group], ratios: dict[str, float]) -> dict[tuple[str, str], list[Group]]:
    """(source, class) -> groups, with classes too small to reach every split pooled per source.

    A class with fewer groups than 1 / (smallest ratio) cannot put one group in each split, so
    cutting it alone would send it all to train (40 EmoNet classes of one image each would never
    reach test). Pooling the rare classes of a source keeps them stratified as one stratum.
    """
    smallest = min(r for r in ratios.values() if r > 0)
    min_groups = math.ceil(1 / smallest - 1e-9)
    strata: dict[tuple[str, str], list[Group]] = defaultdict(list)
    for g in groups:
        strata[(g.source, g.stratum)].append(g)
    pooled: dict[tuple[str, str], list[Group]] = defaultdict(list)
    for (source, stratum), members in strata.items():
        pooled[(source, stratum if len(members) >= min_groups else RARE)].extend(members)
    return pooled


def assign_groups(groups: Iterable[Group], ratios: dict[str, float], seed: int) -> dict[tuple[str, str], str]:
    """(source, group_id) -> split, cutting each (source, stratum) at the target record counts."""
    ratios = check_ratios(ratios)
    strata = pool_rare_strata(groups, ratios)
    out: dict[tuple[str, str], str] = {}
    for members in strata.values():
        members.sort(key=lambda g: (unit_hash(seed, f"{g.source}/{g.group_id}"), g.group_id))
        counts = target_counts(sum(g.size for g in members), ratios)
        bounds = (counts[0], counts[0] + counts[1])
        before = 0
        for g in members:
            midpoint = before + g.size / 2  # a group goes where most of its records fall
            before += g.size
            out[(g.source, g.group_id)] = SPLITS[sum(midpoint >= b for b in bounds)]
    return out


def _class_name(label: int | None, fine: int | None, original: str | None) -> str:
    tax = taxonomy()
    if label is not None:
        return tax.basic[label]
    if fine is not None:
        return tax.fine[fine]
    return original if original is not None else "(unlabelled)"


def groups_of(table: pa.Table, merged: dict[tuple[str, str], tuple[str, str]] | None = None,
              ) -> tuple[list[Group], list[str]]:
    """Groups (after `merged`, if given) with their majority class (ties: the smallest name),
    and each row's class."""
    classes = [
        _class_name(b, f, o)
        for b, f, o in zip(*(table.column(c).to_pylist() for c in ("label", "label_fine", "label_original")),
                           strict=True)
    ]
    votes: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for source, gid, cls in zip(table.column("source").to_pylist(), table.column("group_id").to_pylist(), classes,
                                strict=True):
        key = (source, gid)
        votes[merged[key] if merged else key][cls] += 1
    groups = [
        Group(source, gid, min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0], sum(c.values()))
        for (source, gid), c in votes.items()
    ]
    return groups, classes


class RunningStats:
    """Streaming mean / standard deviation (Welford), one per physio feature."""

    def __init__(self) -> None:
        self.n: Counter = Counter()
        self.mean: dict[str, float] = defaultdict(float)
        self.m2: dict[str, float] = defaultdict(float)

    def add(self, physio: dict[str, float | None] | None) -> None:
        for name, value in (physio or {}).items():
            if value is None:
                continue
            self.n[name] += 1
            delta = value - self.mean[name]
            self.mean[name] += delta / self.n[name]
            self.m2[name] += delta * (value - self.mean[name])

    def result(self) -> dict[str, dict[str, float]]:
        out = {}
        for name in physio_fields():
            n = self.n[name]
            if n:
                std = math.sqrt(self.m2[name] / (n - 1)) if n > 1 else 0.0
                out[name] = {"mean": self.mean[name], "std": std, "n": n}
        return out


def zscore(physio: dict[str, float | None] | None, stats: dict[str, dict[str, float]]) -> dict | None:
    if physio is None:
        return None
    out: dict[str, float | None] = {}
    for name, value in physio.items():
        s = stats.get(name)
        if value is None or s is None:
            out[name] = None
        else:  # a constant feature carries no information: centre it, do not divide by 0
            out[name] = (value - s["mean"]) / s["std"] if s["std"] > 0 else 0.0
    return out


def _merge_duplicate_groups(table: pa.Table, clusters: list[Cluster]) -> dict[tuple[str, str], tuple[str, str]]:
    """(source, group) -> the group it is merged into, so a duplicate cluster lands in one split."""
    key_of = {rid: (src, gid) for rid, src, gid in zip(
        *(table.column(c).to_pylist() for c in ("id", "source", "group_id")), strict=True)}
    root: dict[tuple[str, str], tuple[str, str]] = {}

    def find(k: tuple[str, str]) -> tuple[str, str]:
        while root.get(k, k) != k:
            k = root[k]
        return k

    for cluster in clusters:
        keys = sorted({find(key_of[rid]) for rid in cluster.record_ids})
        for k in keys[1:]:
            root[k] = keys[0]
    return {k: find(k) for k in set(key_of.values())}


def run_split(inputs: Path, out: Path, *, ratios: dict[str, float], seed: int, dedup: dict[str, Any] | None = None,
              metrics_copy: Path | None = None) -> dict[str, Any]:
    dedup = {"max_distance": 3, "drop_within_split": False, **(dedup or {})}
    shards = shard_paths(inputs)
    table = read_columns(shards, ["id", "source", "group_id", "label", "label_fine", "label_original", "hashes"])
    ids = table.column("id").to_pylist()
    clusters = find_clusters(fingerprints_of(ids, table.column("hashes").to_pylist()), int(dedup["max_distance"]))
    merged = _merge_duplicate_groups(table, clusters)
    groups, classes = groups_of(table, merged)
    by_group = assign_groups(groups, ratios, seed)
    keys = zip(table.column("source").to_pylist(), table.column("group_id").to_pylist(), strict=True)
    split_of = {rid: by_group[merged[key]] for rid, key in zip(ids, keys, strict=True)}
    _check_disjoint(table, split_of)
    drop = _within_split_drops(clusters) if dedup["drop_within_split"] else {}

    stats = RunningStats()
    for batch in iter_batches(shards, columns=["id", "physio"], batch_rows=4096):
        for rid, physio in zip(batch.column("id").to_pylist(), batch.column("physio").to_pylist(), strict=True):
            if split_of[rid] == "train" and rid not in drop:
                stats.add(physio)
    standardization = stats.result()

    with StageRun("split", out, metrics_copy=metrics_copy) as run:
        writers = {s: run.writer(s) for s in SPLITS}
        for batch in track(iter_batches(shards), desc="split", unit="batch"):
            run.count_input(batch.num_rows)
            _write_batch(batch, split_of, standardization, writers, drop, run)
        atomic_write_json(run.dir / "standardization.json", {
            "fitted_on": "train", "method": "z-score (x - mean) / std, std with n-1", "features": standardization,
        })
        leakage = _leakage_report(clusters, split_of, table, ratios, seed, dedup)
        atomic_write_json(run.dir / "leakage.json", leakage)
        run.metrics.update(_split_metrics(table, classes, split_of, ratios))
        run.metrics["duplicates"] = leakage["summary"]
    return {"inputs": run.inputs, "kept": run.kept}


def _within_split_drops(clusters: list[Cluster]) -> dict[str, str]:
    """Every cluster member but the first (by id) -> the id it duplicates."""
    return {rid: c.record_ids[0] for c in clusters for rid in c.record_ids[1:]}


def _leakage_report(clusters: list[Cluster], split_of: dict[str, str], table: pa.Table, ratios: dict[str, float],
                    seed: int, dedup: dict[str, Any]) -> dict[str, Any]:
    """Every cluster with its ids, distances and final split; `moved` = it would have straddled
    splits had duplicates not been merged into one group."""
    groups, _ = groups_of(table)
    plain = assign_groups(groups, ratios, seed)
    key_of = {rid: (src, gid) for rid, src, gid in zip(
        *(table.column(c).to_pylist() for c in ("id", "source", "group_id")), strict=True)}
    entries = []
    for c in clusters:
        entries.append({
            "record_ids": c.record_ids,
            "edges": c.edges,
            "split": split_of[c.record_ids[0]],
            "moved": len({plain[key_of[rid]] for rid in c.record_ids}) > 1,
            "kinds": sorted({e["kind"] for e in c.edges}),
        })
    summary = {
        "clusters": len(entries),
        "records_in_clusters": sum(len(e["record_ids"]) for e in entries),
        "exact_clusters": sum("exact" in e["kinds"] for e in entries),
        "near_clusters": sum(e["kinds"] == ["near"] for e in entries),
        "moved_to_one_split": sum(e["moved"] for e in entries),
        "max_distance": int(dedup["max_distance"]),
        "dropped_within_split": sum(len(e["record_ids"]) - 1 for e in entries) if dedup["drop_within_split"] else 0,
    }
    return {"summary": summary, "clusters": entries}


def _write_batch(batch: pa.RecordBatch, split_of: dict[str, str], stats: dict, writers: dict,
                 drop: dict[str, str], run: StageRun) -> None:
    table = pa.Table.from_batches([batch])
    physio_z = [zscore(p, stats) for p in table.column("physio").to_pylist()]
    index = table.schema.get_field_index("physio_z")
    table = table.set_column(index, "physio_z", pa.array(physio_z, type=table.schema.field("physio_z").type))
    ids = table.column("id").to_pylist()
    for rid, source in zip(ids, table.column("source").to_pylist(), strict=True):
        if rid in drop:
            run.reject(id=rid, source=source, reason=Reason.DUPLICATE_CONTENT,
                       detail=f"same or near-same image as {drop[rid]} (dedup.drop_within_split)")
    assigned = [None if rid in drop else split_of[rid] for rid in ids]
    for name, writer in writers.items():
        writer.write_table(table.filter(pa.array([a == name for a in assigned])))


def _check_disjoint(table: pa.Table, split_of: dict[str, str]) -> None:
    seen: dict[tuple[str, str], set[str]] = defaultdict(set)
    for rid, source, gid in zip(*(table.column(c).to_pylist() for c in ("id", "source", "group_id")), strict=True):
        seen[(source, gid)].add(split_of[rid])
    leaks = [f"{s}/{g}" for (s, g), splits in seen.items() if len(splits) > 1]
    if leaks:
        raise CuratorError(f"split: {len(leaks)} group(s) straddle splits, e.g. {', '.join(leaks[:3])}; aborting")


def _split_metrics(table: pa.Table, classes: list[str], split_of: dict[str, str],
                   ratios: dict[str, float]) -> dict[str, Any]:
    counts: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for rid, source, cls in zip(table.column("id").to_pylist(), table.column("source").to_pylist(), classes,
                                strict=True):
        counts[source][cls][split_of[rid]] += 1
    per_source = {}
    for source, by_class in sorted(counts.items()):
        per_source[source] = {
            cls: {
                "counts": {s: c[s] for s in SPLITS},
                "shares": {s: round(c[s] / sum(c.values()), 4) for s in SPLITS},
            }
            for cls, c in sorted(by_class.items())
        }
    totals = Counter(split_of.values())
    return {"ratios": ratios, "records_per_split": {s: totals[s] for s in SPLITS}, "per_source_class": per_source}
