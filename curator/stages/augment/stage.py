"""augment: extra training records from the train split, on a process pool or Ray, streamed.

Each train record with a visible image gets `copies` augmented children. The child's seed is
derived from (seed, parent id, copy index), and results are written in input order, so the
output bytes are identical for any worker count. Validation and test are never read.
"""

from __future__ import annotations

import hashlib
from functools import partial
from pathlib import Path

from curator.config import Augment
from curator.pipeline import raydata
from curator.pipeline.executor import make_executor
from curator.pipeline.lineage import Input
from curator.pipeline.run import StageRun
from curator.pipeline.stages import TRAIN
from curator.resources import policy_path
from curator.stages.augment.children import write_children
from curator.stages.augment.policy import load_policy
from curator.stages.augment.rows import augment_parent


def resolve_policy(path: str | Path) -> Path:
    """The policy file params name (curator.resources.policy_path: the lookup order)."""
    return policy_path(path)


def run_augment(split_dir: Path, out: Path, conf: Augment | None = None, *, metrics_copy: Path | None = None) -> dict:
    conf = conf or Augment()
    policy_file = resolve_policy(conf.policy)
    policy = load_policy(policy_file)
    copies = conf.copies
    work = partial(augment_parent, policy=policy, copies=copies, seed=conf.seed, quality=conf.jpeg_quality)
    executor = make_executor(conf.executor, conf.workers)  # Ray: $RAY_ADDRESS or local
    params = {**conf.model_dump(mode="json", include={"policy", "copies", "seed", "jpeg_quality"}),
              "policy_sha256": hashlib.sha256(policy_file.read_bytes()).hexdigest()}
    contract = {"inputs": [Input(Path(split_dir), "split")], "params": params}
    with StageRun("augment", out, metrics_copy=metrics_copy, **contract) as run, executor as pool:
        train = run.shards(Path(split_dir), TRAIN)
        run.metrics["not_applicable"] = 0
        if raydata.on_ray(pool):  # the train shards are on storage: Ray Data reads them where it runs them
            from curator.stages.augment.raydata import augment_on_ray

            children = augment_on_ray(train, run, work, copies)
        else:
            writer = run.writer(counts=False)
            children = write_children(train, partial(pool.ordered_map, work), writer, run, copies, run.dir)
        run.metrics.update(augmented_rows=children, copies=copies, policy=conf.policy)
    return {"inputs": run.inputs, "kept": run.kept, "augmented_rows": children}
