"""Faults and crashes through the real CLI: SIGKILL at exact points of download, prepare, augment
and publish; two runs of one stage at once; a full disk.

Where a kill lands is chosen by faults/sitecustomize.py: the CLI stops itself (SIGSTOP) when it
is about to open a given file or make a given rename, and the test SIGKILLs it there. Every
stage's output is compared, byte for byte, with an uninterrupted run (outputs do not depend on
the folder they are written in, so the reference runs in its own workspace).
"""

from __future__ import annotations

import hashlib
import shutil
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from curator.testing.files import Fault, serve_directory
from curator.testing.samples import builders
from tests.conftest import ROOT
from tests.robustness.helpers import (
    assert_one_line_error,
    fault_env,
    kill_at,
    leftovers,
    outcome,
    snapshot,
    start_cli,
)

# A stopped process (the fault points) is seen in /proc/<pid>/stat; killpg/SIGSTOP are POSIX.
pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs Linux /proc")

CSV = "face_emotion_physio.csv"
PART_BYTES = 4096  # the first download attempt drops after this many bytes
STAGES: dict[str, tuple[str, ...]] = {  # stage -> its CLI args inside a workspace (inputs made by the ones before)
    "prepare": ("prepare", "viri", "--raw", "{samples}/viri", "--out", "prepared", "--metrics", "m/prepare.json"),
    "normalize": ("normalize", "--in", "prepared", "--out", "normalized"),
    "split": ("split", "--in", "normalized", "--out", "split"),
    "augment": ("augment", "--in", "split", "--out", "augmented", "--metrics", "m/augment.json"),
    "publish": ("publish", "--in", "split", "--augmented", "augmented", "--out", "published",
                "--metrics", "m/publish.json"),
}
OUTPUT = {"prepare": "prepared", "augment": "augmented", "publish": "published"}
INPUTS = {"prepare": (), "augment": ("split",), "publish": ("split", "augmented")}


class Workspace:
    """A folder laid out like a project (pipelines/ for the augment policy) where stages run."""

    def __init__(self, path: Path, samples: Path) -> None:
        self.path, self.samples = path, samples
        path.mkdir(parents=True)
        shutil.copytree(ROOT / "pipelines", path / "pipelines")
        self._n = 0

    def args(self, stage: str) -> tuple[str, ...]:
        return tuple(a.format(samples=self.samples) for a in STAGES[stage])

    def log(self, name: str) -> Path:
        self._n += 1
        return self.path / "logs" / f"{self._n:02d}-{name}"

    def run(self, stage: str, env: dict[str, str] | None = None) -> Any:
        return start_cli(*self.args(stage), cwd=self.path, log=self.log(stage), env=env).finish()

    def kill(self, stage: str, **point: str) -> bool:
        return kill_at(*self.args(stage), cwd=self.path, log=self.log(f"{stage}-killed"), env=fault_env(**point))


def _digest(tree: dict[str, bytes]) -> dict[str, str]:
    return {k: hashlib.sha256(v).hexdigest()[:16] for k, v in tree.items()}


# --- scenarios: each returns what it observed; the tests below assert on it ------------------


def kill_scenario(ws: Workspace, stage: str, full: bool) -> dict[str, Any]:
    """Kill `stage` mid-write (no previous output), complete it, kill it just before it commits
    (previous output present); with `full`, also between the two renames of the swap, and at the
    very start of the run after that."""
    target = ws.path / OUTPUT[stage]
    seen: dict[str, Any] = {}
    seen["mid_write_hit"] = ws.kill(stage, stop_on_open="*.parquet")
    seen["mid_write"] = snapshot(target)
    seen["mid_write_leftovers"] = leftovers(target)
    seen["first_run"] = ws.run(stage)
    seen["first"] = snapshot(target)
    seen["first_leftovers"] = leftovers(target)
    seen["before_commit_hit"] = ws.kill(stage, stop_on_open=".metrics.json.*")
    seen["before_commit"] = snapshot(target)
    if full:
        seen["mid_swap_hit"] = ws.kill(stage, stop_on_replace=f".{target.name}.tmp-[0-9]*")
        seen["mid_swap"] = snapshot(target)
        old = list(target.parent.glob(f".{target.name}.tmp-old-*"))
        seen["mid_swap_old"] = snapshot(old[0]) if len(old) == 1 else None
        seen["restart_hit"] = ws.kill(stage, stop_on_open="rejects.jsonl")
        seen["restart"] = snapshot(target)
        seen["last_run"] = ws.run(stage)
        seen["final_leftovers"] = leftovers(target)
    seen["final"] = snapshot(target)
    seen["final_metrics_copy"] = (ws.path / "m" / f"{stage}.json").read_bytes()
    return seen


