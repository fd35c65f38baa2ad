"""A small pipeline workspace (Kaggle physio + VIRI samples through every stage) that the contract,
signal and fuzz tests copy and then drive through the real CLI.

Built once per session, in process (the CLI is a thin layer over the same functions): the copies
are what the CLI runs on.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from curator.config import Augment, Prepare, Publish, Split
from curator.sources import get_recipe
from curator.stages.augment.stage import run_augment
from curator.stages.normalize.stage import run_normalize
from curator.stages.prepare.stage import run_prepare
from curator.stages.publish.stage import run_publish
from curator.stages.split.stage import run_split
from curator.testing.samples import builders
from tests.conftest import ROOT, run_cli
from tests.robustness.helpers import parallel, snapshot

SOURCES = ("kaggle_physio", "viri")
PARAMS = {
    "sources": {"enabled": list(SOURCES)},
    "prepare": {"workers": 1},
    "augment": {"workers": 1, "copies": 1},
}
NAME = "emotion-curator"  # publish.name's default
PUBLISHED = f"data/publish/{NAME}"


def build(root: Path) -> Path:
    """`root` laid out like a project after `dvc repro`: params.yaml, pipelines/, samples/ (the raw
    deliveries) and data/ with every stage's output."""
    root.mkdir(parents=True)
    shutil.copytree(ROOT / "pipelines", root / "pipelines")
    (root / "params.yaml").write_text(yaml.safe_dump(PARAMS, sort_keys=False))
    samples, data = root / "samples", root / "data"
    for source in SOURCES:
        builders()[source](samples, 0, False)
        run_prepare(source, get_recipe(source).prepare, samples / source, data / "prepared" / source,
                    Prepare(workers=1))
    run_normalize([data / "prepared" / s for s in SOURCES], data / "normalized")
    run_split(data / "normalized", data / "split", Split())
    augment = Augment(policy=str(ROOT / "pipelines/augment/default.yaml"), workers=1, copies=1)
    run_augment(data / "split", data / "augmented", augment)
    run_publish(data / "split", data / "publish" / NAME, Publish(), augmented=data / "augmented")
    return root


def copy(base: Path, to: Path) -> Path:
    """A private copy of the workspace (a few MB) for one test to change."""
    shutil.copytree(base, to, symlinks=True, ignore=shutil.ignore_patterns(".*.lock"))
    return to


def on_copies(base: Path, root: Path, scenarios: dict[str, Callable[[Path], Any]]) -> dict[str, Any]:
    """Each scenario run on its own copy of the workspace (folder named after it), side by side."""
    return parallel({name: partial(lambda fn, to: fn(copy(base, to)), fn, root / name)
                     for name, fn in scenarios.items()})


def cli(ws: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The real CLI in `ws`, its exit code left to the caller."""
    return run_cli(*args, cwd=ws, env=env, check=False)


def state(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` but the lock files (left in place on purpose: curator.io.atomic)."""
    return {k: v for k, v in snapshot(folder).items() if not k.endswith(".lock")}
