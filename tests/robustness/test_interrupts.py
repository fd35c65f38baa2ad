"""Ctrl-C and SIGTERM at every moment of a two-worker prepare and augment, through the real CLI:
always the "interrupted" line and 130 / 143, never a hang, a traceback or exit 0; no process of the
run left; the lock free; the previous output as it was, byte for byte.

Where the signal lands is chosen by faults/sitecustomize.py: the CLI stops itself (SIGSTOP) at the
moment, the test sends the signal (to the process group for SIGINT, as a terminal's Ctrl-C does; to
the CLI alone for SIGTERM, as `kill` does), then SIGCONT. Each moment runs a few times in a row on one
workspace: which worker is where at that moment varies between runs (the race the moments probe).

A signal after the run (while Python runs its atexit callbacks) was raised inside one, printed as
"Exception ignored" and dropped: the run exited 0. It now ends 130 / 143 too, its new output whole.

The moment "results in flight" is the hang seen in use: a worker stops the CLI as it sends a result
larger than a pipe holds (augment with several copies), so it is killed halfway through writing it;
the pool's manager thread then waited for the rest of that message forever, with both workers zombie
and the stage's lock held.
"""

from __future__ import annotations

import fcntl
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.robustness import workspace
from tests.robustness.helpers import (
    Proc,
    assert_accounting,
    fault_env,
    leftovers,
    outcome,
    parallel,
    snapshot,
    start_cli,
)
from tests.robustness.test_signals import children

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs Linux /proc")]

COPIES = 8  # augment's results (a chunk of 5 parents: ~250 kB) are then far larger than a pipe's buffer
STAGES = {  # stage -> (its CLI args with two pool workers, its output under the workspace)
    "prepare": (("prepare", "viri", "--raw", "samples/viri", "--workers", "2"), "data/prepared/viri"),
    "augment": (("augment", "--workers", "2"), "data/augmented"),
}
MOMENTS: dict[str, dict[str, Any]] = {  # where the CLI stops itself before the signal
    "imports": {"stop_on_import": "curator.config"},  # start-up, before main(): the handler is set first
    "just started": {"stop_at_result": 1},  # the workers just forked, the first result awaited
    "mid-run": {"stop_at_result": 2},  # results coming back, the output's shards being written
    # a worker stops the CLI as it starts sending its first result: it then blocks halfway (set per run)
    "results in flight": {},
    "final write": {"stop_on_open": ".metrics.json.*"},  # the pool is done; the output not yet swapped in
    "after the run": {"stop_at_exit": 1},  # the output swapped in, Python shutting down (atexit callbacks)
}
RUNS = {"SIGINT": 5, "SIGTERM": 2}  # runs per moment


