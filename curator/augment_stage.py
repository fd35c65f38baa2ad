"""augment: extra training records from the train split, on a process pool or Ray, streamed.

Each train record with a visible image gets `copies` augmented children. The child's seed is
derived from (seed, parent id, copy index), and results are written in input order, so the
output bytes are identical for any worker count. Validation and test are never read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curator.augment import Augmented, Policy, augment_one, before_after_grid, load_policy, record_seed
from curator.errors import CuratorError
from curator.executor import make_executor
from curator.io.parquet import iter_batches, shard_paths
from curator.progress import track
from curator.reasons import Reason
from curator.stage import StageRun

GRID_ROWS = 8


@dataclass(frozen=True)
class Task:
    record: dict[str, Any]
    copies: int
    seed: int
    quality: int
    policy: Policy


@dataclass(frozen=True)
class Outcome:
    parent: dict[str, Any]
    children: list[dict[str, Any]]
    error: str | None = None


def _child(parent: dict[str, Any], copy: int, result: Augmented) -> dict[str, Any]:
    child = dict(parent)
    child["id"] = f"{parent['id']}#aug{copy}"
    for column, data in (("image", result.image), ("infrared", result.infrared)):
        if parent.get(column) is not None and data is not None:
            stem = Path(parent[column].get("path") or parent["id"].replace("/", "_")).stem
            child[column] = {"bytes": data, "path": f"{stem}_aug{copy}.jpg"}
    child["hashes"] = None  # fingerprints describe the original bytes, not these
    child["augmented_from"] = parent["id"]
    child["transform"] = json.dumps(result.transform, sort_keys=True)
    return child


def augment_task(task: Task) -> Outcome:
    """The per-record work: runs in a worker process; bad input is an Outcome, not an exception."""
    rec = task.record
    infrared = rec["infrared"]["bytes"] if rec.get("infrared") else None
    children = []
    try:
        for copy in range(task.copies):
            seed = record_seed(task.seed, rec["id"], copy)
            result = augment_one(rec["image"]["bytes"], infrared, task.policy, seed=seed, jpeg_quality=task.quality)
            children.append(_child(rec, copy, result))
    except CuratorError as exc:
        return Outcome(rec, [], str(exc))
    return Outcome(rec, children)


def _tasks(train: list[Path], conf: dict[str, Any], policy: Policy, run: StageRun) -> Iterator[Task]:
    for batch in iter_batches(train, batch_rows=64):
        for rec in batch.to_pylist():
            if rec.get("image") is None:
                run.metrics["not_applicable"] = run.metrics.get("not_applicable", 0) + 1
                continue  # tabular records have nothing to augment: not an input of this stage
            run.count_input()
            yield Task(rec, int(conf["copies"]), int(conf["seed"]), int(conf["jpeg_quality"]), policy)


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
    grid: dict[bool, list] = {True: [], False: []}  # has IR -> (before, IR before, augmented)
    executor = make_executor(conf.get("executor", "local"), conf.get("workers", 1))  # Ray: $RAY_ADDRESS or local
    with StageRun("augment", out, metrics_copy=metrics_copy) as run, executor as pool:
        run.metrics["not_applicable"] = 0
        writer = run.writer(counts=False)
        children = 0
        for outcome in track(pool.ordered_map(augment_task, _tasks(train, conf, policy, run)), desc="augment"):
            if outcome.error:
                run.reject(id=outcome.parent["id"], source=outcome.parent["source"], reason=Reason.CORRUPT_IMAGE,
                           detail=outcome.error)
                continue
            run.kept_extra += 1
            children += len(outcome.children)
            writer.write_rows(outcome.children)
            if outcome.children:
                _collect_grid(grid, outcome)
        run.metrics.update(augmented_rows=children, copies=int(conf["copies"]), policy=str(conf["policy"]))
        rows = (grid[True] + grid[False])[:GRID_ROWS]
        if rows:
            before_after_grid(rows, run.dir / "before_after.png")
    return {"inputs": run.inputs, "kept": run.kept, "augmented_rows": children}


def _collect_grid(grid: dict[bool, list], outcome: Outcome) -> None:
    """Keep a few examples for the report: visible+IR pairs and visible-only, GRID_ROWS of each."""
    parent, child = outcome.parent, outcome.children[0]
    ir = parent["infrared"]["bytes"] if parent.get("infrared") else None
    bucket = grid[ir is not None]
    if len(bucket) < GRID_ROWS:
        result = Augmented(child["image"]["bytes"], child["infrared"]["bytes"] if child.get("infrared") else None,
                           json.loads(child["transform"]))
        bucket.append((parent["image"]["bytes"], ir, result))
