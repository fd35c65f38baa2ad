"""split: group-disjoint, label-stratified train/validation/test assignment, per source.

Each group (subject, pair or image) gets a seeded hash in [0, 1). Within one (source, class)
stratum the groups are ordered by that hash and cut at the target ratios, weighting each group
by its record count. So the same inputs and seed give the same assignment, class shares match
the targets, and adding records moves only the few groups near a cut point.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curator.config import Dedup, Split
from curator.errors import CuratorError
from curator.io.atomic import atomic_write_json
from curator.io.parquet import iter_batches, read_columns
from curator.pipeline.lineage import Input
from curator.pipeline.progress import track
from curator.pipeline.run import StageRun
from curator.pipeline.stages import SPLITS
from curator.reasons import Reason
from curator.record.taxonomy import taxonomy
from curator.stages.split.dedup import (
    find_clusters,
    fingerprints_of,
    leakage_report,
    merge_duplicate_groups,
    rows_of,
    within_split_drops,
)
from curator.stages.split.standardize import METHOD, RunningStats, out_of_range, standardize_table


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
UNLABELLED = "(unlabelled)"  # the class of records without any label, for stratifying


def _min_groups(ratios: dict[str, float]) -> int:
    smallest = min(r for r in ratios.values() if r > 0)
    return math.ceil(1 / smallest - 1e-9)


def _pool_rare(source: np.ndarray, stratum: np.ndarray, ratios: dict[str, float], rare: int) -> np.ndarray:
    """Each group's stratum, or `rare` where its (source, stratum) has too few groups (see pool_rare_strata)."""
    if not len(stratum):
        return stratum
    _, index, counts = np.unique(source * (stratum.max() + 1) + stratum, return_inverse=True, return_counts=True)
    return np.where(counts[index.ravel()] >= _min_groups(ratios), stratum, rare)


def pool_rare_strata(groups: Iterable[Group], ratios: dict[str, float]) -> dict[tuple[str, str], list[Group]]:
    """(source, class) -> groups, with classes too small to reach every split pooled per source.

    A class with fewer groups than 1 / (smallest ratio) cannot put one group in each split, so
    cutting it alone would send it all to train (40 EmoNet classes of one image each would never
    reach test). Pooling the rare classes of a source keeps them stratified as one stratum.
    """
    groups = list(groups)
    stratum, names = _codes([g.stratum for g in groups], RARE)
    pooled = _pool_rare(_codes([g.source for g in groups])[0], stratum, ratios, names.index(RARE))
    strata: dict[tuple[str, str], list[Group]] = defaultdict(list)
    for g, code in zip(groups, pooled.tolist(), strict=True):
        strata[(g.source, names[code])].append(g)
    return strata


def _codes(values: list[str], extra: str | None = None) -> tuple[np.ndarray, list[str]]:
    """`_sorted_codes` of Python strings (the Group-object entry points)."""
    codes, names = _sorted_codes(pa.array(values, pa.string()), extra)
    return codes, names.to_pylist()


def assign_groups(groups: Iterable[Group], ratios: dict[str, float], seed: int) -> dict[tuple[str, str], str]:
    """(source, group_id) -> split, cutting each (source, stratum) at the target record counts."""
    ratios = check_ratios(ratios)
    groups = list(groups)
    source = _codes([g.source for g in groups])[0]
    stratum, names = _codes([g.stratum for g in groups], RARE)
    codes = _assign(source, _pool_rare(source, stratum, ratios, names.index(RARE)),
                    np.array([g.size for g in groups], np.int64),
                    np.array([unit_hash(seed, f"{g.source}/{g.group_id}") for g in groups], np.float64),
                    _codes([g.group_id for g in groups])[0], ratios)
    return {(g.source, g.group_id): SPLITS[c] for g, c in zip(groups, codes.tolist(), strict=True)}


