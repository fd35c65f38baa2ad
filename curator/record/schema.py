"""The unified record schema, derived from schemas/record.yaml (the single source of truth).

Everything that needs a schema (Parquet writers, HF Features, the dataset card, validation)
asks this module; nothing restates column lists or class names.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import yaml

from curator.errors import SchemaError
from curator.resources import schemas_dir  # the lookup order lives there

if TYPE_CHECKING:  # imported where used: `--help` and params loading need neither
    import datasets
    import pyarrow as pa

_SCALARS = {"string", "bool", "int64", "float32", "float64"}


@cache
def load_yaml(name: str) -> dict[str, Any]:
    """Read one file of schemas/ (cached: these files are small and read everywhere)."""
    with open(schemas_dir() / name, encoding="utf-8") as fh:
        return safe_load(fh)


# libyaml's loader when PyYAML was built with it: the same documents, ~10x faster (the pure-Python
# one took ~0.1 s of every stage call for record.yaml, taxonomy.yaml and a label map)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(stream: Any) -> Any:
    """yaml.safe_load, with libyaml when available."""
    return yaml.load(stream, Loader=_LOADER)


def record_spec() -> dict[str, Any]:
    return load_yaml("record.yaml")


def physio_fields() -> dict[str, str]:
    """Every physio feature name -> dtype, in file order, across all sources."""
    fields: dict[str, str] = {}
    for source, feats in load_yaml("physio.yaml").items():
        for name, spec in feats.items():
            if name in fields:
                raise SchemaError(f"physio feature {name!r} of {source} is declared twice")
            fields[name] = spec["dtype"]
    return fields


def physio_features_of(source: str) -> list[str]:
    return list(load_yaml("physio.yaml").get(source, {}))


@cache
def features() -> datasets.Features:
    """HF Features of the full unified record, in record order (ClassLabel names from the taxonomy)."""
    import datasets

    return datasets.Features({name: _feature(col["type"]) for name, col in record_spec()["columns"].items()})


@cache
def hf_features() -> dict[str, Any]:
    """features() in the dict form `datasets` reads and writes (`Features.to_dict()`): what publish
    selects each config's columns from. Callers must not modify it (cached)."""
    return features().to_dict()


def columns() -> list[str]:
    """Every column of the unified record, in record.yaml order."""
    return list(record_spec()["columns"])


@cache
def image_columns() -> tuple[str, ...]:
    """The columns of type `image` (an HF Image struct {bytes, path}), in record.yaml order."""
    return tuple(name for name, col in record_spec()["columns"].items() if col["type"] == "image")


@cache
def arrow_schema() -> pa.Schema:
    """Arrow schema of the unified record, as `datasets` derives it from the Features (with the
    `huggingface` metadata that makes `load_dataset` read the columns back as these Features)."""
    return features().arrow_schema


def _feature(spec: Any) -> Any:
    """The `datasets` feature of one record.yaml type expression: a scalar name, `image`, `physio`
    (the struct of every source's physio features), `{class_label: <taxonomy level>}`,
    `{list: <type>, length: <n or taxonomy level>}` or `{struct: {name: <type>}}`."""
    import datasets

    if spec == "image":
        return datasets.Image()
    if spec == "physio":
        return {name: _feature(dtype) for name, dtype in physio_fields().items()}
    if isinstance(spec, str) and spec in _SCALARS:
        return datasets.Value(spec)
    if isinstance(spec, dict) and "class_label" in spec:
        return datasets.ClassLabel(names=list(load_yaml("taxonomy.yaml")[spec["class_label"]]))
    if isinstance(spec, dict) and "list" in spec:
        return datasets.List(_feature(spec["list"]), length=_list_length(spec))
    if isinstance(spec, dict) and "struct" in spec:
        return {name: _feature(sub) for name, sub in spec["struct"].items()}
    raise SchemaError(f"record.yaml: unknown type expression {spec!r}")


def _list_length(spec: dict[str, Any]) -> int:
    length = spec.get("length", -1)
    return len(load_yaml("taxonomy.yaml")[length]) if isinstance(length, str) else int(length)


def required_columns() -> list[str]:
    return [name for name, col in record_spec()["columns"].items() if col.get("required")]


def column_docs() -> dict[str, str]:
    return {name: col.get("doc", "") for name, col in record_spec()["columns"].items()}


def config_specs() -> dict[str, dict[str, Any]]:
    """Published modality configs (faces, thermal, physio): filter column and dropped columns."""
    return record_spec()["configs"]


def source_only_columns() -> list[str]:
    """Columns only one source's own config carries (record.yaml `scope: source`): what one source
    alone records, left out of the modality configs that mix sources."""
    return [name for name, col in record_spec()["columns"].items() if col.get("scope") == "source"]


def config_drops(config: str) -> set[str]:
    """Columns a published config never carries: a modality config's `drop` plus the source-only
    columns; a per-source config (any other name) drops nothing."""
    specs = config_specs()
    return {*specs[config].get("drop", ()), *source_only_columns()} if config in specs else set()


def config_features(config: str) -> datasets.Features:
    """Features of one published config: the full record minus the config's dropped columns."""
    import datasets

    drop = config_drops(config)
    return datasets.Features({k: v for k, v in features().items() if k not in drop})


def to_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of one record, for tools outside Python."""
    import datasets


    def convert(feat: Any) -> dict[str, Any]:
        if isinstance(feat, datasets.Image):
            return {"type": ["object", "null"], "properties": {"bytes": {}, "path": {"type": ["string", "null"]}}}
        if isinstance(feat, datasets.ClassLabel):
            return {"type": ["integer", "null"], "minimum": 0, "maximum": feat.num_classes - 1,
                    "description": "class index into: " + ", ".join(feat.names)}
        if isinstance(feat, datasets.List):
            out: dict[str, Any] = {"type": ["array", "null"], "items": convert(feat.feature)}
            if feat.length and feat.length > 0:
                out["minItems"] = out["maxItems"] = feat.length
            return out
        if isinstance(feat, dict):
            return {"type": ["object", "null"], "properties": {k: convert(v) for k, v in feat.items()}}
        kind = {"string": "string", "bool": "boolean", "int64": "integer"}.get(feat.dtype, "number")
        return {"type": [kind, "null"]}

    docs = column_docs()
    props = {name: {**convert(feat), "description": docs[name]} for name, feat in features().items()}
    for name in required_columns():
        props[name]["type"] = props[name]["type"][0]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "emotion-curator unified record",
        "type": "object",
        "properties": props,
        "required": required_columns(),
    }
