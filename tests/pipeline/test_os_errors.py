"""What the machine refuses (a path that cannot exist, a read-only folder) is one line naming the path,
not an "internal error": the user can act on it, and it is no bug to report."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import run_cli


def _one_line(proc, *needles: str) -> None:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: ") and "internal error" not in line, line
    for needle in needles:
        assert needle in line, line


def test_an_out_that_cannot_be_created_is_one_line_naming_it(tmp_path: Path):
    samples = tmp_path / "samples"
    run_cli("samples", "--out", str(samples))
    proc = run_cli("download", "viri", "--from", str(samples / "viri"), "--out", "/proc/curator-x", check=False,
                   cwd=tmp_path)
    _one_line(proc, "/proc/curator-x", "No such file or directory")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through read-only modes")
def test_a_read_only_folder_is_one_line_naming_it(tmp_path: Path):
    samples = tmp_path / "samples"
    run_cli("samples", "--out", str(samples))
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        proc = run_cli("prepare", "kaggle_physio", "--raw", str(samples / "kaggle_physio"),
                       "--out", str(locked / "prepared"), check=False, cwd=tmp_path)
    finally:
        locked.chmod(0o755)
    _one_line(proc, str(locked))
