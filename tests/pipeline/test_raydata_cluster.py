"""Ray Data on a two-node local cluster: EmoNet-Face prepare and augment, byte-identical to the pool.

Two `ray start` nodes on this machine, one CPU each (`--head`, then `--address=` the head), with token
authentication and a small object store. The real CLI runs each stage twice, with the process pool and
with `--executor ray --ray-address 127.0.0.1:PORT`, and every output file must be the same bytes, and
the recipe's closing log lines the same. Binary's dirty sample has a truncated image and a repeated id;
HQ's gets rows repeated in later row groups (ids -2, -3, hq.csv joined to the first); Big's is
WebDataset tars with a non-image: the order-dependent decisions are exercised on every plan kind.

Each node runs `ray start --block` in its own session, so teardown ends exactly those processes (their
process groups, then anything left that names this cluster's temp dir), never other Ray instances on
the machine the way `ray stop` would.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curator.testing.samples import build_samples
from tests.conftest import run_cli

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                       reason="ray is not installed (pip install -e '.[dev]' brings it)"),
]

RAY = Path(sys.executable).with_name("ray")
START_TIMEOUT = 60
STAGE_TIMEOUT = 180


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen([str(RAY), "start", "--block", "--num-cpus=1", "--object-store-memory=80000000",
                                 "--disable-usage-stats", "--node-ip-address=127.0.0.1", *args],
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(nodes: list[subprocess.Popen], temp_dir: Path) -> None:
    for node in nodes:
        if node.poll() is None:
            os.killpg(node.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for node in nodes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            node.wait(timeout=max(0.1, deadline - time.monotonic()))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(node.pid, signal.SIGKILL)  # the group: gcs, raylet and their helpers
        node.wait(timeout=10)
    for pid in _ours(temp_dir):  # a worker that left the group: only processes naming our temp dir
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _ours(temp_dir: Path) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if str(temp_dir).encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _wait_for_nodes(address: str, env: dict[str, str], count: int) -> None:
    code = ("import ray, sys, time\n"
            f"ray.init(address={address!r}, logging_level='ERROR', log_to_driver=False)\n"
            f"end = time.monotonic() + {START_TIMEOUT}\n"
            f"while len([n for n in ray.nodes() if n['Alive']]) < {count}:\n"
            "    if time.monotonic() > end: sys.exit('nodes did not join')\n"
            "    time.sleep(0.3)\n"
            "print(int(ray.cluster_resources().get('CPU', 0)))\n")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=START_TIMEOUT + 30)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == str(count), f"expected {count} CPUs, one per node: {proc.stdout}"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[dict[str, str]]:
    """A head and a second node on 127.0.0.1, one CPU each; yields the env and address to reach them."""
    logs = tmp_path_factory.mktemp("ray-logs")
    # Ray's socket paths must stay under ~107 bytes: a short temp dir, not the deep pytest one
    temp_dir = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))
    port = _free_port()
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32),
           "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    nodes = []
    try:
        nodes.append(_start(["--head", f"--port={port}", f"--temp-dir={temp_dir}", "--include-dashboard=false"],
                            env, logs / "head.log"))
        end = time.monotonic() + START_TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < end and nodes[0].poll() is None, (logs / "head.log").read_text()[-2000:]
                time.sleep(0.3)
        nodes.append(_start([f"--address=127.0.0.1:{port}"], env, logs / "node.log"))
        _wait_for_nodes(f"127.0.0.1:{port}", env, 2)
        yield {"env": env, "address": f"127.0.0.1:{port}"}
    finally:
        _stop(nodes, temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _same(a: Path, b: Path) -> None:
    left, right = _files(a), _files(b)
    assert sorted(left) == sorted(right)
    assert any(name.endswith(".parquet") for name in left)
    for name in left:
        assert left[name] == right[name], f"{name} differs between {a.name} and {b.name}"


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("samples")
    build_samples(out, dirty=True)
    return out


def _recipe_lines(stderr: str, source: str) -> list[str]:
    """What the recipe logged (its counts at the end), without the stage's own progress lines."""
    return [line.split(f"{source}: ", 1)[1] for line in stderr.splitlines() if f"{source}: " in line]


