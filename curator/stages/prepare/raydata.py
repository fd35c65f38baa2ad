"""prepare with `--executor ray` for a recipe whose raw files are on storage (a `storage_plan`).

The plan lists units (a row group of a Parquet shard, a WebDataset tar: `plan.units()`). Each Ray
Data task takes one unit from storage and does, per item, what the pool path does per item up to
the order-dependent part: the recipe's item (`plan.unit_items`, the same per-row function as the
recipe's prepare()), the stage's field check, and the image check (`check_images`, the pool's
per-record function). It writes one event row per item with `write_parquet`: a candidate record
(fixed bytes and hashes in place), an image reject that still yields to a duplicate id, or a plain
reject. One Ray task then replays the pool path's decisions in input order (duplicate ids;
`resolve`'s rules) and writes the shards BATCH_ROWS records per call, as `run_prepare` does: the same rows,
row groups and bytes. The driver gets the accounting, the fixes and the recipe's notes back, never a
record.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa

from curator.io.parquet import BATCH_ROWS, ShardWriter
from curator.pipeline import raydata
from curator.pipeline.run import Ledger, StageRun
from curator.record.schema import arrow_schema, required_columns
from curator.sources.emonet.parquet import RowPlan, UnitPlan
from curator.sources.recipe import NotRead, Reject
from curator.stages.prepare.items import duplicate, image_task, missing_fields, resolve, storable  # pool path rules
from curator.stages.prepare.worker import check_images

META = [pa.field("_kind", pa.string()), pa.field("_id", pa.string()), pa.field("_reject", pa.string()),
        pa.field("_fixes", pa.string()), pa.field("_note", pa.string())]


def _events_schema() -> pa.Schema:
    return pa.schema([*raydata.KEY_FIELDS, *arrow_schema(), *META])


def _reject(item: Reject) -> str:
    item = storable(item)  # a name that is not UTF-8 (a tar member's) escaped, as the pool path does
    return json.dumps({"id": item.id, "reason": str(item.reason), "detail": item.detail, "path": item.path})


def prepare_unit(unit: dict[str, Any], plan: RowPlan | UnitPlan, max_pixels: int) -> Iterator[pa.Table]:
    """One event per item of one unit (a Ray Data task), BATCH_ROWS events per table."""
    required = required_columns()
    events = []
    for row, (item, note) in enumerate(plan.unit_items(unit)):
        if len(events) >= BATCH_ROWS:
            yield pa.Table.from_pylist(events, schema=_events_schema())
            events = []
        if not isinstance(item, Reject):
            item = missing_fields(item, required) or item
        event: dict[str, Any] = {"_unit": unit["unit"], "_row": row, "_note": json.dumps(note)}
        if isinstance(item, Reject):
            events.append({**event, "_kind": "reject", "_id": item.id, "_reject": _reject(item)})
            continue
        # everything resolve decides but the duplicate check, which needs every earlier row (write_in_order)
        fixes: list[dict[str, Any]] = []  # listed only if the record is kept
        resolved = resolve(item, check_images(image_task(item, set()), max_pixels), set(), fixes)
        if isinstance(resolved, Reject):
            events.append({**event, "_kind": "bad", "_id": item["id"], "_reject": _reject(resolved)})
            continue
        events.append({**resolved, **event, "_kind": "row", "_id": item["id"], "_fixes": json.dumps(fixes)})
    yield pa.Table.from_pylist(events, schema=_events_schema())


def write_in_order(scratch: Path, out: Path) -> tuple[Ledger, list[dict[str, Any]], list[Any]]:
    """The ordered pass (a Ray task): run_prepare's decisions and writes, fed from the events."""
    ledger, fixes, notes = Ledger(), [], []
    columns = arrow_schema().names
    writer = ShardWriter(out, arrow_schema())
    seen: set[str] = set()
    batch: list[dict[str, Any]] = []
    for events in raydata.ordered_batches(scratch):
        for event in events.to_pylist():
            ledger.count_input()
            notes.append(json.loads(event["_note"]))
            rid, kind = event["_id"], event["_kind"]
            if kind != "reject" and rid in seen:
                dup = duplicate(rid)
                ledger.reject(id=dup.id, reason=dup.reason, detail=dup.detail)
            elif kind != "row":
                ledger.reject(**json.loads(event["_reject"]))
            else:
                fixes += json.loads(event["_fixes"])
                seen.add(rid)
                batch.append({c: event[c] for c in columns})
                if len(batch) >= BATCH_ROWS:
                    writer.write_rows(batch)
                    batch = []
    writer.write_rows(batch)
    writer.close()
    ledger.kept_extra = writer.rows
    return ledger, fixes, notes


def prepare_on_ray(plan: RowPlan | UnitPlan, run: StageRun, max_pixels: int) -> list[dict[str, Any]]:
    """Prepare `plan`'s items into `run.dir` with Ray Data, then the recipe's closing items; returns the fixes."""
    scratch = run.dir / raydata.SCRATCH
    units = plan.units()
    raydata.map_units(units, partial(prepare_unit, plan=plan, max_pixels=max_pixels), scratch)
    ledger, fixes, notes = raydata.on_cluster(write_in_order, scratch, run.dir)
    raydata.drop_scratch(scratch)
    ledger.apply(run)
    not_read: Counter[tuple[str, str]] = Counter()
    for item in plan.finish(notes):  # the recipe's closing items: rejects, as in the pool path
        if isinstance(item, NotRead):  # counted aside, as the pool path's _samples_only does
            not_read[item.what, item.why] += 1
            continue
        run.count_input()
        run.reject(id=item.id, reason=item.reason, detail=item.detail, path=item.path)
    if not_read:
        run.metrics["not_read"] = [{"what": what, "why": why, "count": n}
                                   for (what, why), n in sorted(not_read.items())]
    return fixes
