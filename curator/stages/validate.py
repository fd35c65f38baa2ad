"""`curator validate DIR`: check a published folder the way the Hub and its users will read it.

The card against the files (schemas, shard numbering, row counts), the splits (no id in two
splits, none twice in one), the values (every class index names a class), augmented rows (their
parents are train records of the same config), the lineage (what the class indices meant when
the data was labelled is what the card says they mean) and the Croissant file.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from curator.stages import lineage
from curator.stages.publish_croissant import validate_croissant

LABEL_LEVELS = {"label": "basic", "label_fine": "fine", "label_family": "family"}  # ClassLabel column -> level


def read_card_header(folder: Path) -> dict[str, Any]:
    text = (Path(folder) / "README.md").read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise ValueError("README.md has no YAML header")
    header = text.split("---\n", 2)[1]
    meta = yaml.safe_load(header)
    if not isinstance(meta, dict):
        raise ValueError("README.md YAML header is not a mapping")
    return meta


def validate_folder(folder: Path) -> list[str]:
    """Every problem found (empty list = valid)."""
    folder = Path(folder)
    if not (folder / "README.md").is_file():
        return [f"{folder}: no README.md (dataset card)"]
    try:
        meta = read_card_header(folder)
    except (ValueError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return [f"card header does not parse: {exc}"]
    problems: list[str] = []
    configs = _entries(meta, "configs", problems)
    infos = {i.get("config_name"): i for i in _entries(meta, "dataset_info", problems)}
    features: datasets.Features | None = None
    for config in configs:
        name = config.get("config_name")
        if name not in infos:
            problems.append(f"config {name}: no dataset_info entry in the card")
            continue
        checked = _check_config(folder, config, infos[name])
        problems += checked.problems
        features = features or checked.features
    problems += _check_lineage(folder, features)
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
        expected = datasets.Features._from_yaml_list(info["features"])
        files = [(e["split"], e["path"]) for e in config["data_files"]]
        sizes = {s["name"]: s["num_examples"] for s in info.get("splits", [])}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        out.problems.append(f"config {name}: card entry is incomplete or malformed ({type(exc).__name__}: {exc}); "
                            "it needs features, data_files (split, path) and splits")
        return out
    out.features = expected
    rows_by_split: dict[str, SplitRows] = defaultdict(SplitRows)
    for split, pattern in files:
        shards = sorted(folder.glob(pattern))
        if not shards:
            out.problems.append(f"config {name}, split {split}: no files match {pattern}")
            continue
        total = _check_numbering(name, split, shards, out.problems)
        rows = sum(_check_shard(folder, shard, expected, rows_by_split[split], out.problems) for shard in shards)
        if total is not None and sizes.get(split) != rows:
            out.problems.append(f"config {name}, split {split}: {rows} rows in files, card says {sizes.get(split)}")
    out.problems += _check_ids(name, rows_by_split)
    return out


def _check_shard(folder: Path, shard: Path, expected: datasets.Features, rows: SplitRows, problems: list[str]) -> int:
    """Schema and class indices of one shard; records its ids. Returns its row count."""
    where = shard.relative_to(folder)
    try:
        pf = pq.ParquetFile(shard)
        if datasets.Features.from_arrow_schema(pf.schema_arrow) != expected:
            problems.append(f"{where}: schema differs from the card's features")
            return pf.metadata.num_rows
        classes = {c: f.num_classes for c, f in expected.items() if isinstance(f, datasets.ClassLabel)}
        table = pf.read(columns=["id", "augmented_from", *classes])
    except Exception as exc:  # a truncated or non-Parquet file: pyarrow raises several types
        problems.append(f"{where}: unreadable ({type(exc).__name__}: {exc})")
        return 0
    for column, n in classes.items():
        _check_class_index(where, column, table.column(column), n, problems)
    ids = table.column("id").to_pylist()
    rows.ids.update(ids)
    for rid, parent in zip(ids, table.column("augmented_from").to_pylist(), strict=True):
        if parent is not None:
            rows.parents[rid] = parent
    return table.num_rows


def _check_class_index(where: Path, column: str, values: Any, classes: int, problems: list[str]) -> None:
    low, high = pc.min_max(values).values()
    low, high = low.as_py(), high.as_py()
    if low is not None and (low < 0 or high >= classes):
        bad = low if low < 0 else high
        problems.append(f"{where}: {column} holds class index {bad}, outside 0..{classes - 1}")


def _check_ids(name: str, rows_by_split: dict[str, SplitRows]) -> list[str]:
    """No id twice within a split or in two splits; augmented rows only in train, each from a train record."""
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
    for split, rows in sorted(rows_by_split.items()):
        if rows.parents and split != "train":
            problems.append(f"config {name}, split {split}: {len(rows.parents)} augmented row(s); "
                            "augmented copies belong in train only")
    train = rows_by_split.get("train", SplitRows())
    originals = train.ids.keys() - train.parents.keys()
    orphans = sorted(rid for rid, parent in train.parents.items() if parent not in originals)
    if orphans:
        problems.append(f"config {name}, split train: {len(orphans)} augmented row(s) whose parent is not a train "
                        f"record, e.g. {orphans[0]} (from {train.parents[orphans[0]]}); re-run `curator augment` "
                        "and `curator publish`")
    return problems


def _check_lineage(folder: Path, features: datasets.Features | None) -> list[str]:
    """The data's own account of itself: a published folder's manifest, whose taxonomy (what the
    class indices meant when normalize wrote them) must be the one the card's class names give."""
    path = lineage.manifest_path(folder, "published")
    if not path.is_file():
        return [f"{path.relative_to(folder)} is missing: not made by `curator publish`, or by an older version; "
                "re-run `curator publish`"]
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        kind, labelled = manifest["kind"], manifest["taxonomy"]
        inputs = [i.get("taxonomy") for i in manifest["inputs"] if i.get("kind") in lineage.LABELLED]
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        return [f"{path.relative_to(folder)} does not parse ({type(exc).__name__}); re-run `curator publish`"]
    if kind != "published":
        return [f"{path.relative_to(folder)} says this is {kind} data, not a published folder"]
    problems = []
    if any(t != labelled for t in inputs):
        problems.append("the split and augmented data were labelled with different taxonomies; re-run "
                        "`curator normalize` and every stage after it")
    if features is not None and all(c in features for c in LABEL_LEVELS):
        names = {level: features[column].names for column, level in LABEL_LEVELS.items()}
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
