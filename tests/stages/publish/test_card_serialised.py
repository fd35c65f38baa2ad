"""The card is written and read by the libraries: huggingface_hub renders its header and parses it
back to the same text, and `datasets` reads each config's features from it exactly as
schemas/record.yaml gives them."""

from __future__ import annotations

from pathlib import Path

import datasets
import pytest
from huggingface_hub import DatasetCard

from curator.io.card import read_card_header
from curator.record import schema
from tests.conftest import ALL_SOURCES

CONFIGS = [*schema.config_specs(), *ALL_SOURCES]


def test_the_card_is_huggingface_hubs_own_rendering(sample_build):
    """Loading the card and rendering it again gives the same text: header and body are exactly what
    `DatasetCard` writes, and the values a user reads through it are the build's."""
    path = sample_build["pub"] / "README.md"
    card = DatasetCard.load(path)
    assert str(card) == path.read_text(encoding="utf-8")
    assert card.data.pretty_name == "consume-test" and card.data.license == "other"
    assert card.text.lstrip().startswith("# consume-test\n")
    assert {c["config_name"] for c in card.data.configs} == set(CONFIGS)


def _expected(pub: Path, config: str) -> datasets.Features:
    """The config's features from the schema: the columns the card says the config reads, in order."""
    entry = next(c for c in read_card_header(pub)["configs"] if c["config_name"] == config)
    full = schema.hf_features()
    return datasets.Features.from_dict({c: full[c] for c in entry.get("columns", schema.columns())})


@pytest.mark.parametrize("config", CONFIGS)
def test_datasets_parses_the_schemas_features_from_the_card(sample_build, tmp_path, config):
    """The card's `dataset_info` as `load_dataset` parses it (the builder's info, before any data is read)."""
    builder = datasets.load_dataset_builder(str(sample_build["pub"]), config, cache_dir=str(tmp_path))
    assert builder.info.features == _expected(sample_build["pub"], config)


@pytest.mark.slow  # ~5 s a config on a loaded machine: every config's data is read
@pytest.mark.parametrize("config", CONFIGS)
def test_load_dataset_gives_the_schemas_features(sample_build, tmp_path, config):
    expected = _expected(sample_build["pub"], config)
    ds = datasets.load_dataset(str(sample_build["pub"]), config, cache_dir=str(tmp_path))
    for split in ds:
        assert ds[split].features == expected, split
        assert list(ds[split].features) == list(expected), split  # column order too
