"""`curator validate DIR`: check a published folder the way the Hub and its users will read it.

The card against the files (schemas, shard numbering, row counts), the splits (no id in two
splits, none twice in one; originals and augmented copies each in their own split), the values
(every class index names a class), augmented copies (each made from a train record of the same
config), the lineage (what the class indices meant when normalize wrote them is what the card says
they mean) and the Croissant file.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml
from datasets.info import DatasetInfosDict
from huggingface_hub import DatasetCardData

from curator.io.card import read_card_header
from curator.pipeline import lineage
from curator.pipeline.stages import AUGMENTED_SPLIT, TRAIN
from curator.record.schema import config_specs
from curator.stages.publish.croissant import validate_croissant

LABEL_LEVELS = {"label": "basic", "label_fine": "fine", "label_family": "family"}  # ClassLabel column -> level


def validate_folder(folder: Path) -> list[str]:
    """Every problem found (empty list = valid)."""
    folder = Path(folder)
    if not (folder / "README.md").is_file():
        return [f"{folder}: no README.md (dataset card)"]
    try:
        meta = read_card_header(folder)
    except (ValueError, TypeError, UnicodeDecodeError, yaml.YAMLError) as exc:  # TypeError: a key not a string
        return [f"card header does not parse: {exc}"]
    problems: list[str] = []
    configs = _entries(meta, "configs", problems)
    if isinstance(meta.get("dataset_info"), dict):  # `datasets` writes a single config's info as a mapping
        meta["dataset_info"] = [meta["dataset_info"]]
    infos = {i.get("config_name"): i for i in _entries(meta, "dataset_info", problems)}
    class_names: dict[str, list[str]] = {}  # ClassLabel column -> its names, as the card gives them
    for config in configs:
        name = config.get("config_name")
        if name not in infos:
            problems.append(f"config {name}: no dataset_info entry in the card")
            continue
        checked = _check_config(folder, config, infos[name])
        problems += checked.problems
        problems += _same_class_names(name, checked.features, class_names)
    problems += _check_lineage(folder, class_names)
    croissant = folder / "croissant.json"
    if not croissant.is_file():
        problems.append("croissant.json is missing")
    else:
        problems += [f"croissant.json: {p}" for p in validate_croissant(croissant) if "warning" not in p.lower()]
    return problems


def _entries(meta: dict[str, Any], key: str, problems: list[str]) -> list[dict[str, Any]]:
    value = meta.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        problems.append(f"card header: `{key}` must be a non-empty list of mappings (found {type(value).__name__})")
        return []
    return value


def _patterns(entry: dict) -> list[str]:
    path = entry["path"]
    return [path] if isinstance(path, str) else list(path)


def card_features(info: dict[str, Any]) -> datasets.Features:
    """The features one `dataset_info` entry of the card declares, parsed as `load_dataset` parses a
    card (DatasetInfosDict.from_dataset_card_data)."""
    parsed = DatasetInfosDict.from_dataset_card_data(DatasetCardData(dataset_info=dict(info)))
    features = next(iter(parsed.values())).features
    if features is None:
        raise KeyError("features")
    return features


@dataclass
class Checked:
    problems: list[str] = field(default_factory=list)
    features: datasets.Features | None = None


@dataclass
class SplitRows:
    """What one config's split holds: every id (with repeats), and its augmented rows' parents."""

    ids: Counter = field(default_factory=Counter)
    parents: dict[str, str] = field(default_factory=dict)  # augmented row id -> augmented_from


def _check_config(folder: Path, config: dict, info: dict) -> Checked:
    name = config.get("config_name")
    out = Checked()
    try:
        expected = card_features(info)
        entries = [(e["split"], _patterns(e)) for e in config["data_files"]]
        sizes = {s["name"]: s["num_examples"] for s in info.get("splits", [])}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        out.problems.append(f"config {name}: card entry is incomplete or malformed ({type(exc).__name__}: {exc}); "
                            "it needs features, data_files (split, path) and splits")
        return out
    out.features = expected
    columns = config.get("columns")  # a config reads these columns of files shared with other configs
    if columns is not None and list(columns) != list(expected):
        out.problems.append(f"config {name}: `columns` and the card's features differ")
    rows_by_split: dict[str, SplitRows] = defaultdict(SplitRows)
    for split, patterns in entries:
        rows, numbered = 0, True
        for pattern in patterns:
            shards = sorted(folder.glob(pattern))
            if not shards:
                out.problems.append(f"config {name}, split {split}: no files match {pattern}")
                numbered = False
                continue
            for group in _by_folder(shards).values():
                numbered &= _check_numbering(name, split, group, out.problems) is not None
            for shard in shards:
                rows += _check_shard(folder, shard, expected, rows_by_split[split], out.problems)
                out.problems += _check_rows(folder, shard, name, split)
        if numbered and sizes.get(split) != rows:
            out.problems.append(f"config {name}, split {split}: {rows} rows in files, card says {sizes.get(split)}")
    out.problems += _check_ids(name, rows_by_split)
    return out


def _check_rows(folder: Path, shard: Path, config: str, split: str) -> list[str]:
    """The split holds what its name says (originals, or augmented copies only), and a modality
    config's default label column is set on every row."""
    try:
        names = pq.ParquetFile(shard).schema_arrow.names
    except Exception:  # unreadable: _check_shard has said so
        return []
    problems = []
    rel = shard.relative_to(folder)
    if "augmented_from" in names:
        copies = pq.read_table(shard, columns=["augmented_from"]).column("augmented_from")
        augmented = len(copies) - copies.null_count
        if split == AUGMENTED_SPLIT and augmented < len(copies):
            problems.append(f"{rel}: {len(copies) - augmented} original row(s) in the {AUGMENTED_SPLIT} split")
        if split != AUGMENTED_SPLIT and augmented:
            problems.append(f"{rel}: {augmented} augmented row(s) in the {split} split")
    label = config_specs().get(config, {}).get("label")
    if label and label in names:
        missing = pq.read_table(shard, columns=[label]).column(label).null_count
        if missing:
            problems.append(f"config {config}: {rel}: {missing} row(s) without `{label}`, its default label")
    return problems


