"""The record schema is derived from schemas/, not restated."""

from __future__ import annotations

import datasets

from curator.record import schema
from curator.record.taxonomy import taxonomy


def test_features_carry_taxonomy_class_names():
    feats = schema.features()
    assert feats["label"].names == list(taxonomy().basic)
    assert feats["label_fine"].names == list(taxonomy().fine)
    assert feats["scores"].length == len(taxonomy().fine)
    assert isinstance(feats["image"], datasets.Image)


def test_arrow_schema_embeds_hf_metadata_and_round_trips():
    arrow = schema.arrow_schema()
    assert b"huggingface" in arrow.metadata
    assert datasets.Features.from_arrow_schema(arrow) == schema.features()


def test_physio_struct_is_the_union_of_declared_features():
    fields = list(schema.features()["physio"])
    assert fields[:3] == ["eda_mean", "eda_std", "eda_peaks"]
    assert "eye_gaze_x_mean" in fields
    assert schema.physio_features_of("kaggle_physio") == fields[:12]


def test_config_features_drop_their_columns():
    physio = schema.config_features("physio")
    assert "image" not in physio and "physio" in physio
    assert "infrared" in schema.config_features("thermal")


def test_json_schema_lists_every_column_and_the_required_ones():
    js = schema.to_json_schema()
    assert set(js["properties"]) == set(schema.features())
    assert set(js["required"]) == {"id", "source", "group_id", "license"}
    assert js["properties"]["scores"]["maxItems"] == 40


def test_arrow_schema_is_what_datasets_derives():
    """Shards are written with a schema built by pyarrow alone (no `datasets` import in the stages):
    it must be exactly the one `datasets` derives from the Features, metadata bytes included."""
    from curator.record.schema import arrow_schema, features

    ours, theirs = arrow_schema(), features().arrow_schema
    assert ours.equals(theirs, check_metadata=True)
    assert ours.metadata == theirs.metadata


def test_card_yaml_features_are_what_datasets_writes():
    """publish writes the card's `dataset_info.features` without importing `datasets`: for the full
    record and each config's columns it must be exactly `Features._to_yaml_list()`, and
    `Features._from_yaml_list` must read it back to the same Features."""
    full = schema.hf_features()
    assert schema.features().to_dict() == full
    subsets = {"all": list(full), **{c: [k for k in full if k not in schema.config_drops(c)]
                                    for c in schema.config_specs()}}
    for name, cols in subsets.items():
        ours = schema.yaml_features({c: full[c] for c in cols})
        theirs = datasets.Features({c: schema.features()[c] for c in cols})._to_yaml_list()
        assert ours == theirs, name
        assert datasets.Features._from_yaml_list(ours) == datasets.Features({c: schema.features()[c] for c in cols})
    kinds = {f.get("_type") for f in full.values()}
    assert {"Value", "Image", "ClassLabel", "List", None} <= kinds  # every branch is exercised


def test_card_yaml_features_refuse_an_unknown_type():
    import pytest

    with pytest.raises(schema.SchemaError, match="LargeList"):
        schema.yaml_features({"x": {"feature": {"dtype": "int64", "_type": "Value"}, "_type": "LargeList"}})