def _assign(source: np.ndarray, stratum: np.ndarray, size: np.ndarray, position: np.ndarray, tiebreak: np.ndarray,
            ratios: dict[str, float]) -> np.ndarray:
    """Split index of each group: within each (source, stratum), groups in (position, tiebreak)
    order are cut at the target record counts; a group goes where most of its records fall."""
    if not len(size):
        return np.zeros(0, np.int8)
    order = np.lexsort((tiebreak, position, stratum, source))
    source, stratum, size = source[order], stratum[order], size[order]
    first = np.flatnonzero(np.r_[True, (source[1:] != source[:-1]) | (stratum[1:] != stratum[:-1])])
    stratum_of = np.repeat(np.arange(len(first)), np.diff(np.r_[first, len(order)]))
    counts = np.array([target_counts(t, ratios) for t in np.add.reduceat(size, first).tolist()], np.int64)
    end = np.cumsum(size)
    before = end - size - (end - size)[first][stratum_of]  # records of earlier groups in the stratum
    midpoint = before + size / 2
    cut = counts[stratum_of]
    out = np.empty(len(order), np.int8)
    out[order] = (midpoint >= cut[:, 0]).astype(np.int8) + (midpoint >= cut[:, 0] + cut[:, 1])
    return out


@dataclass(frozen=True)
class Records:
    """What the split decides on, one array entry per record (no Python object per record).

    Codes index sorted name lists, so comparing codes compares names; groups are numbered in
    (source, group_id) order.
    """

    ids: pa.ChunkedArray
    source: np.ndarray  # index into source_names
    group: np.ndarray  # index into group_source / group_ids
    cls: np.ndarray  # the class (basic, else fine, else original label): index into class_names
    source_names: list[str]
    class_names: list[str]  # includes RARE
    group_source: np.ndarray  # per group: index into source_names
    group_ids: pa.Array  # per group: its group_id

    def label_of(self, row: int) -> str | None:
        """The record's class name (basic, else fine, else the source's text); None when unlabelled."""
        name = self.class_names[self.cls[row]]
        return None if name == UNLABELLED else name

    def group_name(self, group: int) -> str:
        return f"{self.source_names[self.group_source[group]]}/{self.group_ids[group].as_py()}"


