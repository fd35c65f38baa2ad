"""The real `dvc repro` of dvc.yaml on the sample sources, and DVC's re-run rules."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
import yaml

from curator.demo import make_workspace, sample_servers
from curator.pipeline.stages import STAGES
from curator.testing.samples import build_samples
from tests.conftest import run_cli

STAGE_ORDER = [s.name for s in STAGES]  # dvc.yaml runs every stage of the table, in its order


def _dvc(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    exe = str(Path(sys.executable).with_name("dvc"))
    proc = subprocess.run([exe, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"dvc {' '.join(args)} failed\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def _ran(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def _edit_params(ws: Path, edit) -> None:
    params = yaml.safe_load((ws / "params.yaml").read_text())
    edit(params)
    (ws / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """A scratch DVC project of this pipeline, sample servers running, first repro done."""
    root = tmp_path_factory.mktemp("pipeline")
    samples = root / "samples"
    build_samples(samples)
    with sample_servers(samples, root) as (overrides, env):
        ws = make_workspace(root / "ws", overrides, git=True)
        env = {**os.environ, **env, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]}
        first = _dvc(["repro"], ws, env)
        yield {"ws": ws, "env": env, "first": first}


def test_first_repro_runs_every_stage_and_publishes_a_valid_dataset(pipeline):
    ws = pipeline["ws"]
    assert {s.split("@")[0] for s in _ran(pipeline["first"])} == set(STAGE_ORDER)
    published = ws / "data" / "publish" / "emotion-curator"
    run_cli("validate", str(published))
    faces = datasets.load_dataset(str(published), "faces")
    assert set(faces) == {"train", "validation", "test", "train_augmented"}  # copies apart from the originals
    assert {r for r in faces["test"]["source"]} >= {"emonet_hq", "viri"}
    assert (ws / "reports" / "index.html").stat().st_size > 10_000
    metrics = _dvc(["metrics", "show", "--json"], ws, pipeline["env"])
    assert '"records_per_split"' in metrics and '"stage": "normalize"' in metrics
    plots = ws.parent / "plots"
    _dvc(["plots", "show", "-o", str(plots)], ws, pipeline["env"])
    page = (plots / "index.html").read_text()
    assert "class_distribution" in page and "rejects" in page and "vegaEmbed" in page


def _git(args: list[str], cwd: Path) -> None:
    subprocess.run(["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t", *args], cwd=cwd,
                   check=True, capture_output=True)


def test_dvc_import_from_the_project_gives_identical_files(pipeline, tmp_path):
    ws, env = pipeline["ws"], pipeline["env"]
    _git(["add", "-A"], ws)
    _git(["commit", "-qm", "build"], ws)
    _dvc(["push"], ws, env)  # to the project's default local remote (a folder beside it)
    assert any((ws.parent / "emotion-curator-dvc-remote").rglob("*"))
    consumer = tmp_path / "consumer"
    consumer.mkdir()
    _git(["init", "-q"], consumer)
    _dvc(["init", "-q"], consumer, env)
    _dvc(["import", str(ws), "data/publish/emotion-curator", "-o", "published"], consumer, env)
    source = ws / "data" / "publish" / "emotion-curator"
    theirs = sorted(p.relative_to(source) for p in source.rglob("*") if p.is_file())
    ours = sorted(p.relative_to(consumer / "published") for p in (consumer / "published").rglob("*") if p.is_file())
    assert ours == theirs
    assert all((consumer / "published" / f).read_bytes() == (source / f).read_bytes() for f in theirs)
    assert datasets.load_dataset(str(consumer / "published"), "viri")["test"].num_rows > 0


def test_second_repro_does_nothing(pipeline):
    out = _dvc(["repro"], pipeline["ws"], pipeline["env"])
    assert _ran(out) == set()
    assert "up to date" in _dvc(["status"], pipeline["ws"], pipeline["env"])


def test_editing_a_label_map_reruns_normalize_onwards_only(pipeline):
    ws = pipeline["ws"]
    path = ws / "curator" / "sources" / "viri" / "labels.yaml"  # the project's copy is what stages read
    path.write_text(path.read_text().replace('Happy: {basic: happiness, fine: null',
                                             'Happy: {basic: happiness, fine: Elation'))
    out = _dvc(["repro"], ws, pipeline["env"])
    assert _ran(out) == {"normalize", "split", "augment", "publish", "report"}


def test_editing_augment_params_reruns_augment_publish_report_only(pipeline):
    ws = pipeline["ws"]
    _edit_params(ws, lambda p: p["augment"].update(copies=1))
    out = _dvc(["repro"], ws, pipeline["env"])
    assert _ran(out) == {"augment", "publish", "report"}


def test_disabling_a_source_drops_it_without_rerunning_the_others(pipeline):
    ws = pipeline["ws"]
    _edit_params(ws, lambda p: p["sources"]["enabled"].pop("emer"))
    out = _dvc(["repro"], ws, pipeline["env"])
    ran = _ran(out)
    assert not any(s.startswith(("download@", "prepare@")) for s in ran)
    assert {"normalize", "publish"} <= ran
    card = (ws / "data" / "publish" / "emotion-curator" / "README.md").read_text()
    assert "config_name: emer" not in card and "config_name: viri" in card


def test_dag_orders_the_stages(pipeline):
    dag = _dvc(["dag", "--dot"], pipeline["ws"], pipeline["env"])
    edges = re.findall(r'"([\w@]+)"\s*->\s*"([\w@]+)"', dag)
    names = {a.split("@")[0] for e in edges for a in e}
    assert names == set(STAGE_ORDER)
    for a, b in edges:
        assert STAGE_ORDER.index(a.split("@")[0]) < STAGE_ORDER.index(b.split("@")[0]), (a, b)
