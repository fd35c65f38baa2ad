"""croissant.json is mlcroissant's own serialisation: reading the file and writing it again with
mlcroissant gives the same document, and the dataset-level fields read back are the build's."""

from __future__ import annotations

import json
import logging

import pytest

from curator.config import Publish
from curator.sources import get_recipe
from curator.stages.publish.croissant import dataset_fields
from tests.conftest import ALL_SOURCES


@pytest.fixture(scope="module")
def read_back(sample_build):
    import mlcroissant as mlc

    logging.getLogger("absl").setLevel(logging.ERROR)  # mlcroissant warns through absl
    path = sample_build["pub"] / "croissant.json"
    return json.loads(path.read_text()), mlc.Dataset(jsonld=str(path)).metadata


def test_croissant_json_is_what_mlcroissant_writes_for_it(read_back):
    doc, metadata = read_back
    assert json.loads(json.dumps(metadata.to_json(), default=str)) == doc


def test_mlcroissant_reads_back_the_builds_dataset_fields(read_back):
    """Name, licences (one per source, each once), citation and the Responsible-AI fields."""
    _, metadata = read_back
    fields = dataset_fields([get_recipe(s).INFO for s in ALL_SOURCES], Publish(name="consume-test"))
    assert {k: getattr(metadata, k) for k in fields} == fields
    assert len(fields["license"]) > 1  # several licences: written as a list
