"""Real use, offline: a git clone of this project as a DVC producer (repro, push, pull, precise
deps), a second git repo that `dvc import`s and `dvc update`s the published dataset from it, the
README's demo in a fresh clone, and the wheel installed in a fresh venv running the demo elsewhere.

The clones hold this checkout's working tree (uncommitted changes are committed in the clone only,
never in this checkout). The sample servers (curator.demo.sample_servers) stand in for the sources.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
import yaml

from curator.demo import apply_overrides, sample_servers
from curator.testing.samples import build_samples
from tests import wheelhouse

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GIT_ID = ["-c", "user.name=ci", "-c", "user.email=ci@example.invalid"]
NAME = "emotion-curator"  # publish.name
OVERRIDES_ENV = ("CURATOR_SCHEMAS", "CURATOR_PIPELINES", "PYTHONPATH")  # a project's own files must win


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed in {cwd}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout + proc.stderr


def git(args: list[str], cwd: Path, stdin: str | None = None) -> str:
    return _run(["git", *GIT_ID, *args], cwd, stdin=stdin)


def dvc(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    return _run([str(BIN / "dvc"), *args], cwd, env)


def _ran(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in OVERRIDES_ENV}
    return {**env, **(extra or {}), "PATH": str(BIN) + os.pathsep + env.get("PATH", "")}


def clone_checkout(dest: Path) -> Path:
    """`git clone` of this checkout, plus its uncommitted changes committed in the clone only."""
    _run(["git", "clone", "-q", str(ROOT), str(dest)], ROOT.parent)
    # on a branch even when the checkout under test is a detached HEAD (as CI systems check out a
    # commit): `dvc import` of the clone needs its HEAD to name a branch (origin/HEAD in its own clone)
    git(["checkout", "-q", "-B", "main"], dest)
    diff = _run(["git", "diff", "HEAD", "--binary"], ROOT)
    if diff.strip():
        git(["apply", "--binary", "-"], dest, stdin=diff)
    untracked = _run(["git", "ls-files", "--others", "--exclude-standard", "-z"], ROOT).split("\0")
    for name in filter(None, untracked):
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest / name, follow_symlinks=False)
    if git(["status", "--porcelain"], dest).strip():
        git(["add", "-A"], dest)
        git(["commit", "-qm", "uncommitted changes of the checkout under test"], dest)
    return dest


def _train_ids(folder: Path, cache: Path) -> set[str]:
    return set(datasets.load_dataset(str(folder), "faces", split="train", cache_dir=str(cache))["id"])


@pytest.fixture(scope="module")
def producer(tmp_path_factory):
    """A git clone of the project, params pointed at the sample servers, `dvc repro`, committed,
    pushed to a local remote (the servers keep running for the module's tests)."""
    base = tmp_path_factory.mktemp("realuse")
    repo = clone_checkout(base / "producer")
    build_samples(base / "samples")
    with sample_servers(base / "samples", base) as (overrides, hub_env):
        env = _env(hub_env)
        params = yaml.safe_load((repo / "params.yaml").read_text())
        (repo / "params.yaml").write_text(yaml.safe_dump(apply_overrides(params, overrides), sort_keys=False))
        remote = base / "remote"
        dvc(["remote", "modify", "--local", "local", "url", str(remote)], repo, env)  # per clone, not committed
        first = dvc(["repro"], repo, env)
        git(["add", "-A"], repo)
        git(["commit", "-qm", "build on the sample sources"], repo)
        dvc(["push"], repo, env)
        yield {"repo": repo, "remote": remote, "env": env, "base": base, "first": first}


def test_the_clone_reproduces_commits_and_pushes(producer):
    repo, env = producer["repo"], producer["env"]
    assert {s.split("@")[0] for s in _ran(producer["first"])} == {
        "download", "prepare", "normalize", "split", "augment", "publish", "report"}
    tracked = set(git(["ls-files"], repo).split())
    assert {"dvc.lock", "metrics/normalize.json", "metrics/prepare/viri.json",
            "reports/plots/class_distribution.csv", "reports/.gitignore"} <= tracked
    assert any(t.startswith("reports/figures/") for t in tracked)
    assert "reports/index.html" not in tracked  # in the DVC cache instead
    assert git(["status", "--porcelain"], repo) == ""
    assert "Data and pipelines are up to date" in dvc(["status"], repo, env)
    assert _ran(dvc(["repro"], repo, env)) == set()
    assert any(p.is_file() for p in producer["remote"].rglob("*"))


def test_a_second_clone_pulls_and_is_up_to_date(producer, tmp_path):
    env = producer["env"]
    clone = tmp_path / "clone"
    _run(["git", "clone", "-q", str(producer["repo"]), str(clone)], tmp_path)
    dvc(["remote", "modify", "--local", "local", "url", str(producer["remote"])], clone, env)
    dvc(["pull"], clone, env)
    assert "Data and pipelines are up to date" in dvc(["status"], clone, env)
    assert (clone / "reports" / "index.html").read_bytes() == (producer["repo"] / "reports" / "index.html").read_bytes()
    assert _ran(dvc(["repro"], clone, env)) == set()


def _status_after_edit(repo: Path, env: dict[str, str], path: str) -> set[str]:
    """The stages `dvc status` marks after appending a comment to `path` (then undone)."""
    target = repo / path
    original = target.read_bytes()
    target.write_bytes(original + b"\n# an edit\n")
    try:
        out = _run([str(BIN / "dvc"), "status", "--json"], repo, env)
    finally:
        target.write_bytes(original)
    return set(json.loads(out[out.index("{"):]))


def test_editing_a_module_marks_exactly_the_stages_that_read_it(producer):
    repo, env = producer["repo"], producer["env"]
    per = lambda *sources: {f"{k}@{s}" for k in ("download", "prepare") for s in sources}  # noqa: E731
    emonet = per("emonet_hq", "emonet_binary", "emonet_big")
    assert _status_after_edit(repo, env, "curator/sources/emonet/__init__.py") == emonet
    assert _status_after_edit(repo, env, "curator/sources/thermal/__init__.py") == per("viri", "nvie")
    kaggle = "curator/sources/kaggle_physio/__init__.py"  # a recipe without a family
    assert _status_after_edit(repo, env, kaggle) == per("kaggle_physio")
    info_readers = {"publish", "report"}  # the card, Croissant and report state each source's facts
    assert _status_after_edit(repo, env, "curator/sources/viri/source.yaml") == per("viri") | info_readers
    enabled = yaml.safe_load((repo / "params.yaml").read_text())["sources"]["enabled"]
    assert _status_after_edit(repo, env, "curator/stages/prepare/worker.py") == {f"prepare@{s}" for s in enabled}
    assert _status_after_edit(repo, env, "curator/stages/augment/worker.py") == {"augment"}
    map_readers = {"normalize", "publish", "report"}  # labels mapped; the card and report show the maps
    assert _status_after_edit(repo, env, "curator/sources/viri/labels.yaml") == map_readers
    # emonet_binary's recipe resolves labels with its own map: its stages too (.dvcignore keeps it in its folder)
    binary_map = "curator/sources/emonet_binary/labels.yaml"
    assert _status_after_edit(repo, env, binary_map) == map_readers | per("emonet_binary")
    assert _status_after_edit(repo, env, "pipelines/augment/default.yaml") == {"augment", "publish"}  # it ships it
    assert "Data and pipelines are up to date" in dvc(["status"], repo, env)


def test_import_then_update_after_a_param_change(producer, tmp_path):
    repo, env, remote = producer["repo"], producer["env"], producer["remote"]
    consumer = tmp_path / "consumer"
    consumer.mkdir()
    git(["init", "-q"], consumer)
    dvc(["init", "-q"], consumer, env)
    # the README's command: a git URL of the producer, and its remote (a local folder here)
    dvc(["import", f"file://{repo}", f"data/publish/{NAME}", "-o", "emotion-data",
         "--remote-config", f"url={remote}"], consumer, env)
    git(["add", "-A"], consumer)
    git(["commit", "-qm", "import the dataset"], consumer)
    before = _train_ids(consumer / "emotion-data", tmp_path / "cache1")
    assert before == _train_ids(repo / "data" / "publish" / NAME, tmp_path / "cache2")

    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["split"]["seed"] += 1
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert _ran(dvc(["repro"], repo, env)) == {"split", "augment", "publish", "report"}
    git(["commit", "-qam", "another split seed"], repo)
    dvc(["push"], repo, env)

    dvc(["update", "emotion-data.dvc"], consumer, env)
    after = _train_ids(consumer / "emotion-data", tmp_path / "cache3")
    assert after == _train_ids(repo / "data" / "publish" / NAME, tmp_path / "cache4")
    assert after != before and len(after) > 0


def _readme_demo_command() -> list[str]:
    """The last step of the README's set-up command: `.venv/bin/curator demo --out demo`."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(ln for ln in readme.splitlines() if "curator demo --out demo" in ln and "pip install" in ln)
    step = line.rsplit("&&", 1)[1].split()
    assert step[:2] == [".venv/bin/curator", "demo"], line
    return [str(BIN / "curator"), *step[1:]]  # this test run's venv is the one that command made


def test_readme_demo_in_a_fresh_clone_then_dvc_status_has_no_error(tmp_path):
    clone = clone_checkout(tmp_path / "fresh")
    env = _env()
    out = _run(_readme_demo_command(), clone, env)
    assert f"Published dataset: {clone / 'demo' / 'workspace' / 'data' / 'publish' / NAME}" in out
    status = subprocess.run([str(BIN / "dvc"), "status"], cwd=clone, env=env, capture_output=True, text=True)
    assert status.returncode == 0, status.stderr
    assert "ERROR" not in status.stdout + status.stderr and "git-ignored" not in status.stdout + status.stderr
    assert "download@viri" in status.stdout  # the clone's own pipeline, not yet run (no dvc.lock)
    assert git(["status", "--porcelain"], clone) == ""  # the demo's workspace is ignored


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("wheel")
    wheel = wheelhouse.build_wheel(base / "dist")
    return wheelhouse.install(wheel, base / "venv").parent.parent


def _site_files(venv: Path) -> dict[str, int]:
    (pkg,) = venv.glob("lib/python*/site-packages/curator")
    return {str(p.relative_to(pkg)): p.stat().st_size for p in pkg.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def test_the_wheel_runs_the_demo_outside_the_checkout(wheel_venv, tmp_path):
    venv_bin = wheel_venv / "bin"
    env = {k: v for k, v in _env().items() if k not in ("PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV")}
    env["PATH"] = os.environ.get("PATH", "")  # the demo puts its own venv's bin first
    probe = "import curator, importlib.util as u; print(curator.__file__, u.find_spec('pytest'), u.find_spec('ray'))"
    where, pytest_spec, ray_spec = _run([str(venv_bin / "python"), "-c", probe], tmp_path, env).split()
    assert where.startswith(str(wheel_venv)) and pytest_spec == ray_spec == "None"  # no checkout, no dev extras
    assert not list(wheel_venv.glob("lib/python*/site-packages/__editable__*"))
    before = _site_files(wheel_venv)

    elsewhere, out = tmp_path / "elsewhere", tmp_path / "out"
    elsewhere.mkdir()
    log = _run([str(venv_bin / "curator"), "demo", "--out", str(out)], elsewhere, env)
    published = out / "workspace" / "data" / "publish" / NAME
    assert f"Published dataset: {published}" in log
    assert "valid" in _run([str(venv_bin / "curator"), "validate", str(published)], elsewhere, env)
    plan = _run([str(venv_bin / "curator"), "push", str(published), "--repo-id", "someone/emotions",
                 "--private", "--dry-run"], elsewhere, env)
    assert "croissant.json" in plan
    assert datasets.load_dataset(str(published), "thermal", split="test", cache_dir=str(tmp_path / "c")).num_rows
    assert list(elsewhere.iterdir()) == []  # nothing written into the working directory
    assert _site_files(wheel_venv) == before  # nor into the installed package (no recorded checksums)
