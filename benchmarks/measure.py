"""Run one job in a child process; report its time, throughput and peak RSS.

Peak RSS is taken two ways: the largest single process of the job's tree (the kernel's maxrss via
wait4) and, with psutil, the peak of the whole tree's summed RSS sampled every 20 ms (a pool stage's
real footprint; counts pages shared with forked workers more than once, so it errs high). The
reported peak is the larger. The kernel carries the spawning process's high-water mark across
exec into the child's maxrss, so the runner imports nothing heavy: its ~40 MiB is the floor.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    name: str
    records: int
    seconds: float
    wall: float  # including interpreter start and imports
    max_rss: int  # bytes, largest single process
    tree_rss: int | None  # bytes, peak summed RSS of the process tree (psutil), if available

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0

    @property
    def peak(self) -> int:
        return max(self.max_rss, self.tree_rss or 0)


def _sample_tree(pid: int, stop: threading.Event, peak: list[int]) -> None:
    try:
        import psutil
    except ImportError:
        return
    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    while not stop.wait(0.02):
        total = 0
        try:
            for proc in [root, *root.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
        except psutil.NoSuchProcess:
            return
        peak[0] = max(peak[0], total)


@dataclass
class Process:
    """A finished command: its wall time, the largest single process's maxrss, the tree's peak sum,
    and the CPU seconds (user + system) of the process and the children it waited for."""

    wall: float
    max_rss: int
    tree_rss: int | None
    stdout: str
    cpu: float | None = None

    @property
    def peak(self) -> int:
        return max(self.max_rss, self.tree_rss or 0)


def run_command(cmd: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path = ROOT) -> Process:
    """Run `cmd` as a whole process with its tree's memory sampled; raises with the log tail on failure."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "CURATOR_SCHEMAS": str(ROOT / "schemas"), **(env or {})}
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, cwd=cwd, env=full_env, stdout=subprocess.PIPE, stderr=err, text=True)
        stop, peak = threading.Event(), [0]
        sampler = threading.Thread(target=_sample_tree, args=(proc.pid, stop, peak), daemon=True)
        sampler.start()
        out = proc.stdout.read() if proc.stdout else ""
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        stop.set()
        sampler.join()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        tail = "".join(log.read_text().splitlines(keepends=True)[-15:])
        raise RuntimeError(f"`{' '.join(cmd[:4])} ...` failed ({proc.returncode}):\n{tail}")
    return Process(wall, usage.ru_maxrss * 1024, peak[0] or None, out, usage.ru_utime + usage.ru_stime)


def run_job(name: str, log: Path, env: dict[str, str] | None = None, **kwargs: Any) -> Result:
    """`python -m benchmarks.jobs NAME kwargs` in a fresh process; raises with the log tail on failure."""
    done = run_command([sys.executable, "-m", "benchmarks.jobs", name, json.dumps(kwargs)], log, env)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return Result(name, int(result["records"]), float(result["seconds"]), done.wall, done.max_rss, done.tree_rss)
