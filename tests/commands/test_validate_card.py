"""`curator validate` reads the card as `datasets` does (huggingface_hub's DatasetCard, then the
DatasetInfosDict parse `load_dataset` uses): a card `datasets` writes for one config (a mapping, not a
list) passes, and a card whose class names no longer match the shards is caught."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from huggingface_hub import DatasetCard

from curator.commands.validate import validate_folder


@pytest.fixture
def folder(sample_build, tmp_path) -> Path:
    target = tmp_path / "pub"
    shutil.copytree(sample_build["pub"], target)
    return target


def test_the_sample_build_is_valid(sample_build):
    assert validate_folder(sample_build["pub"]) == []


def test_a_single_config_card_as_datasets_writes_it_is_valid(folder):
    """`datasets` writes the `dataset_info` of a one-config card as a mapping (publish does the same
    through it): validate reads that form too."""
    from datasets.info import DatasetInfosDict

    card = DatasetCard.load(folder / "README.md")
    infos = DatasetInfosDict.from_dataset_card_data(card.data)
    card.data.configs = [c for c in card.data.configs if c["config_name"] == "kaggle_physio"]
    del card.data.dataset_info
    DatasetInfosDict({"kaggle_physio": infos["kaggle_physio"]}).to_dataset_card_data(card.data)
    assert isinstance(card.data.dataset_info, dict)
    card.save(folder / "README.md")
    assert validate_folder(folder) == []


def test_a_renamed_class_in_the_card_is_caught(folder):
    card = DatasetCard.load(folder / "README.md")
    faces = next(i for i in card.data.dataset_info if i["config_name"] == "faces")
    label = next(f for f in faces["features"] if f["name"] == "label")
    label["dtype"]["class_label"]["names"]["0"] = "calm"
    card.save(folder / "README.md")
    problems = validate_folder(folder)
    assert any(p.endswith(": schema differs from the card's features") for p in problems), problems
    assert any(p.endswith(": `label` names its classes differently from another config") for p in problems)


@pytest.mark.parametrize("header", ["1: x", "- a list", "configs: [unclosed"])
def test_a_header_huggingface_hub_cannot_read_is_named(tmp_path, header):
    (tmp_path / "README.md").write_text(f"---\n{header}\n---\n# x\n")
    problems = validate_folder(tmp_path)
    assert len(problems) == 1 and problems[0].startswith("card header does not parse: "), problems
