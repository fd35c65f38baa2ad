"""The miniature sources must match the real formats (each source folder's README.md) and be reproducible."""

from __future__ import annotations

import ast
import csv
import hashlib
import io
import json
import re
import shutil
import tarfile
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

import openpyxl
import pandas as pd
import py7zr
import pyarrow.parquet as pq
import pytest
from PIL import Image

from curator.errors import CuratorError
from curator.record.taxonomy import taxonomy
from curator.sources.emonet_hq import samples as hq_samples
from curator.sources.kaggle_physio.samples import KAGGLE_COLUMNS
from curator.testing.samples import build_samples, read_pair_code
from curator.testing.samples.faces import EXPRESSIONS, draw_face
from curator.testing.samples.reference import (
    BINARY_DIRTY_STEM,
    BINARY_ROWS,
    BINARY_STEMS,
    SYNONYMS,
    data_text,
    shared_dir,
)

# EMER: (fold, ID, frames) per sample, as face/<fold>/<ID>/0001.jpg... and a flat eye/<ID>.xlsx
EMER_SAMPLES = [
    ("set1", "3_film_happy Happy", 8), ("set1", "3_film_sad Sad", 9), ("set2", "12_film_fear Fear", 10),
    ("set2", "12_film_surprise Surprise", 8), ("set3", "27_film_disgust Disgust", 9),
    ("set3", "27_film_angry Angry", 10), ("set4", "41_film_neutral Neutral", 8), ("set4", "41_film_sad Sad", 9),
    ("set5", "58_film_fear Fear", 10), ("set5", "58_film_surprise Surprise", 8),
    ("set1", "76_film_disgust Disgust", 9), ("set1", "76_film_angry Angry", 10),
    ("set2", "104_film_neutral Neutral", 8), ("set2", "104_film_happy Happy", 9), ("set1", "3_film_fear Fear", 10),
]
LAYOUT = [
    "kaggle_physio/face_emotion_physio.csv",
    "emonet_hq/hq.csv",
    "emonet_hq/data/train-00000-of-00001.parquet",
    "emonet_hq/README.md",
    "emonet_binary/binary.csv",
    "emonet_binary/data/train-00000-of-00002.parquet",
    "emonet_binary/data/train-00001-of-00002.parquet",
    "emonet_binary/README.md",
    "emonet_big/data/00000.tar",
    "emonet_big/data/00001.tar",
    "emonet_big/README.md",
    *[f"viri/VIRI-{c}-{m}.zip" for c in ("Angry", "Happy", "Neutral", "Sad", "Surprise") for m in ("Ir", "Vis")],
    "nvie/NVIE-disgust-Ir.zip",
    "nvie/NVIE-disgust1-Vis.zip",
    "nvie/NVIE-disgust2-Vis.zip",
    "nvie/NVIE-fear-Ir.zip",
    "nvie/NVIE-fear-Vis.zip",
    "nvie/NVIE-happy-Ir.zip",
    "nvie/NVIE-happy1-Vis.7z",
    "nvie/NVIE-happy2-Vis.zip",
    "emer/new_label.xlsx",
    *[f"emer/eye/{i}.xlsx" for _, i, _ in EMER_SAMPLES],
    *[f"emer/face/{fold}/{i}/{k:04d}.jpg" for fold, i, n in EMER_SAMPLES for k in range(1, n + 1)],
    # the eye fixation maps (the README's third subset) of the first two samples: excluded by the recipe
    *[f"emer/fixation/{i}/{k:04d}.jpg" for _, i, _ in EMER_SAMPLES[:2] for k in (1, 2)],
]


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    build_samples(out, seed=0)
    return out


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dirty")
    build_samples(out, seed=0, dirty=True)
    return out


def _digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _guide_labels() -> list[str]:
    # The taxonomy's fine level; tests/record/test_taxonomy.py checks it equals guide.json's labels.
    return list(taxonomy().fine)


@pytest.fixture
def real_emonet() -> Path:
    """The real EmoNet-Face folder (../shared or $CURATOR_SHARED); skip when there is none."""
    try:
        return shared_dir()
    except CuratorError as e:
        pytest.skip(f"no real EmoNet-Face files to compare with: {e}")


