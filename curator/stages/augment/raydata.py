"""augment with `--executor ray`: the train shards are read and augmented by Ray Data tasks.

Each task takes one row group of a train shard from storage and runs `augment_parent` (the pool's
per-record function) on each parent with an image; its rows (the new bytes and transforms, keyed by
unit and row) go to a scratch folder with `write_parquet`. One more Ray task then runs the pool
path's own write loop (curator.stages.augment.children.write_children) with those results read back in input
order: the child rows are built by the same code from the same parent rows, so the shards, their
row groups and the before/after grid are byte-identical to the process pool's. The driver gets the
accounting back (counts and rejects), never a record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curator.errors import CuratorError
from curator.io.parquet import ShardWriter, row_group_units
from curator.pipeline import raydata
from curator.pipeline.run import Ledger, StageRun
from curator.reasons import Reason
from curator.record.schema import arrow_schema
from curator.stages.augment.children import write_children
from curator.stages.augment.rows import Copies, Parent

RESULT = pa.schema([
    *raydata.KEY_FIELDS,
    pa.field("id", pa.string()),
    pa.field("images", pa.list_(pa.binary())),
    pa.field("infrared", pa.list_(pa.binary())),
    pa.field("transforms", pa.list_(pa.string())),
    pa.field("error", pa.string()),
    pa.field("reason", pa.string()),
])


def augment_unit(unit: dict, work: Callable[[Parent], Copies]) -> pa.Table:
    """The Copies of every parent with an image in one row group (a Ray Data task)."""
    table = pq.ParquetFile(unit["path"]).read_row_group(unit["row_group"], columns=["id", "image", "infrared"])
    images = pc.struct_field(table.column("image"), "bytes").to_pylist()  # as children._parents reads them
    infrared = pc.struct_field(table.column("infrared"), "bytes").to_pylist()
    rows: dict[str, list] = {name: [] for name in RESULT.names}
    for row, (rid, image, ir) in enumerate(zip(table.column("id").to_pylist(), images, infrared, strict=True)):
        if image is None:
            continue  # not an input of augment (counted as not_applicable by the write loop)
        result = work(Parent(rid, image, ir))
        for name, value in (("_unit", unit["unit"]), ("_row", row), ("id", rid), ("images", result.images),
                            ("infrared", result.infrared), ("transforms", result.transforms),
                            ("error", result.error), ("reason", None if result.reason is None else str(result.reason))):
            rows[name].append(value)
    return pa.table(rows, schema=RESULT)


def _results(scratch: Path, parents: Iterator[Parent]) -> Iterator[Copies]:
    """The Copies read back in input order, checked against the parents the write loop reads."""
    stored = (row for batch in raydata.ordered_batches(scratch) for row in batch.to_pylist())
    for parent in parents:
        row = next(stored, None)
        if row is None or row["id"] != parent.id:
            found = "nothing" if row is None else row["id"]
            raise CuratorError(f"augment: Ray Data results out of step with the train split at {parent.id} "
                               f"(found {found}); nothing written")
        yield Copies(row["images"], row["infrared"], row["transforms"], row["error"],
                     None if row["reason"] is None else Reason(row["reason"]))
    if next(stored, None) is not None:
        raise CuratorError("augment: Ray Data returned more results than the train split has parents; nothing written")


def write_in_order(train: list[Path], scratch: Path, out: Path, copies: int) -> tuple[Ledger, int]:
    """The ordered pass (a Ray task): the pool path's write loop, fed from the scratch results."""
    ledger = Ledger()
    ledger.metrics["not_applicable"] = 0
    writer = ShardWriter(out, arrow_schema())
    children = write_children(train, lambda parents: _results(scratch, parents), writer, ledger, copies, out)
    writer.close()
    return ledger, children


def augment_on_ray(train: list[Path], run: StageRun, work: Callable[[Parent], Copies], copies: int) -> int:
    """Augment `train` into `run.dir` with Ray Data; returns the children written."""
    scratch = run.dir / raydata.SCRATCH
    raydata.map_units(row_group_units(train), augment_unit, scratch, work=work)
    ledger, children = raydata.on_cluster(write_in_order, train, scratch, run.dir, copies)
    raydata.drop_scratch(scratch)
    ledger.apply(run)
    return children
