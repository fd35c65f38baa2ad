"""SIGTERM to a run driving Ray (`augment --executor ray`, a local Ray instance that the run starts),
through the real CLI: exit 143 with the "interrupted" line, every Ray process of the run gone, the lock
free, the previous output as it was.

ray.init made SIGTERM `sys.exit(15)`: the run ended with 15, no "interrupted" line, and a SIGTERM
while Ray started left its agents running. The moments are seen from outside: Ray's processes
starting (a raylet in the run's session), then Ray Data writing the workers' results (its scratch
folder in the temp output), with enough copies that this lasts.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.robustness import workspace
from tests.robustness.helpers import leftovers, outcome, parallel, snapshot, start_cli
from tests.robustness.test_interrupts import lock_free, session

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed"),
    pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs Linux /proc"),
]

ARGS = ("augment", "--workers", "2", "--executor", "ray")
OUTPUT = "data/augmented"


def cmdlines(sid: int) -> list[str]:
    found = []
    for pid in session(sid):
        try:
            found.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return found


def ray_starting(ws: Path, sid: int) -> bool:
    return any("raylet" in line for line in cmdlines(sid))


def results_being_written(ws: Path, sid: int) -> bool:
    return any(ws.glob("data/.augmented.tmp-*/.raydata"))


MOMENTS: dict[str, Callable[[Path, int], bool]] = {"Ray starting": ray_starting,
                                                   "results being written": results_being_written}


def sigterm_scenario(base: Path, root: Path, moment: str) -> dict[str, Any]:
    ws = workspace.copy(base, root / "ws")
    params = yaml.safe_load((ws / "params.yaml").read_text())
    params["augment"]["copies"] = 50  # the Ray Data phase lasts long enough to be seen
    (ws / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    # a local instance of its own, in a short folder: Ray's socket paths must fit in 107 bytes (under
    # pytest-xdist the tmp_path is deeper)
    ray_tmp = Path(tempfile.mkdtemp(prefix="ray-"))
    env = {"RAY_TMPDIR": str(ray_tmp), "RAY_ADDRESS": ""}
    before = snapshot(ws / OUTPUT)
    proc = start_cli(*ARGS, cwd=ws, log=ws / "logs" / "augment-ray", env=env)
    seen: dict[str, Any] = {"before": before}
    try:
        end = time.monotonic() + 300
        while not (reached := MOMENTS[moment](ws, proc.pid)) and proc.popen.poll() is None and time.monotonic() < end:
            time.sleep(0.02)
        seen["reached"] = reached
        assert proc.popen.poll() is None, f"the run ended before {moment!r}: {proc.finish(timeout=5)}"
        os.kill(proc.pid, signal.SIGTERM)  # `kill`, `timeout`, a CI cancel: the driver alone
        seen["ended"] = proc.finish(timeout=180)
        end = time.monotonic() + 60  # Ray's own processes end on their own once told: bounded wait
        while session(proc.pid) and time.monotonic() < end:
            time.sleep(0.2)
        seen["left"] = cmdlines(proc.pid)
    finally:
        for pid in session(proc.pid):  # never leave them behind for the rest of the session
            os.kill(pid, signal.SIGKILL)
        proc.kill()
        shutil.rmtree(ray_tmp, ignore_errors=True)
    seen["lock_free"] = lock_free(ws / "data" / ".augmented.lock")
    seen["after"] = snapshot(ws / OUTPUT)
    seen["leftovers"] = leftovers(ws / OUTPUT)
    return seen


@pytest.fixture(scope="module")
def runs(pipeline_ws: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return parallel({moment: (lambda m=moment: sigterm_scenario(pipeline_ws, tmp_path_factory.mktemp("r"), m))
                     for moment in MOMENTS}, workers=1)  # one Ray at a time: each takes both CPUs


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_sigterm_to_a_run_driving_ray_ends_interrupted_and_stops_ray(runs: dict, moment: str) -> None:
    seen = outcome(runs, moment)
    ended = seen["ended"]
    assert seen["reached"], f"the run ended before the moment: {ended.stderr}"
    assert ended.returncode == 143, (ended.returncode, ended.stderr)
    assert "Traceback" not in ended.stderr + ended.stdout, ended.stderr
    lines = [line for line in ended.stderr.splitlines() if line.strip()]
    assert [line for line in lines if "interrupted" in line] == ["interrupted (SIGTERM)"] == lines[-1:], lines
    assert seen["left"] == [], f"Ray processes of the run still running: {seen['left']}"
    assert seen["lock_free"]
    assert seen["before"] and seen["after"] == seen["before"]
    assert seen["leftovers"] == []
