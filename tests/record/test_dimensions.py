"""Continuous dimensions: one name and one 0..1 scale for every source, the source's values beside them."""

from __future__ import annotations

import pytest

from curator.errors import SchemaError
from curator.reasons import Reason
from curator.record import dimensions
from curator.record.schema import load_yaml
from curator.sources.emer import labels as emer_labels
from curator.sources.recipe import Reject


def test_every_stated_range_maps_its_ends_onto_the_common_scale() -> None:
    spec = load_yaml("dimensions.yaml")
    low, high = dimensions.scale()
    for source, given in spec["given"].items():
        for original, (name, lo, hi) in given.items():
            ends = dimensions.common(source, [(original, lo), (original, hi), (original, (lo + hi) / 2)])
            assert [d["name"] for d in ends] == [name] * 3 and name in spec["dimensions"]
            assert [d["value"] for d in ends] == pytest.approx([low, high, (low + high) / 2])
            assert {(d["original_min"], d["original_max"]) for d in ends} == {(lo, hi)}


def test_out_of_range_is_an_error_naming_the_range_and_unstated_names_are_left_out() -> None:
    with pytest.raises(ValueError, match=r"Valence = 3.5 is outside the stated range -3..3"):
        dimensions.common("emonet", [("Valence", 3.5)])
    assert dimensions.common("emonet", [("Tension", 99.0), ("Arousal", 7)]) == [
        {"name": "arousal", "value": 1.0, "original_name": "Arousal", "original_value": 7,
         "original_min": 0.0, "original_max": 7.0}]
    with pytest.raises(SchemaError, match="no `given` entry for 'nope'"):
        dimensions.stated("nope")


def _table() -> emer_labels.LabelTable:
    headers = {c: c for c in emer_labels.COLUMNS}
    return emer_labels.LabelTable("Sheet1", ["Sheet1"], headers, [])


def test_an_emer_row_outside_its_stated_range_is_rejected_with_the_row() -> None:
    cells = {"ID": "3_film_happy Happy", "Emotion": 1, "Valence": 0.5, "Arousal": 1.7, "Intensity": 2}
    got = emer_labels.parse_row(_table(), 7, cells, 7)
    assert isinstance(got, Reject) and got.reason == Reason.BAD_VALUE
    assert got.detail == ("new_label.xlsx row 7: Arousal = 1.7 is outside the stated range -1..1 "
                          "(schemas/dimensions.yaml given.emer)")
    good = emer_labels.parse_row(_table(), 8, cells | {"Arousal": -0.5}, 7)
    assert [(d["name"], d["value"]) for d in good.dimensions] == [
        ("valence", pytest.approx(0.75)), ("arousal", pytest.approx(0.25)), ("intensity", pytest.approx(2 / 3))]


def test_emer_ratings_carry_the_sheet_label_kind_and_other_sources_none() -> None:
    cells = {"ID": "3_film_happy Happy", "Emotion": 1, "Valence": 0.5, "Arousal": -0.5, "Intensity": 2}
    for kind in ("felt", "expressed"):
        got = emer_labels.parse_row(_table(), 8, cells, 7, kind)
        assert [(d["name"], d["label_kind"]) for d in got.dimensions] == [
            ("valence", kind), ("arousal", kind), ("intensity", kind)]
    assert all("label_kind" not in d for d in dimensions.common("emonet", [("Valence", 1.0), ("Arousal", 2.0)]))
