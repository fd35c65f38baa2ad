"""VIRI and NVIE through the real CLI: download from a loopback server, prepare, normalize, and
prove every visible/IR pair right by content (the sample builder draws one pair code into both
images of a pair, so a pair made by name or list position that is wrong shows up here).

Layouts: the authors' per-class archives (the demo's download) and their training layout zipped
as figshare's Dataset.zip (`--from URL`), with their augmented copies and MSX folders excluded.
The CLI scenarios are independent, so the module fixture runs them concurrently (each CLI start
costs ~3 s of imports); the tests then assert on what each scenario left behind.
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
from pathlib import Path, PurePosixPath

import pytest
import yaml
from PIL import Image

from curator.io.parquet import iter_records
from curator.io.rejects import read_rejects
from curator.reasons import Reason
from curator.sources import thermal
from curator.sources.thermal.samples_figshare import ARCHIVE, FOLDER
from curator.testing.files import serve_directory
from curator.testing.samples import build_samples, read_pair_code
from tests.conftest import run_cli

VIRI_CLASSES = {"Angry", "Happy", "Neutral", "Sad", "Surprise"}
NVIE_CLASSES = {"fear", "disgust", "happy"}
NVIE_SUBJECT = r"^(S\d+)_"  # the sample's (unverified) naming: S<nnn>_<class>_<take>


@dataclass
class Run:
    """What one scenario's CLI calls returned, and where prepare and normalize wrote."""

    work: Path
    procs: list[subprocess.CompletedProcess]
    prepared: Path | None = None

    def records(self, stage: str = "prepared") -> list[dict]:
        assert self.prepared is not None
        return list(iter_records(self.prepared if stage == "prepared" else self.work / "normalized"))

    def rejects(self) -> list[dict]:
        assert self.prepared is not None
        return read_rejects(self.prepared / "rejects.jsonl")

    def metrics(self, stage: str = "prepared") -> dict:
        assert self.prepared is not None
        return json.loads(((self.prepared if stage == "prepared" else self.work / "normalized")
                           / "metrics.json").read_text())

    def stderr(self) -> str:
        return "".join(p.stderr for p in self.procs)


# --------------------------------------------------------------------------- scenarios