def _read_records(shards: list[Path]) -> Records:
    table = read_columns(shards, ["id", "source", "group_id", "label", "label_fine", "label_original"])
    for name in ("id", "source", "group_id"):
        if table.column(name).null_count:
            raise CuratorError(f"split: {table.column(name).null_count} record(s) without {name}")
    ids = table.column("id")
    _check_unique(ids)
    source, source_names = _sorted_codes(table.column("source"))
    gid, gid_names = _sorted_codes(table.column("group_id"))
    keys, group = np.unique(source * len(gid_names) + gid, return_inverse=True)
    tax = taxonomy()
    basic, fine = (table.column(c).cast(pa.int64()) for c in ("label", "label_fine"))  # no shards: typed string
    classes = pc.coalesce(pa.array(tax.basic, pa.string()).take(basic), pa.array(tax.fine, pa.string()).take(fine),
                          table.column("label_original"), pa.scalar(UNLABELLED))
    cls, class_names = _sorted_codes(classes, RARE)
    return Records(ids, source, group.ravel(), cls, source_names.to_pylist(), class_names.to_pylist(),
                   keys // len(gid_names), gid_names.take(pa.array(keys % len(gid_names))))


def _check_unique(ids: pa.ChunkedArray) -> None:
    """Decisions are matched to rows by position and duplicates by id: ids must not repeat (prepare
    rejects repeats within a source, and ids start with the source name)."""
    in_order = ids.take(pc.sort_indices(ids))
    repeats = np.flatnonzero(np.asarray(pc.equal(in_order[1:], in_order[:-1]))) if len(ids) > 1 else []
    if len(repeats):
        raise CuratorError(f"split: {len(repeats)} repeated record id(s), e.g. {in_order[int(repeats[0])]}")


def _sorted_codes(column: pa.ChunkedArray, extra: str | None = None) -> tuple[np.ndarray, pa.Array]:
    """Each value's index into the sorted distinct values (Arrow sorts UTF-8 bytes: Python's str order)."""
    encoded = pc.dictionary_encode(column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column)
    values = encoded.dictionary
    if extra is not None and extra not in values.to_pylist():
        values = pa.concat_arrays([values, pa.array([extra], values.type)])
    order = pc.sort_indices(values).to_numpy()
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    return rank[encoded.indices.to_numpy()], values.take(pa.array(order))


def _group_positions(records: Records, seed: int, chunk: int = 65536) -> np.ndarray:
    """Each group's unit_hash (its place in its stratum), a chunk of group ids at a time."""
    out = np.empty(len(records.group_ids))
    for start in range(0, len(out), chunk):
        names = records.group_ids.slice(start, chunk).to_pylist()
        sources = records.group_source[start:start + chunk].tolist()
        out[start:start + len(names)] = [unit_hash(seed, f"{records.source_names[s]}/{g}")
                                         for s, g in zip(sources, names, strict=True)]
    return out


def _group_splits(records: Records, group: np.ndarray, positions: np.ndarray, ratios: dict[str, float]) -> np.ndarray:
    """Split index per group that `group` (per record) uses, -1 for the others. A group's stratum
    is its majority class (ties: the smallest name), its size its record count."""
    ratios = check_ratios(ratios)
    n_classes = len(records.class_names)
    pairs, votes = np.unique(group * n_classes + records.cls, return_counts=True)
    pair_group, pair_class = pairs // n_classes, pairs % n_classes
    best = np.lexsort((pair_class, -votes, pair_group))
    best = best[np.unique(pair_group[best], return_index=True)[1]]  # the first (best) class of each group
    used, stratum = pair_group[best], pair_class[best]
    source = records.group_source[used]
    out = np.full(len(records.group_ids), -1, np.int8)
    out[used] = _assign(source, _pool_rare(source, stratum, ratios, records.class_names.index(RARE)),
                        np.bincount(group, minlength=len(out))[used], positions[used], used, ratios)
    return out


def run_split(inputs: Path, out: Path, conf: Split | None = None, dedup: Dedup | None = None, *,
              metrics_copy: Path | None = None) -> dict[str, Any]:
    conf, dedup = conf or Split(), dedup or Dedup()
    ratios, seed = conf.ratios.model_dump(), conf.seed
    contract = {"inputs": [Input(Path(inputs), "normalized")],
                "params": {"split": conf.model_dump(mode="json"), "dedup": dedup.model_dump(mode="json")}}
    with StageRun("split", out, metrics_copy=metrics_copy, **contract) as run:
        shards = run.shards(Path(inputs))
        records = _read_records(shards)
        hashes = (b.column("hashes") for b in iter_batches(shards, columns=["hashes"], batch_rows=32768))
        clusters = find_clusters(fingerprints_of(records.ids, hashes), dedup.max_distance)
        row_of = rows_of(records.ids, clusters)
        merged = merge_duplicate_groups(records.group, len(records.group_ids), clusters, row_of)[records.group]
        positions = _group_positions(records, seed)
        split = _group_splits(records, merged, positions, ratios)[merged]  # per record: index into SPLITS
        _check_disjoint(records, split)
        assigned = split.copy()  # -1: left out (a duplicate dropped, a physio value out of range)
        dropped = {rid: (Reason.DUPLICATE_CONTENT, f"same or near-same image as {other} (dedup.drop_within_split)")
                   for rid, other in (within_split_drops(clusters) if dedup.drop_within_split else {}).items()}
        assigned[[row_of[rid] for rid in dropped]] = -1
        standardization = _fit_standardization(shards, records, assigned, dropped)

        writers = {s: run.writer(s) for s in SPLITS}
        for batch, rows in track(_aligned_batches(shards, records.ids), desc="split", unit="batch"):
            run.count_input(batch.num_rows)
            _write_batch(batch, assigned[rows], standardization, writers, dropped, run)
        atomic_write_json(run.dir / "standardization.json", {
            "fitted_on": "train", "method": METHOD, "features": standardization,
        })
        plain = _group_splits(records, records.group, positions, ratios)
        leakage = leakage_report(clusters, row_of, split, plain[records.group], dedup, SPLITS,
                                 label_of=lambda rid: records.label_of(row_of[rid]))
        atomic_write_json(run.dir / "leakage.json", leakage)
        run.metrics.update(_split_metrics(records, split, ratios))
        run.metrics["duplicates"] = leakage["summary"]
    return {"inputs": run.inputs, "kept": run.kept}


def _fit_standardization(shards: list[Path], records: Records, assigned: np.ndarray,
                         dropped: dict[str, tuple[Reason, str]]) -> dict[str, dict[str, float]]:
    """z-score statistics fitted on train. A record with a physio value standardization cannot take
    (not finite, or so large that the fit would overflow) is left out of every split, with a reason."""
    stats = RunningStats()
    for batch, rows in _aligned_batches(shards, records.ids, columns=["id", "physio"], batch_rows=4096):
        present = np.flatnonzero(np.asarray(pc.is_valid(batch.column("physio"))))  # image records have none
        table = pa.Table.from_batches([batch]).take(pa.array(present, pa.int64()))
        for row, rid, physio in zip((rows.start + present).tolist(), table.column("id").to_pylist(),
                                    table.column("physio").to_pylist(), strict=True):
            problem = out_of_range(physio)
            if problem is not None:
                assigned[row] = -1
                dropped[rid] = (Reason.PHYSIO_OUT_OF_RANGE, problem)
            elif assigned[row] == 0:
                stats.add(physio)
    return stats.result()


def _aligned_batches(shards: list[Path], ids: pa.ChunkedArray, **kwargs: Any) -> Iterator[tuple[pa.RecordBatch, slice]]:
    """Batches with their rows in `ids` (split decisions are arrays in that order), checked by id."""
    start = 0
    for batch in iter_batches(shards, **kwargs):
        rows = slice(start, start + batch.num_rows)
        if not pa.chunked_array([batch.column("id")]).equals(ids.slice(start, batch.num_rows)):
            raise CuratorError(f"split: the shards changed while the split ran (rows {start}-{rows.stop})")
        start = rows.stop
        yield batch, rows


def _write_batch(batch: pa.RecordBatch, assigned: np.ndarray, stats: dict, writers: dict,
                 dropped: dict[str, tuple[Reason, str]], run: StageRun) -> None:
    table = pa.Table.from_batches([batch])
    left_out = table.select(["id", "source"]).take(pa.array(np.flatnonzero(assigned < 0)))
    for rid, source in zip(left_out.column("id").to_pylist(), left_out.column("source").to_pylist(), strict=True):
        reason, detail = dropped[rid]
        run.reject(id=rid, source=source, reason=reason, detail=detail)
    table = standardize_table(table.filter(pa.array(assigned >= 0)), stats)
    assigned = assigned[assigned >= 0]
    for code, writer in enumerate(writers.values()):
        writer.write_table(table.filter(pa.array(assigned == code)))


def _check_disjoint(records: Records, split: np.ndarray) -> None:
    """Safety net: every record of a (source, group_id) has the same split."""
    pairs = np.unique(records.group * len(SPLITS) + split)
    groups, counts = np.unique(pairs // len(SPLITS), return_counts=True)
    leaks = [records.group_name(g) for g in groups[counts > 1].tolist()]
    if leaks:
        raise CuratorError(f"split: {len(leaks)} group(s) straddle splits, e.g. {', '.join(leaks[:3])}; aborting")


def _split_metrics(records: Records, split: np.ndarray, ratios: dict[str, float]) -> dict[str, Any]:
    n_splits, n_classes = len(SPLITS), len(records.class_names)
    keys, counts = np.unique((records.source * n_classes + records.cls) * n_splits + split, return_counts=True)
    by_source: dict[str, dict[str, list[int]]] = {}  # keys ascend: sources, then classes, in name order
    for key, n in zip(keys.tolist(), counts.tolist(), strict=True):
        source, rest = divmod(key, n_classes * n_splits)
        cls, s = divmod(rest, n_splits)
        by_class = by_source.setdefault(records.source_names[source], {})
        by_class.setdefault(records.class_names[cls], [0] * n_splits)[s] = n
    per_source = {
        source: {
            cls: {
                "counts": dict(zip(SPLITS, c, strict=True)),
                "shares": {s: round(n / sum(c), 4) for s, n in zip(SPLITS, c, strict=True)},
            }
            for cls, c in by_class.items()
        }
        for source, by_class in by_source.items()
    }
    totals = np.bincount(split, minlength=n_splits).tolist()
    return {"ratios": ratios, "records_per_split": dict(zip(SPLITS, totals, strict=True)),
            "per_source_class": per_source}
