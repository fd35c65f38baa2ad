"""Ray Data for stages whose input is already on storage (Parquet shards, tars), with `--executor ray`.

The per-record work runs as Ray Data tasks that read their part of the input from storage, run the
same per-record function as the process pool, and write what they produced with Ray Data's
`write_parquet` into a scratch folder inside the stage's temp output. The driver only lists the
work (row groups, from the Parquet footers), starts the pipeline and gets summaries back: it never
holds a record. Everything is on one filesystem that every node mounts at the same path (an NFS
share, or one machine).

Why row-group units rather than `ray.data.read_parquet`: byte-identical output needs every result
in input order, and a reject names its row ("train-00000.parquet row 17"). read_parquet gives
neither a row's position nor a block order that survives `write_parquet` (the files are named by
write task). A unit is one row group of one input file: `ray.data.from_items(units)` →
`map_batches` (one unit per call: it reads that row group with pyarrow and runs the per-record
function) → `write_parquet`. Each output row carries its key (`_unit`, `_row`), so the ordered pass
(`ordered_batches`) reads the scratch files back in input order, and refuses any that overlap.
The same holds for WebDataset tars (emonet_big): `ray.data.read_webdataset` decodes members its own
way and gives no sample position, so a unit is one tar, read in the task by the very `datasets`
builder the pool path streams it with (the samples, keys and `<tar>:<key>` are the same), and a
unit too big for one table yields several in order.

That ordered pass, which writes the project's shard layout, is one Ray task (`on_cluster`): a
shard is one sequential file, so this part is not parallel; it costs what the process pool's
driver loop costs, minus the per-record work (see README, "Ray Data").
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from curator.errors import CuratorError
from curator.io.parquet import BATCH_ROWS

KEY = ("_unit", "_row")
KEY_FIELDS = [pa.field("_unit", pa.int64()), pa.field("_row", pa.int64())]
SCRATCH = ".raydata"  # inside the stage's temp output; removed before the commit


def _ray() -> Any:
    """Ray with Ray Data (the [ray] extra; RayExecutor has checked it before a stage gets here)."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise CuratorError("--executor ray needs Ray: pip install 'emotion-curator[ray]'") from exc
    return ray


def on_ray(pool: Any) -> bool:
    """True when the stage's executor is Ray (then storage-backed stages use Ray Data)."""
    from curator.pipeline.executor import RayExecutor

    return isinstance(pool, RayExecutor)


def _quiet() -> None:
    """No progress bars or per-dataset log lines on the CLI's stderr (they go to Ray's log folder)."""
    ray = _ray()
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.execution_options.preserve_order = True  # keeps each write task's rows contiguous
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # its notes (e.g. "progress bars disabled") too


def _one_unit(batch: pa.Table, fn: Callable[..., Any], kwargs: dict[str, Any]) -> Iterator[pa.Table]:
    (unit,) = batch.to_pylist()
    result = fn(unit, **kwargs)
    if isinstance(result, pa.Table):
        yield result
    else:  # a unit too big for one table (a whole WebDataset tar) comes as several, in order
        yield from result


def map_units(units: list[dict[str, Any]], fn: Callable[..., pa.Table], scratch: Path, **kwargs: Any) -> None:
    """Run `fn(unit, **kwargs)` for every unit as Ray Data tasks; their tables go to `scratch` as Parquet.

    `fn` returns a table, or yields tables in row order, whose first columns are KEY (the unit and the
    row within it), possibly empty.
    """
    if not units:
        return
    ray = _ray()
    _quiet()
    dataset = ray.data.from_items(units, override_num_blocks=len(units))
    dataset = dataset.map_batches(_one_unit, fn_kwargs={"fn": fn, "kwargs": kwargs}, batch_size=1,
                                  batch_format="pyarrow", num_cpus=1)
    try:
        dataset.write_parquet(str(scratch))
    except Exception as exc:
        raise _one_line(exc) from None


def ordered_batches(scratch: Path, *, batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """What `map_units` wrote, in input order (by KEY); a CuratorError if two files overlap."""
    spans = []
    for path in sorted(Path(scratch).rglob("*.parquet")) if Path(scratch).is_dir() else []:
        keys = pq.read_table(path, columns=list(KEY))
        pairs = list(zip(keys.column(0).to_pylist(), keys.column(1).to_pylist(), strict=True))
        if pairs != sorted(pairs):
            raise CuratorError(f"Ray Data wrote {path.name} out of order; its rows cannot be put back in input order")
        if pairs:
            spans.append((pairs[0], pairs[-1], path))
    spans.sort()
    for before, after in pairwise(spans):
        if before[1] >= after[0]:
            raise CuratorError(f"Ray Data wrote overlapping parts ({before[2].name}, {after[2].name}); "
                               "its rows cannot be put back in input order")
    for _, _, path in spans:
        yield from pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=batch_rows)


def on_cluster(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run `fn` as one Ray task (one CPU, anywhere in the cluster) and return its result."""
    ray = _ray()
    try:
        return ray.get(ray.remote(num_cpus=1, max_retries=0)(fn).remote(*args, **kwargs))
    except Exception as exc:
        raise _one_line(exc) from None


def drop_scratch(scratch: Path) -> None:
    shutil.rmtree(scratch, ignore_errors=True)


def _one_line(exc: BaseException) -> BaseException:
    """The CuratorError a Ray task raised (Ray wraps it, with a traceback in the text), else one line."""
    seen: BaseException | None = exc
    while seen is not None:
        cause = getattr(seen, "cause", None)  # RayTaskError keeps the task's own exception here
        for candidate in (seen, cause):
            if isinstance(candidate, CuratorError) and not type(candidate).__module__.startswith("ray"):
                return candidate
        seen = cause if isinstance(cause, BaseException) else seen.__cause__
    text = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return CuratorError(f"Ray Data failed: {text}")
