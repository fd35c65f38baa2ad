"""Consume a published build of every sample source: datasets.load_dataset for every config and
split (also streaming), ClassLabel names, decoded sizes, and pixels equal to the source's own."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
from PIL import Image

from curator.augment_stage import run_augment
from curator.normalize import run_normalize
from curator.publish import run_publish
from curator.samples import build_samples, read_pair_code
from curator.sources import get_recipe
from curator.sources.base import run_prepare
from curator.split import SPLITS, run_split
from curator.taxonomy import taxonomy
from tests.conftest import ROOT

SOURCES = ["kaggle_physio", "emonet_hq", "emonet_binary", "emonet_big", "viri", "nvie", "emer"]
IMAGE_SOURCES = [s for s in SOURCES if s != "kaggle_physio"]
RATIOS = {"train": 0.70, "validation": 0.15, "test": 0.15}


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("consume")
    samples = root / "samples"
    build_samples(samples)
    for s in SOURCES:
        run_prepare(s, get_recipe(s).prepare, samples / s, root / "prepared" / s, {})
    run_normalize([root / "prepared" / s for s in SOURCES], root / "normalized")
    run_split(root / "normalized", root / "split", ratios=RATIOS, seed=3)
    policy = str(ROOT / "pipelines/augment/default.yaml")
    run_augment(root / "split", root / "augmented",
                conf={"policy": policy, "copies": 1, "seed": 0, "workers": 1, "jpeg_quality": 90})
    params = {"publish": {"name": "consume-test"}, "augment": {"policy": policy, "copies": 1}}
    run_publish(root / "split", root / "pub", params=params, augmented=root / "augmented")
    return {"root": root, "samples": samples, "pub": root / "pub"}


def _expected_rows(build: dict, config: str, split: str) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in (build["pub"] / "data" / config).glob(f"{split}-*.parquet"))


@pytest.mark.parametrize("config", ["faces", "thermal", "physio", *SOURCES])
def test_every_config_and_split_loads_with_taxonomy_names(build, config):
    ds = datasets.load_dataset(str(build["pub"]), config)
    assert set(ds) == set(SPLITS)
    for split in SPLITS:
        assert ds[split].num_rows == _expected_rows(build, config, split) > 0
        assert ds[split].features["label"].names == list(taxonomy().basic)
        assert ds[split].features["label_fine"].names == list(taxonomy().fine)
    if config in ("faces", "thermal", *IMAGE_SOURCES):
        first = next(r for r in ds["train"] if r["image"] is not None)
        assert isinstance(first["image"], Image.Image) and first["image"].size[0] >= 64


@pytest.mark.parametrize("config", ["faces", "thermal", "physio"])
def test_streaming_gives_the_same_rows(build, config):
    streamed = datasets.load_dataset(str(build["pub"]), config, streaming=True)
    for split in SPLITS:
        ids = [r["id"] for r in streamed[split]]
        assert len(ids) == _expected_rows(build, config, split)


def _original_bytes(samples: Path, source: str, path: str) -> bytes:
    """The image as the source ships it, found by the path the record carries."""
    if source.startswith("emonet"):
        for shard in sorted((samples / source / "data").glob("*.parquet")):
            table = pq.read_table(shard)
            column = "image" if "image" in table.column_names else "path"
            for img in table.column(column).to_pylist():
                if img["path"] == path:
                    return img["bytes"]
    if source in ("viri", "nvie"):
        archive, member = path.split("/", 1)
        archive_path = next(p for p in (samples / source).iterdir() if p.name.startswith(archive.split(".")[0]))
        if archive_path.suffix == ".zip":
            return zipfile.ZipFile(archive_path).read(member)
    if source == "emer":
        return (samples / "emer" / "face" / Path(path).name).read_bytes()
    raise LookupError(f"{source}: {path}")


@pytest.mark.parametrize("source", IMAGE_SOURCES)
def test_one_pixel_region_per_image_source_equals_the_source(build, source):
    shard = next((build["pub"] / "data" / source).glob("test-*.parquet"))
    rows = pq.read_table(shard, columns=["id", "image", "augmented_from"]).to_pylist()
    # an original (not augmented) row whose source file is readable here (7z members are not)
    rid, path = next((r["id"], r["image"]["path"]) for r in rows
                     if not r["augmented_from"] and ".7z/" not in r["image"]["path"])
    original = Image.open(io.BytesIO(_original_bytes(build["samples"], source, path)))
    ds = datasets.load_dataset(str(build["pub"]), source, split="test")
    loaded = next(r["image"] for r in ds if r["id"] == rid)
    box = (20, 20, 60, 60)
    assert loaded.size == original.size
    assert loaded.convert("RGB").crop(box).tobytes() == original.convert("RGB").crop(box).tobytes()


def test_thermal_pairs_carry_the_same_pair_code_after_publishing(build):
    ds = datasets.load_dataset(str(build["pub"]), "thermal")
    for split in SPLITS:
        for row in ds[split]:
            if not row["augmented_from"]:
                assert read_pair_code(row["image"]) == read_pair_code(row["infrared"])