def _write_params(work: Path, checksums: Path, *, nvie_licence: bool, sources: dict | None = None) -> None:
    params: dict = {"download": {"checksums": str(checksums), "retries": 0}, "sources": dict(sources or {})}
    if nvie_licence:
        params["sources"]["nvie"] = {**params["sources"].get("nvie", {}), "accept_license": True}
    (work / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")


def _normalize(source: str, work: Path) -> subprocess.CompletedProcess:
    return run_cli("normalize", "--in", f"data/prepared/{source}", "--out", "normalized", cwd=work)


def _download_and_prepare(source: str, variant: str, sources: dict | None = None) -> Callable[[Path, str, Path], Run]:
    def scenario(site: Path, url: str, work: Path) -> Run:
        _write_params(work, site / variant / "checksums.tsv", nvie_licence=True, sources=sources)
        procs = [run_cli("download", source, "--from", f"{url}/{variant}/{source}", cwd=work),
                 run_cli("prepare", source, cwd=work), _normalize(source, work)]
        return Run(work, procs, work / "data" / "prepared" / source)

    return scenario


def _figshare(site: Path, url: str, work: Path) -> Run:
    """Dataset.zip as a user gets it from figshare: one URL, a checksum recorded on first use."""
    _write_params(work, work / "registry.tsv", nvie_licence=False)
    procs = [run_cli("download", "viri", "--from", f"{url}/clean/{FOLDER}/{ARCHIVE}", "--record-checksums", cwd=work),
             run_cli("prepare", "viri", cwd=work), _normalize("viri", work)]
    return Run(work, procs, work / "data" / "prepared" / "viri")


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


def _training_tree(site: Path, url: str, work: Path) -> Run:
    """The per-class archives re-laid as an extracted `tran_val_test/{Visible,IR}/<split>/<Class>/` tree:
    IR written (and listed) first, some visible stems with an `_rgb` suffix, two pairs whose IR file
    sits in another split than its visible one, plus another dataset's folder and macOS droppings."""
    tree, rnd, moved = work / "tree", random.Random(7), []
    splits: dict[str, str] = {}
    for modality, folder in (("Ir", "IR"), ("Vis", "Visible")):
        for cls in sorted(VIRI_CLASSES):
            for info, data in _zip_members(site / "clean" / "viri" / f"VIRI-{cls}-{modality}.zip"):
                if info.is_dir():
                    continue
                name = Path(info.filename).name
                key = f"{cls}/{thermal.pair_key(name)}"
                split = splits.setdefault(key, rnd.choice(["train", "val", "test"]))
                if modality == "Vis" and rnd.random() < 0.5:
                    name = f"{Path(name).stem}_rgb{Path(name).suffix}"
                if modality == "Vis" and cls == "Sad" and len(moved) < 2:
                    moved.append(key)
                    split = {"train": "val", "val": "test", "test": "train"}[split]  # the IR one stays put
                _write(tree / "VIRI" / "tran_val_test" / folder / split / cls / name, data)
                _write(tree / "__MACOSX" / "VIRI" / folder / split / cls / f"._{name}", b"\0\5\26\7")
    _write(tree / "NVIE" / "IR" / "train" / "fear" / "S001_fear_01.JPG", b"not ours")
    (work / "splits.json").write_text(json.dumps(splits))
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
    "nvie-subjects": _download_and_prepare("nvie", "clean", {"nvie": {"subject_pattern": NVIE_SUBJECT}}),
    "figshare": _figshare,
    "reversed": _reversed_archive,
    "training": _training_tree,
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


def _assert_accounted(run: Run) -> dict:
    """inputs = kept + rejected (excluded files are rejects with their own reason), for both stages."""
    m = run.metrics()
    assert m["inputs"] == m["kept"] + m["rejected"] and m["rejected"] == len(run.rejects())
    assert m["rejected_by_reason"] == dict(Counter(r["reason"] for r in run.rejects()))
    n = run.metrics("normalized")
    assert n["inputs"] == m["kept"] == n["kept"] + n["rejected"]
    return m


def _error_lines(proc: subprocess.CompletedProcess) -> list[str]:
    return [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]


@pytest.mark.parametrize("source", ["viri", "nvie"])
@pytest.mark.parametrize("variant", ["clean", "dirty"])
def test_per_class_archives_match_the_manifest(runs: dict, site: Path, source: str, variant: str) -> None:
    run = _run(runs, f"{source}-{variant}")
    expected = json.loads((site / variant / "manifest.json").read_text())[source]["expected"]
    records = run.records()
    assert len(records) == expected["records"]
    assert dict(Counter(r["reason"] for r in run.rejects())) == expected["prepare_rejects"]
    items = json.loads((site / variant / "manifest.json").read_text())[source]["items"]
    assert _assert_accounted(run)["inputs"] == items
    _assert_paired_by_content(records)
    assert len({r["id"] for r in records}) == len(records)
    assert {(r["source"], r["label_kind"], r["official_split"]) for r in records} == {(source, "expressed", None)}
    assert {r["label_original"] for r in records} == (VIRI_CLASSES if source == "viri" else NVIE_CLASSES)
    for r in records:
        assert r["id"] == f"{source}/{r['label_original']}/{thermal.pair_stem(r['image']['path'])}"
    normalized = run.records("normalized")
    assert len(normalized) == len(records) and all(r["label"] is not None for r in normalized)


def test_unpaired_reject_names_the_file_and_the_missing_partner(runs: dict) -> None:
    (reject,) = [r for r in _run(runs, "viri-dirty").rejects() if r["reason"] == Reason.UNPAIRED]
    assert reject["path"].startswith("VIRI-Happy-Ir.zip/") and reject["path"] in reject["detail"]
    assert "no visible partner" in reject["detail"] and "class Happy" in reject["detail"]


def test_without_subject_ids_the_group_is_the_pair_and_prepare_says_how_many(runs: dict) -> None:
    for source in ("viri", "nvie"):
        run = _run(runs, f"{source}-clean")
        records = run.records()
        for r in records:
            assert r["group_id"] == f"{source}/pair:{r['label_original']}/{thermal.pair_stem(r['image']['path'])}"
        n = len(records)
        line = f"{source}: {n} of {n} pair(s) are grouped by the pair alone (group_id {source}/pair:"
        assert line in run.stderr(), run.stderr()
        assert f"set sources.{source}.subject_pattern" in run.stderr()


def test_nvie_subject_pattern_makes_the_subject_the_group(runs: dict) -> None:
    run = _run(runs, "nvie-subjects")
    records = run.records()
    assert len(records) == 18
    for r in records:
        assert r["group_id"] == "nvie/subject:" + re.match(r"S\d{3}", PurePosixPath(r["image"]["path"]).name).group(0)
    assert max(Counter(r["group_id"] for r in records).values()) > 1  # takes of one subject share a group
    assert "nvie: all 18 pair(s) grouped by subject (group_id nvie/subject:" in run.stderr()
    assert "grouped by the pair alone" not in run.stderr()


def test_figshare_dataset_zip_keeps_the_authors_split_and_excludes_their_copies(runs: dict, site: Path) -> None:
    run = _run(runs, "figshare")
    expected = json.loads((site / "clean" / FOLDER / "expected.json").read_text())
    records = run.records()
    assert len(records) == expected["records"] == 20
    _assert_paired_by_content(records)
    assert {r["label_original"] for r in records} == VIRI_CLASSES
    assert dict(Counter(r["official_split"] for r in records)) == expected["official_split"]
    for r in records:  # the split is the folder both files sit in
        for col, view in (("image", "Visible"), ("infrared", "IR")):
            parts = PurePosixPath(r[col]["path"]).parts
            assert parts[:4] == (ARCHIVE, "Single-modal- VIRI", "tran_val_test", view), parts
            assert (parts[4], parts[5]) == (r["official_split"], r["label_original"])
        assert r["group_id"] == f"viri/pair:{r['label_original']}/{PurePosixPath(r['image']['path']).stem}"
    m = _assert_accounted(run)
    assert m["rejected_by_reason"] == expected["prepare_rejects"]
    assert m["inputs"] == expected["files"] - len(records)  # two files per record, one input per other file
    normalized = run.records("normalized")
    assert dict(Counter(r["official_split"] for r in normalized)) == expected["official_split"]
    assert all(r["label"] is not None for r in normalized)


def test_figshare_augmented_copies_and_msx_each_excluded_once(runs: dict, site: Path) -> None:
    run = _run(runs, "figshare")
    with zipfile.ZipFile(site / "clean" / FOLDER / ARCHIVE) as zf:
        files = [n for n in zf.namelist() if not n.endswith("/")]
    copies = {f"{ARCHIVE}/{n}" for n in files if "/train_aug_images/" in n}
    msx = {f"{ARCHIVE}/{n}" for n in files if "/tran_val_test/MSX/" in n}
    by_reason: dict[str, list[str]] = {}
    for r in run.rejects():
        by_reason.setdefault(r["reason"], []).append(r["path"])
    assert sorted(by_reason[Reason.SOURCE_AUGMENTED_COPY]) == sorted(copies)  # each once: none lost, none kept
    assert sorted(by_reason[Reason.UNSUPPORTED_MODALITY]) == sorted(msx)
    assert any("/MSX/train_aug_images/" in p for p in copies) and {n.rsplit(".", 1)[1] for n in copies} == {"JPG"}
    working = {f"{ARCHIVE}/{n}" for n in files if re.search(r"/(models|results|weights)/", n)}
    assert sorted(by_reason[Reason.WORKING_FILE]) == sorted(working) and len(working) == 8
    used = {r[c]["path"] for r in run.records() for c in ("image", "infrared")}
    assert not used & (copies | msx | working) and len(used) + len(copies) + len(msx) + len(working) == len(files)
    details = {r["path"]: r["detail"] for r in run.rejects()}
    resaved = next(p for p in copies if re.search(r"/Vis/train_aug_images/\w+/IMG_\d+\.JPG$", p))
    assert "the authors' re-saved copy of" in details[resaved] and "original: Dataset.zip/" in details[resaved]
    flipped = next(p for p in copies if re.search(r"_(rotation|zoom|distortion|shear|hflip)_[1-5]\.JPG$", p))
    assert "the authors' augmented copy (" in details[flipped]
    assert "excluded 33 source_augmented_copy, 5 unsupported_modality" in run.stderr()


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


def test_extracted_training_tree_pairs_and_keeps_agreeing_splits(runs: dict) -> None:
    run = _run(runs, "training")
    records = run.records()
    (other,) = run.rejects()  # NVIE's image in the shared tree: an input, left out with its reason
    assert len(records) == 30 and other["reason"] == "other_dataset"
    assert other["path"] == "NVIE/IR/train/fear/S001_fear_01.JPG" and "an image of nvie, not viri" in other["detail"]
    _assert_paired_by_content(records)
    assert {r["label_original"] for r in records} == VIRI_CLASSES
    assert all(r["image"]["path"].startswith("VIRI/tran_val_test/Visible/") for r in records)
    splits = json.loads((run.work / "splits.json").read_text())
    conflicts = [r for r in records if PurePosixPath(r["image"]["path"]).parts[3]
                 != PurePosixPath(r["infrared"]["path"]).parts[3]]
    assert len(conflicts) == 2 and all(r["official_split"] is None for r in conflicts)
    for r in records:
        if r not in conflicts:
            assert r["official_split"] == splits[f"{r['label_original']}/{thermal.pair_key(r['image']['path'])}"]
    stderr = run.stderr()
    assert "viri: 2 pair(s) have their visible and IR files in different official splits" in stderr


def test_unknown_layout_is_one_clear_schema_error(runs: dict) -> None:
    (proc,) = _run(runs, "unknown").procs
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    (line,) = _error_lines(proc)
    assert "cannot place 1 image(s)" in line and "faces/Angry/IMG_0001.JPG" in line
    assert "expected" in line and "VIRI-Angry-Ir.zip" in line
    assert "[tran_val_test/]{Visible,IR}/{train,val,test}/<Class>/" in line and "train_aug_images" in line


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
