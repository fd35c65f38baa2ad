"""The taxonomy and label maps: complete, reasoned, and strict about unknown labels."""

from __future__ import annotations

import csv
import json

import pytest

from curator.record.schema import load_yaml, safe_load
from curator.record.taxonomy import all_sources_with_maps, label_map, map_path, taxonomy
from tests.conftest import EMONET_DIR, needs_shared

# Every original label each source is documented to use (its folder's README.md and labels.yaml).
DOCUMENTED_LABELS = {
    "kaggle_physio": ["Neutral", "Happy", "Sad", "Angry", "Fear", "Surprise"],
    "viri": ["Angry", "Happy", "Neutral", "Sad", "Surprise"],
    "nvie": ["fear", "disgust", "happy"],
    "emer": ["happiness", "sadness", "fear", "surprise", "disgust", "anger", "neutral"],
}
RECIPE_SOURCES = ["kaggle_physio", "emonet_hq", "emonet_binary", "emonet_big", "viri", "nvie", "emer"]


def test_every_source_has_a_map():
    assert sorted(RECIPE_SOURCES) == all_sources_with_maps()


def test_basic_level_is_the_eight_classes():
    assert taxonomy().basic == ("neutral", "happiness", "sadness", "anger", "fear", "surprise", "disgust", "contempt")


@needs_shared()
def test_fine_level_matches_guide_json_exactly():
    guide = json.loads((EMONET_DIR / "guide.json").read_text())
    assert list(taxonomy().fine) == list(guide["options"]["labels"])


@needs_shared()
def test_families_match_guide_json_buttons_exactly():
    guide = json.loads((EMONET_DIR / "guide.json").read_text())
    buttons = guide["options"]["buttons"]
    assert {name: list(members) for name, members in taxonomy().families.items()} == buttons
    assert taxonomy().family_of("Triumph") == "Positive High-Energy Emotions"


def test_every_fine_label_is_mapped_or_explicitly_dropped_with_a_reason():
    raw = load_yaml("taxonomy.yaml")["fine_to_basic"]
    assert list(raw) == list(taxonomy().fine)
    for name, entry in raw.items():
        assert "basic" in entry, f"{name}: basic must be a class or an explicit null"
        assert entry["reason"].strip(), name
    dropped = [n for n, e in raw.items() if e["basic"] is None]
    mapped = [n for n, e in raw.items() if e["basic"] is not None]
    assert dropped and mapped  # both kinds exist: the roll-up is selective, not a guess for everything
    # every basic class except the EmoNet-less ones is reachable from fine
    assert {raw[n]["basic"] for n in mapped} >= {"happiness", "sadness", "anger", "fear", "surprise", "disgust"}


@pytest.mark.parametrize("source", sorted(DOCUMENTED_LABELS))
def test_documented_labels_resolve(source):
    for text in DOCUMENTED_LABELS[source]:
        assert label_map(source).resolve(text) is not None, f"{source}: {text!r} unmapped"


@pytest.mark.parametrize("source", ["emonet_hq", "emonet_binary", "emonet_big"])
def test_emonet_sources_cover_all_forty(source):
    for index, name in enumerate(taxonomy().fine):
        resolved = label_map(source).resolve(name)
        assert resolved is not None and resolved.fine == index


@needs_shared()
def test_every_label_in_the_real_binary_csv_resolves_with_the_alias():
    with open(EMONET_DIR / "binary.csv", newline="") as fh:
        emotions = {row["emotion"] for row in csv.DictReader(fh)}
    assert "Hopelessness" in emotions and "Helplessness" not in emotions
    for text in emotions:
        assert label_map("emonet_binary").resolve(text) is not None, text
    resolved = label_map("emonet_binary").resolve("Hopelessness")
    assert taxonomy().fine[resolved.fine] == "Helplessness"


def test_lookup_strips_whitespace_and_ignores_case():
    m = label_map("kaggle_physio")
    assert m.resolve("  happy ").basic == taxonomy().basic.index("happiness")
    assert m.resolve("Surprised").basic == taxonomy().basic.index("surprise")  # alias


def test_unknown_label_is_not_guessed():
    assert label_map("kaggle_physio").resolve("Bored") is None
    assert label_map("emonet_hq").resolve("Hopelessness") is None  # the alias is binary's quirk only


def test_every_map_entry_has_a_reason():
    for source in all_sources_with_maps():
        raw = safe_load(map_path(source).read_text(encoding="utf-8"))
        for name, entry in {**(raw.get("labels") or {}), **(raw.get("aliases") or {})}.items():
            assert entry.get("reason", "").strip(), f"{source}: {name}"