def _parquet_rows(root: Path, source: str) -> list[dict]:
    files = sorted((root / source / "data").glob("*.parquet"))
    return [r for f in files for r in pq.read_table(f).to_pylist()]


def _archive_members(path: Path) -> list[tuple[str, bytes]]:
    """Files of a .zip or .7z in stored order (directory entries skipped)."""
    if path.suffix == ".7z":
        with py7zr.SevenZipFile(path) as archive:
            names = archive.getnames()  # stored order
            with tempfile.TemporaryDirectory() as tmp:
                archive.extractall(path=tmp)
                return [(n, (Path(tmp) / n).read_bytes()) for n in names if (Path(tmp) / n).is_file()]
    with zipfile.ZipFile(path) as zf:
        return [(n, zf.read(n)) for n in zf.namelist() if not n.endswith("/")]


def _pair_key(name: str) -> str:
    # What a recipe must do: drop folders and extension, ignore case, strip the IR suffix.
    stem = Path(name).stem.lower()
    return re.sub(r"[_-]ir$", "", stem)


def _split_modalities(root: Path, source: str) -> tuple[dict, dict]:
    vis: dict[str, list[bytes]] = {}
    ir: dict[str, list[bytes]] = {}
    for archive in sorted((root / source).iterdir()):
        side = ir if "-Ir." in archive.name else vis
        for name, data in _archive_members(archive):
            side.setdefault(_pair_key(name), []).append(data)
    return vis, ir


# --------------------------------------------------------------------------- layout & manifest


def test_every_listed_file_exists_and_manifest_checksums_match(clean: Path) -> None:
    manifest = json.loads((clean / "manifest.json").read_text())
    listed = sorted(f for entry in manifest.values() for f in entry["files"])
    assert listed == sorted(LAYOUT)
    for entry in manifest.values():
        for rel, c in entry["checksums"].items():
            data = (clean / rel).read_bytes()
            assert c == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    tsv = list(csv.DictReader((clean / "checksums.tsv").open(), delimiter="\t"))
    assert {f"{r['source']}/{r['filename']}" for r in tsv} == set(LAYOUT)
    assert all(int(r["size"]) == (clean / r["source"] / r["filename"]).stat().st_size for r in tsv)


def test_clean_manifest_expects_every_item_kept(clean: Path) -> None:
    manifest = json.loads((clean / "manifest.json").read_text())
    items = {k: v["items"] for k, v in manifest.items()}
    assert items == {
        "kaggle_physio": 120,
        "emonet_hq": 24,
        "emonet_binary": 40,
        "emonet_big": 30,
        "viri": 30,
        "nvie": 18,
        "emer": 19,
    }
    for name, entry in manifest.items():
        excluded = {"unsupported_modality": 4} if name == "emer" else {}  # EMER's fixation maps, in every build
        kept = entry["items"] - sum(excluded.values())
        assert entry["expected"] == {"records": kept, "prepare_rejects": excluded, "normalize_rejects": {}}


# --------------------------------------------------------------------------- Kaggle


def test_kaggle_csv_columns_rows_and_messy_labels(clean: Path) -> None:
    path = clean / "kaggle_physio" / "face_emotion_physio.csv"
    assert path.read_text().splitlines()[0] == ",".join(KAGGLE_COLUMNS)
    df = pd.read_csv(path)
    assert len(df) == 120
    labels = df["emotion_label"].str.strip().str.lower()
    classes = ("neutral", "happy", "sad", "angry", "fear", "surprise")
    assert labels.value_counts().to_dict() == dict.fromkeys(classes, 20)
    raw = set(df["emotion_label"])
    assert any(s != s.strip() for s in raw) and any(s.strip().islower() for s in raw)
    assert df["eda_peaks"].dtype.kind == "i"
    assert labels.head(20).nunique() > 2  # shuffled, not grouped by class
    hr = df.groupby(labels)["hr_mean"].mean()
    au12 = df.groupby(labels)["face_au12"].mean()
    assert hr["fear"] > hr["sad"] + 10 and au12["happy"] > au12["neutral"] + 0.3


# --------------------------------------------------------------------------- EmoNet-Face


def _hq_label(row: dict) -> dict[str, dict]:
    """The Parquet `label` cell as rater -> ratings (a list of one-key dicts, a Python repr)."""
    entries = ast.literal_eval(row["label"])
    assert isinstance(entries, list) and all(isinstance(e, dict) and len(e) == 1 for e in entries)
    return {rater: ratings for e in entries for rater, ratings in e.items()}


