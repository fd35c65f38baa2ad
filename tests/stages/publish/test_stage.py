"""The published folder: Croissant validates with mlcroissant, `curator validate` catches damage."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curator.config import Publish, Ratios, Split
from curator.pipeline.lineage import shard_entries
from curator.sources import get_recipe
from curator.stages.normalize.stage import run_normalize
from curator.stages.prepare.stage import run_prepare
from curator.stages.publish.croissant import validate_croissant
from curator.stages.publish.stage import run_publish
from curator.stages.split.stage import run_split
from curator.testing.samples import build_samples
from tests.conftest import run_cli

RATIOS = {"train": 0.70, "validation": 0.15, "test": 0.15}


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pub")
    build_samples(root / "s")
    run_prepare("kaggle_physio", get_recipe("kaggle_physio").prepare, root / "s/kaggle_physio", root / "p")
    run_normalize([root / "p"], root / "n")
    run_split(root / "n", root / "split", Split(seed=1, ratios=Ratios(**RATIOS)))
    run_publish(root / "split", root / "pub", Publish(name="test-set"))
    return root / "pub"


def test_croissant_is_valid_and_carries_rai_fields(published):
    path = published / "croissant.json"
    assert validate_croissant(path) == []
    doc = json.loads(path.read_text())
    assert doc["conformsTo"].startswith("http://mlcommons.org/croissant/1.")
    for key in ("rai:dataCollection", "rai:dataBiases", "rai:dataLimitations", "rai:personalSensitiveInformation"):
        assert doc[key], key
    # one record set per modality config, every record once (a source's rows: filtered on `source`), class names
    assert {rs["@id"] for rs in doc["recordSet"]} == {"physio", "all_records", "classes_basic", "classes_fine",
                                                      "classes_families"}
    basic = next(rs for rs in doc["recordSet"] if rs["@id"] == "classes_basic")
    assert [row["classes_basic/name"] for row in basic["data"]][:2] == ["neutral", "happiness"]
    assert "\n" not in path.read_text().rstrip("\n")  # compact JSON
    physio = next(rs for rs in doc["recordSet"] if rs["@id"] == "physio")
    label = next(f for f in physio["field"] if f["name"] == "label")
    assert label["references"] == {"field": {"@id": "classes_basic/index"}}
    split = physio["field"][0]
    assert split["name"] == "split" and split["source"]["extract"] == {"fileProperty": "filename"}


def test_validate_passes_on_a_good_folder(published):
    proc = run_cli("validate", str(published))
    assert proc.stdout.strip().endswith("valid")


def _copy(published: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(published, target)
    return target


def test_validate_names_a_deleted_shard(published, tmp_path):
    folder = _copy(published, tmp_path)
    (folder / "data/kaggle_physio/physio.label/test-00000-of-00001.parquet").unlink()
    proc = run_cli("validate", str(folder), check=False)
    assert proc.returncode == 1
    assert "config physio, split test: no files match data/kaggle_physio/physio.label/test-*.parquet" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_validate_names_a_tampered_card(published, tmp_path):
    folder = _copy(published, tmp_path)
    card = (folder / "README.md").read_text()
    tampered = card.replace("num_examples: 84", "num_examples: 85", 1)
    assert tampered != card
    (folder / "README.md").write_text(tampered)
    proc = run_cli("validate", str(folder), check=False)
    assert proc.returncode == 1 and "84 rows in files, card says 85" in proc.stderr


def test_validate_names_a_broken_card_header(published, tmp_path):
    folder = _copy(published, tmp_path)
    (folder / "README.md").write_text("---\nconfigs: [unclosed\n---\n")
    proc = run_cli("validate", str(folder), check=False)
    assert proc.returncode == 1 and "card header does not parse" in proc.stderr


def test_validate_names_a_leaked_id(published, tmp_path):
    folder = _copy(published, tmp_path)
    train = folder / "data/kaggle_physio/physio.label/train-00000-of-00001.parquet"
    test = folder / "data/kaggle_physio/physio.label/test-00000-of-00001.parquet"
    table = pq.read_table(test)
    leaked = pq.read_table(train).slice(0, 1).cast(table.schema)  # one train row copied into test
    pq.write_table(pa.concat_tables([table.slice(1), leaked]), test)
    proc = run_cli("validate", str(folder), check=False)
    assert proc.returncode == 1 and "in both test and train" in proc.stderr


def test_an_augmented_copy_equal_to_its_parent_is_rejected(sample_build, tmp_path):
    from curator.io.rejects import read_rejects

    root = sample_build["root"]
    parents = {r["id"]: r for p in sorted((root / "split" / "train").glob("*.parquet"))
               for r in pq.read_table(p, columns=["id", "image", "infrared"]).to_pylist()}
    shard = next(iter(sorted((root / "augmented").glob("*.parquet"))))
    table = pq.read_table(shard)
    rows = table.to_pylist()
    copy = rows[0]
    parent = parents[copy["augmented_from"]]
    copy["image"], copy["infrared"] = parent["image"], parent["infrared"]
    (tmp_path / "aug").mkdir()
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), tmp_path / "aug" / shard.name)
    # its kind and inputs, listing the edited shard (lineage.read refuses a shard of another size)
    manifest = json.loads((root / "augmented" / "lineage.json").read_text())
    manifest["shards"] = shard_entries(tmp_path / "aug", {})
    (tmp_path / "aug" / "lineage.json").write_text(json.dumps(manifest))
    result = run_publish(root / "split", tmp_path / "pub", Publish(name="t"),
                         augmented=tmp_path / "aug")
    rejects = list(read_rejects(tmp_path / "pub" / ".curator" / "rejects.jsonl"))
    assert [(r["id"], r["reason"]) for r in rejects] == [(copy["id"], "augment_unchanged")]
    assert result["inputs"] == result["kept"] + 1
    published = {r["id"] for p in (tmp_path / "pub" / "data").glob("*/*/train_augmented-*.parquet")
                 for r in pq.read_table(p, columns=["id"]).to_pylist()}
    assert copy["id"] not in published and len(published) == len(rows) - 1


def test_validate_names_a_row_without_the_default_label_and_a_copy_among_originals(published, tmp_path):
    folder = _copy(published, tmp_path)
    shard = folder / "data/kaggle_physio/physio.label/train-00000-of-00001.parquet"
    table = pq.read_table(shard)
    rows = table.to_pylist()
    rows[0]["label"] = None
    rows[1]["augmented_from"] = rows[2]["id"]
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), shard)
    proc = run_cli("validate", str(folder), check=False)
    assert proc.returncode == 1
    assert "config physio: data/kaggle_physio/physio.label/train-00000-of-00001.parquet: 1 row(s) without " \
           "`label`, its default label" in proc.stderr
    assert "physio.label/train-00000-of-00001.parquet: 1 augmented row(s) in the train split" in proc.stderr


def test_train_digests_from_stored_hashes_equal_hashing_the_bytes(sample_build):
    """publish takes train images' sha256 from prepare's `hashes` instead of hashing them again: the same
    digests, for every train record of the sample build (visible, infrared and image-less ones)."""
    from curator.stages.publish.stage import _Router

    table = pa.concat_tables(pq.read_table(p) for p in sorted((sample_build["root"] / "split" / "train")
                                                                .glob("*.parquet")))
    assert table.num_rows > 0 and table.column("hashes").null_count < table.num_rows
    stored = _Router._image_digests(table, stored=True)
    assert stored.equals(_Router._image_digests(table))
