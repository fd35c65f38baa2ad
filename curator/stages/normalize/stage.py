"""normalize: map every record's source label into the taxonomy (basic, fine, and the fine class's family).

Reads only the prepared shards and schemas/ (taxonomy + label maps), so editing one map
re-runs this stage and what follows, never download/prepare. Image bytes pass through as
Arrow buffers: nothing is decoded here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa

from curator.errors import CuratorError
from curator.io.parquet import iter_batches
from curator.pipeline.lineage import Input
from curator.pipeline.progress import track
from curator.pipeline.run import StageRun
from curator.reasons import Reason
from curator.record.taxonomy import label_map, map_name, taxonomy


def _resolve_column(sources: list[str], texts: list[str | None], what: str, run: StageRun, ids: list[str],
                    keep: list[bool], counts: Counter | None) -> tuple[list, list]:
    """Resolve one label column; unknown labels flip `keep` off and become rejects."""
    basic, fine = [], []
    tax = taxonomy()
    for i, (source, text) in enumerate(zip(sources, texts, strict=True)):
        resolved = label_map(source).resolve(text) if text is not None else None
        if text is not None and resolved is None and keep[i]:
            keep[i] = False
            run.reject(id=ids[i], source=source, reason=Reason.UNKNOWN_LABEL,
                       detail=f"{what} {text!r} is not in {map_name(source)}")
        basic.append(resolved.basic if resolved else None)
        fine.append(resolved.fine if resolved else None)
        if counts is not None and resolved and keep[i]:
            b = tax.basic[resolved.basic] if resolved.basic is not None else None
            f = tax.fine[resolved.fine] if resolved.fine is not None else None
            counts[(source, resolved.canonical, b, f)] += 1
    return basic, fine


def normalize_batch(batch: pa.RecordBatch, run: StageRun, counts: Counter) -> pa.Table:
    ids = batch.column("id").to_pylist()
    sources = batch.column("source").to_pylist()
    keep = [True] * len(ids)
    basic, fine = _resolve_column(sources, batch.column("label_original").to_pylist(), "label", run, ids, keep, counts)
    felt, _ = _resolve_column(sources, batch.column("label_felt_original").to_pylist(), "felt label", run, ids,
                              keep, None)
    # a recipe that knows its label kind from params (EMER) wins over its map's
    kinds = [k if k is not None else label_map(s).label_kind
             for s, k in zip(sources, batch.column("label_kind").to_pylist(), strict=True)]
    tax = taxonomy()
    family = [None if f is None else tax.family.index(tax.family_of(tax.fine[f])) for f in fine]
    table = pa.Table.from_batches([batch])
    for name, values in (("label", basic), ("label_fine", fine), ("label_family", family), ("label_felt", felt),
                         ("label_kind", kinds)):
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, pa.array(values, type=table.schema.field(name).type))
    return table.filter(pa.array(keep))


def run_normalize(inputs: Iterable[Path], out: Path, *, metrics_copy: Path | None = None) -> dict[str, Any]:
    """Each input must be one source's prepared output (`curator prepare SRC`), each source once."""
    counts: Counter = Counter()
    inputs = [Path(p) for p in inputs]
    if not inputs:
        raise CuratorError("normalize: no prepared input (enable a source in sources.enabled, or pass --in)")
    with StageRun("normalize", out, metrics_copy=metrics_copy, inputs=[Input(p, "prepared") for p in inputs]) as run:
        _check_sources_once(run, inputs)
        shards = [p for location in inputs for p in run.shards(location)]
        writer = run.writer()
        for batch in track(iter_batches(shards), desc="normalize", unit="batch"):
            run.count_input(batch.num_rows)
            writer.write_table(normalize_batch(batch, run, counts))
        run.metrics["label_mapping"] = [
            {"source": s, "original": o, "basic": b, "fine": f, "count": n}
            for (s, o, b, f), n in sorted(counts.items(), key=lambda kv: tuple(map(str, kv[0])))
        ]
    return {"inputs": run.inputs, "kept": run.kept, "rejected": run.rejects.total}


def _check_sources_once(run: StageRun, inputs: list[Path]) -> None:
    """Two prepared folders of one source would double its records (every id twice)."""
    seen: dict[str, Path] = {}
    for path in inputs:
        source = run.manifest(path).get("source")
        if source in seen:
            raise CuratorError(f"normalize: {seen[source]} and {path} both hold prepared {source}; "
                               "give each source once")
        seen[source] = path
    run.params = {"sources": list(seen)}  # in --in order: the order records are read and written
