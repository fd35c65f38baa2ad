"""What a no-op `dvc repro` costs next to the full run, in a scratch DVC workspace.

The workspace runs the real `curator normalize/split/augment/publish` commands with the project's
params, schemas and policy; prepare is the benchmark's synthetic recipe (benchmarks/jobs.py) over
hard links to the generated images, which DVC hashes as the pipeline's raw input. Code files are
not declared as deps here (the project's dvc.yaml adds a dozen small files: negligible to hash).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from benchmarks.synth import all_images

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class DvcTiming:
    full: float
    status: float
    noop: float


def _stages() -> dict:
    prepare = json.dumps({"images": "data/raw/viri", "out": "data/prepared/viri"})
    return {"stages": {
        "prepare": {"cmd": f"{sys.executable} -m benchmarks.jobs prepare '{prepare}'",
                    "deps": ["data/raw/viri"], "params": ["prepare"], "outs": ["data/prepared/viri"]},
        "normalize": {"cmd": "curator normalize", "deps": ["data/prepared", "schemas"],
                      "params": ["sources.enabled"], "outs": ["data/normalized"]},
        "split": {"cmd": "curator split", "deps": ["data/normalized"], "params": ["split", "dedup"],
                  "outs": ["data/split"]},
        "augment": {"cmd": "curator augment", "deps": ["data/split", "pipelines/augment"], "params": ["augment"],
                    "outs": ["data/augmented"]},
        "publish": {"cmd": "curator publish --augmented data/augmented", "deps": ["data/split", "data/augmented"],
                    "params": ["publish", "augment.policy"], "outs": ["data/publish"]},
    }}


def make_workspace(workspace: Path, images: Path, workers: int) -> Path:
    shutil.rmtree(workspace, ignore_errors=True)
    workspace.mkdir(parents=True)
    for name in ("schemas", "pipelines"):
        shutil.copytree(ROOT / name, workspace / name, ignore=shutil.ignore_patterns("__pycache__"))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["sources"]["enabled"] = ["viri"]
    params["augment"]["workers"] = workers
    (workspace / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (workspace / "dvc.yaml").write_text(yaml.safe_dump(_stages(), sort_keys=False))
    for path in all_images(images):  # hard links: DVC still reads and hashes every byte
        target = workspace / "data" / "raw" / "viri" / path.relative_to(images)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(path, target)
    return workspace


def _timed(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> float:
    start = time.perf_counter()
    with open(log, "a") as out:
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode != 0:  # the log's tail now: a temp work dir is removed on the way out
        tail = "".join(log.read_text().splitlines(keepends=True)[-20:])
        raise RuntimeError(f"`{' '.join(cmd)}` failed in {cwd}:\n{tail}")
    return time.perf_counter() - start


def measure_dvc(workspace: Path, images: Path, workers: int) -> DvcTiming:
    make_workspace(workspace, images, workers)
    bin_dir = str(Path(sys.executable).parent)
    dvc = str(Path(bin_dir) / "dvc") if (Path(bin_dir) / "dvc").is_file() else "dvc"
    env = {k: v for k, v in os.environ.items() if k != "CURATOR_SCHEMAS"}  # the workspace's own schemas/
    env.update(PATH=bin_dir + os.pathsep + env.get("PATH", ""), PYTHONPATH=str(ROOT), DVC_NO_ANALYTICS="1")
    log = workspace.parent / "dvc.log"
    _timed([dvc, "init", "--no-scm", "-q"], workspace, env, log)
    full = _timed([dvc, "repro"], workspace, env, log)
    status = _timed([dvc, "status"], workspace, env, log)
    noop = _timed([dvc, "repro"], workspace, env, log)
    return DvcTiming(full, status, noop)
