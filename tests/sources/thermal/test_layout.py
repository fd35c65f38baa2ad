"""VIRI/NVIE in-process: names, placement, exclusions, groups, official splits, params, layout().

The CLI runs (download, prepare, normalize on the sample archives and Dataset.zip) are in
test_source_thermal.py; these pin the rules one case at a time.
"""

from __future__ import annotations

import io
import logging
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from curator.config import Config
from curator.errors import CuratorError, SchemaError
from curator.io.images import IMAGE_SUFFIXES
from curator.reasons import Reason
from curator.sources import nvie, thermal, viri
from curator.sources.recipe import Reject
from curator.sources.thermal.samples_figshare import ARCHIVE, FOLDER, build_figshare
from curator.testing.samples import build_samples, read_pair_code


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("samples")
    build_samples(root)
    return root


def _write(path: Path, data: bytes = b"bytes checked by the prepare stage, not here") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _split(items: list) -> tuple[list[dict], list[Reject]]:
    return [i for i in items if isinstance(i, dict)], [i for i in items if isinstance(i, Reject)]


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
        (("VIRI-Angry-Ir", "Angry-Ir"), ("Angry", "ir", "archives", None, None)),
        (("NVIE-disgust2-Vis", "disgust2-Vis"), ("disgust", "visible", "archives", None, None)),
        (("Dataset", "VIRI", "Visible", "test", "Sad"), ("Sad", "visible", "training", "test", None)),
        (("D", "tran_val_test", "IR", "val", "Happy"), ("Happy", "ir", "training", "val", None)),
        (("IR", "Happy"), ("Happy", "ir", "training", None, None)),
        (("Vis", "train_aug_images", "Angry"), ("Angry", "visible", "training", None, Reason.SOURCE_AUGMENTED_COPY)),
        (("MSX", "train_aug_images", "Sad"), ("Sad", "msx", "training", None, Reason.SOURCE_AUGMENTED_COPY)),
        (("tran_val_test", "MSX", "train", "Sad"), ("Sad", "msx", "training", "train", Reason.UNSUPPORTED_MODALITY)),
        (("VIRI-Sad-MSX",), ("Sad", "msx", "archives", None, Reason.UNSUPPORTED_MODALITY)),
        (("VIRI-IR", "train", "Happy"), None),  # "VIRI-IR" is not a class; no modality folder either
        (("IR", "Happy", "train"), None),  # the split folder sits above the class, not below it
        (("IR", "train", "val", "Happy"), None),
        (("faces", "Angry"), None),
    ],
)
def test_place(folders: tuple[str, ...], expected: tuple | None) -> None:
    p = thermal.place(folders, "x.jpg")
    assert (p and (p.label, p.modality, p.layout, p.split, p.exclusion)) == expected


def test_ambiguous_stem_rejects_every_file_of_the_group(tmp_path: Path) -> None:
    for rel in ("VIRI-Sad-Vis/IMG_1.JPG", "VIRI-Sad-Vis/img_1.jpg", "VIRI-Sad-Ir/IMG_1_IR.JPG",
                "VIRI-Sad-Vis/IMG_2.JPG", "VIRI-Sad-Ir/IMG_2-ir.JPG"):
        _write(tmp_path / rel)
    records, rejects = _split(list(viri.prepare(tmp_path)))
    assert sorted(r.path for r in rejects) == ["VIRI-Sad-Ir/IMG_1_IR.JPG", "VIRI-Sad-Vis/IMG_1.JPG",
                                               "VIRI-Sad-Vis/img_1.jpg"]
    assert {r.reason for r in rejects} == {Reason.AMBIGUOUS_PAIR}
    (record,) = records
    assert record["id"] == "viri/Sad/IMG_2" and record["infrared"]["path"] == "VIRI-Sad-Ir/IMG_2-ir.JPG"


