"""The authors' working folder as Dataset.zip holds it, through the real CLI: weights, plots and the
two confusion matrices of the same name are excluded as working_file (never a record of class
`results`, never `unpaired` rejects of class `models`, never a stop), and a class folder the label
map does not know is named by prepare and by `curator inspect`."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curator.sources.thermal.samples_figshare import ROOT, build_figshare
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def working(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("viri-working")
    with zipfile.ZipFile(build_figshare(base, 0)) as zf:
        zf.extractall(base / "Dataset")
    tree = base / "Dataset" / ROOT / "tran_val_test"
    for view in ("Visible", "IR"):  # a sixth class the label map lacks, one pair of it
        source = next((tree / view / "train" / "Angry").iterdir())
        (tree / view / "train" / "Contempt").mkdir()
        shutil.copyfile(source, tree / view / "train" / "Contempt" / f"IMG_2001{source.suffix}")
    return base / "Dataset"


def test_prepare_excludes_the_working_files_and_names_the_unknown_class(working: Path, tmp_path: Path) -> None:
    run_cli("download", "viri", "--from", str(working), cwd=tmp_path)
    proc = run_cli("prepare", "viri", cwd=tmp_path)
    assert "class folder(s) not in curator/sources/viri/labels.yaml: Contempt (2 files)" in proc.stderr + proc.stdout
    out = tmp_path / "data" / "prepared" / "viri"
    rows = [r for f in sorted(out.glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
    assert sorted({r["label_original"] for r in rows}) == ["Angry", "Contempt", "Happy", "Neutral", "Sad", "Surprise"]
    assert len(rows) == 21 and not any(r["reason"] in ("unpaired", "ambiguous_pair") for r in rejects)
    working_files = sorted(r["path"] for r in rejects if r["reason"] == "working_file")
    assert working_files == sorted(p.relative_to(working).as_posix() for p in working.rglob("*") if p.is_file()
                                   and any(f in p.parts for f in ("models", "results", "weights")))
    assert len(working_files) == 8
    assert any(p.endswith("Vis/results/resnet18withattention_test_conf_norm.png") for p in working_files)
    assert any(p.startswith(f"{ROOT}/VIRI-new-paper/Vis-IR/weights/") for p in working_files)


def test_inspect_names_the_unknown_class_and_the_exclusions(working: Path, tmp_path: Path) -> None:
    lines = run_cli("inspect", "viri", str(working), cwd=tmp_path).stdout.splitlines()
    assert "class folder(s) not in curator/sources/viri/labels.yaml: Contempt (2 files)" in lines[0]
    assert "8 working_file" in lines[0]
    assert any(line.startswith("classes: ") and "Contempt (not in " in line for line in lines), lines
