"""Consume a published build of every sample source as a trainer would: datasets.load_dataset for
every config and split (also streaming), counts against the card, labels set, image bytes equal to
the source's own, the Croissant train split alone, and small classifiers beating the majority."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import datasets
import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from curator.io.card import read_card_header
from curator.pipeline.stages import AUGMENTED_SPLIT, SPLITS
from curator.record.schema import config_specs
from curator.record.taxonomy import taxonomy
from curator.testing.samples import read_pair_code
from tests.conftest import ALL_SOURCES as SOURCES

IMAGE_SOURCES = [s for s in SOURCES if s != "kaggle_physio"]
MODALITY = list(config_specs())


@pytest.fixture(scope="module")
def card(sample_build) -> dict:
    header = read_card_header(sample_build["pub"])
    return {i["config_name"]: {s["name"]: s["num_examples"] for s in i["splits"]} for i in header["dataset_info"]}


def test_every_source_and_modality_config_is_published(card):
    assert set(card) == {*MODALITY, *SOURCES}
    assert all(AUGMENTED_SPLIT not in card[c] for c in ("physio", "eye", "kaggle_physio"))  # tables: no copies
    assert all(card[c][AUGMENTED_SPLIT] > 0 for c in ("faces", "faces_fine", "thermal", *IMAGE_SOURCES))


@pytest.mark.parametrize("config", [*MODALITY, *SOURCES])
def test_every_config_loads_with_the_card_counts_and_labels_set(sample_build, card, config):
    ds = datasets.load_dataset(str(sample_build["pub"]), config)
    assert {s: ds[s].num_rows for s in ds} == card[config]
    assert set(SPLITS) <= set(ds)
    for split in ds:
        assert ds[split].features["label"].names == list(taxonomy().basic)
        if config in MODALITY:  # the config's default label column is set on every row
            label = config_specs()[config]["label"]
            assert None not in ds[split][label], (config, split)
        originals = ds[split]["augmented_from"] if "augmented_from" in ds[split].features else [None]
        assert (split == AUGMENTED_SPLIT) == all(originals), (config, split)  # train holds the originals only
    if config in ("faces", "thermal", *IMAGE_SOURCES):
        first = ds["train"][0]["image"]
        assert isinstance(first, Image.Image) and first.size[0] >= 64


def test_per_source_configs_leave_out_their_empty_columns(sample_build):
    kaggle = datasets.load_dataset(str(sample_build["pub"]), "kaggle_physio", split="train")
    assert "image" not in kaggle.features and "physio" in kaggle.features
    faces = datasets.load_dataset(str(sample_build["pub"]), "faces", split="validation")
    assert "physio" not in faces.features and "infrared" not in faces.features


def test_each_row_says_whether_it_may_be_shared_publicly(sample_build):
    faces = datasets.load_dataset(str(sample_build["pub"]), "faces", split="train")
    by_source = {s: set() for s in faces["source"]}
    for source, flag in zip(faces["source"], faces["redistributable"], strict=True):
        by_source[source].add(flag)
    # EmoNet-Face is CC BY 4.0; NVIE and EMER are not redistributable; VIRI is opt-in (not opted in here)
    assert by_source == {**{s: {True} for s in by_source if s.startswith("emonet")},
                         **{s: {False} for s in ("nvie", "emer", "viri") if s in by_source}}


@pytest.mark.parametrize("config", ["faces", "thermal", "physio"])
def test_streaming_gives_the_same_rows(sample_build, card, config):
    streamed = datasets.load_dataset(str(sample_build["pub"]), config, streaming=True)
    for split in SPLITS:
        assert len([r["id"] for r in streamed[split]]) == card[config][split]


def test_augmented_copies_differ_from_their_parents(sample_build):
    ds = datasets.load_dataset(str(sample_build["pub"]), "faces").cast_column("image", datasets.Image(decode=False))
    parents = {r["id"]: r["image"]["bytes"] for r in ds["train"]}
    copies = list(ds[AUGMENTED_SPLIT])
    assert copies and all(r["image"]["bytes"] != parents[r["augmented_from"]] for r in copies)


def test_the_published_folder_stores_each_image_once(sample_build):
    """Files on disk within 5% of the unique image bytes plus the tables (the rows without images)."""
    folder = sample_build["pub"]
    images: dict[bytes, int] = {}
    tables = 0
    for shard in folder.glob("data/*/*/*.parquet"):
        table = pq.read_table(shard)
        for col in ("image", "infrared"):
            for img in table.column(col).to_pylist():
                if img and img["bytes"]:
                    images[img["bytes"]] = len(img["bytes"])
        buf = io.BytesIO()
        pq.write_table(table.drop_columns(["image", "infrared"]), buf)
        tables += buf.tell()
    tables += sum(p.stat().st_size for p in folder.iterdir() if p.is_file())  # card, Croissant, taxonomy...
    on_disk = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and ".curator" not in p.parts)
    assert on_disk <= 1.05 * (sum(images.values()) + tables), (on_disk, sum(images.values()), tables)


def _original_bytes(samples: Path, source: str, path: str, rid: str) -> bytes:
    """The image as the source ships it, found by the path the record carries (emonet_hq's
    Parquet has no file names: there the id, its label's content signature, finds the row)."""
    if source == "emonet_hq":
        from curator.sources.emonet_hq.label import parse_label, record_key

        for row in pq.read_table(next((samples / source / "data").glob("*.parquet"))).to_pylist():
            if f"emonet_hq/{record_key(parse_label(row['label']).signature)}" == rid:
                return row["path"]["bytes"]
    if source.startswith("emonet"):
        for shard in sorted((samples / source / "data").glob("*.parquet")):
            table = pq.read_table(shard)
            column = "image" if "image" in table.column_names else "path"
            for img in table.column(column).to_pylist():
                if img["path"] == path:
                    return img["bytes"]
        for shard in sorted((samples / source / "data").glob("*.tar")):  # WebDataset: <key>.jpg members
            with tarfile.open(shard) as tar:
                if path in tar.getnames():
                    return tar.extractfile(path).read()  # type: ignore[union-attr]
    if source in ("viri", "nvie"):
        archive, member = path.split("/", 1)
        archive_path = next(p for p in (samples / source).iterdir() if p.name.startswith(archive.split(".")[0]))
        if archive_path.suffix == ".zip":
            return zipfile.ZipFile(archive_path).read(member)
    if source == "emer":
        return (samples / "emer" / path).read_bytes()  # face/setN/<ID>/<frame>
    raise LookupError(f"{source}: {path}")


@pytest.mark.parametrize("source", IMAGE_SOURCES)
def test_published_image_bytes_equal_the_source_file(sample_build, source):
    ds = datasets.load_dataset(str(sample_build["pub"]), source, split="test")
    ds = ds.cast_column("image", datasets.Image(decode=False))
    # an original row whose source file is readable here (7z members are not)
    row = next(r for r in ds if ".7z/" not in r["image"]["path"])
    assert row["image"]["bytes"] == _original_bytes(sample_build["samples"], source, row["image"]["path"], row["id"])


def test_thermal_pairs_carry_the_same_pair_code_after_publishing(sample_build):
    ds = datasets.load_dataset(str(sample_build["pub"]), "thermal")
    for split in SPLITS:
        for row in ds[split]:
            assert read_pair_code(row["image"]) == read_pair_code(row["infrared"])


@pytest.mark.parametrize("config", MODALITY)
def test_croissant_reads_the_train_split_alone_with_the_parquet_rows(sample_build, config):
    import logging

    import mlcroissant as mlc

    logging.getLogger("absl").setLevel(logging.ERROR)
    dataset = mlc.Dataset(jsonld=str(sample_build["pub"] / "croissant.json"))
    records = list(dataset.records(config, filters={f"{config}/split": "train"}))
    train = datasets.load_dataset(str(sample_build["pub"]), config, split="train")
    expected = {r["id"]: r for r in train}
    label = config_specs()[config]["label"]
    assert sorted(r[f"{config}/id"].decode() for r in records) == sorted(expected)
    for record in records:
        row = expected[record[f"{config}/id"].decode()]
        assert record[f"{config}/split"] == b"train"
        assert record[f"{config}/{label}"] == row[label] and row[label] is not None
        for col in ("image", "infrared"):
            if col in train.features:
                assert record[f"{config}/{col}"].tobytes() == row[col].tobytes()


def test_croissant_has_every_published_record_once(sample_build):
    import logging

    import mlcroissant as mlc

    from curator.stages.publish.croissant import ALL_RECORDS

    logging.getLogger("absl").setLevel(logging.ERROR)
    dataset = mlc.Dataset(jsonld=str(sample_build["pub"] / "croissant.json"))
    got = sorted(r[f"{ALL_RECORDS}/id"].decode() for r in dataset.records(ALL_RECORDS))
    expected = sorted(row["id"] for source in SOURCES
                      for split in datasets.load_dataset(str(sample_build["pub"]), source).values() for row in split)
    assert got == expected and len(set(got)) == len(got)  # every row of every source, each once
    in_modality = {row["id"] for config in MODALITY
                   for split in datasets.load_dataset(str(sample_build["pub"]), config).values() for row in split}
    assert set(got) - in_modality  # rows only a source's own config has (no label at any level) are there too


# -- a trainer's first check: the published rows carry a learnable signal


def _fit_softmax(x: np.ndarray, y: np.ndarray, classes: int, steps: int = 500) -> np.ndarray:
    xb = np.c_[x, np.ones(len(x))]
    w = np.zeros((xb.shape[1], classes))
    target = np.eye(classes)[y]
    for _ in range(steps):
        z = xb @ w
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        w -= 0.1 * (xb.T @ (p - target) / len(xb) + 1e-3 * w)
    return w


def _physio_xy(ds: datasets.Dataset) -> tuple[np.ndarray, np.ndarray]:
    names = list(ds.features["physio_z"])
    x = np.array([[r["physio_z"][n] for n in names] for r in ds], dtype=float)
    x = x[:, ~np.all(np.isnan(x), axis=0)]  # other sources' members are null throughout
    return np.nan_to_num(x), np.array(ds["label"])


def _majority(train_y: np.ndarray, test_y: np.ndarray) -> float:
    return float(np.mean(test_y == np.bincount(train_y).argmax()))


def test_logistic_regression_on_physio_beats_the_majority(sample_build):
    ds = datasets.load_dataset(str(sample_build["pub"]), "physio")
    x, y = _physio_xy(ds["train"])
    xt, yt = _physio_xy(ds["test"])
    w = _fit_softmax(x, y, len(taxonomy().basic))
    accuracy = float(np.mean((np.c_[xt, np.ones(len(xt))] @ w).argmax(1) == yt))
    assert accuracy > _majority(y, yt) + 0.2, accuracy


def _pixels(ds: datasets.Dataset) -> tuple[np.ndarray, np.ndarray]:
    x = []
    for img in ds["image"]:
        a = np.asarray(img.convert("L").resize((16, 16)), dtype=float).ravel()
        x.append((a - a.mean()) / (a.std() + 1e-6))
    return np.array(x), np.array(ds["label"])


def test_nearest_centroid_on_downsampled_faces_beats_the_majority(sample_build):
    # NVIE's rows of `faces`: at the samples' size (tens of faces per source, each source drawing its
    # own geometry and palette per face) only its 3 classes give every class enough train rows
    faces = datasets.load_dataset(str(sample_build["pub"]), "faces")
    nvie = {s: faces[s].filter(lambda r: r["source"] == "nvie") for s in SPLITS}
    x, y = _pixels(nvie["train"])
    held_out = datasets.concatenate_datasets([nvie["validation"], nvie["test"]])
    xt, yt = _pixels(held_out)
    classes = np.unique(y)
    centroids = np.stack([x[y == c].mean(0) for c in classes])
    predicted = classes[((xt[:, None, :] - centroids[None]) ** 2).sum(-1).argmin(1)]
    assert float(np.mean(predicted == yt)) > _majority(y, yt) + 0.2