def test_hq_parquet_has_no_file_names_and_a_python_literal_label(clean: Path) -> None:
    guide = taxonomy().families
    keys = [f"{family}|{name}" for family, names in guide.items() for name in names]
    rows = _parquet_rows(clean, "emonet_hq")
    assert len(rows) == 24 and all(r["path"]["path"] is None and r["path"]["bytes"] for r in rows)
    for row in rows:
        assert row["label"].startswith("[{'human-")  # repr: single quotes
        experts = _hq_label(row)
        assert 2 <= len(experts) <= 4 and all(re.fullmatch(r"human-[1-8]", r) for r in experts)
        for ratings in experts.values():
            assert list(ratings) == keys and all(isinstance(v, int) and 0 <= v <= 7 for v in ratings.values())
    # LAION's own table (statistics/descriptive.ipynb): strings, the file number in ind and image_metadata
    assert {r["Ethnicity"] for r in rows} <= set(hq_samples.ETHNICITIES) and len(hq_samples.ETHNICITIES) == 14
    assert {r["Gender"] for r in rows} <= {"man", "woman", "non-binary person"}
    for row in rows:
        assert json.loads(row["image_metadata"]) == {"path": f"{row['ind'] - 1}.jpg", "has_image": True}
        assert row["Prompt"].startswith("a focused close-up photo of a ") and ", " in row["Emotion"]


