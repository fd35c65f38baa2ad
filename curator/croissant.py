"""croissant.json: Croissant 1.x metadata (with its Responsible-AI fields) of a published folder.

Built with mlcroissant's own classes, so what we write is what its validator reads; fields
are derived from each config's HF features.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import datasets
import mlcroissant as mlc

from curator.sources import get_recipe

_SCALAR_TYPES = {
    "string": mlc.DataType.TEXT, "bool": mlc.DataType.BOOL, "int64": mlc.DataType.INTEGER,
    "float32": mlc.DataType.FLOAT32, "float64": mlc.DataType.FLOAT64,
}


def _field(record_set: str, name: str, feature: Any, file_set: str, path: tuple[str, ...] = ()) -> mlc.Field:
    """One Croissant field for an HF feature: scalars, class labels, images, structs and lists."""
    uid = f"{record_set}/{'/'.join((*path, name))}"
    column = path[0] if path else name
    json_path = ".".join((*path[1:], name)) if path else None
    extract = mlc.Extract(column=column)
    # nested values: read the top-level column, then pick the member (as the Hub's own Croissant does)
    transforms = [mlc.Transform(json_path=json_path)] if json_path else None
    source = mlc.Source(file_set=file_set, extract=extract, transforms=transforms)
    repeated = isinstance(feature, datasets.List)
    inner = feature.feature if repeated else feature
    kwargs: dict[str, Any] = {"id": uid, "name": name, "is_array": repeated or None}
    if repeated:
        kwargs["array_shape"] = str(feature.length) if feature.length and feature.length > 0 else "-1"
    if isinstance(inner, datasets.ClassLabel):
        return mlc.Field(**kwargs, description="class index: " + ", ".join(inner.names),
                         data_types=[mlc.DataType.INTEGER], source=source)
    if isinstance(inner, datasets.Image):
        image_source = mlc.Source(file_set=file_set, extract=extract, transforms=[mlc.Transform(json_path="bytes")])
        return mlc.Field(**kwargs, data_types=[mlc.DataType.IMAGE_OBJECT], source=image_source)
    if isinstance(inner, dict):
        subs = [_field(record_set, sub, feat, file_set, (*path, name)) for sub, feat in inner.items()]
        return mlc.Field(**kwargs, sub_fields=subs)
    return mlc.Field(**kwargs, data_types=[_SCALAR_TYPES.get(inner.dtype, mlc.DataType.TEXT)], source=source)


def build_croissant(configs: list[Any], sources: list[str], params: dict[str, Any]) -> dict[str, Any]:
    infos = [get_recipe(s).INFO for s in sources]
    name = params.get("publish", {}).get("name", "emotion-curator")
    distribution, record_sets = [], []
    for cfg in configs:
        file_set = f"{cfg.name}-parquet"
        distribution.append(mlc.FileSet(id=file_set, name=file_set, encoding_formats=["application/x-parquet"],
                                        includes=[f"data/{cfg.name}/*.parquet"]))
        fields = [_field(cfg.name, col, feat, file_set) for col, feat in cfg.features.items()]
        record_sets.append(mlc.RecordSet(id=cfg.name, name=cfg.name, description=cfg.doc, fields=fields))
    metadata = mlc.Metadata(
        name=name,
        description="Facial-emotion data from several sources, labels mapped into one taxonomy "
                    "(8 basic classes, 40 EmoNet-Face classes), split 70/15/15 without subject leakage.",
        license=[i.license for i in infos],
        url="https://huggingface.co/datasets",
        cite_as="; ".join(i.citation for i in infos),
        version="1.0.0",
        distribution=distribution,
        record_sets=record_sets,
        data_collection="Aggregated from public/licensed sources: " + "; ".join(i.title for i in infos),
        data_preprocessing_protocol=["labels mapped by schemas/maps (one reason per entry)",
                                     "images validated with a pixel cap; bad items rejected with a reason",
                                     "exact and near duplicates kept within one split"],
        data_annotation_protocol=["source annotations kept per annotator in `annotations`"],
        data_biases=["posed expressions dominate (Kaggle, VIRI, NVIE); EmoNet-Face images are synthetic",
                     "class balance differs by source"],
        data_limitations=["basic labels are a roll-up of fine labels; some fine classes have no basic label"],
        data_use_cases=["research on facial-expression recognition; not for decisions about real people"],
        data_social_impact="Emotion inference from faces is contested and regulated (EU AI Act): no use in "
                           "workplaces or education, no biometric categorisation of real people.",
        personal_sensitive_information=["faces of real people (VIRI, NVIE, EMER, Kaggle features)"],
    )
    return metadata.to_json()


def write_croissant(folder: Path, configs: list[Any], sources: list[str], params: dict[str, Any]) -> Path:
    path = Path(folder) / "croissant.json"
    path.write_text(json.dumps(build_croissant(configs, sources, params), indent=2, default=str) + "\n")
    return path


def validate_croissant(path: Path) -> list[str]:
    """Problems mlcroissant finds in the file (empty when valid)."""
    logging.getLogger("absl").setLevel(logging.ERROR)  # mlcroissant logs warnings through absl
    try:
        mlc.Dataset(jsonld=str(path))
    except Exception as exc:  # mlcroissant raises ValidationError (and others) with the full list
        return [line for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
    return []