def _by_folder(shards: list[Path]) -> dict[Path, list[Path]]:
    groups: dict[Path, list[Path]] = defaultdict(list)
    for shard in shards:
        groups[shard.parent].append(shard)
    return groups


def _check_shard(folder: Path, shard: Path, expected: datasets.Features, rows: SplitRows, problems: list[str]) -> int:
    """Rows of one shard (0 when unreadable); its schema must hold the card's features, its class
    indices must name classes. Records its ids and augmented rows' parents in `rows`."""
    where = shard.relative_to(folder)
    try:
        pf = pq.ParquetFile(shard)
        found = datasets.Features.from_arrow_schema(pf.schema_arrow)
        classes = {c: f.num_classes for c, f in expected.items() if isinstance(f, datasets.ClassLabel) and c in found}
        table = pf.read(columns=["id", *(["augmented_from"] if "augmented_from" in found else []), *classes])
    except Exception as exc:  # a truncated or non-Parquet file: pyarrow raises several types
        problems.append(f"{where}: unreadable ({type(exc).__name__}: {exc})")
        return 0
    if any(col not in found or found[col] != feat for col, feat in expected.items()):
        problems.append(f"{where}: schema differs from the card's features")
    for column, n in classes.items():
        low, high = (v.as_py() for v in pc.min_max(table.column(column)).values())
        if low is not None and (low < 0 or high >= n):
            problems.append(f"{where}: {column} holds class index {low if low < 0 else high}, outside 0..{n - 1}")
    ids = table.column("id").to_pylist()
    rows.ids.update(ids)
    if "augmented_from" in table.column_names:
        for rid, parent in zip(ids, table.column("augmented_from").to_pylist(), strict=True):
            if parent is not None:
                rows.parents[rid] = parent
    return pf.metadata.num_rows