def _hq_csv(root: Path) -> list[dict]:
    with open(root / "emonet_hq" / "hq.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == ["image", "annotator", "annotations", "human"]
        return list(reader)


def test_hq_csv_experts_repeat_the_parquet_and_models_keep_their_scales(clean: Path) -> None:
    rows = _hq_csv(clean)
    assert {r["human"] for r in rows} == {"True", "False"}
    assert all(re.fullmatch(r"flux_dev_one_\d-\d_s\d{9}\.png", r["image"]) for r in rows)
    humans: dict[str, dict[str, dict]] = {}
    for r in rows:
        if r["human"] == "True":
            humans.setdefault(r["image"], {})[r["annotator"]] = ast.literal_eval(r["annotations"])
    labels = [_hq_label(row) for row in _parquet_rows(clean, "emonet_hq")]
    assert sorted(map(str, humans.values())) == sorted(map(str, labels))  # each image's experts, exactly
    models: dict[str, list[dict]] = {}
    for r in rows:
        if r["human"] == "False":
            models.setdefault(r["annotator"], []).append(ast.literal_eval(r["annotations"]))
    assert set(models) == {"Hume Face*", "GPT-4o ZS", "Empathic Insight Face Large", "Random Baseline",
                           "Gemini 2.5 Flash MS"}
    assert all(0 <= v <= 1 and isinstance(v, float) for d in models["Hume Face*"] for v in d.values())
    assert any(v < 0 for d in models["Empathic Insight Face Large"] for v in d.values())
    assert all(len(d) == 25 for d in models["GPT-4o ZS"])
    assert all("Extra Dimensions|Valence" in d for d in models["Gemini 2.5 Flash MS"])


@pytest.mark.parametrize(
    ("source", "columns"),
    [
        ("emonet_hq", ["path", "ind", "Prompt", "Age", "Ethnicity", "Gender", "Emotion", "image_metadata", "label"]),
        ("emonet_binary", ["path", "emotion"]),
    ],
)
def test_parquet_columns_and_huggingface_metadata(clean: Path, source: str, columns: list[str]) -> None:
    for f in sorted((clean / source / "data").glob("*.parquet")):
        schema = pq.read_schema(f)
        assert schema.names == columns
        meta = json.loads(schema.metadata[b"huggingface"])
        assert list(meta["info"]["features"]) == columns


def test_binary_classlabel_names_use_the_repo_spelling(clean: Path) -> None:
    schema = pq.read_schema(clean / "emonet_binary" / "data" / "train-00000-of-00002.parquet")
    names = json.loads(schema.metadata[b"huggingface"])["info"]["features"]["emotion"]["names"]
    assert len(names) == 40 and "Hopelessness" in names and "Helplessness" not in names
    assert set(names) - {"Hopelessness"} == set(_guide_labels()) - {"Helplessness"}


def _tar_members(root: Path) -> dict[str, bytes]:
    members = {}
    for path in sorted((root / "emonet_big" / "data").glob("*.tar")):
        with tarfile.open(path) as tar:
            members |= {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    return members


def test_big_webdataset_samples_hold_the_vlm_spec(clean: Path) -> None:
    guide = _guide_labels()
    members = _tar_members(clean)
    keys = sorted({name.split(".")[0] for name in members})
    assert len(keys) == 30 and set(members) == {f"{k}.{e}" for k in keys for e in ("jpg", "json", "txt")}
    for key in keys:
        doc = json.loads(members[f"{key}.json"])  # what LAION's notebook code writes
        assert set(doc) == {"key", "predictions"} and doc["key"][2] == f"{key}.jpg" and len(doc["key"]) == 3
        emotions = doc["predictions"]["emotions"]
        assert list(emotions) == guide and sum(e["rating"] > 0 for e in emotions.values()) <= 5
        assert all(0 <= e["rating"] <= 7 and e["reasoning"] for e in emotions.values())
        dims = doc["predictions"]["extra_dimensions"]
        assert set(dims) == {"Arousal", "Valence", "Dominance", "Emotional Vulnerability"}
        assert all(set(v) == {"rating", "reasoning"} for v in dims.values())


def test_load_dataset_decodes_images(clean: Path, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    for source, n in (("emonet_hq", 24), ("emonet_binary", 40)):
        files = [str(f) for f in sorted((clean / source / "data").glob("*.parquet"))]
        ds = datasets.load_dataset("parquet", data_files={"train": files}, split="train", cache_dir=str(tmp_path))
        assert len(ds) == n and ds[0]["path"].size == (160, 160)
        assert ds.features["path"].__class__.__name__ == "Image"
    big = datasets.load_dataset(str(clean / "emonet_big"), split="train", cache_dir=str(tmp_path))  # the card's config
    assert len(big) == 30 and big[0]["jpg"].size == (160, 160) and big.features["jpg"].__class__.__name__ == "Image"


def test_binary_csv_rows_come_from_the_shipped_copy(clean: Path) -> None:
    shipped = data_text(BINARY_ROWS).splitlines()
    ours = (clean / "emonet_binary" / "binary.csv").read_text().splitlines()
    assert ours[0] == shipped[0] == "path,annotator,value,emotion"
    assert set(ours[1:]) <= set(shipped[1:])
    assert {ln.split(",")[0] for ln in ours[1:]} == set(BINARY_STEMS)
    assert any(ln.endswith(",Hopelessness") for ln in ours)
    first: dict[str, str] = {}
    for ln in ours[1:]:
        first.setdefault(ln.split(",")[0], ln.rsplit(",", 1)[1])
    names = json.loads(
        pq.read_schema(clean / "emonet_binary" / "data" / "train-00000-of-00002.parquet").metadata[b"huggingface"]
    )["info"]["features"]["emotion"]["names"]
    for row in _parquet_rows(clean, "emonet_binary"):
        assert names[row["emotion"]] == first[row["path"]["path"].removesuffix(".jpg")]


def test_binary_csv_is_a_verbatim_subset_of_the_real_file(clean: Path, real_emonet: Path) -> None:
    real = (real_emonet / "binary.csv").read_text().splitlines()
    ours = (clean / "emonet_binary" / "binary.csv").read_text().splitlines()
    assert ours[0] == real[0] == "path,annotator,value,emotion"
    assert set(ours[1:]) <= set(real[1:])


def test_shipped_binary_rows_are_the_real_rows_for_their_stems(real_emonet: Path) -> None:
    real = (real_emonet / "binary.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    shipped = data_text(BINARY_ROWS).splitlines(keepends=True)
    stems = {*BINARY_STEMS, BINARY_DIRTY_STEM}
    assert shipped[0] == real[0]
    assert shipped[1:] == [ln for ln in real[1:] if ln.split(",", 1)[0] in stems]


def test_shipped_synonyms_are_guide_json_for_the_taxonomy_labels(real_emonet: Path) -> None:
    shipped = json.loads(data_text(SYNONYMS))
    assert list(shipped) == list(taxonomy().fine)
    assert shipped == json.loads((real_emonet / "guide.json").read_text(encoding="utf-8"))["options"]["labels"]


def test_build_needs_no_shared_folder(clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURATOR_SHARED", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    build_samples(tmp_path / "out", seed=0)
    assert _digests(tmp_path / "out") == _digests(clean)


# --------------------------------------------------------------------------- VIRI / NVIE


def test_7z_archive_opens_with_py7zr(clean: Path) -> None:
    members = _archive_members(clean / "nvie" / "NVIE-happy1-Vis.7z")
    assert members and all(n.startswith("happy1-Vis/") and n.endswith(".JPG") for n, _ in members)


@pytest.mark.parametrize(("source", "pairs"), [("viri", 30), ("nvie", 18)])
def test_pairs_match_by_normalised_stem_and_by_content(clean: Path, source: str, pairs: int) -> None:
    vis, ir = _split_modalities(clean, source)
    assert len(vis) == pairs and set(vis) == set(ir)
    for key in vis:
        assert len(vis[key]) == 1 and len(ir[key]) == 1, key
        v, i = (Image.open(io.BytesIO(d[0])) for d in (vis[key], ir[key]))
        assert v.mode == "RGB" and i.mode == "L"
        assert read_pair_code(v) == read_pair_code(i)
    codes = {read_pair_code(Image.open(io.BytesIO(d[0]))) for d in vis.values()}
    assert len(codes) == pairs


@pytest.mark.parametrize("source", ["viri", "nvie"])
def test_archives_use_upper_case_names_in_shuffled_order(clean: Path, source: str) -> None:
    names = []
    for archive in sorted((clean / source).iterdir()):
        members = [n for n, _ in _archive_members(archive)]
        assert members != sorted(members), archive.name
        names += members
    exts = Counter(Path(n).suffix for n in names)
    assert exts[".JPG"] > len(names) / 2
    if source == "viri":
        assert exts[".jpeg"] == 1 and exts[".jpg"] > 0
        assert not any(re.search(r"S\d{3}", n) for n in names)
    else:
        assert all(re.match(r"S\d{3}_(fear|disgust|happy)_\d{2}", Path(n).name) for n in names)


def test_list_position_never_pairs_viri(clean: Path) -> None:
    # The authors' bug paired by directory-walk position: that must give wrong pairs here.
    vis = [n for n, _ in _archive_members(clean / "viri" / "VIRI-Angry-Vis.zip")]
    ir = [n for n, _ in _archive_members(clean / "viri" / "VIRI-Angry-Ir.zip")]
    assert any(_pair_key(a) != _pair_key(b) for a, b in zip(vis, ir, strict=True))


def test_nvie_visible_split_by_subject(clean: Path) -> None:
    for cls in ("disgust", "happy"):
        subjects = []
        for part in (1, 2):
            archive = next((clean / "nvie").glob(f"NVIE-{cls}{part}-Vis.*"))
            subjects.append({Path(n).name[:4] for n, _ in _archive_members(archive)})
        assert subjects[0] and subjects[1] and not subjects[0] & subjects[1]


def _figshare_files(root: Path) -> dict[str, bytes]:
    """viri-figshare/Dataset.zip's files by path below its top folder (which must be the only one)."""
    members = _archive_members(root / "viri-figshare" / "Dataset.zip")
    assert {n.split("/", 1)[0] for n, _ in members} == {"Single-modal- VIRI"}
    return {n.split("/", 1)[1]: d for n, d in members}


def test_figshare_zip_has_the_authors_training_layout(clean: Path) -> None:
    files = _figshare_files(clean)
    originals, working = Counter(), Counter()
    for name in files:
        parts = name.split("/")
        if parts[0] == "tran_val_test":  # tran_val_test/<view>/<split>/<Class>/<file>
            assert len(parts) == 5 and parts[1] in {"Visible", "IR", "MSX"} and parts[2] in {"train", "val", "test"}
            assert parts[3] in {"Angry", "Happy", "Neutral", "Sad", "Surprise"}, name
            originals[parts[1]] += 1
        elif parts[1] in ("models", "results") or parts[0] == "VIRI-new-paper":  # the working folder's files
            working[parts[0] + "/" + parts[1]] += 1
        else:  # {Vis,IR,MSX}/train_aug_images/<Class>/<stem>[_<transform>_<k>].JPG, never "Visible" here
            assert len(parts) == 4 and parts[0] in {"Vis", "IR", "MSX"} and parts[1] == "train_aug_images", name
            assert re.fullmatch(r"IMG_\d{4}(_(rotation|zoom|distortion|shear|hflip)_[1-5])?\.JPG", parts[3]), name
    assert originals == {"Visible": 20, "IR": 20, "MSX": 5}
    assert working == {"Vis/models": 3, "IR/models": 1, "Vis/results": 1, "IR/results": 1, "VIRI-new-paper/Vis-IR": 2}
    exts = Counter(Path(n).suffix for n in files if n.startswith(("tran_val_test/Visible/", "tran_val_test/IR/")))
    assert set(exts) == {".JPG", ".jpg"}
    members = [n for n, _ in _archive_members(clean / "viri-figshare" / "Dataset.zip")]
    assert members != sorted(members)
    expected = json.loads((clean / "viri-figshare" / "expected.json").read_text())
    assert expected == {"files": 86, "records": 20, "official_split": {"train": 10, "val": 5, "test": 5},
                        "prepare_rejects": {"source_augmented_copy": 33, "unsupported_modality": 5, "working_file": 8}}
    assert len(files) == expected["files"]


def test_figshare_views_pair_by_stem_and_copies_are_resaved(clean: Path) -> None:
    files = _figshare_files(clean)
    views: dict[str, dict[tuple[str, str, str], bytes]] = {"Visible": {}, "IR": {}}
    for name, data in files.items():
        parts = name.split("/")
        if parts[0] == "tran_val_test" and parts[1] in views:
            views[parts[1]][(parts[2], parts[3], Path(parts[4]).stem)] = data
    assert set(views["Visible"]) == set(views["IR"]) and len(views["IR"]) == 20  # same split, class and stem
    for key, vis in views["Visible"].items():
        v, i = Image.open(io.BytesIO(vis)), Image.open(io.BytesIO(views["IR"][key]))
        assert (v.mode, i.mode) == ("RGB", "L") and read_pair_code(v) == read_pair_code(i)
    resaved = 0
    for name, data in files.items():
        parts = name.split("/")
        if parts[1] == "train_aug_images" and parts[0] in ("Vis", "IR") and "_" not in Path(parts[3]).stem[4:]:
            view = "Visible" if parts[0] == "Vis" else "IR"
            original = views[view][("train", parts[2], Path(parts[3]).stem)]
            copy = Image.open(io.BytesIO(data))
            assert data != original and copy.mode == "RGB"  # re-saved as RGB, not the original bytes
            assert read_pair_code(copy) == read_pair_code(Image.open(io.BytesIO(original)))
            resaved += 1
    assert resaved == 10  # one train original per class, both views


# --------------------------------------------------------------------------- EMER


def test_emer_tables(clean: Path) -> None:
    root = clean / "emer"
    book = openpyxl.load_workbook(root / "new_label.xlsx")
    assert len(book.sheetnames) == 1  # the authors' loader reads the first sheet only
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[0] == ("ID", "Emotion", "Valence", "Arousal", "Intensity")
    assert [r[0] for r in rows[1:]] == [i for _, i, _ in EMER_SAMPLES]
    assert all(re.fullmatch(r"\d+_film_[a-z]+ [A-Z][a-z]+", r[0]) for r in rows[1:])  # like 3_film_happy Happy
    assert {int(r[0].split("_")[0]) for r in rows[1:]} == {3, 12, 27, 41, 58, 76, 104}  # 7 participants
    assert all(type(r[1]) is int and 0 <= r[1] <= 6 for r in rows[1:])  # integer class codes
    assert all(-1 <= r[2] <= 1 and -1 <= r[3] <= 1 and 0 <= r[4] <= 3 for r in rows[1:])
    assert not (root / "participants.csv").exists()
    assert sorted(p.name for p in (root / "face").iterdir()) == ["set1", "set2", "set3", "set4", "set5"]
    frames = sorted((root / "face" / "set1" / "3_film_happy Happy").iterdir())
    assert [p.name for p in frames] == [f"{k:04d}.jpg" for k in range(1, 9)]
    assert all(Image.open(p).format == "JPEG" for p in frames) and len({p.read_bytes() for p in frames}) == 8
    gaze = Counter()
    for _, sample, _ in EMER_SAMPLES:
        eye = pd.read_excel(root / "eye" / f"{sample}.xlsx")
        assert eye.shape[1] == 39 and len(eye) >= 32  # the loader's LSTM input size; 32 row chunks
        assert all(dtype.kind in "if" for dtype in eye.dtypes)  # all numeric: the loader casts it to float
        gaze.update(c for c in eye.columns if c in ("Gaze point X", "Gaze point X [DACS px]"))
    assert gaze == {"Gaze point X [DACS px]": 9, "Gaze point X": 6}  # both spellings the loader accepts


# --------------------------------------------------------------------------- determinism


def test_same_seed_is_byte_identical_and_another_seed_differs(clean: Path, dirty: Path, tmp_path: Path) -> None:
    # Rebuilding clean over a dirty tree must also drop the dirty-only files.
    shutil.copytree(dirty, tmp_path / "again")
    build_samples(tmp_path / "again", seed=0)
    build_samples(tmp_path / "other", seed=1)
    assert _digests(tmp_path / "again") == _digests(clean)
    other = _digests(tmp_path / "other")
    differing = [k for k, v in _digests(clean).items() if other.get(k) != v]
    assert "kaggle_physio/face_emotion_physio.csv" in differing and "viri/VIRI-Angry-Vis.zip" in differing


# --------------------------------------------------------------------------- dirty


def test_dirty_manifest_counts(dirty: Path) -> None:
    manifest = json.loads((dirty / "manifest.json").read_text())
    got = {k: (v["items"], v["expected"]) for k, v in manifest.items()}

    def exp(records: int, prepare: dict | None = None, normalize: dict | None = None) -> dict:
        return {"records": records, "prepare_rejects": prepare or {}, "normalize_rejects": normalize or {}}

    assert got == {
        "kaggle_physio": (122, exp(120, {"bad_value": 1}, {"unknown_label": 1})),
        "emonet_hq": (27, exp(24, {"empty_file": 1, "malformed_annotation": 1, "unjoined_annotation": 1})),
        "emonet_binary": (42, exp(40, {"duplicate_id": 1, "truncated_image": 1})),
        "emonet_big": (32, exp(30, {"not_an_image": 1}, {"unknown_label": 1})),
        "viri": (32, exp(30, {"truncated_image": 1, "unpaired": 1})),
        "nvie": (19, exp(18, {"empty_file": 1})),
        "emer": (23, exp(16, {"missing_eye_data": 1, "stray_file": 1, "unknown_label": 1, "unsupported_modality": 4})),
    }


def test_dirty_kaggle_adds_two_rows(clean: Path, dirty: Path) -> None:
    rel = "kaggle_physio/face_emotion_physio.csv"
    before, after = ((r / rel).read_text().splitlines() for r in (clean, dirty))
    extra = Counter(after) - Counter(before)
    assert sum(extra.values()) == 2 and not Counter(before) - Counter(after)
    rows = [dict(zip(KAGGLE_COLUMNS, ln.split(","), strict=True)) for ln in extra]
    kinds = sorted((r["emotion_label"], r["hr_mean"] == "abc") for r in rows)
    assert kinds == [("Bored", False), ("Happy", True)]


def _image_state(data: bytes) -> str:
    if not data:
        return "empty"
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
    except OSError as e:
        return "truncated" if "truncated" in str(e) else "not_an_image"
    return "ok"


def test_dirty_emonet_items(clean: Path, dirty: Path) -> None:
    hq_clean, hq = _parquet_rows(clean, "emonet_hq"), _parquet_rows(dirty, "emonet_hq")
    assert hq[:24] == hq_clean and [_image_state(r["path"]["bytes"]) for r in hq[24:]] == ["empty"]
    ann, clean_ann = _hq_csv(dirty), _hq_csv(clean)
    assert ann[:len(clean_ann)] == clean_ann
    extra = ann[len(clean_ann):]
    malformed = [r for r in extra if not r["annotations"].endswith("}")]
    assert len(malformed) == 1 and malformed[0]["human"] == "True" and malformed[0]["image"] == clean_ann[0]["image"]
    orphans = {r["image"] for r in extra} - {r["image"] for r in clean_ann}
    assert len(orphans) == 1  # its expert ratings are in no Parquet label
    orphan = {r["annotator"]: ast.literal_eval(r["annotations"]) for r in extra
              if r["image"] in orphans and r["human"] == "True"}
    assert orphan and all(_hq_label(row) != orphan for row in hq)

    binary = _parquet_rows(dirty, "emonet_binary")
    assert Counter(_image_state(r["path"]["bytes"]) for r in binary) == {"ok": 41, "truncated": 1}
    dupes = [p for p, n in Counter(r["path"]["path"] for r in binary).items() if n > 1]
    assert len(dupes) == 1
    assert len({r["path"]["bytes"] for r in binary if r["path"]["path"] == dupes[0]}) == 1

    tars = [sorted((root / "emonet_big" / "data").glob("*.tar")) for root in (clean, dirty)]
    assert tars[0][0].read_bytes() == tars[1][0].read_bytes()  # the first shard is untouched
    members = _tar_members(dirty)
    images = [v for k, v in members.items() if k.endswith(".jpg")]
    assert Counter(_image_state(b) for b in images) == {"ok": 31, "not_an_image": 1}
    answers = [json.loads(v)["predictions"] for k, v in members.items() if k.endswith(".json")]
    tops = [max(e := a["emotions"], key=lambda k: e[k]["rating"]) for a in answers]
    assert tops.count("Boredom") == 1


def test_dirty_pairs(dirty: Path) -> None:
    vis, ir = _split_modalities(dirty, "viri")
    assert len(set(ir) - set(vis)) == 1 and not set(vis) - set(ir)
    assert Counter(_image_state(d[0]) for d in vis.values()) == {"ok": 30, "truncated": 1}
    vis, ir = _split_modalities(dirty, "nvie")
    assert set(vis) == set(ir)
    assert Counter(_image_state(d[0]) for d in vis.values()) == {"ok": 18, "empty": 1}


def test_dirty_emer_extras(dirty: Path) -> None:
    root = dirty / "emer"
    rows = list(openpyxl.load_workbook(root / "new_label.xlsx").worksheets[0].iter_rows(values_only=True))[1:]
    assert [r[0] for r in rows[:15]] == [i for _, i, _ in EMER_SAMPLES]
    extra = {r[0]: r[1] for r in rows[15:]}
    assert extra == {16: 3, "104_film_fear Fear": 2, "76_film_neutral Neutral": 7}  # 16: a number, not text
    assert (root / "face" / "set3" / "016").is_dir() and (root / "eye" / "016.xlsx").is_file()
    assert (root / "face" / "set2" / "104_film_fear Fear").is_dir()
    assert not (root / "eye" / "104_film_fear Fear.xlsx").exists()
    assert (root / "face" / "set1" / "3_film_happy Happy" / "Thumbs.db").is_file()


# --------------------------------------------------------------------------- faces


def test_pair_code_survives_jpeg_and_is_absent_without_one() -> None:
    for code in (0, 1, 341, 682, 1023):
        for modality in ("visible", "ir"):
            buf = io.BytesIO()
            draw_face("fear", modality=modality, pair_code=code, seed=code).save(buf, "JPEG", quality=85)
            assert read_pair_code(Image.open(buf)) == code
    with pytest.raises(ValueError):
        read_pair_code(draw_face("neutral", seed=3))
    with pytest.raises(ValueError):
        draw_face("neutral", pair_code=1024)


def test_expressions_render_differently() -> None:
    pixels = {e: draw_face(e, seed=5).tobytes() for e in EXPRESSIONS}
    assert len(set(pixels.values())) == len(EXPRESSIONS)
    ir = draw_face("anger", modality="ir", seed=5)
    assert ir.mode == "L" and ir.size == (128, 128)
    assert ir.getpixel((2, 64)) < 80 < ir.getpixel((64, 50))  # warm face on a dark background
    with pytest.raises(ValueError):
        draw_face("boredom")


def test_shared_dir_honours_env(monkeypatch: pytest.MonkeyPatch, real_emonet: Path) -> None:
    monkeypatch.setenv("CURATOR_SHARED", str(real_emonet.parents[1]))
    assert shared_dir() == real_emonet


def test_shared_dir_fails_clearly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CURATOR_SHARED", str(tmp_path))
    with pytest.raises(CuratorError, match="CURATOR_SHARED"):
        shared_dir()
