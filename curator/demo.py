"""`curator demo`: the real `dvc repro` of this pipeline, offline, on the built-in sample sources.

Builds the samples, serves them on 127.0.0.1 (a static server for archives and CSVs, a Hub
stand-in for the EmoNet-Face repos), writes a scratch DVC workspace whose params.yaml points
every source at those servers, and runs `dvc repro` there. Everything the workspace holds comes
from the installed package (curator.resources), so it runs from a wheel as from a checkout.
"""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from curator.config import families, render_defaults
from curator.errors import CuratorError
from curator.pipeline.lifetime import END_WITH_PARENT
from curator.pipeline.progress import log
from curator.pipeline.stages import DATA, folder
from curator.resources import packaged
from curator.sources import all_recipes, recipe_samples
from curator.testing.files import serve_directory
from curator.testing.hub import serve_hub
from curator.testing.samples import build_samples
from curator.testing.samples.built import Served

# A pipeline project's files, as the installed package ships them (a checkout's through symlinks).
PROJECT_FILES = {
    "dvc.yaml": ("project", "dvc.yaml"),
    ".dvcignore": ("project", "dvcignore"),
    ".gitignore": ("project", "gitignore"),
    "schemas": ("schemas",),
    "pipelines": ("pipelines",),
}
NOT_CODE = {"project", "schemas", "pipelines"}  # package data beside the code, copied to the top level


def write_project(workspace: Path, params_text: str) -> None:
    """The pipeline's files into `workspace`: dvc.yaml, params, schemas, policies, and the curator code
    its stages list as deps, all from the installed package."""
    for name, parts in PROJECT_FILES.items():
        src = packaged(*parts)
        if src.is_dir():
            shutil.copytree(src, workspace / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copyfile(src, workspace / name)
    code = packaged()

    def skip(folder: str, names: list[str]) -> set[str]:
        top = NOT_CODE if Path(folder) == code else set()
        return {n for n in names if n in top or n == "__pycache__" or n.endswith(".pyc")}

    shutil.copytree(code, workspace / "curator", ignore=skip)
    (workspace / "params.yaml").write_text(params_text, encoding="utf-8")


def _kits() -> dict[str, ModuleType]:
    return {name: recipe_samples(name) for name in all_recipes()}


def seed_hub_folder(samples: Path, hub_root: Path) -> Path:
    """Lay out the samples of every source that declares a HUB_REPO as that Hub repo: Parquet
    shards + card (their annotation CSVs live on GitHub, so the file server has them)."""
    for name, kit in _kits().items():
        repo_id = getattr(kit, "HUB_REPO", None)
        if repo_id is None:
            continue
        repo = hub_root / repo_id
        shutil.rmtree(repo, ignore_errors=True)
        shutil.copytree(samples / name / "data", repo / "data")
        shutil.copy(samples / name / "README.md", repo / "README.md")
    return hub_root


@contextlib.contextmanager
def sample_servers(samples: Path, scratch: Path) -> Iterator[tuple[dict[str, Any], dict[str, str]]]:
    """Serve the samples; yields (params overrides pointing at the servers, env for subprocesses).

    Each recipe's samples.demo_params() says how its params point at the served copy."""
    with serve_hub(seed_hub_folder(samples, scratch / "hub"), token=None) as hub, \
            hub.client_env(scratch / "hf-home") as env, serve_directory(samples) as url:
        served = Served(samples=samples, files_url=url, hub_sha=hub.sha)
        kits = _kits()
        sources: dict[str, Any] = {"enabled": families(list(kits))}  # every recipe: the samples cover them all
        sources.update({name: kit.demo_params(served) for name, kit in kits.items()})
        overrides = {"sources": sources, "download": {"checksums": str(samples / "checksums.tsv")}}
        yield overrides, env


def make_workspace(workspace: Path, overrides: dict[str, Any], *, git: bool = False,
                   params_path: Path | None = None) -> Path:
    """A fresh DVC project holding this pipeline, with params (`params_path`, else the defaults)
    pointed at the sample servers (a git repository too when `git`, so other projects can
    `dvc import` from it)."""
    if workspace.exists():
        shutil.rmtree(workspace)
    workspace.mkdir(parents=True)
    params = yaml.safe_load(Path(params_path).read_text(encoding="utf-8")) if params_path else None
    params = params or yaml.safe_load(render_defaults())
    write_project(workspace, yaml.safe_dump(apply_overrides(params, overrides), sort_keys=False))
    env = os.environ.copy()
    if git:
        _run(["git", "init", "-q"], workspace, env)
        _run([_dvc(), "init", "-q"], workspace, env)
        shutil.copyfile(packaged("project", "dvc-config"), workspace / ".dvc" / "config")  # the default remote
    else:
        _run([_dvc(), "init", "--no-scm", "-q"], workspace, env)
    return workspace


def apply_overrides(params: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """params with `overrides` merged in: each source's keys, and whole keys of the other sections."""
    params = copy.deepcopy(params)
    for section, values in overrides.items():
        if section == "sources":
            for key, value in values.items():
                params["sources"][key] = value if key == "enabled" else {**params["sources"].get(key, {}), **value}
        else:
            params.setdefault(section, {}).update(values)
    return params


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
    """Run `cmd`; it and every `curator` stage it starts end when this process does (however it ends)."""
    env = {**env, END_WITH_PARENT: "1"}  # the samples' servers are threads here: no preexec_fn, exec instead
    proc = subprocess.run([sys.executable, "-m", "curator.pipeline.lifetime", *cmd], cwd=cwd, env=env)
    if proc.returncode != 0:
        raise CuratorError(f"`{' '.join(cmd)}` failed with exit code {proc.returncode} in {cwd}")


def _dvc() -> str:
    """The dvc next to this interpreter (the project's venv), else the one on PATH."""
    local = Path(sys.executable).with_name("dvc")
    return str(local) if local.is_file() else "dvc"


def run_demo(out: Path, *, params_path: Path | None = None) -> Path:
    """Build samples, serve them on loopback, `dvc repro` in a scratch workspace; returns the
    published folder."""
    out = Path(out).resolve()
    samples = out / "samples"
    log.info("building sample sources in %s", samples)
    build_samples(samples)
    with sample_servers(samples, out) as (overrides, env):
        workspace = make_workspace(out / "workspace", overrides, params_path=params_path)
        bin_dir = str(Path(sys.executable).parent)
        env = {**os.environ, **env, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
        log.info("running dvc repro in %s", workspace)
        _run([_dvc(), "repro"], workspace, env)
    name = yaml.safe_load((workspace / "params.yaml").read_text())["publish"]["name"]
    published = folder("publish", data=workspace / DATA) / name
    print(f"\nPublished dataset: {published}")
    print(f"Report:            {workspace / folder('report') / 'index.html'}")
    print(f'Load it with:      datasets.load_dataset("{published}", "faces")')
    return published