def test_prepare_and_augment_on_two_nodes_match_the_pool(cluster, samples, tmp_path):
    raw = samples / "emonet_binary"  # a truncated image and a repeated id among the binary rows
    ray_args = ["--executor", "ray", "--ray-address", cluster["address"]]
    env = cluster["env"]

    run_cli("prepare", "emonet_binary", "--raw", str(raw), "--out", str(tmp_path / "p_pool"), "--workers", "2",
            env=env, cwd=tmp_path)
    run_cli("prepare", "emonet_binary", "--raw", str(raw), "--out", str(tmp_path / "p_ray"), *ray_args,
            env=env, cwd=tmp_path, timeout=STAGE_TIMEOUT)
    _same(tmp_path / "p_pool", tmp_path / "p_ray")
    rejects = (tmp_path / "p_ray" / "rejects.jsonl").read_text()
    assert '"truncated_image"' in rejects and '"duplicate_id"' in rejects
    assert not (tmp_path / "p_ray" / ".raydata").exists()  # the Ray Data scratch never reaches the output

    run_cli("normalize", "--in", str(tmp_path / "p_pool"), "--out", str(tmp_path / "normalized"), cwd=tmp_path)
    run_cli("split", "--in", str(tmp_path / "normalized"), "--out", str(tmp_path / "split"), cwd=tmp_path)
    run_cli("augment", "--in", str(tmp_path / "split"), "--out", str(tmp_path / "a_pool"), "--workers", "2",
            env=env, cwd=tmp_path)
    run_cli("augment", "--in", str(tmp_path / "split"), "--out", str(tmp_path / "a_ray"), *ray_args,
            env=env, cwd=tmp_path, timeout=STAGE_TIMEOUT)
    _same(tmp_path / "a_pool", tmp_path / "a_ray")
    assert (tmp_path / "a_ray" / "before_after.png").is_file()


@pytest.mark.parametrize("source", ["emonet_hq", "emonet_big"])
def test_prepare_hq_and_big_on_two_nodes_match_the_pool(cluster, samples, tmp_path, source):
    raw = shutil.copytree(samples / source, tmp_path / "raw")
    if source == "emonet_hq":  # rows 0 and 1 again, row 0 a third time, in later row groups than the first
        (shard,) = raw.rglob("*.parquet")
        table = pq.read_table(shard)
        pq.write_table(pa.concat_tables([table, table.slice(0, 2), table.slice(0, 1)]), shard, row_group_size=7)
    ray_args = ["--executor", "ray", "--ray-address", cluster["address"]]
    pool = run_cli("prepare", source, "--raw", str(raw), "--out", str(tmp_path / "pool"), "--workers", "2",
                   env=cluster["env"], cwd=tmp_path)
    ray = run_cli("prepare", source, "--raw", str(raw), "--out", str(tmp_path / "ray"), *ray_args,
                  env=cluster["env"], cwd=tmp_path, timeout=STAGE_TIMEOUT)
    _same(tmp_path / "pool", tmp_path / "ray")
    assert _recipe_lines(ray.stderr, source) == _recipe_lines(pool.stderr, source)
    rejects = (tmp_path / "ray" / "rejects.jsonl").read_text()
    if source == "emonet_hq":
        ids = [i for f in sorted((tmp_path / "ray").glob("*.parquet")) for i in pq.read_table(f, columns=["id"])["id"]]
        assert sum(str(i).endswith("-3") for i in ids) == 1 and '"unjoined_annotation"' in rejects
        assert any("repeat an earlier row" in line for line in _recipe_lines(ray.stderr, source))
    else:
        assert '"not_an_image"' in rejects
    assert not (tmp_path / "ray" / ".raydata").exists()