def session(sid: int) -> list[int]:
    """Processes still running in session `sid` (the CLI's: start_cli starts a new one), its workers,
    anything they started."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, IndexError, ProcessLookupError):
            continue
        if int(fields[3]) == sid and fields[0] not in ("Z", "X"):
            found.append(int(stat.parent.name))
    return found


def lock_free(lock: Path) -> bool:
    with open(lock, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    return True


def sending(workers: list[int], timeout: float = 300) -> str:
    """Wait (bounded) until a worker is blocked writing to a pipe: its result, larger than the pipe.
    Returns what the workers last waited in (the kernel's wchan), for the assertion's message."""
    end, waits = time.monotonic() + timeout, ""
    while time.monotonic() < end:
        waits = " ".join(_wchan(pid) for pid in workers)
        if "pipe_write" in waits:
            break
        time.sleep(0.05)
    return waits


def _wchan(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/wchan").read_text() or "-"
    except OSError:
        return "gone"


def interrupt(proc: Proc, how: str) -> None:
    if how == "SIGINT":
        os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches every process of the group
    else:
        os.kill(proc.pid, signal.SIGTERM)  # `kill`, `timeout`, a CI cancel: the CLI alone
    proc.resume()


def one_run(ws: Path, stage: str, how: str, moment: str, n: int) -> dict[str, Any]:
    args, output = STAGES[stage]
    log = ws / "logs" / f"{stage}-{how}-{moment.replace(' ', '-')}-{n}"
    faults = MOMENTS[moment] or {"stop_parent_on_result": str(log.with_suffix(".sent"))}
    proc = start_cli(*args, cwd=ws, log=log, env=fault_env(**faults))
    seen: dict[str, Any] = {}
    try:
        seen["stopped"] = proc.wait_stopped()
        seen["workers"] = children(proc.pid)
        if moment == "results in flight":  # the worker runs on while the CLI is stopped
            seen["sending"] = sending(seen["workers"])
        interrupt(proc, how)
        seen["ended"] = proc.finish(timeout=120)  # a hang fails here, bounded
        seen["left"] = session(proc.pid)  # at once: the CLI reaps its workers before it exits
    finally:
        proc.kill()
    seen["lock_free"] = lock_free(ws / Path(output).parent / f".{Path(output).name}.lock")
    seen["after"] = snapshot(ws / output)
    seen["leftovers"] = leftovers(ws / output)
    return seen


def moment_runs(base: Path, root: Path, stage: str, how: str, moment: str) -> dict[str, Any]:
    ws = workspace.copy(base, root)
    params = yaml.safe_load((ws / "params.yaml").read_text())
    params["augment"]["copies"] = COPIES
    (ws / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    output = STAGES[stage][1]
    before = snapshot(ws / output)
    runs = [one_run(ws, stage, how, moment, n) for n in range(RUNS[how])]
    rerun = start_cli(*STAGES[stage][0], cwd=ws, log=ws / "logs" / "rerun").finish()
    return {"before": before, "runs": runs, "rerun": rerun, "final": snapshot(ws / output), "output": ws / output}


CASES = [(stage, how, moment) for stage in STAGES for how in RUNS for moment in MOMENTS
         if not (moment == "results in flight" and stage == "prepare")]  # prepare's results are small


@pytest.fixture(scope="module")
def runs(pipeline_ws: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("interrupts")
    jobs = {" ".join(case): (lambda c=case: moment_runs(pipeline_ws, root / "-".join(c).replace(" ", "-"), *c))
            for case in CASES}
    return parallel(jobs)


@pytest.mark.parametrize(("stage", "how", "moment"), CASES)
def test_an_interrupt_at_any_moment_ends_interrupted_and_leaves_nothing(
        runs: dict, stage: str, how: str, moment: str) -> None:
    seen = outcome(runs, f"{stage} {how} {moment}")
    for n, run in enumerate(seen["runs"]):
        where = f"run {n}: {run['ended'].stderr if 'ended' in run else run}"
        assert run["stopped"], f"the CLI ended before the moment ({where})"
        if moment in ("just started", "mid-run", "results in flight"):
            assert len(run["workers"]) == 2, where
        if moment == "results in flight":
            assert "pipe_write" in run["sending"], f"no worker was sending a result: {run['sending']} ({where})"
        ended = run["ended"]
        assert ended.returncode == 128 + signal.Signals[how], where
        assert "Traceback" not in ended.stderr + ended.stdout, where
        lines = [line for line in ended.stderr.splitlines() if line.strip()]
        assert [line for line in lines if "interrupted" in line] == [f"interrupted ({how})"] == lines[-1:], where
        assert run["left"] == [], f"processes of the run still running: {run['left']} ({where})"
        assert run["lock_free"], where
        if moment == "after the run":  # too late to keep the previous output: the new one is whole
            assert run["after"] == seen["final"], where  # what an uninterrupted run writes
        else:
            assert run["after"] == seen["before"], where  # byte for byte
        assert run["leftovers"] == [], where
    assert seen["rerun"].returncode == 0, seen["rerun"].stderr  # the lock is free: a second run succeeds
    assert_accounting(seen["output"])