def concurrent_scenario(ws: Workspace) -> dict[str, Any]:
    """A prepare paused mid-write holds the output; a second prepare of the same output meanwhile."""
    target = ws.path / "prepared"
    first = start_cli(*ws.args("prepare"), cwd=ws.path, log=ws.log("prepare-first"),
                      env=fault_env(stop_on_open="*.parquet"))
    try:
        seen: dict[str, Any] = {"first_paused": first.wait_stopped()}
        seen["second"] = ws.run("prepare")
        seen["while_paused"] = snapshot(target)
        first.resume()
        seen["first"] = first.finish(timeout=120)
    finally:
        first.kill()
    seen["final"] = snapshot(target)
    return seen


def disk_full_scenario(ws: Workspace, ref: Workspace, scratch_counts: bool) -> dict[str, Any]:
    """prepare over a previous output with the disk full after 20 kB; with `scratch_counts`, the
    archives' scratch extraction (TMPDIR) is on the full disk too, else only the output is."""
    shutil.copytree(ref.path / "prepared", ws.path / "prepared")
    shutil.copytree(ref.path / "m", ws.path / "m")
    tmp = ws.path / "tmp" if scratch_counts else ws.path.parent / f"{ws.path.name}-tmp"
    tmp.mkdir()
    env = {"TMPDIR": str(tmp), **fault_env(enospc_dir=str(ws.path), enospc_after=20_000)}
    seen = {"run": ws.run("prepare", env=env), "after": snapshot(ws.path / "prepared"),
            "metrics_copy": (ws.path / "m" / "prepare.json").read_bytes(),
            "leftovers": leftovers(ws.path / "prepared"), "tmp_after": sorted(p.name for p in tmp.iterdir())}
    if not scratch_counts:  # space freed: the same command now completes
        seen["rerun"] = ws.run("prepare")
        seen["final"] = snapshot(ws.path / "prepared")
    return seen


def download_scenario(root: Path, site: Path, registry: Path) -> dict[str, Any]:
    """Kill a download while it waits for the server, then with a partial .part; then resume."""
    ws = root / "download"
    ws.mkdir()
    (ws / "params.yaml").write_text(f"download: {{checksums: {registry}}}\n")
    dest, part = ws / "raw" / CSV, ws / "raw" / f"{CSV}.part"
    data = (site / "kaggle_physio" / CSV).read_bytes()
    seen: dict[str, Any] = {"dest_sizes": set()}
    stop = threading.Event()

    def watch() -> None:  # the output name may only ever hold the whole, verified file
        while not stop.is_set():
            if dest.exists():
                seen["dest_sizes"].add(dest.stat().st_size)
            time.sleep(0.002)

    path = f"/kaggle_physio/{CSV}"
    faults = {path: Fault(delay=1.0)}  # a slow server; a handler keeps the Fault it started with
    with serve_directory(site, faults=faults) as url:
        args = ("download", "kaggle_physio", "--from", f"{url}/kaggle_physio/{CSV}", "--out", "raw")
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            proc = start_cli(*args, cwd=ws, log=ws / "logs" / "1-waiting")
            _wait(lambda: len(url.requests) >= 1, proc)
            proc.kill()  # the server is still stalling: nothing received yet
            seen["waiting_part"] = part.read_bytes() if part.exists() else None
            faults[path] = Fault(delay=1.0, drop_after=PART_BYTES)  # next: the body stops after PART_BYTES, once
            proc = start_cli(*args, cwd=ws, log=ws / "logs" / "2-partial")
            _wait(lambda: part.exists() and part.stat().st_size == PART_BYTES, proc)
            proc.kill()  # the first attempt dropped after PART_BYTES; it is backing off / stalled
            seen["partial_part"] = part.read_bytes()
            before = len(url.requests)
            seen["resume"] = start_cli(*args, cwd=ws, log=ws / "logs" / "3-resume").finish()
            seen["resume_requests"] = [(r.method, r.range) for r in url.requests[before:]]
        finally:
            stop.set()
            watcher.join()
    seen["data"], seen["dest"] = data, dest.read_bytes() if dest.exists() else None
    seen["part_after"] = part.exists()
    seen["marker"] = dest.with_name(f"{CSV}.completed").is_file()
    return seen


