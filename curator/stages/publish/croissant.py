"""croissant.json: Croissant 1.x metadata (with its Responsible-AI fields) of a published folder.

Built as mlcroissant objects (the dataset's metadata, one FileSet and one RecordSet per config, the
class-name enumerations) and written with `Metadata.to_json()`; the record sets are derived from
each config's HF features. Tests validate the file with mlcroissant and read records through it.

Each published file is also a FileObject with its sha256 and size (the hashes .curator/SHA256SUMS
lists, computed once): the FileSets read the shards through their globs, the FileObjects say what
their bytes are. croissant.json cannot list itself, nor README.md, which push rewrites.
"""

from __future__ import annotations

import json
import logging
import mimetypes
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from curator.config import BuildFacts, Publish
from curator.pipeline.stages import PUBLISHED_SPLITS, REPO_PLACEHOLDER
from curator.record.schema import load_yaml
from curator.record.taxonomy import taxonomy
from curator.sources import get_recipe
from curator.stages.publish.filelist import CROISSANT
from curator.stages.publish.layout import ConfigOutput

if TYPE_CHECKING:
    import mlcroissant as mlc

# HF Value dtype -> the mlcroissant.DataType member it is written as
_SCALAR_TYPES = {"string": "TEXT", "bool": "BOOL", "int64": "INTEGER", "float32": "FLOAT32", "float64": "FLOAT64"}
ENUMERATION = "https://schema.org/Enumeration"  # a record set of class names (no mlcroissant.DataType member)


def _field(record_set: str, name: str, feature: dict[str, Any], file_set: str,
           path: tuple[str, ...] = ()) -> mlc.Field:
    """One Croissant field for an HF feature in dict form (Features.to_dict): scalars, class labels,
    images, structs and lists."""
    import mlcroissant as mlc

    field: dict[str, Any] = {"id": f"{record_set}/{'/'.join((*path, name))}", "name": name}
    repeated = feature.get("_type") == "List"
    inner = feature["feature"] if repeated else feature
    if repeated:
        length = feature.get("length", -1)
        field["array_shape"] = str(length) if length > 0 else "-1"
        field["is_array"] = True
    kind = inner.get("_type")
    if kind is None:  # a struct
        subs = [_field(record_set, sub, feat, file_set, (*path, name)) for sub, feat in inner.items()]
        return mlc.Field(**field, sub_fields=subs)
    # nested values: read the top-level column, then pick the member (as the Hub's own Croissant does)
    json_path = ".".join((*path[1:], name)) if path else None
    if kind == "ClassLabel":
        field["description"] = f"class index into the `{_enum_id(inner)}` enumeration"
        field["data_types"] = mlc.DataType.INTEGER
        field["references"] = mlc.Source(field=f"{_enum_id(inner)}/index")
    elif kind == "Image":
        field["data_types"] = mlc.DataType.IMAGE_OBJECT
        json_path = "bytes"
    else:
        field["data_types"] = getattr(mlc.DataType, _SCALAR_TYPES.get(inner["dtype"], "TEXT"))
    transforms = [mlc.Transform(json_path=json_path)] if json_path else []
    extract = mlc.Extract(column=path[0] if path else name)
    return mlc.Field(**field, source=mlc.Source(file_set=file_set, extract=extract, transforms=transforms))


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))  # three EmoNet-Face configs share one licence and one paper


def _enum_id(feature: dict[str, Any]) -> str:
    """`classes_<taxonomy level>`: the level whose class list this is (a ClassLabel in dict form)."""
    levels, names = load_yaml("taxonomy.yaml"), feature["names"]
    return next((f"classes_{level}" for level, level_names in levels.items()
                 if isinstance(level_names, dict | list) and list(level_names) == names), f"classes_{len(names)}")


