"""croissant.json: Croissant 1.x metadata (with its Responsible-AI fields) of a published folder.

Plain JSON-LD in the form mlcroissant writes it: the dataset-level metadata (context, licences, RAI
fields) as `mlcroissant.Metadata(...).to_json()` gives it (a test compares the two), the record
sets derived from each config's HF features. Building them as mlcroissant objects and serialising
took ~4 s per publish, whatever the data size, and importing mlcroissant (it imports pandas) ~0.4 s
of every publish call. Tests validate the file with mlcroissant and read records through it.
"""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

from curator.config import Publish
from curator.pipeline.stages import PUBLISHED_SPLITS, REPO_PLACEHOLDER
from curator.record.schema import load_yaml
from curator.sources import get_recipe
from curator.stages.publish.layout import ConfigOutput

_SCALAR_TYPES = {
    "string": "sc:Text", "bool": "sc:Boolean", "int64": "sc:Integer", "float32": "cr:Float32", "float64": "cr:Float64",
}


def _field(record_set: str, name: str, feature: dict[str, Any], file_set: str,
           path: tuple[str, ...] = ()) -> dict[str, Any]:
    """One Croissant field for an HF feature in dict form (Features.to_dict): scalars, class labels,
    images, structs and lists."""
    field: dict[str, Any] = {"@type": "cr:Field", "@id": f"{record_set}/{'/'.join((*path, name))}", "name": name}
    repeated = feature.get("_type") == "List"
    inner = feature["feature"] if repeated else feature
    if repeated:
        length = feature.get("length", -1)
        field["cr:arrayShape"] = str(length) if length > 0 else "-1"
        field["cr:isArray"] = True
    kind = inner.get("_type")
    if kind is None:  # a struct
        field["subField"] = [_field(record_set, sub, feat, file_set, (*path, name)) for sub, feat in inner.items()]
        return field
    # nested values: read the top-level column, then pick the member (as the Hub's own Croissant does)
    json_path = ".".join((*path[1:], name)) if path else None
    if kind == "ClassLabel":
        field["description"] = f"class index into the `{_enum_id(inner)}` enumeration"
        field["dataType"] = "sc:Integer"
        field["references"] = {"field": {"@id": f"{_enum_id(inner)}/index"}}
    elif kind == "Image":
        field["dataType"] = "sc:ImageObject"
        json_path = "bytes"
    else:
        field["dataType"] = _SCALAR_TYPES.get(inner["dtype"], "sc:Text")
    source: dict[str, Any] = {"fileSet": {"@id": file_set}, "extract": {"column": path[0] if path else name}}
    if json_path:
        source["transform"] = {"jsonPath": json_path}
    field["source"] = source
    return field


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))  # three EmoNet-Face configs share one licence and one paper


def _enum_id(feature: dict[str, Any]) -> str:
    """`classes_<taxonomy level>`: the level whose class list this is (a ClassLabel in dict form)."""
    levels, names = load_yaml("taxonomy.yaml"), feature["names"]
    return next((f"classes_{level}" for level, level_names in levels.items()
                 if isinstance(level_names, dict | list) and list(level_names) == names), f"classes_{len(names)}")


def _enumerations(configs: list[Any]) -> list[dict[str, Any]]:
    """One enumeration record set per class list (basic, fine), shared by every config."""
    seen: dict[str, dict[str, Any]] = {}
    for cfg in configs:
        for feat in cfg.features.values():
            if feat.get("_type") == "ClassLabel":
                seen.setdefault(_enum_id(feat), feat)
    return [{"@type": "cr:RecordSet", "@id": rid, "name": rid, "dataType": "sc:Enumeration",
             "description": f"class index -> name ({len(feat['names'])} classes, taxonomy.yaml)",
             "key": {"@id": f"{rid}/index"},
             "field": [{"@type": "cr:Field", "@id": f"{rid}/index", "name": "index", "dataType": "sc:Integer"},
                       {"@type": "cr:Field", "@id": f"{rid}/name", "name": "name", "dataType": "sc:Text"}],
             "data": [{f"{rid}/index": i, f"{rid}/name": n} for i, n in enumerate(feat["names"])]}
            for rid, feat in seen.items()]


ALL_RECORDS = "all_records"


def _record_set_configs(configs: list[Any], sources: list[str]) -> list[Any]:
    """The modality configs, then one set of every record (the per-source configs' files, each row
    once, filtered on `source` for one source): per-source sets would repeat the schema per source,
    and leaving them out would lose the rows no modality config has (e.g. EmoNet's unlabelled)."""
    modality = [c for c in configs if c.name not in sources]
    per_source = [c for c in configs if c.name in sources]
    if not per_source:
        return modality
    splits = tuple(dict.fromkeys(s for c in per_source for s in c.splits))
    every = ConfigOutput(ALL_RECORDS, "every published record once, from every source: filter on `source` "
                         "for one source's records (its Hub config)", [p for c in per_source for p in c.parts],
                         splits=splits)
    return [*modality, every]


SPLIT_REGEX = rf"^({'|'.join(PUBLISHED_SPLITS)})-.*\.parquet$"


def _split_field(name: str, file_set: str) -> dict[str, Any]:
    return {"@type": "cr:Field", "@id": f"{name}/split", "name": "split", "dataType": "sc:Text",
            "description": "the split, from the shard's file name: filter on it to read one split's files only",
            "source": {"fileSet": {"@id": file_set}, "extract": {"fileProperty": "filename"},
                       "transform": {"regex": SPLIT_REGEX}}}


