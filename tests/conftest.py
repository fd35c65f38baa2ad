"""Shared fixtures: the real CLI in a subprocess, and paths to ../shared."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CURATOR_SHARED", ROOT.parent / "shared"))
EMONET_DIR = SHARED / "sources" / "emonet-face"


def run_cli(
    *args: str, cwd: Path | None = None, env: dict | None = None, check: bool = True, timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run `curator ARGS` exactly as a user would (a fresh interpreter, real argv)."""
    full_env = {**os.environ, "CURATOR_SCHEMAS": str(ROOT / "schemas"), **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "curator.cli", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"curator {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def cli():
    return run_cli


def needs_shared():
    return pytest.mark.skipif(not EMONET_DIR.is_dir(), reason="../shared/sources/emonet-face not present")