def _enumerations(configs: list[Any]) -> list[mlc.RecordSet]:
    """One enumeration record set per class list (basic, fine), shared by every config."""
    import mlcroissant as mlc

    seen: dict[str, dict[str, Any]] = {}
    for cfg in configs:
        for feat in cfg.features.values():
            if feat.get("_type") == "ClassLabel":
                seen.setdefault(_enum_id(feat), feat)
    return [mlc.RecordSet(id=rid, name=rid, data_types=[ENUMERATION],
                          description=f"class index -> name ({len(feat['names'])} classes, taxonomy.yaml)",
                          key=f"{rid}/index",
                          fields=[mlc.Field(id=f"{rid}/index", name="index", data_types=mlc.DataType.INTEGER),
                                  mlc.Field(id=f"{rid}/name", name="name", data_types=mlc.DataType.TEXT)],
                          data=[{f"{rid}/index": i, f"{rid}/name": n} for i, n in enumerate(feat["names"])])
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


def _split_field(name: str, file_set: str) -> mlc.Field:
    import mlcroissant as mlc

    source = mlc.Source(file_set=file_set, extract=mlc.Extract(file_property=mlc.FileProperty.filename),
                        transforms=[mlc.Transform(regex=SPLIT_REGEX)])
    return mlc.Field(id=f"{name}/split", name="split", data_types=mlc.DataType.TEXT, source=source,
                     description="the split, from the shard's file name: filter on it to read one split's files only")


def _file_objects(folder: Path, sums: dict[str, str]) -> list[mlc.FileObject]:
    """One FileObject per published file: its path in the folder, size and sha256."""
    import mlcroissant as mlc

    return [mlc.FileObject(id=path, name=path, content_url=path, sha256=digest,
                           content_size=f"{(folder / path).stat().st_size} B", encoding_formats=[_format(path)])
            for path, digest in sorted(sums.items())]


def _format(path: str) -> str:
    suffix = PurePosixPath(path).suffix
    return _FORMATS.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


_FORMATS = {".parquet": "application/x-parquet", ".yaml": "application/yaml"}  # mimetypes knows neither


def build_croissant(configs: list[Any], sources: list[str], conf: Publish, facts: BuildFacts,
                    files: list[mlc.FileObject] | None = None) -> mlc.Metadata:
    import mlcroissant as mlc

    infos = [get_recipe(s).INFO for s in sources]
    distribution: list[Any] = list(files or [])
    record_sets = []
    for cfg in _record_set_configs(configs, sources):
        file_set = f"{cfg.name}-parquet"
        includes = [p.glob(s) for s in cfg.split_sizes() for p in cfg.parts if p.rows(s)]
        distribution.append(mlc.FileSet(id=file_set, name=file_set, encoding_formats=["application/x-parquet"],
                                        includes=includes))
        fields = [_field(cfg.name, col, feat, file_set) for col, feat in cfg.features.items()]
        record_sets.append(mlc.RecordSet(id=cfg.name, name=cfg.name, description=cfg.doc,
                                         fields=[_split_field(cfg.name, file_set), *fields]))
    record_sets += _enumerations(configs)
    return mlc.Metadata(**dataset_fields(infos, conf, facts), distribution=distribution, record_sets=record_sets)


def dataset_fields(infos: list[Any], conf: Publish, facts: BuildFacts) -> dict[str, Any]:
    """The dataset-level fields, as keyword arguments of `mlcroissant.Metadata`: the split ratios as the
    build's split recorded them (its lineage.json), the class counts from taxonomy.yaml."""
    tax = taxonomy()
    return dict(
        name=conf.name,
        description="Facial-emotion data from several sources, labels mapped into one taxonomy "
                    f"({len(tax.basic)} basic classes, {len(tax.fine)} EmoNet-Face classes), "
                    f"{facts.ratios_text()} (train/validation/test) without subject leakage.",
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


def write_croissant(folder: Path, configs: list[Any], sources: list[str], conf: Publish, facts: BuildFacts,
                    sums: dict[str, str]) -> Path:
    """`sums`: path -> sha256 of every other published file (filelist.hash_published)."""
    path = Path(folder) / CROISSANT
    doc = build_croissant(configs, sources, conf, facts, _file_objects(Path(folder), sums)).to_json()
    # compact: whitespace was half of the file
    path.write_text(json.dumps(doc, separators=(",", ":"), default=str) + "\n")
    return path


def validate_croissant(path: Path) -> list[str]:
    """Problems mlcroissant finds in the file (empty when valid)."""
    import mlcroissant as mlc

    logging.getLogger("absl").setLevel(logging.ERROR)  # mlcroissant logs warnings through absl
    try:
        mlc.Dataset(jsonld=str(path))
    except Exception as exc:  # mlcroissant raises ValidationError (and others) with the full list
        return [line for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
    return []