def concurrent_download_scenario(root: Path, site: Path, registry: Path) -> dict[str, Any]:
    """Two downloads of one file into one folder at once: one fetches, the other waits for it."""
    ws = root / "download-twice"
    ws.mkdir()
    (ws / "params.yaml").write_text(f"download: {{checksums: {registry}}}\n")
    with serve_directory(site, faults={f"/kaggle_physio/{CSV}": Fault(delay=1.0)}) as url:
        args = ("download", "kaggle_physio", "--from", f"{url}/kaggle_physio/{CSV}", "--out", "raw")
        procs = [start_cli(*args, cwd=ws, log=ws / "logs" / f"run{i}") for i in range(2)]
        results = [p.finish(timeout=120) for p in procs]
        gets = [r for r in url.requests if r.method == "GET"]
    return {"results": results, "gets": len(gets), "dest": (ws / "raw" / CSV).read_bytes(),
            "data": (site / "kaggle_physio" / CSV).read_bytes()}


def download_disk_full_scenario(root: Path, site: Path, registry: Path) -> dict[str, Any]:
    ws = root / "download-full"
    ws.mkdir()
    (ws / "params.yaml").write_text(f"download: {{checksums: {registry}}}\n")
    with serve_directory(site) as url:
        args = ("download", "kaggle_physio", "--from", f"{url}/kaggle_physio/{CSV}", "--out", "raw")
        full = start_cli(*args, cwd=ws, log=ws / "logs" / "full",
                         env=fault_env(enospc_dir=str(ws), enospc_after=PART_BYTES)).finish()
        dest_after = (ws / "raw" / CSV).exists()
        rerun = start_cli(*args, cwd=ws, log=ws / "logs" / "rerun").finish()
    return {"full": full, "dest_after": dest_after, "rerun": rerun, "dest": (ws / "raw" / CSV).read_bytes(),
            "data": (site / "kaggle_physio" / CSV).read_bytes()}


