"""A SIGKILLed `curator demo` takes its `dvc repro` and the running stage with it (issue 27: they ran on)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signals are Linux's")]


def _processes_in(folder: Path) -> dict[int, str]:
    """pid -> command line of every process whose current folder lies in `folder`."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cwd == folder or folder in cwd.parents:
            found[int(entry.name)] = cmdline
    return found


def _wait(condition, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_sigkill_of_the_demo_ends_dvc_and_the_stage(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    workspace = out / "workspace"
    log = (tmp_path / "demo.log").open("w")
    demo = subprocess.Popen([sys.executable, "-m", "curator.cli", "demo", "--out", str(out)],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def a_stage_runs() -> bool:
            return any("curator" in cmd and (" prepare " in cmd or " download " in cmd)
                       for cmd in _processes_in(workspace).values())

        assert _wait(a_stage_runs, 600), (tmp_path / "demo.log").read_text()[-2000:]
        os.kill(demo.pid, signal.SIGKILL)
        demo.wait(timeout=30)
        assert _wait(lambda: not _processes_in(workspace), 60), _processes_in(workspace)
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
        for pid in _processes_in(workspace):  # never leave a stray behind, even when the test fails
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
