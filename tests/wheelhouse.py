"""Build this project's wheel and install it into a fresh venv, offline, from a local wheelhouse.

The wheelhouse ($CURATOR_WHEELHOUSE, else ~/.cache/emotion-curator/wheelhouse) holds every
dependency as a wheel, plus setuptools for the build. `.ci/run` fills it first (`python -m
tests.wheelhouse`: with the index, like `pip install`; seconds when the wheel's requirements are the
ones it was filled for), so the tests build and install with `--no-index`; a test run that finds
it empty or stale fills it once from the index.

Measured here (2 CPUs shared with other jobs): filling 80-110 s once; build 3-15 s; offline
install with --no-compile ~40 s. Compiling every module would add ~40 s more; instead each process
writes the .pyc of what it imports, so the venv's processes run without PYTHONDONTWRITEBYTECODE.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WHEELHOUSE = Path(os.environ.get("CURATOR_WHEELHOUSE") or Path.home() / ".cache" / "emotion-curator" / "wheelhouse")
BUILD_REQUIRES = "setuptools>=68"


def _pip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"pip {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return proc


def _offline() -> list[str]:
    return ["--no-index", "--find-links", str(WHEELHOUSE)]


def build_wheel(dist: Path) -> Path:
    """`pip wheel . --no-deps` of this checkout into `dist` (setuptools from the wheelhouse)."""
    WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(ROOT / "build", ignore_errors=True)  # setuptools reuses build/lib: a deleted module would ship
    try:
        args = ["wheel", "-q", str(ROOT), "--no-deps", "-w", str(dist)]
        if _pip(*args, *_offline(), check=False).returncode != 0:
            _pip("wheel", "-q", BUILD_REQUIRES, "-w", str(WHEELHOUSE))  # online, once
            _pip(*args, *_offline())
    finally:
        shutil.rmtree(ROOT / "build", ignore_errors=True)
    (wheel,) = dist.glob("emotion_curator-*.whl")
    return wheel


def fill(wheel: Path) -> None:
    """Every dependency of `wheel` as a wheel in the wheelhouse (uses the package index)."""
    _pip("wheel", "-q", str(wheel), BUILD_REQUIRES, "-w", str(WHEELHOUSE))
    for own in WHEELHOUSE.glob("emotion_curator-*.whl"):
        own.unlink()  # the project's own wheel is always built fresh
    (WHEELHOUSE / "requires.txt").write_text(_requires(wheel), encoding="utf-8")


def _requires(wheel: Path) -> str:
    """The wheel's Requires-Dist lines (its METADATA), sorted: what the wheelhouse must hold."""
    with zipfile.ZipFile(wheel) as whl:
        meta = next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))
        lines = whl.read(meta).decode("utf-8").splitlines()
    return "\n".join(sorted(ln for ln in lines if ln.startswith("Requires-Dist:"))) + f"\n{BUILD_REQUIRES}\n"


def complete(wheel: Path) -> bool:
    """Whether the wheelhouse was last filled for these same requirements (a cheap check; an install
    that still fails refills it)."""
    stamp = WHEELHOUSE / "requires.txt"
    return stamp.is_file() and stamp.read_text(encoding="utf-8") == _requires(wheel)


def install(wheel: Path, venv: Path) -> Path:
    """A fresh venv (no pip inside, no editable install, no extras) holding `wheel` and its
    dependencies, installed offline; returns the venv's python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    args = ["--python", str(python), "install", "-q", "--no-compile", *_offline(), str(wheel)]
    if _pip(*args, check=False).returncode != 0:  # empty wheelhouse, or the dependencies changed
        fill(wheel)
        _pip(*args)
    return python


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        built = build_wheel(Path(tmp))
        if not complete(built):
            fill(built)
    print(f"wheelhouse ready: {WHEELHOUSE}")