def test_files_that_are_not_images_are_counted_as_stray_and_pillow_formats_kept(tmp_path: Path) -> None:
    ppm = io.BytesIO()
    Image.new("RGB", (16, 16)).save(ppm, "PPM")
    _write(tmp_path / "VIRI-Sad-Vis" / "IMG_1.ppm", ppm.getvalue())
    _write(tmp_path / "VIRI-Sad-Ir" / "IMG_1_IR.ppm", ppm.getvalue())
    _write(tmp_path / "VIRI-Sad-Vis" / "notes.txt")
    _write(tmp_path / "README.md")
    _write(tmp_path / "VIRI-Sad-Vis" / "IMG_1.xmp")
    records, rejects = _split(list(viri.prepare(tmp_path)))
    assert [r["id"] for r in records] == ["viri/Sad/IMG_1"]
    assert sorted((r.path, r.reason) for r in rejects) == [("README.md", Reason.WORKING_FILE),
                                                           ("VIRI-Sad-Vis/IMG_1.xmp", Reason.STRAY_FILE),
                                                           ("VIRI-Sad-Vis/notes.txt", Reason.WORKING_FILE)]
    assert [r.detail for r in rejects if r.reason is Reason.STRAY_FILE] == [
        "VIRI-Sad-Vis/IMG_1.xmp: neither an image nor an archive (images: " + ", ".join(IMAGE_SUFFIXES) + ")"]


def test_mixed_layouts_are_refused(tmp_path: Path) -> None:
    _write(tmp_path / "VIRI-Sad-Vis" / "IMG_1.JPG")
    _write(tmp_path / "IR" / "train" / "Sad" / "IMG_1.JPG")
    with pytest.raises(SchemaError, match="mixes per-class archives and the training layout"):
        list(viri.prepare(tmp_path))


def test_only_excluded_images_is_a_clear_error(tmp_path: Path) -> None:
    _write(tmp_path / "Vis" / "train_aug_images" / "Sad" / "IMG_1.JPG")
    _write(tmp_path / "tran_val_test" / "MSX" / "val" / "Sad" / "IMG_1.JPG")
    with pytest.raises(SchemaError, match=r"only 2 excluded image\(s\) \(augmented copies or MSX\).*no visible or IR"):
        list(viri.prepare(tmp_path))


def test_original_named_as_an_augmented_copy_of_another_is_excluded(tmp_path: Path) -> None:
    """A copy moved into the train folder is still the authors' copy, and its IR twin was
    augmented independently (other random parameters): never a pair."""
    for view in ("Visible", "IR"):
        for stem in ("IMG_1", "IMG_1_hflip_3", "IMG_2_zoom_1"):
            _write(tmp_path / "tran_val_test" / view / "train" / "Sad" / f"{stem}.JPG")
    records, rejects = _split(list(viri.prepare(tmp_path)))
    assert sorted(r["id"] for r in records) == ["viri/Sad/IMG_1", "viri/Sad/IMG_2_zoom_1"]  # no IMG_2 original
    assert [r.reason for r in rejects] == [Reason.SOURCE_AUGMENTED_COPY] * 2
    assert all("augmented copy (hflip #3) of 'IMG_1'; original: tran_val_test/" in r.detail for r in rejects)


def test_a_copy_without_its_original_says_so(tmp_path: Path) -> None:
    _write(tmp_path / "tran_val_test" / "Visible" / "val" / "Sad" / "IMG_1.jpg")
    _write(tmp_path / "tran_val_test" / "IR" / "val" / "Sad" / "IMG_1.jpg")
    _write(tmp_path / "IR" / "train_aug_images" / "Sad" / "IMG_9_shear_2.JPG")
    records, rejects = _split(list(viri.prepare(tmp_path)))
    assert [r["official_split"] for r in records] == ["val"]
    (reject,) = rejects
    assert reject.reason is Reason.SOURCE_AUGMENTED_COPY and reject.detail.endswith("original: not in this download")


