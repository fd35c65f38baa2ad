"""What the robustness tests share: the real CLI as a killable process, output snapshots, the
one-line-error and accounting checks, and a small thread pool (CLI runs are mostly start-up time,
so independent ones run side by side)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tests.conftest import ROOT

FAULTS = Path(__file__).with_name("faults")  # sitecustomize.py: ENOSPC and stop-at-a-point injection
T = TypeVar("T")


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment run_cli gives the CLI, plus `extra`."""
    return {**os.environ, "CURATOR_SCHEMAS": str(ROOT / "schemas"), **(extra or {})}


def fault_env(**faults: str | int) -> dict[str, str]:
    """Env that loads faults/sitecustomize.py with CURATOR_FAULT_<NAME>=value for each keyword."""
    path = os.pathsep.join(p for p in (str(FAULTS), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, **{f"CURATOR_FAULT_{k.upper()}": str(v) for k, v in faults.items()}}


@dataclass
class Proc:
    """A `python -m curator.cli ...` started in its own process group, output in files (no pipe to fill)."""

    popen: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def state(self) -> str:
        """'T' once it has stopped itself (a fault point), 'Z'/'X' when gone, else R/S/D."""
        try:
            return Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, IndexError):
            return "X"

    def wait_stopped(self, timeout: float = 180) -> bool:
        """True once the process stopped itself at its fault point; False if it exited instead."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.popen.poll() is not None:
                return False
            if self.state() == "T":
                return True
            time.sleep(0.005)
        raise AssertionError(f"{self.log.name}: neither stopped nor exited within {timeout}s")

    def kill(self) -> None:
        """SIGKILL the whole group (augment's pool workers too) and reap it."""
        if self.popen.poll() is None:
            os.killpg(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)

    def resume(self) -> None:
        os.killpg(self.pid, signal.SIGCONT)

    def finish(self, timeout: float = 300) -> subprocess.CompletedProcess:
        rc = self.popen.wait(timeout=timeout)
        return subprocess.CompletedProcess(self.popen.args, rc, self.stdout(), self.stderr())

    def stdout(self) -> str:
        return self.log.with_suffix(".out").read_text(errors="replace")

    def stderr(self) -> str:
        return self.log.with_suffix(".err").read_text(errors="replace")


def start_cli(*args: str, cwd: Path, log: Path, env: dict[str, str] | None = None) -> Proc:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log.with_suffix(".out"), "wb") as out, open(log.with_suffix(".err"), "wb") as err:
        popen = subprocess.Popen(
            [sys.executable, "-m", "curator.cli", *args], cwd=cwd, env=cli_env(env), stdout=out, stderr=err,
            start_new_session=True,  # its own group: killpg reaches pool workers, never us
        )
    return Proc(popen, log)


def kill_at(*args: str, cwd: Path, log: Path, env: dict[str, str]) -> bool:
    """Run the CLI until it reaches its fault point (env from fault_env), then SIGKILL it.
    Returns False if it finished without reaching the point (the caller asserts on that)."""
    proc = start_cli(*args, cwd=cwd, log=log, env=env)
    try:
        stopped = proc.wait_stopped()
    finally:
        proc.kill()
    return stopped


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` (relative path -> bytes); {} if `root` does not exist."""
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def leftovers(target: Path) -> list[str]:
    """Temp dirs of `target` (killed runs leave them; the next run sweeps them)."""
    return sorted(p.name for p in target.parent.glob(f".{target.name}.tmp-*"))


def assert_one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit 1, no traceback, and exactly one `error:` line (the last) holding every fragment."""
    assert proc.returncode == 1, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = proc.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], proc.stderr
    for fragment in fragments:
        assert fragment in errors[0], f"{fragment!r} not in {errors[0]!r}"
    return errors[0]


def metrics(out: Path) -> dict[str, Any]:
    return json.loads((out / "metrics.json").read_text())


def rejects(out: Path) -> list[dict[str, Any]]:
    path = out / "rejects.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def reasons_by_id(out: Path) -> dict[str | None, list[str]]:
    found: dict[str | None, list[str]] = {}
    for r in rejects(out):
        found.setdefault(r["id"], []).append(r["reason"])
    return found


def assert_accounting(out: Path) -> dict[str, Any]:
    """inputs = kept + rejected, and rejects.jsonl agrees with the counts by reason."""
    m = metrics(out)
    assert m["inputs"] == m["kept"] + m["rejected"], m
    lines = rejects(out)
    assert len(lines) == m["rejected"] == sum(m["rejected_by_reason"].values()), m
    for reason, n in m["rejected_by_reason"].items():
        assert sum(r["reason"] == reason for r in lines) == n, (reason, m)
    return m


def parallel(jobs: dict[str, Callable[[], T]], workers: int = 3) -> dict[str, T | BaseException]:
    """Run independent jobs side by side; a job's exception is returned (and raised by `outcome`)."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
    results: dict[str, T | BaseException] = {}
    for name, future in futures.items():
        error = future.exception()
        results[name] = error if error is not None else future.result()
    return results


def outcome(results: dict[str, Any], name: str) -> Any:
    """The result of one parallel job, re-raising its exception in the test that needs it."""
    value = results[name]
    if isinstance(value, BaseException):
        raise value
    return value
