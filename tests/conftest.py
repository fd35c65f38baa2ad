"""Shared fixtures: the real CLI in a subprocess, and paths to ../shared."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from curator.sources import all_recipes

# A record built with a key the schema lacks raises at once (in a run it is an invalid_record reject);
# subprocesses (the real CLI, dvc) inherit it.
os.environ["CURATOR_STRICT_RECORDS"] = "1"

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CURATOR_SHARED", ROOT.parent / "shared"))
EMONET_DIR = SHARED / "sources" / "emonet-face"
ALL_SOURCES = list(all_recipes())  # every recipe the package ships: a new one is tested end to end at once


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


def _sample_prepare(source: str):
    """A recipe's prepare() bound to the params its sample needs: EMER's code order and label kind have
    no default (they are unpublished), so its sample kit says them."""
    from functools import partial

    from curator.sources import get_recipe, recipe_samples

    recipe, kit = get_recipe(source), recipe_samples(source)
    if not hasattr(kit, "sample_params"):
        return recipe.prepare
    return partial(recipe.prepare, conf=recipe.Params.model_validate(kit.sample_params()))


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory) -> dict:
    """All seven sample sources through prepare, normalize, split, augment and publish (in-process)."""
    from curator.config import Augment, Publish, Split
    from curator.stages.augment.stage import run_augment
    from curator.stages.normalize.stage import run_normalize
    from curator.stages.prepare.stage import run_prepare
    from curator.stages.publish.stage import run_publish
    from curator.stages.split.stage import run_split
    from curator.testing.samples import build_samples

    root = tmp_path_factory.mktemp("consume")
    samples = root / "samples"
    build_samples(samples)
    for s in ALL_SOURCES:
        run_prepare(s, _sample_prepare(s), samples / s, root / "prepared" / s)
    run_normalize([root / "prepared" / s for s in ALL_SOURCES], root / "normalized")
    split = Split(seed=3)
    run_split(root / "normalized", root / "split", split)
    policy = str(ROOT / "pipelines/augment/default.yaml")
    augment = Augment(policy=policy, copies=1, seed=0, workers=1, jpeg_quality=90)
    run_augment(root / "split", root / "augmented", augment)
    run_publish(root / "split", root / "pub", Publish(name="consume-test"), augmented=root / "augmented")
    return {"root": root, "samples": samples, "pub": root / "pub"}


# Whole-pipeline runs (a workspace built per module, real `dvc repro`, CLI processes per case): these
# areas are the slow tier as a whole, so `pytest -m "not slow"` stays the inner loop (CI runs both).
SLOW_AREAS = ("robustness", "use", "benchmarks")
SLOW_MODULES = ("tests/pipeline/test_pipeline.py",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        where = Path(str(item.fspath)).resolve().relative_to(ROOT).as_posix()
        if where.split("/")[1] in SLOW_AREAS or where in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
