"""prepare: drive one recipe's items into unified records (Parquet shards) and rejects.

The recipe reads its own format (curator/sources/<name>/); this stage checks every item the same
way: required fields, duplicate ids, and each image decoded and fingerprinted on the executor by
curator.stages.prepare.worker.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from curator.config import Prepare
from curator.io.parquet import BATCH_ROWS
from curator.pipeline import raydata
from curator.pipeline.executor import make_executor
from curator.pipeline.lineage import Input
from curator.pipeline.progress import track
from curator.pipeline.run import StageRun
from curator.record.schema import required_columns
from curator.sources.recipe import NotRead, PrepareFn, Reject, collect_metrics
from curator.stages.prepare.items import delivered, image_task, missing_fields, resolve
from curator.stages.prepare.worker import Checked, check_images


def _tasks(items: Iterator[dict[str, Any] | Reject], run: StageRun, required: list[str], seen: set[str],
           waiting: deque[dict[str, Any] | Reject]) -> Iterator[dict[str, bytes | None] | None]:
    """One task per recipe item, in order; the item itself waits in `waiting` for its result.

    Every item gets a task (None if nothing to check) so that results pair with items one to one,
    and the executor's window bounds how many items wait, even on a source without images.
    """
    for item in items:
        run.count_input()
        if not isinstance(item, Reject):
            item = missing_fields(item, required) or item
        waiting.append(item)
        yield image_task(item, seen)


def run_prepare(
    source: str, prepare: PrepareFn, raw: Path, out: Path, conf: Prepare | None = None, *,
    metrics_copy: Path | None = None, source_params: dict[str, Any] | None = None,
    plan: Callable[[Path], Any] | None = None,
) -> dict[str, Any]:
    """Drive one recipe's prepare() into `out`: records as shards, the rest as rejects.

    The image work runs on the executor (prepare.executor, prepare.workers: 1 = in this process);
    everything that depends on order (duplicate ids, rows, rejects, fixes) stays here, in input
    order, so the output bytes are the same for any worker count. `source_params` (the recipe's
    params) go into the output's lineage.json. `plan(raw)`, for a recipe whose raw files are on storage
    (its `storage_plan`; None for a layout it reads otherwise), lets the Ray executor prepare through Ray
    Data (curator.stages.prepare.raydata).
    """
    conf = conf or Prepare()
    max_pixels = conf.max_image_pixels
    required = required_columns()
    fixes: list[dict[str, Any]] = []  # images re-encoded upright/8-bit: few, so kept in memory
    check = partial(check_images, max_pixels=max_pixels)
    executor = make_executor(conf.executor, conf.workers)
    params = {"max_image_pixels": max_pixels, "source": source_params or {}}
    contract = {"inputs": [Input(Path(raw), "raw", "--raw")], "params": params}
    with StageRun("prepare", out, source=source, metrics_copy=metrics_copy, **contract) as run, executor as pool, \
            collect_metrics(run.metrics), delivered(Path(raw)) as (readable, left_out):
        for item in left_out:  # links out of the delivery, names that are not UTF-8: never given to the recipe
            run.count_input()
            run.reject(id=item.id, reason=item.reason, detail=item.detail, path=item.path)
        storage = plan(readable) if plan is not None and raydata.on_ray(pool) else None  # None: not on storage
        if storage is not None:  # raw Parquet / tars on storage: Ray Data reads them where it runs
            from curator.stages.prepare.raydata import prepare_on_ray

            fixes = prepare_on_ray(storage, run, max_pixels)
        else:
            _prepare_here(prepare, readable, run, pool.ordered_map, check, required, fixes, source)
        if fixes:  # only then, so a source without such images keeps its metrics and files as before
            run.metrics["images_normalized"] = dict(sorted(Counter(c for f in fixes for c in f["changes"]).items()))
            (run.dir / "normalized.jsonl").write_text(
                "".join(json.dumps(f, ensure_ascii=False) + "\n" for f in fixes), encoding="utf-8")
    return {"inputs": run.inputs, "kept": run.kept, "rejected": run.rejects.total}


def _prepare_here(prepare: PrepareFn, raw: Path, run: StageRun, ordered_map: Callable[..., Iterator[Any]],
                  check: Callable[..., Checked | None], required: list[str], fixes: list[dict[str, Any]],
                  source: str) -> None:
    """The recipe's items through the executor, resolved and written here, in input order."""
    seen: set[str] = set()
    waiting: deque[dict[str, Any] | Reject] = deque()
    writer = run.writer()
    batch: list[dict[str, Any]] = []
    not_read: Counter[tuple[str, str]] = Counter()
    items = track(_samples_only(prepare(Path(raw)), not_read), desc=f"prepare {source}")
    for checked in ordered_map(check, _tasks(items, run, required, seen, waiting)):
        item = resolve(waiting.popleft(), checked, seen, fixes)
        if isinstance(item, Reject):
            run.reject(id=item.id, reason=item.reason, detail=item.detail, path=item.path)
            continue
        batch.append(item)
        if len(batch) >= BATCH_ROWS:
            writer.write_rows(batch)
            batch = []
    writer.write_rows(batch)
    if not_read:  # only then, so a source that reads everything keeps its metrics as before
        run.metrics["not_read"] = [{"what": what, "why": why, "count": n}
                                   for (what, why), n in sorted(not_read.items())]


def _samples_only(items: Iterator[Any], not_read: Counter[tuple[str, str]]) -> Iterator[Any]:
    """The recipe's input samples (records and rejects); what it saw and did not read is counted aside."""
    for item in items:
        if isinstance(item, NotRead):
            not_read[item.what, item.why] += 1
        else:
            yield item