def _wait(condition: Any, proc: Any, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if proc.popen.poll() is not None:
            raise AssertionError(f"{proc.log.name} exited ({proc.popen.returncode}) first:\n{proc.stderr()}")
        if time.monotonic() > end:
            raise AssertionError(f"{proc.log.name}: condition not met within {timeout}s")
        time.sleep(0.002)


# --- the runs -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("crashes")
    samples = root / "samples"
    builders()["viri"](samples, 0, False)
    builders()["kaggle_physio"](samples, 0, False)
    csv = (samples / "kaggle_physio" / CSV).read_bytes()
    registry = root / "checksums.tsv"
    registry.write_text(f"source\tfilename\tsize\tsha256\nkaggle_physio\t{CSV}\t{len(csv)}\t"
                        f"{hashlib.sha256(csv).hexdigest()}\n")
    ref = Workspace(root / "reference", samples)

    def workspace(name: str, stage: str) -> Workspace:
        ws = Workspace(root / name, samples)
        for folder in INPUTS[stage]:
            shutil.copytree(ref.path / folder, ws.path / folder)
        return ws

    # Each scenario starts as soon as the reference run of its stage is done: CLI runs are mostly
    # interpreter start-up, so running them side by side keeps this module's time down.
    futures: dict[str, Future] = {}
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures["download"] = pool.submit(download_scenario, root, samples, registry)
        futures["download_twice"] = pool.submit(concurrent_download_scenario, root, samples, registry)
        futures["download_full"] = pool.submit(download_disk_full_scenario, root, samples, registry)
        for stage in STAGES:  # the uninterrupted reference, every stage once
            proc = ref.run(stage)
            assert proc.returncode == 0, proc.stderr
            if stage in OUTPUT:
                futures[stage] = pool.submit(kill_scenario, workspace(f"kill-{stage}", stage), stage,
                                             full=stage == "prepare")
            if stage == "prepare":
                futures["concurrent"] = pool.submit(concurrent_scenario, workspace("concurrent", stage))
                for where in ("output", "scratch"):
                    futures[f"full_{where}"] = pool.submit(
                        disk_full_scenario, workspace(f"full-{where}", stage), ref, where == "scratch")
    results: dict[str, Any] = {name: f.exception() or f.result() for name, f in futures.items()}
    results["reference"] = {s: snapshot(ref.path / OUTPUT[s]) for s in OUTPUT}
    results["reference_metrics"] = {s: (ref.path / "m" / f"{s}.json").read_bytes() for s in OUTPUT}
    return results


# --- SIGKILL ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", list(OUTPUT))
def test_killed_mid_write_leaves_nothing_under_the_output_name(runs: dict, stage: str) -> None:
    seen = outcome(runs, stage)
    assert seen["mid_write_hit"], "the stage finished before writing a shard"
    assert seen["mid_write"] == {}  # no previous output, so nothing
    assert seen["mid_write_leftovers"]  # the half-written temp dir stays hidden...
    assert seen["first_run"].returncode == 0, seen["first_run"].stderr
    assert seen["first_leftovers"] == []  # ...and the next run sweeps it


@pytest.mark.parametrize("stage", list(OUTPUT))
def test_next_run_is_byte_identical_to_an_uninterrupted_run(runs: dict, stage: str) -> None:
    seen, ref = outcome(runs, stage), runs["reference"][stage]
    assert ref and any(k.endswith(".parquet") for k in ref)
    assert _digest(seen["first"]) == _digest(ref)
    assert _digest(seen["final"]) == _digest(ref)
    assert seen["final_metrics_copy"] == runs["reference_metrics"][stage]


@pytest.mark.parametrize("stage", list(OUTPUT))
def test_killed_just_before_commit_keeps_the_previous_output(runs: dict, stage: str) -> None:
    seen = outcome(runs, stage)
    assert seen["before_commit_hit"]
    assert _digest(seen["before_commit"]) == _digest(runs["reference"][stage])


def test_killed_between_the_two_renames_the_next_run_restores_the_previous_output(runs: dict) -> None:
    seen, ref = outcome(runs, "prepare"), runs["reference"]["prepare"]
    assert seen["mid_swap_hit"]
    assert seen["mid_swap"] == {}  # the old output is moved aside, the new one not yet in: nothing visible
    assert seen["mid_swap_old"] is not None and _digest(seen["mid_swap_old"]) == _digest(ref)
    assert seen["restart_hit"]  # killed again, right at the start of the next run...
    assert _digest(seen["restart"]) == _digest(ref)  # ...which had already put the previous output back
    assert seen["last_run"].returncode == 0, seen["last_run"].stderr
    assert seen["final_leftovers"] == []  # the dead runs' temp dirs are swept


def test_killed_download_resumes_and_never_shows_a_partial_file(runs: dict) -> None:
    seen = outcome(runs, "download")
    assert seen["waiting_part"] in (None, b"")  # killed before the first byte
    assert seen["partial_part"] == seen["data"][:PART_BYTES]
    assert seen["resume"].returncode == 0, seen["resume"].stderr
    assert seen["resume_requests"] == [("GET", f"bytes={PART_BYTES}-")]  # one request, from where it stopped
    assert seen["dest"] == seen["data"] and seen["marker"] and not seen["part_after"]
    assert seen["dest_sizes"] <= {len(seen["data"])}  # the output name only ever held the whole file


# --- two runs at once -------------------------------------------------------------------------


def test_a_second_run_of_the_same_stage_exits_clearly_and_corrupts_nothing(runs: dict) -> None:
    seen = outcome(runs, "concurrent")
    assert seen["first_paused"]
    assert_one_line_error(seen["second"], "another run is writing", "prepared")
    assert seen["while_paused"] == {}
    assert seen["first"].returncode == 0, seen["first"].stderr
    assert _digest(seen["final"]) == _digest(runs["reference"]["prepare"])


def test_two_downloads_of_one_file_fetch_it_once(runs: dict) -> None:
    seen = outcome(runs, "download_twice")
    assert [r.returncode for r in seen["results"]] == [0, 0], [r.stderr for r in seen["results"]]
    assert seen["gets"] == 1  # the second waited on the lock, then found the file complete
    assert seen["dest"] == seen["data"]


# --- a full disk ------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["full_output", "full_scratch"])
def test_full_disk_fails_clearly_and_keeps_the_previous_output(runs: dict, where: str) -> None:
    seen, ref = outcome(runs, where), runs["reference"]["prepare"]
    assert_one_line_error(seen["run"], "No space left on device", "previous content is left as it was")
    assert _digest(seen["after"]) == _digest(ref)
    assert seen["metrics_copy"] == runs["reference_metrics"]["prepare"]
    assert seen["leftovers"] == [] and seen["tmp_after"] == []  # no temp output, no scratch extraction left
    if "rerun" in seen:
        assert seen["rerun"].returncode == 0 and _digest(seen["final"]) == _digest(ref)


def test_full_disk_during_download_fails_clearly_then_resumes(runs: dict) -> None:
    seen = outcome(runs, "download_full")
    assert_one_line_error(seen["full"], "No space left on device", CSV)
    assert not seen["dest_after"]
    assert seen["rerun"].returncode == 0, seen["rerun"].stderr
    assert seen["dest"] == seen["data"]
