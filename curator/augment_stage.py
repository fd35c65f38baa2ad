"""augment: extra training records from the train split, on a process pool or Ray, streamed.

Each train record with a visible image gets `copies` augmented children. The child's seed is
derived from (seed, parent id, copy index), and results are written in input order, so the
output bytes are identical for any worker count. Validation and test are never read.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from curator.augment import Augmented, before_after_grid, load_policy
from curator.augment_records import Outcome, augment_record
from curator.errors import CuratorError
from curator.executor import make_executor
from curator.io.parquet import iter_batches, shard_paths
from curator.progress import track
from curator.reasons import Reason
from curator.stage import StageRun

GRID_ROWS = 8
WRITE_ROWS = 256
"""Children are written in batches: building an Arrow table costs ~0.3 ms a row two rows at a time
and ~0.03 ms a row in batches of a hundred, and the driver shares the machine with the workers."""


def _train_records(train: list[Path], run: StageRun) -> Iterator[dict[str, Any]]:
    for batch in iter_batches(train, batch_rows=64):
        for rec in batch.to_pylist():
            if rec.get("image") is None:
                run.metrics["not_applicable"] += 1
                continue  # tabular records have nothing to augment: not an input of this stage
            run.count_input()
            yield rec


def resolve_policy(path: str | Path) -> Path:
    """The policy file as given (relative to the current folder, as DVC runs stages from the
    project root), else the one shipped beside the package; a clear error if neither exists."""
    given = Path(path)
    if given.is_file():
        return given
    shipped = Path(__file__).resolve().parent.parent / given
    if not given.is_absolute() and shipped.is_file():
        return shipped
    raise CuratorError(f"augment policy {path} not found (set augment.policy in params.yaml)")


def run_augment(split_dir: Path, out: Path, *, conf: dict[str, Any], metrics_copy: Path | None = None) -> dict:
    policy = load_policy(resolve_policy(conf["policy"]))
    train = shard_paths(Path(split_dir) / "train")
    work = partial(augment_record, policy=policy, copies=int(conf["copies"]), seed=int(conf["seed"]),
                   quality=int(conf["jpeg_quality"]))
    grid = {has_ir: {"rows": [], "spares": []} for has_ir in (True, False)}  # report examples
    executor = make_executor(conf.get("executor", "local"), conf.get("workers", 1))  # Ray: $RAY_ADDRESS or local
    with StageRun("augment", out, metrics_copy=metrics_copy) as run, executor as pool:
        run.metrics["not_applicable"] = 0
        writer = run.writer(counts=False)
        parents: deque[dict[str, Any]] = deque()  # in flight; results come back in the same order

        def feed() -> Iterator[dict[str, Any]]:
            for record in _train_records(train, run):
                parents.append(record)
                yield record

        rows: list[dict[str, Any]] = []
        children = 0
        for outcome in track(pool.ordered_map(work, feed()), desc="augment"):
            parent = parents.popleft()
            if outcome.error:
                run.reject(id=parent["id"], source=parent["source"], reason=Reason.CORRUPT_IMAGE, detail=outcome.error)
                continue
            run.kept_extra += 1
            children += len(outcome.children)
            rows.extend(outcome.children)
            if len(rows) >= WRITE_ROWS:
                writer.write_rows(rows)
                rows = []
            if outcome.children:
                _collect_grid(grid, parent, outcome)
        writer.write_rows(rows)
        run.metrics.update(augmented_rows=children, copies=int(conf["copies"]), policy=str(conf["policy"]))
        examples = _grid_examples(grid)
        if examples:
            before_after_grid(examples, run.dir / "before_after.png")
    return {"inputs": run.inputs, "kept": run.kept, "augmented_rows": children}


def _collect_grid(grid: dict[bool, list], parent: dict[str, Any], outcome: Outcome) -> None:
    """Keep a few examples for the report: visible+IR pairs and visible-only, GRID_ROWS of each,
    one per class first (the first train records are often all of one class), repeats as spares."""
    ir = parent["infrared"]["bytes"] if parent.get("infrared") else None
    bucket = grid[ir is not None]
    label = parent.get("label")
    distinct = label not in {row[3] for row in bucket["rows"]}
    if len(bucket["rows"]) >= GRID_ROWS or (not distinct and len(bucket["spares"]) >= GRID_ROWS):
        return
    child = outcome.children[0]
    result = Augmented(child["image"]["bytes"], child["infrared"]["bytes"] if child.get("infrared") else None,
                       json.loads(child["transform"]))
    bucket["rows" if distinct else "spares"].append((parent["image"]["bytes"], ir, result, label))


def _grid_examples(grid: dict[bool, dict[str, list]]) -> list[tuple]:
    chosen = []
    for bucket in (grid[True], grid[False]):  # visible+IR pairs first
        rows = bucket["rows"] + bucket["spares"]
        chosen += rows[:GRID_ROWS]
    return [row[:3] for row in chosen[:GRID_ROWS]]