def test_subject_pattern_partly_matching_counts_the_pair_groups(samples: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    conf = nvie.Params(subject_pattern=r"^(S0[0-2]\d)_")  # subjects 000-029 only
    with caplog.at_level(logging.INFO):
        records, rejects = _split(list(nvie.prepare(samples / "nvie", conf)))
    assert len(records) == 18 and not rejects
    kinds = Counter(r["group_id"].split(":", 1)[0] for r in records)
    for r in records:
        subject = re.match(r"S(\d{3})", Path(r["image"]["path"]).name)
        assert r["group_id"] == (f"nvie/subject:S{subject.group(1)}" if int(subject.group(1)) < 30
                                 else f"nvie/pair:{r['label_original']}/{Path(r['image']['path']).stem}")
    assert 0 < kinds["nvie/pair"] < 18  # the sample's seeded subjects fall on both sides
    assert (f"nvie: {kinds['nvie/pair']} of 18 pair(s) are grouped by the pair alone (group_id nvie/pair:...): "
            "sources.nvie.subject_pattern '^(S0[0-2]\\\\d)_' found no subject") in caplog.text


@pytest.mark.parametrize(
    ("pattern", "message"),
    [("S\\d+", "needs exactly one capturing group (the id it extracts), has 0"),
     ("(S)(\\d+)", "needs exactly one capturing group (the id it extracts), has 2"),
     ("(S\\d+", "not a regular expression")],
)
def test_subject_pattern_is_checked_when_params_load(pattern: str, message: str) -> None:
    with pytest.raises(CuratorError, match=re.escape(f"sources.nvie.subject_pattern: {message}")):
        Config({"sources": {"nvie": {"subject_pattern": pattern}}})
    assert Config({"sources": {"viri": {"subject_pattern": "^(P\\d+)"}}}).source("viri").subject_pattern == "^(P\\d+)"


def test_archive_without_a_suffix_is_found_by_magic(samples: Path, tmp_path: Path) -> None:
    # e.g. a figshare download URL names the file by number; the member folder still says fear-Ir
    shutil.copytree(samples / "nvie", tmp_path / "raw")
    (tmp_path / "raw" / "NVIE-fear-Ir.zip").rename(tmp_path / "raw" / "12345")
    records, _ = _split(list(nvie.prepare(tmp_path / "raw")))
    assert len(records) == 18
    for r in records:
        codes = {read_pair_code(Image.open(io.BytesIO(r[c]["bytes"]))) for c in ("image", "infrared")}
        assert len(codes) == 1, r["id"]


def test_layout_names_what_it_found(samples: Path, tmp_path: Path) -> None:
    line = viri.layout(samples / "viri", viri.Params())
    assert line.startswith("viri: per-class archives/folders <DS>-<Class>[N]-<Ir|Vis> in ")
    assert "5 class(es) (Angry, Happy, Neutral, Sad, Surprise); 30 visible + 30 IR image(s)" in line
    assert "official splits" not in line and "excluded" not in line
    line = viri.layout(samples / FOLDER / ARCHIVE, viri.Params())
    assert "training layout [tran_val_test/]{Visible,IR}/[{train,val,test}/]<Class>/" in line
    assert "20 visible + 20 IR image(s); official splits train/val/test" in line
    assert line.endswith("excluded 33 source_augmented_copy, 5 unsupported_modality, 8 working_file")
    assert "3 class(es) (disgust, fear, happy); 18 visible + 18 IR" in nvie.layout(samples / "nvie", nvie.Params())
    _write(tmp_path / "faces" / "Angry" / "IMG_1.JPG")
    with pytest.raises(SchemaError, match="cannot place 1 image"):
        viri.layout(tmp_path, viri.Params())
    with pytest.raises(CuratorError, match="does not exist"):
        viri.layout(tmp_path / "nowhere", viri.Params())


def test_figshare_sample_is_reproducible(samples: Path, tmp_path: Path) -> None:
    again = build_figshare(tmp_path, 0)
    assert again.read_bytes() == (samples / FOLDER / ARCHIVE).read_bytes()
    assert build_figshare(tmp_path / "other", 1).read_bytes() != again.read_bytes()


def test_nothing_paired_logs_no_group_count(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _write(tmp_path / "IR" / "Sad" / "IMG_1.jpg")
    with caplog.at_level(logging.INFO):
        _, rejects = _split(list(viri.prepare(tmp_path)))
    assert [r.reason for r in rejects] == [Reason.UNPAIRED]
    assert "grouped" not in caplog.text
