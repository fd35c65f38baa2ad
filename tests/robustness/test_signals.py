"""Processes and signals through the real CLI: pool workers die with their parent however it ends,
the stage lock goes with it, Ctrl-C and SIGTERM print one "interrupted" line and leave the previous
output as it was, and a stage never reads an input that another run is replacing.

Where the signal lands is chosen by faults/sitecustomize.py: with CURATOR_FAULT_STOP_AFTER_FORKS=2
the CLI stops itself (SIGSTOP) once its two pool workers exist, at its next wait for a result; the
test then signals it (and SIGCONTs it where the signal must be handled).
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.robustness import workspace
from tests.robustness.helpers import (
    assert_accounting,
    assert_one_line_error,
    fault_env,
    leftovers,
    outcome,
    parallel,
    snapshot,
    start_cli,
)

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs Linux /proc")

STAGES = {  # stage -> (its CLI args with two pool workers, its output under the workspace)
    "prepare": (("prepare", "viri", "--raw", "samples/viri", "--workers", "2"), "data/prepared/viri"),
    "augment": (("augment", "--workers", "2"), "data/augmented"),
}
HOW = ("SIGKILL", "SIGTERM", "SIGINT")


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.is_file() else []


def running(pids: list[int]) -> list[int]:
    """The pids still running (a zombie has ended: it only waits to be reaped)."""
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, IndexError):
            continue
        if state not in ("Z", "X"):
            alive.append(pid)
    return alive


def wait_ended(pids: list[int], timeout: float = 60) -> list[int]:
    """Wait (bounded) for every pid to end; returns those still running."""
    end = time.monotonic() + timeout
    while running(pids) and time.monotonic() < end:
        time.sleep(0.05)
    left = running(pids)
    for pid in left:  # never leave them behind for the rest of the session
        os.kill(pid, signal.SIGKILL)
    return left


def signal_scenario(base: Path, root: Path, stage: str, how: str) -> dict[str, Any]:
    """Stop `stage` while its workers are alive, end the main process only (SIGKILL, SIGTERM) or, as
    Ctrl-C does, the whole process group (SIGINT); then run the same command again."""
    ws = workspace.copy(base, root)
    args, output = STAGES[stage]
    before = snapshot(ws / output)
    proc = start_cli(*args, cwd=ws, log=ws / "logs" / f"{stage}-{how}", env=fault_env(stop_after_forks=2))
    seen: dict[str, Any] = {"stopped": proc.wait_stopped(), "before": before}
    try:
        seen["workers"] = children(proc.pid)
        if how == "SIGKILL":
            os.kill(proc.pid, signal.SIGKILL)  # the OOM killer: no handler runs
        elif how == "SIGTERM":
            os.kill(proc.pid, signal.SIGTERM)  # `kill`, `timeout`, a CI cancel: the main process only
            os.kill(proc.pid, signal.SIGCONT)
        else:
            os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches every process of the group
            os.killpg(proc.pid, signal.SIGCONT)
        seen["ended"] = proc.finish(timeout=120)
    finally:
        proc.kill()
    seen["orphans"] = wait_ended(seen["workers"])
    seen["after"] = snapshot(ws / output)
    seen["leftovers"] = leftovers(ws / output)
    seen["rerun"] = start_cli(*args, cwd=ws, log=ws / "logs" / f"{stage}-{how}-rerun").finish()
    seen["output"] = ws / output
    return seen


def cross_stage_scenario(base: Path, root: Path) -> dict[str, Any]:
    """augment holds the split it reads: `split` meanwhile is refused. split replacing its output:
    `augment` and `publish` meanwhile are refused. Both first runs then complete."""
    ws = workspace.copy(base, root)
    seen: dict[str, Any] = {}
    reader = start_cli("augment", "--workers", "2", cwd=ws, log=ws / "logs" / "augment-reading",
                       env=fault_env(stop_after_forks=2))
    try:
        seen["reader_stopped"] = reader.wait_stopped()
        seen["split_meanwhile"] = start_cli("split", cwd=ws, log=ws / "logs" / "split-meanwhile").finish()
        reader.resume()
        seen["reader"] = reader.finish(timeout=120)
    finally:
        reader.kill()
    writer = start_cli("split", cwd=ws, log=ws / "logs" / "split-writing",
                       env=fault_env(stop_on_open=".metrics.json.*"))
    try:
        seen["writer_stopped"] = writer.wait_stopped()
        seen["augment_meanwhile"] = start_cli("augment", cwd=ws, log=ws / "logs" / "augment-meanwhile").finish()
        seen["publish_meanwhile"] = start_cli("publish", "--augmented", "data/augmented", cwd=ws,
                                              log=ws / "logs" / "publish-meanwhile").finish()
        writer.resume()
        seen["writer"] = writer.finish(timeout=120)
    finally:
        writer.kill()
    seen["ws"] = ws
    return seen


def linked_and_raw_scenario(base: Path, root: Path) -> dict[str, Any]:
    """Locks see through links, and cover raw folders: augment reading `--in` a symlink to data/split
    keeps split from replacing data/split; prepare reading samples/viri keeps a download into it out."""
    ws = workspace.copy(base, root)
    (ws / "split-link").symlink_to(ws / "data" / "split")
    seen: dict[str, Any] = {}
    reader = start_cli("augment", "--in", "split-link", "--out", "aug-via-link", "--workers", "2", cwd=ws,
                       log=ws / "logs" / "augment-link", env=fault_env(stop_after_forks=2))
    try:
        seen["link_reader_stopped"] = reader.wait_stopped()
        seen["split_meanwhile"] = start_cli("split", cwd=ws, log=ws / "logs" / "split-meanwhile").finish()
        reader.resume()
        seen["link_reader"] = reader.finish(timeout=120)
    finally:
        reader.kill()
    raw = ws / "samples" / "viri"
    shutil.copytree(raw, ws / "viri-delivery")  # what a user would download --from by hand
    preparer = start_cli("prepare", "viri", "--raw", str(raw), "--out", "prep-viri", "--workers", "2", cwd=ws,
                         log=ws / "logs" / "prepare-raw", env=fault_env(stop_after_forks=2))
    try:
        seen["raw_reader_stopped"] = preparer.wait_stopped()
        seen["download_meanwhile"] = start_cli("download", "viri", "--from", str(ws / "viri-delivery"),
                                               "--out", str(raw), cwd=ws, log=ws / "logs" / "download").finish()
        preparer.resume()
        seen["raw_reader"] = preparer.finish(timeout=120)
    finally:
        preparer.kill()
    return seen


@pytest.fixture(scope="module")
def runs(pipeline_ws: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("signals")
    jobs = {f"{stage}-{how}": (lambda s=stage, h=how: signal_scenario(pipeline_ws, root / f"{s}-{h}", s, h))
            for stage in STAGES for how in HOW}
    jobs["cross"] = lambda: cross_stage_scenario(pipeline_ws, root / "cross")
    jobs["linked"] = lambda: linked_and_raw_scenario(pipeline_ws, root / "linked")
    return parallel(jobs)


@pytest.mark.parametrize("stage", list(STAGES))
@pytest.mark.parametrize("how", HOW)
def test_workers_end_with_their_parent_and_the_lock_goes_with_them(runs: dict, stage: str, how: str) -> None:
    seen = outcome(runs, f"{stage}-{how}")
    assert seen["stopped"], "the stage ended before its workers were up"
    assert len(seen["workers"]) == 2, seen["workers"]
    assert seen["orphans"] == [], f"pool workers outlived the {how} of their parent"
    assert seen["rerun"].returncode == 0, seen["rerun"].stderr  # no "another run is writing": the lock is free
    assert_accounting(seen["output"])


@pytest.mark.parametrize("stage", list(STAGES))
@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT"])
def test_an_interrupt_prints_one_line_and_leaves_the_previous_output(runs: dict, stage: str, how: str) -> None:
    seen = outcome(runs, f"{stage}-{how}")
    ended = seen["ended"]
    assert ended.returncode == 128 + signal.Signals[how], (ended.returncode, ended.stderr)
    assert "Traceback" not in ended.stderr + ended.stdout, ended.stderr
    lines = [line for line in ended.stderr.splitlines() if line.strip()]
    assert [line for line in lines if "interrupted" in line] == [f"interrupted ({how})"] == lines[-1:], lines
    assert seen["before"] and seen["after"] == seen["before"]  # byte for byte
    assert seen["leftovers"] == []  # the temp output was removed on the way out


@pytest.mark.parametrize("stage", list(STAGES))
def test_after_a_sigkill_the_next_run_sweeps_and_completes(runs: dict, stage: str) -> None:
    seen = outcome(runs, f"{stage}-SIGKILL")
    assert seen["ended"].returncode == -signal.SIGKILL
    assert seen["after"] == seen["before"]  # killed before its commit: the previous output stands
    assert seen["rerun"].returncode == 0 and leftovers(seen["output"]) == []


def test_a_stage_is_not_replaced_while_another_reads_it(runs: dict) -> None:
    seen = outcome(runs, "cross")
    assert seen["reader_stopped"] and seen["writer_stopped"]
    assert_one_line_error(seen["split_meanwhile"], "another run is reading", "split")
    assert seen["reader"].returncode == 0, seen["reader"].stderr
    for meanwhile in ("augment_meanwhile", "publish_meanwhile"):
        assert_one_line_error(seen[meanwhile], "another run is writing", "split")
    assert seen["writer"].returncode == 0, seen["writer"].stderr
    assert_accounting(seen["ws"] / "data" / "split")


def test_locks_see_through_links_and_hold_raw_folders(runs: dict) -> None:
    seen = outcome(runs, "linked")
    assert seen["link_reader_stopped"] and seen["raw_reader_stopped"]
    assert_one_line_error(seen["split_meanwhile"], "another run is reading", "split")
    assert seen["link_reader"].returncode == 0, seen["link_reader"].stderr
    assert_one_line_error(seen["download_meanwhile"], "another run is reading", "viri")
    assert seen["raw_reader"].returncode == 0, seen["raw_reader"].stderr
