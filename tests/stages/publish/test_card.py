"""The dataset card of the sample build: what a trainer reads before loading (fields, grouping,
label coverage, citations, licence metadata), and no loopback addresses."""

from __future__ import annotations

import re

import datasets
import pytest

from curator.io.card import read_card_header
from curator.record.schema import features
from curator.stages.publish.card import LOOPBACK, redact_loopback
from tests.conftest import ALL_SOURCES as SOURCES


@pytest.fixture(scope="module")
def card(sample_build) -> str:
    return (sample_build["pub"] / "README.md").read_text(encoding="utf-8")


def _section(card: str, title: str) -> str:
    return card.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_header_has_licence_link_size_category_and_column_selection(sample_build):
    header = read_card_header(sample_build["pub"])
    assert header["license"] == "other" and header["license_link"] == "LICENSE.md"
    assert (sample_build["pub"] / "LICENSE.md").is_file()
    assert header["size_categories"] == ["n<1K"]
    faces = next(c for c in header["configs"] if c["config_name"] == "faces")
    assert faces.get("default") is True and "physio" not in faces["columns"]
    paths = [p for entry in faces["data_files"] for p in entry["path"]]
    assert all(re.fullmatch(r"data/[a-z_]+/[a-z_.]+/[a-z_]+-\*\.parquet", p) for p in paths)


def test_fields_section_documents_every_column_with_its_configs(card):
    fields = _section(card, "Fields")
    for name in features():
        assert f"| `{name}` |" in fields, name
    infrared = next(line for line in fields.splitlines() if line.startswith("| `infrared` |"))
    assert "`thermal`" in infrared and "`faces`" not in infrared


def test_grouping_section_says_what_a_group_is_per_source(card):
    grouping = _section(card, "Grouping")
    assert re.search(r"\| `viri` \| pair \| .* \| 30 \| 30 \|", grouping)
    assert "- `viri`: 0 of 30 records have a subject-level group." in grouping
    assert re.search(r"- `emer`: (\d+) of \1 records have a subject-level group\.", grouping)


def test_label_coverage_counts_every_config_and_level(card, sample_build):
    coverage = _section(card, "Label coverage").splitlines()
    header = read_card_header(sample_build["pub"])
    for info in header["dataset_info"]:
        for split in info["splits"]:
            row = f"| {split['name']} | {split['num_examples']} |"
            assert any(line.startswith(f"| `{info['config_name']}` |") and row in line for line in coverage)
    faces = [line for line in coverage if line.startswith("| `faces` |")]
    assert faces and all(line.split("|")[4] == line.split("|")[5] for line in faces)  # label set on every row


def test_citation_has_bibtex_for_every_source_and_the_build(card):
    citation = _section(card, "Citation")
    for source in SOURCES:
        assert f"@misc{{{source.replace('_', '')}," in citation
    assert "Datasets \\& Benchmarks" in citation  # BibTeX's specials escaped


def test_usage_names_the_placeholder_push_fills_in(card):
    assert 'load_dataset("REPO_ID", "faces")' in card and "`REPO_ID` is the Hub repo id" in card
    assert 'split="train+train_augmented"' in card


def test_loopback_addresses_are_redacted():
    build = {"viri": {"base_url": "http://127.0.0.1:8123/viri"}, "a": ["http://localhost/x", "http://[::1]:9/y"],
             "hub": "https://huggingface.co/datasets/laion/emonet-face-hq", "n": 3}
    out = redact_loopback(build)
    assert out == {"viri": {"base_url": LOOPBACK}, "a": [LOOPBACK, LOOPBACK], "hub": build["hub"], "n": 3}


def test_the_card_says_per_source_what_label_and_groups_mean_and_what_is_unverified(card, sample_build):
    from curator.io.card import read_card_header
    from curator.sources import get_recipe

    facts = _section(card, "Grouping")
    sources = sorted({c["config_name"] for c in read_card_header(sample_build["pub"])["configs"]} & {
        "emer", "emonet_big", "emonet_binary", "emonet_hq", "kaggle_physio", "nvie", "viri"})
    assert sources
    for source in sources:
        info = get_recipe(source).INFO
        row = next(line for line in facts.splitlines() if line.startswith(f"| `{source}` |")
                   and info.unverified.replace("|", "\\|") in line)
        assert info.label_meaning.replace("|", "\\|") in row and info.grouping.replace("|", "\\|") in row


def test_dimensions_have_one_name_and_scale_and_the_sources_ranges(card):
    fields = _section(card, "Fields")
    table = fields.split("### `dimensions`", 1)[1]
    valence = next(line for line in table.splitlines() if line.startswith("| `valence` |"))
    assert "emer `Valence` -1..1" in valence and "emonet `Valence` -3..3" in valence


def test_source_only_columns_are_in_their_sources_config_only(sample_build):
    header = read_card_header(sample_build["pub"])
    columns = {c["config_name"]: set(c["columns"]) for c in header["configs"]}
    for modality in ("faces", "faces_fine", "thermal", "physio", "eye"):
        assert not columns[modality] & {"prompt", "demographics", "annotations", "frame_count", "official_split"}
    assert {"prompt", "annotations"} <= columns["emonet_hq"] and "frame_count" in columns["emer"]
    assert "official_split" in columns["emer"] and "dimensions" in columns["faces"]


def test_the_card_says_how_labels_were_aggregated_with_the_counts(card, sample_build):
    section = _section(card, "How labels were aggregated")
    rows = [r for split in ("train", "validation", "test")
            for r in datasets.load_dataset(str(sample_build["pub"]), "emonet_binary", split=split)]
    labelled = sum(r["label_original"] is not None for r in rows)
    changed = sum(r["label_original"] != r["label_majority"] for r in rows)
    assert "`emonet_binary`: Dawid-Skene (crowd-kit)" in section
    assert (f"{labelled:,} labelled, {len(rows) - labelled:,} unlabelled, {changed:,} whose label differs from "
            "majority vote") in section
    assert "emonet_hq" not in section  # ratings, not votes: no majority label to compare with