def _check_ids(name: str, rows_by_split: dict[str, SplitRows]) -> list[str]:
    """No id twice within a split or in two splits; every augmented copy made from a train original."""
    problems = []
    for split, rows in sorted(rows_by_split.items()):
        repeated = sorted(rid for rid, n in rows.ids.items() if n > 1)
        if repeated:
            problems.append(f"config {name}, split {split}: {len(repeated)} id(s) appear more than once, "
                            f"e.g. {repeated[0]}")
    splits = sorted(rows_by_split)
    for i, a in enumerate(splits):
        for b in splits[i + 1:]:
            shared = rows_by_split[a].ids.keys() & rows_by_split[b].ids.keys()
            if shared:
                problems.append(f"config {name}: {len(shared)} id(s) in both {a} and {b}, e.g. {sorted(shared)[0]}")
    train = rows_by_split.get(TRAIN, SplitRows())
    originals = train.ids.keys() - train.parents.keys()
    copies = rows_by_split.get(AUGMENTED_SPLIT, SplitRows()).parents
    orphans = sorted(rid for rid, parent in copies.items() if parent not in originals)
    if orphans:
        problems.append(f"config {name}, split {AUGMENTED_SPLIT}: {len(orphans)} augmented row(s) whose parent is "
                        "not a "
                        f"train record, e.g. {orphans[0]} (from {copies[orphans[0]]}); re-run `curator augment` "
                        "and `curator publish`")
    return problems


def _same_class_names(config: str, features: datasets.Features | None, seen: dict[str, list[str]]) -> list[str]:
    """Every config names a label level's classes alike; the first config's names are kept in `seen`."""
    problems = []
    for column in LABEL_LEVELS:
        feature = features.get(column) if features is not None else None
        if not isinstance(feature, datasets.ClassLabel):
            continue
        if seen.setdefault(column, feature.names) != feature.names:
            problems.append(f"config {config}: `{column}` names its classes differently from another config")
    return problems


def _check_lineage(folder: Path, class_names: dict[str, list[str]]) -> list[str]:
    """The data's own account of itself: a published folder's manifest, whose taxonomy (what the
    class indices meant when normalize wrote them) must be the one the card's class names give."""
    path = lineage.manifest_path(folder, "published")
    where = path.relative_to(folder)
    if not path.is_file():
        return [f"{where} is missing: not made by `curator publish`, or by an older version; re-run it"]
    try:  # the checked loader: a hand-edited manifest is one problem line, never an internal error
        manifest = lineage.load(path, rerun=lineage.MAKES["published"])
    except lineage.ManifestError as exc:
        return [f"{where} is not a readable manifest ({exc.what}); re-run `curator publish`"]
    kind, labelled = manifest["kind"], manifest["taxonomy"]
    inputs = [i.get("taxonomy") for i in manifest["inputs"] if i.get("kind") in lineage.LABELLED]
    if kind != "published":
        return [f"{where} says this is {kind} data, not a published folder"]
    problems = []
    if any(t != labelled for t in inputs):
        problems.append("the split and augmented data were labelled with different taxonomies; re-run "
                        "`curator normalize` and every stage after it")
    if set(class_names) == set(LABEL_LEVELS):
        names = {level: class_names[column] for column, level in LABEL_LEVELS.items()}
        if lineage.taxonomy_digest(**names) != labelled:
            problems.append("the card's class names are not the taxonomy the data was labelled with "
                            "(schemas/taxonomy.yaml changed between normalize and publish): class indices would "
                            "name the wrong classes; re-run `curator normalize` and every stage after it")
    return problems


def _check_numbering(name: str, split: str, shards: list[Path], problems: list[str]) -> int | None:
    """Shards are `<split>-NNNNN-of-TTTTT.parquet`: every index 0..T-1 must be present."""
    try:
        totals = {int(p.stem.rsplit("-of-", 1)[1]) for p in shards}
        indices = {int(p.stem.rsplit("-of-", 1)[0].rsplit("-", 1)[1]) for p in shards}
    except (IndexError, ValueError):
        problems.append(f"config {name}, split {split}: shard names are not <split>-NNNNN-of-NNNNN.parquet")
        return None
    if len(totals) != 1 or indices != set(range(next(iter(totals)))):
        missing = sorted(set(range(max(totals))) - indices)
        problems.append(f"config {name}, split {split}: shard(s) missing: index {missing} of {max(totals)}")
    return max(totals)