def build_croissant(configs: list[Any], sources: list[str], conf: Publish) -> dict[str, Any]:
    infos = [get_recipe(s).INFO for s in sources]
    distribution, record_sets = [], []
    for cfg in _record_set_configs(configs, sources):
        file_set = f"{cfg.name}-parquet"
        includes = [p.glob(s) for s in cfg.split_sizes() for p in cfg.parts if p.rows(s)]
        distribution.append({"@type": "cr:FileSet", "@id": file_set, "name": file_set,
                             "encodingFormat": "application/x-parquet", "includes": includes})
        fields = [_field(cfg.name, col, feat, file_set) for col, feat in cfg.features.items()]
        record_sets.append({"@type": "cr:RecordSet", "@id": cfg.name, "name": cfg.name, "description": cfg.doc,
                            "field": [_split_field(cfg.name, file_set), *fields]})
    record_sets += _enumerations(configs)
    return {**dataset_metadata(dataset_fields(infos, conf)), "distribution": distribution, "recordSet": record_sets}


def dataset_fields(infos: list[Any], conf: Publish) -> dict[str, Any]:
    """The dataset-level fields, as keyword arguments of `mlcroissant.Metadata`."""
    return dict(
        name=conf.name,
        description="Facial-emotion data from several sources, labels mapped into one taxonomy "
                    "(8 basic classes, 40 EmoNet-Face classes), split 70/15/15 without subject leakage.",
        license=_unique([i.license for i in infos]),
        url=f"https://huggingface.co/datasets/{REPO_PLACEHOLDER}",  # `curator push` fills in the repo id
        cite_as="; ".join(_unique([i.citation for i in infos])),
        version="1.0.0",
        data_collection="Aggregated from public/licensed sources: " + "; ".join(i.title for i in infos),
        data_preprocessing_protocol=["labels mapped by each source's labels.yaml (one reason per entry)",
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


# Croissant 1.0: its JSON-LD context, and the JSON-LD key of each dataset_fields() keyword, as
# mlcroissant 1.x writes them
CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
CONTEXT: dict[str, Any] = {
    "@language": "en", "@vocab": "https://schema.org/", "citeAs": "cr:citeAs", "column": "cr:column",
    "conformsTo": "dct:conformsTo", "cr": "http://mlcommons.org/croissant/", "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"}, "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/", "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"}, "extract": "cr:extract", "field": "cr:field",
    "fileProperty": "cr:fileProperty", "fileObject": "cr:fileObject", "fileSet": "cr:fileSet", "format": "cr:format",
    "includes": "cr:includes", "isLiveDataset": "cr:isLiveDataset", "jsonPath": "cr:jsonPath", "key": "cr:key",
    "md5": "cr:md5", "parentField": "cr:parentField", "path": "cr:path", "recordSet": "cr:recordSet",
    "references": "cr:references", "regex": "cr:regex", "repeated": "cr:repeated", "replace": "cr:replace",
    "samplingRate": "cr:samplingRate", "sc": "https://schema.org/", "separator": "cr:separator", "source": "cr:source",
    "subField": "cr:subField", "transform": "cr:transform",
}
_KEYS = {"name": "name", "description": "description", "license": "license", "url": "url", "cite_as": "citeAs",
         "version": "version", "data_collection": "rai:dataCollection",
         "data_preprocessing_protocol": "rai:dataPreprocessingProtocol",
         "data_annotation_protocol": "rai:dataAnnotationProtocol", "data_biases": "rai:dataBiases",
         "data_limitations": "rai:dataLimitations", "data_use_cases": "rai:dataUseCases",
         "data_social_impact": "rai:dataSocialImpact",
         "personal_sensitive_information": "rai:personalSensitiveInformation"}
_FIRST = ("@context", "@type", "name", "description", "conformsTo")  # then the rest sorted, as mlcroissant does


def dataset_metadata(fields: dict[str, Any]) -> dict[str, Any]:
    """`mlcroissant.Metadata(**fields).to_json()` for these fields without importing mlcroissant: a
    one-item list is written as its item, empty values are left out, keys in mlcroissant's order."""
    doc: dict[str, Any] = {"@context": copy.deepcopy(CONTEXT), "@type": "sc:Dataset", "conformsTo": CONFORMS_TO}
    for key, value in fields.items():
        value = value[0] if isinstance(value, list) and len(value) == 1 else value
        if value or isinstance(value, bool):
            doc[_KEYS[key]] = value
    first = [k for k in _FIRST if k in doc]
    return {k: doc[k] for k in [*first, *sorted(k for k in doc if k not in first)]}


def write_croissant(folder: Path, configs: list[Any], sources: list[str], conf: Publish) -> Path:
    path = Path(folder) / "croissant.json"
    # compact: whitespace was half of the file
    path.write_text(json.dumps(build_croissant(configs, sources, conf), separators=(",", ":"), default=str) + "\n")
    return path


def validate_croissant(path: Path) -> list[str]:
    """Problems mlcroissant finds in the file (empty when valid)."""
    import mlcroissant as mlc  # ~0.4 s: only validation needs it

    logging.getLogger("absl").setLevel(logging.ERROR)  # mlcroissant logs warnings through absl
    try:
        mlc.Dataset(jsonld=str(path))
    except Exception as exc:  # mlcroissant raises ValidationError (and others) with the full list
        return [line for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
    return []
