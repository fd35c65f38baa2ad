"""VIRI and NVIE through the real CLI: download from a loopback server, prepare, and prove
every visible/IR pair right by content (the sample builder draws one pair code into both
images of a pair, so a pair made by name or list position that is wrong shows up here).

The CLI scenarios are independent, so the module fixture runs them concurrently (each CLI
start costs ~3 s of imports); the tests then assert on what each scenario left behind.
"""

from __future__ import annotations

import io
import json
import random
import re
import shutil
import subprocess
import zipfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from PIL import Image

from curator.errors import SchemaError
from curator.io.parquet import iter_records
from curator.io.rejects import read_rejects
from curator.reasons import Reason
from curator.sources import thermal
from curator.sources.nvie import SPEC as NVIE
from curator.sources.recipe import Reject
from curator.sources.viri import SPEC as VIRI
from curator.testing.files import serve_directory
from curator.testing.samples import build_samples, read_pair_code
from tests.conftest import run_cli

VIRI_CLASSES = {"Angry", "Happy", "Neutral", "Sad", "Surprise"}


@dataclass
class Run:
    """What one scenario's CLI calls returned, and where prepare wrote."""

    work: Path
    procs: list[subprocess.CompletedProcess]
    prepared: Path | None = None

    def records(self) -> list[dict]:
        assert self.prepared is not None
        return list(iter_records(self.prepared))

    def rejects(self) -> list[dict]:
        assert self.prepared is not None
        return read_rejects(self.prepared / "rejects.jsonl")


# --------------------------------------------------------------------------- scenarios


def _write_params(work: Path, checksums: Path, *, nvie_licence: bool) -> None:
    params = {"download": {"checksums": str(checksums), "retries": 0}}
    if nvie_licence:
        params["sources"] = {"nvie": {"accept_license": True}}
    (work / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")


def _download_and_prepare(source: str, variant: str) -> Callable[[Path, str, Path], Run]:
    def scenario(site: Path, url: str, work: Path) -> Run:
        _write_params(work, site / variant / "checksums.tsv", nvie_licence=True)
        procs = [run_cli("download", source, "--from", f"{url}/{variant}/{source}", cwd=work),
                 run_cli("prepare", source, cwd=work)]
        return Run(work, procs, work / "data" / "prepared" / source)

    return scenario


def _zip_members(path: Path) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(path) as zf:
        return [(info, zf.read(info)) for info in zf.infolist()]


def _reversed_archive(site: Path, url: str, work: Path) -> Run:
    """VIRI with VIRI-Angry-Vis.zip rebuilt with its members in reversed order."""
    raw = work / "raw"
    shutil.copytree(site / "clean" / "viri", raw)
    archive = raw / "VIRI-Angry-Vis.zip"
    members = _zip_members(archive)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in reversed(members):
            zf.writestr(info, data)
    return Run(work, [run_cli("prepare", "viri", "--raw", str(raw), "--out", "prepared", cwd=work)], work / "prepared")


def _training_layout(site: Path, url: str, work: Path) -> Run:
    """An extracted tree in the authors' {Visible,IR}/{train,val,test}/<Class>/ layout: IR files
    written (and listed) first, each modality split at random on its own, some visible stems
    with an `_rgb` suffix, plus another dataset's folder and macOS droppings to be skipped."""
    tree, rnd = work / "tree", random.Random(7)
    for modality, folder in (("Ir", "IR"), ("Vis", "Visible")):
        for cls in sorted(VIRI_CLASSES):
            for info, data in _zip_members(site / "clean" / "viri" / f"VIRI-{cls}-{modality}.zip"):
                if info.is_dir():
                    continue
                name = Path(info.filename).name
                if modality == "Vis" and rnd.random() < 0.5:
                    name = f"{Path(name).stem}_rgb{Path(name).suffix}"
                split = rnd.choice(["train", "val", "test"])
                _write(tree / "VIRI" / folder / split / cls / name, data)
                _write(tree / "__MACOSX" / "VIRI" / folder / split / cls / f"._{name}", b"\0\5\26\7")
    _write(tree / "NVIE" / "IR" / "train" / "fear" / "S001_fear_01.JPG", b"not ours")
    return Run(work, [run_cli("prepare", "viri", "--raw", str(tree), "--out", "prepared", cwd=work)], work / "prepared")


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _unknown_layout(site: Path, url: str, work: Path) -> Run:
    raw = work / "raw"
    _write(raw / "faces" / "Angry" / "IMG_0001.JPG", b"whatever")
    return Run(work, [run_cli("prepare", "viri", "--raw", str(raw), cwd=work, check=False)])


def _nvie_licence(site: Path, url: str, work: Path) -> Run:
    """Without accept_license a URL download is refused; a local copy is fine."""
    _write_params(work, site / "clean" / "checksums.tsv", nvie_licence=False)
    procs = [
        run_cli("download", "nvie", "--from", f"{url}/clean/nvie", cwd=work, check=False),
        run_cli("download", "nvie", "--from", str(site / "clean" / "nvie"), cwd=work),
        run_cli("prepare", "nvie", cwd=work),
    ]
    return Run(work, procs, work / "data" / "prepared" / "nvie")


SCENARIOS: dict[str, Callable[[Path, str, Path], Run]] = {
    **{f"{s}-{v}": _download_and_prepare(s, v) for s in ("viri", "nvie") for v in ("clean", "dirty")},
    "reversed": _reversed_archive,
    "training": _training_layout,
    "unknown": _unknown_layout,
    "nvie-licence": _nvie_licence,
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site")
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda v: build_samples(root / v, dirty=v == "dirty"), ["clean", "dirty"]))
    return root


