"""The executor interface: results in input order, and Ray output byte-identical to the process pool's.

The Ray test doubles as the order test for RayExecutor: shards only match if results come back in order.
"""

from __future__ import annotations

import hashlib
import importlib.util
from functools import partial
from pathlib import Path

import pytest

from curator.config import Augment, Split
from curator.errors import CuratorError
from curator.io.parquet import ShardWriter, shard_paths
from curator.pipeline import raydata
from curator.pipeline.executor import LocalExecutor, make_executor
from curator.pipeline.lineage import stamp
from curator.record.schema import arrow_schema
from curator.stages.augment import stage as augment_stage
from curator.stages.augment.stage import run_augment
from curator.stages.split.stage import run_split
from tests.conftest import run_cli
from tests.stages.augment.test_stage import POLICY, _records

real_map_units = raydata.map_units
needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                               reason="ray is not installed (pip install -e '.[dev]' brings it)")


def _square_minus(x: int) -> int:  # module level: picklable for worker processes
    return x * x - x


def _uneven(n: int):
    """A generator (not a list): the executors must stream, not need len()."""
    yield from range(n)


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_local_results_in_input_order(workers):
    with LocalExecutor(workers, window=16) as pool:
        assert list(pool.ordered_map(_square_minus, _uneven(203))) == [_square_minus(i) for i in range(203)]


def test_local_worker_errors_propagate():
    with LocalExecutor(2, window=8) as pool, pytest.raises(TypeError):
        list(pool.ordered_map(_square_minus, [1, 2, "x", 4]))


def test_unknown_executor_is_an_error():
    with pytest.raises(CuratorError, match="unknown executor"):
        make_executor("dask", 2)


def test_cli_rejects_unknown_executor_as_usage_error(tmp_path):
    proc = run_cli("augment", "--in", str(tmp_path), "--executor", "dask", check=False)
    assert proc.returncode == 2
    assert "--executor" in proc.stderr


@pytest.fixture(scope="module")
def split_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("executor")
    with ShardWriter(root / "normalized", arrow_schema()) as writer:
        writer.write_rows(_records(24))
    stamp(root / "normalized", "normalized")  # hand-made records, declared as normalize's output
    run_split(root / "normalized", root / "split", Split(seed=1))
    return root / "split"


def _conf(executor: str, workers: int) -> Augment:
    return Augment(policy=str(POLICY), copies=2, seed=3, workers=workers, jpeg_quality=90, executor=executor)


def _shard_digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in shard_paths(folder)}


@needs_ray
def test_ray_executor_gives_byte_identical_augment_output(split_dir, tmp_path, monkeypatch):
    import ray

    monkeypatch.delenv("RAY_ADDRESS", raising=False)  # a local instance, whatever the environment says
    # a small window: many chunks in flight, so results must be put back in order across chunks
    monkeypatch.setattr(augment_stage, "make_executor", partial(make_executor, window=8))
    units: list[int] = []  # augment reads the train shards through Ray Data, one unit per row group
    monkeypatch.setattr(raydata, "map_units", lambda u, *a, **k: units.append(len(u)) or real_map_units(u, *a, **k))
    local = run_augment(split_dir, tmp_path / "local", _conf("local", 2))
    ray_run = run_augment(split_dir, tmp_path / "ray", _conf("ray", 2))
    assert units and units[0] >= 1
    assert local == ray_run
    assert local["augmented_rows"] > 0
    digests = _shard_digests(tmp_path / "local")
    assert digests and digests == _shard_digests(tmp_path / "ray")
    grids = [(tmp_path / kind / "before_after.png").read_bytes() for kind in ("local", "ray")]
    assert grids[0] == grids[1]
    assert not ray.is_initialized()  # the local instance the stage started is shut down again
