"""The record schema is derived from schemas/, not restated."""

from __future__ import annotations

import datasets
import pytest

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


def test_arrow_types_are_what_record_yaml_says():
    """The Arrow schema every stage writes shards with: an image is a bytes/path struct, a class label
    its index, a list with a length (a taxonomy level's size) a fixed-size list."""
    import pyarrow as pa

    arrow = schema.arrow_schema()
    assert arrow.names == schema.columns()
    assert arrow.field("image").type == pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    assert arrow.field("label").type == pa.int64()
    assert arrow.field("scores").type == pa.list_(pa.float32(), len(taxonomy().fine))
    assert arrow.field("physio").type.num_fields == len(schema.physio_fields())


def test_an_unknown_type_expression_is_refused(monkeypatch):
    spec = {"columns": {"x": {"type": {"tensor": 3}}}}
    monkeypatch.setattr(schema, "record_spec", lambda: spec)
    schema.features.cache_clear()
    try:
        with pytest.raises(schema.SchemaError, match="tensor"):
            schema.features()
    finally:
        schema.features.cache_clear()
