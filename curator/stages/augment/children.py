"""augment's write loop: the children of every train parent, in input order, and the before/after grid.

The process pool (curator.stages.augment.stage) and Ray Data (curator.stages.augment.raydata) both
feed it, so the output bytes are the same for both.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator
from itertools import groupby
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from curator.io.parquet import BATCH_ROWS, ShardWriter, iter_batches
from curator.pipeline.progress import track
from curator.pipeline.run import Ledger
from curator.reasons import Reason
from curator.stages.augment.grid import before_after_grid
from curator.stages.augment.rows import Copies, Parent
from curator.stages.augment.worker import Augmented

GRID_ROWS = 8


def _parents(train: list[Path], run: Ledger, held: deque) -> Iterator[Parent]:
    """Train records with an image, as (id, bytes) for the workers; each one's row in its batch waits in
    `held` (results come back in the same order)."""
    for batch in iter_batches(train, batch_rows=BATCH_ROWS):
        table = pa.Table.from_batches([batch])
        images = pc.struct_field(table.column("image"), "bytes").to_pylist()
        infrared = pc.struct_field(table.column("infrared"), "bytes").to_pylist()
        for row, (rid, image, ir) in enumerate(zip(table.column("id").to_pylist(), images, infrared, strict=True)):
            if image is None:
                run.metrics["not_applicable"] += 1
                continue  # tabular records have nothing to augment: not an input of this stage
            run.count_input()
            parent = Parent(rid, image, ir)
            held.append((table, row, parent))
            yield parent


def write_children(train: list[Path], results: Callable[[Iterator[Parent]], Iterator[Copies]], writer: ShardWriter,
                   run: Ledger, copies: int, out: Path) -> int:
    """Write the children of every train parent, in input order, and the report's before/after grid.

    `results` maps the parents to their Copies in the same order (the executor's ordered_map, or the
    Ray Data results read back in order): this loop, and so the output bytes, are the same for both.
    `run` is the StageRun, or a Ledger that a Ray task hands back to it. Returns the children written.
    """
    grid: dict[bool, dict[str, list]] = {has_ir: {"rows": [], "spares": []} for has_ir in (True, False)}
    held: deque[tuple[pa.Table, int, Parent]] = deque()
    done: list[tuple[pa.Table, int, Copies]] = []
    children = 0
    for result in track(results(_parents(train, run, held)), desc="augment"):
        table, row, parent = held.popleft()
        if result.error:
            source = table.column("source")[row].as_py()
            reason = result.reason or Reason.AUGMENT_FAILED
            run.reject(id=parent.id, source=source, reason=reason, detail=result.error)
            continue
        run.kept_extra += 1
        children += len(result.images)
        done.append((table, row, result))
        if result.images:
            _collect_grid(grid, table.column("label")[row].as_py(), parent, result)
        # children are written a few hundred at a time: one Arrow table per parent would cost more than
        # the copy itself, and the driver shares the machine with the workers
        if len(done) * copies >= BATCH_ROWS:
            writer.write_table(_child_rows(done, writer.schema))
            done = []
    if done:
        writer.write_table(_child_rows(done, writer.schema))
    examples = _grid_examples(grid)
    if examples:
        before_after_grid(examples, out / "before_after.png")
    return children


def _child_rows(done: list[tuple[pa.Table, int, Copies]], schema: pa.Schema) -> pa.Table:
    """The parents' rows, repeated once per copy, with the augmented images, a derived id
    (`<parent>#aug<copy>`), `augmented_from`, the transform, and no `hashes` (those describe the
    original bytes). Built column by column: no Python dict per row."""
    parts = []
    for _, same_batch in groupby(done, key=lambda item: id(item[0])):  # consecutive parents of one batch
        same_batch = list(same_batch)
        rows = [row for _, row, result in same_batch for _ in result.images]
        parts.append(same_batch[0][0].take(pa.array(rows, pa.int64())))
    parents = pa.concat_tables(parts)
    results = [result for _, _, result in done]
    copy_index = [copy for result in results for copy in range(len(result.images))]
    parent_ids = parents.column("id").to_pylist()
    columns = {
        "id": [f"{pid}#aug{copy}" for pid, copy in zip(parent_ids, copy_index, strict=True)],
        "augmented_from": parent_ids,
        "transform": [t for result in results for t in result.transforms],
        "hashes": [None] * len(parent_ids),
    }
    for column, new_bytes in (("image", [r.images for r in results]), ("infrared", [r.infrared for r in results])):
        data = [b for copies in new_bytes for b in copies]
        present = pc.is_valid(parents.column(column)).to_pylist()
        paths = pc.struct_field(parents.column(column), "path").to_pylist()  # not the bytes: never copied
        columns[column] = [
            {"bytes": new, "path": f"{_stem(path, pid)}_aug{copy}.jpg"} if had and new is not None else None
            for had, path, new, pid, copy in zip(present, paths, data, parent_ids, copy_index, strict=True)
        ]
    for name, values in columns.items():
        index = parents.schema.get_field_index(name)
        parents = parents.set_column(index, schema.field(name), pa.array(values, schema.field(name).type))
    return parents


def _stem(path: str | None, parent_id: str) -> str:
    return Path(path or parent_id.replace("/", "_")).stem


def _collect_grid(grid: dict[bool, dict[str, list]], label: Any, parent: Parent, result: Copies) -> None:
    """Keep a few examples for the report: visible+IR pairs and visible-only, GRID_ROWS of each,
    one per class first (the first train records are often all of one class), repeats as spares."""
    bucket = grid[parent.infrared is not None]
    distinct = label not in {row[3] for row in bucket["rows"]}
    if len(bucket["rows"]) >= GRID_ROWS or (not distinct and len(bucket["spares"]) >= GRID_ROWS):
        return
    augmented = Augmented(result.images[0], result.infrared[0], json.loads(result.transforms[0]))
    bucket["rows" if distinct else "spares"].append((parent.image, parent.infrared, augmented, label))


def _grid_examples(grid: dict[bool, dict[str, list]]) -> list[tuple]:
    chosen = []
    for bucket in (grid[True], grid[False]):  # visible+IR pairs first
        rows = bucket["rows"] + bucket["spares"]
        chosen += rows[:GRID_ROWS]
    return [row[:3] for row in chosen[:GRID_ROWS]]