@pytest.fixture(scope="module")
def runs(site: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run | BaseException]:
    with serve_directory(site) as url, ThreadPoolExecutor(4) as pool:
        futures = {name: pool.submit(fn, site, url, tmp_path_factory.mktemp(name)) for name, fn in SCENARIOS.items()}
        return {name: f.exception() or f.result() for name, f in futures.items()}


def _run(runs: dict[str, Run | BaseException], name: str) -> Run:
    outcome = runs[name]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


# --------------------------------------------------------------------------- checks


def _code(image: dict) -> int:
    return read_pair_code(Image.open(io.BytesIO(image["bytes"])))


def _assert_paired_by_content(records: list[dict]) -> None:
    for r in records:
        assert _code(r["image"]) == _code(r["infrared"]), (r["id"], r["image"]["path"], r["infrared"]["path"])
    assert len({_code(r["image"]) for r in records}) == len(records)  # no pair used twice


def _error_lines(proc: subprocess.CompletedProcess) -> list[str]:
    return [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]


@pytest.mark.parametrize("source", ["viri", "nvie"])
@pytest.mark.parametrize("variant", ["clean", "dirty"])
def test_download_and_prepare_match_the_manifest(runs: dict, site: Path, source: str, variant: str) -> None:
    run = _run(runs, f"{source}-{variant}")
    expected = json.loads((site / variant / "manifest.json").read_text())[source]["expected"]
    records = run.records()
    assert len(records) == expected["records"]
    assert dict(Counter(r["reason"] for r in run.rejects())) == expected["prepare_rejects"]
    _assert_paired_by_content(records)
    assert len({r["id"] for r in records}) == len(records)
    assert {(r["source"], r["label_kind"]) for r in records} == {(source, "expressed")}
    labels = {r["label_original"] for r in records}
    assert labels == (VIRI_CLASSES if source == "viri" else {"fear", "disgust", "happy"})
    for r in records:
        assert r["id"] == f"{source}/{r['label_original']}/{thermal.pair_stem(r['image']['path'])}"


def test_unpaired_reject_names_the_file_and_the_missing_partner(runs: dict) -> None:
    (reject,) = [r for r in _run(runs, "viri-dirty").rejects() if r["reason"] == Reason.UNPAIRED]
    assert reject["path"].startswith("VIRI-Happy-Ir.zip/") and reject["path"] in reject["detail"]
    assert "no visible partner" in reject["detail"] and "class Happy" in reject["detail"]


def test_nvie_group_is_the_subject_and_viri_group_is_the_pair(runs: dict) -> None:
    nvie = _run(runs, "nvie-clean").records()
    for r in nvie:
        assert r["group_id"] == "nvie/" + re.match(r"S\d{3}", Path(r["image"]["path"]).name).group(0)
    assert max(Counter(r["group_id"] for r in nvie).values()) > 1  # takes of one subject share a group
    assert all(r["group_id"] == r["id"] for r in _run(runs, "viri-clean").records())


def test_reversed_member_order_still_pairs_by_content(runs: dict) -> None:
    run = _run(runs, "reversed")
    raw = run.work / "raw"
    vis = [d for i, d in _zip_members(raw / "VIRI-Angry-Vis.zip") if not i.is_dir()]
    ir = [d for i, d in _zip_members(raw / "VIRI-Angry-Ir.zip") if not i.is_dir()]
    by_position = [_code({"bytes": v}) == _code({"bytes": i}) for v, i in zip(vis, ir, strict=True)]
    assert not all(by_position)  # pairing by list position would be wrong here
    records = run.records()
    assert len(records) == 30 and not run.rejects()
    _assert_paired_by_content(records)


def test_training_layout_with_ir_listed_first_pairs(runs: dict) -> None:
    run = _run(runs, "training")
    records = run.records()
    assert len(records) == 30 and not run.rejects()
    _assert_paired_by_content(records)
    assert {r["label_original"] for r in records} == VIRI_CLASSES
    assert all(r["image"]["path"].startswith("VIRI/Visible/") for r in records)
    assert "viri: skipped 1 image(s) of another dataset" in run.procs[0].stderr


