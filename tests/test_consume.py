"""Consume a published build of every sample source: datasets.load_dataset for every config and
split (also streaming), ClassLabel names, decoded sizes, and pixels equal to the source's own."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
from PIL import Image

from curator.record.taxonomy import taxonomy
from curator.stages.split import SPLITS
from curator.testing.samples import read_pair_code
from tests.conftest import ALL_SOURCES as SOURCES

IMAGE_SOURCES = [s for s in SOURCES if s != "kaggle_physio"]


def _expected_rows(build: dict, config: str, split: str) -> int:
    shards = (build["pub"] / "data" / config).glob(f"{split}-*.parquet")
    return sum(pq.ParquetFile(p).metadata.num_rows for p in shards)


@pytest.mark.parametrize("config", ["faces", "thermal", "physio", *SOURCES])
def test_every_config_and_split_loads_with_taxonomy_names(sample_build, config):
    ds = datasets.load_dataset(str(sample_build["pub"]), config)
    assert set(ds) == set(SPLITS)
    for split in SPLITS:
        assert ds[split].num_rows == _expected_rows(sample_build, config, split) > 0
        assert ds[split].features["label"].names == list(taxonomy().basic)
        assert ds[split].features["label_fine"].names == list(taxonomy().fine)
    if config in ("faces", "thermal", *IMAGE_SOURCES):
        first = next(r for r in ds["train"] if r["image"] is not None)
        assert isinstance(first["image"], Image.Image) and first["image"].size[0] >= 64


@pytest.mark.parametrize("config", ["faces", "thermal", "physio"])
def test_streaming_gives_the_same_rows(sample_build, config):
    streamed = datasets.load_dataset(str(sample_build["pub"]), config, streaming=True)
    for split in SPLITS:
        ids = [r["id"] for r in streamed[split]]
        assert len(ids) == _expected_rows(sample_build, config, split)


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
def test_one_pixel_region_per_image_source_equals_the_source(sample_build, source):
    shard = next((sample_build["pub"] / "data" / source).glob("test-*.parquet"))
    rows = pq.read_table(shard, columns=["id", "image", "augmented_from"]).to_pylist()
    # an original (not augmented) row whose source file is readable here (7z members are not)
    rid, path = next((r["id"], r["image"]["path"]) for r in rows
                     if not r["augmented_from"] and ".7z/" not in r["image"]["path"])
    original = Image.open(io.BytesIO(_original_bytes(sample_build["samples"], source, path, rid)))
    ds = datasets.load_dataset(str(sample_build["pub"]), source, split="test")
    loaded = next(r["image"] for r in ds if r["id"] == rid)
    box = (20, 20, 60, 60)
    assert loaded.size == original.size
    assert loaded.convert("RGB").crop(box).tobytes() == original.convert("RGB").crop(box).tobytes()


def test_thermal_pairs_carry_the_same_pair_code_after_publishing(sample_build):
    ds = datasets.load_dataset(str(sample_build["pub"]), "thermal")
    for split in SPLITS:
        for row in ds[split]:
            if not row["augmented_from"]:
                assert read_pair_code(row["image"]) == read_pair_code(row["infrared"])


def test_croissant_reads_the_same_records_and_images(sample_build):
    # The Croissant record sets are written as plain JSON-LD: reading records through mlcroissant
    # proves each field points at the right column (and member) of the right files.
    import itertools
    import logging

    import mlcroissant as mlc

    logging.getLogger("absl").setLevel(logging.ERROR)
    dataset = mlc.Dataset(jsonld=str(sample_build["pub"] / "croissant.json"))
    records = list(itertools.islice(dataset.records("thermal"), 6))
    loaded = datasets.load_dataset(str(sample_build["pub"]), "thermal")  # the record set spans every split
    expected = {r["id"]: r for split in SPLITS for r in loaded[split]}
    assert len(records) == 6
    for record in records:
        row = expected[record["thermal/id"].decode()]
        assert record["thermal/label"] == row["label"]
        assert record["thermal/image"].size == row["image"].size
        assert record["thermal/infrared"].tobytes() == row["infrared"].tobytes()
        assert record["thermal/hashes"]["thermal/hashes/image_sha256"] == (
            row["hashes"]["image_sha256"].encode() if row["hashes"] else None)