def test_unknown_layout_is_one_clear_schema_error(runs: dict) -> None:
    (proc,) = _run(runs, "unknown").procs
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    (line,) = _error_lines(proc)
    assert "cannot place 1 image(s)" in line and "faces/Angry/IMG_0001.JPG" in line
    assert "expected" in line and "VIRI-Angry-Ir.zip" in line and "{Visible,IR}/{train,val,test}/<Class>/" in line


def test_nvie_needs_the_licence_or_a_local_copy(runs: dict) -> None:
    run = _run(runs, "nvie-licence")
    refused, local, prepared = run.procs
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    (line,) = _error_lines(refused)
    assert "research licence" in line and "curator download nvie --from DIR" in line
    assert "accept_license" in line
    assert local.returncode == 0 and prepared.returncode == 0
    assert len(run.records()) == 18 and not run.rejects()
    _assert_paired_by_content(run.records())


# --------------------------------------------------------------------------- in-process units


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("IMG_0001.JPG", "img_0001"),
        ("img_0001-ir.jpg", "img_0001"),
        ("IMG_0001_IR.JPG", "img_0001"),
        ("IMG_0001_vis.png", "img_0001"),
        ("IMG_0001_rgb.jpeg", "img_0001"),
        ("S007_fear_01_ir.JPG", "s007_fear_01"),
        ("ir.jpg", "ir"),  # nothing would remain: keep the stem
        ("bird_01.jpg", "bird_01"),  # "ir" inside a word is not a suffix
    ],
)
def test_pair_key_normalisation(name: str, key: str) -> None:
    assert thermal.pair_key(name) == key


@pytest.mark.parametrize(
    ("folders", "expected"),
    [
        (("VIRI-Angry-Ir", "Angry-Ir"), ("Angry", "ir", "archives")),
        (("NVIE-disgust2-Vis", "disgust2-Vis"), ("disgust", "visible", "archives")),
        (("Dataset", "VIRI", "Visible", "test", "Sad"), ("Sad", "visible", "training")),
        (("IR", "Happy"), ("Happy", "ir", "training")),
        (("VIRI-IR", "train", "Happy"), None),  # "VIRI-IR" is not a class; no modality folder either
        (("faces", "Angry"), None),
    ],
)
def test_place(folders: tuple[str, ...], expected: tuple[str, str, str] | None) -> None:
    placement = thermal.place(folders, "x.jpg")
    assert (placement and (placement.label, placement.modality, placement.layout)) == expected


def test_ambiguous_stem_rejects_every_file_of_the_group(tmp_path: Path) -> None:
    for rel in ("VIRI-Sad-Vis/IMG_1.JPG", "VIRI-Sad-Vis/img_1.jpg", "VIRI-Sad-Ir/IMG_1_IR.JPG",
                "VIRI-Sad-Vis/IMG_2.JPG", "VIRI-Sad-Ir/IMG_2-ir.JPG"):
        _write(tmp_path / rel, b"bytes checked by the driver, not here")
    items = list(thermal.prepare(VIRI, tmp_path))
    rejects = [i for i in items if isinstance(i, Reject)]
    assert sorted(r.path for r in rejects) == ["VIRI-Sad-Ir/IMG_1_IR.JPG", "VIRI-Sad-Vis/IMG_1.JPG",
                                               "VIRI-Sad-Vis/img_1.jpg"]
    assert {r.reason for r in rejects} == {Reason.AMBIGUOUS_PAIR}
    (record,) = [i for i in items if isinstance(i, dict)]
    assert record["id"] == "viri/Sad/IMG_2" and record["infrared"]["path"] == "VIRI-Sad-Ir/IMG_2-ir.JPG"


def test_mixed_layouts_are_refused(tmp_path: Path) -> None:
    _write(tmp_path / "VIRI-Sad-Vis" / "IMG_1.JPG", b"x")
    _write(tmp_path / "IR" / "train" / "Sad" / "IMG_1.JPG", b"x")
    with pytest.raises(SchemaError, match="mixes per-class archives and the training layout"):
        list(thermal.prepare(VIRI, tmp_path))


def test_archive_without_a_suffix_is_found_by_magic(site: Path, tmp_path: Path) -> None:
    # e.g. a figshare download URL names the file by number; the member folder still says fear-Ir
    shutil.copytree(site / "clean" / "nvie", tmp_path / "raw")
    (tmp_path / "raw" / "NVIE-fear-Ir.zip").rename(tmp_path / "raw" / "12345")
    records = [i for i in thermal.prepare(NVIE, tmp_path / "raw") if isinstance(i, dict)]
    assert len(records) == 18
    _assert_paired_by_content(records)
