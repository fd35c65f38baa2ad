"""`curator validate DIR`: check a published folder the way the Hub and its users will read it."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import datasets
import pyarrow.parquet as pq
import yaml

from curator.record.schema import config_specs
from curator.stages.publish_croissant import validate_croissant
from curator.stages.publish_layout import AUGMENTED


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
    except (ValueError, yaml.YAMLError) as exc:
        return [f"card header does not parse: {exc}"]
    problems: list[str] = []
    infos = {i["config_name"]: i for i in meta.get("dataset_info", [])}
    for config in meta.get("configs", []):
        name = config["config_name"]
        if name not in infos:
            problems.append(f"config {name}: no dataset_info entry in the card")
            continue
        problems += _check_config(folder, config, infos[name])
    croissant = folder / "croissant.json"
    if not croissant.is_file():
        problems.append("croissant.json is missing")
    else:
        problems += [f"croissant.json: {p}" for p in validate_croissant(croissant) if "warning" not in p.lower()]
    return problems


def _patterns(entry: dict) -> list[str]:
    path = entry["path"]
    return [path] if isinstance(path, str) else list(path)


def _check_config(folder: Path, config: dict, info: dict) -> list[str]:
    name = config["config_name"]
    problems = []
    expected = datasets.Features._from_yaml_list(info["features"])
    columns = config.get("columns")  # a config reads these columns of files shared with other configs
    if columns is not None and list(columns) != list(expected):
        problems.append(f"config {name}: `columns` and the card's features differ")
    sizes = {s["name"]: s["num_examples"] for s in info.get("splits", [])}
    ids_by_split: dict[str, set[str]] = defaultdict(set)
    for entry in config["data_files"]:
        split = entry["split"]
        rows, numbered = 0, True
        for pattern in _patterns(entry):
            shards = sorted(folder.glob(pattern))
            if not shards:
                problems.append(f"config {name}, split {split}: no files match {pattern}")
                numbered = False
                continue
            for group in _by_folder(shards).values():
                numbered &= _check_numbering(name, split, group, problems) is not None
            for shard in shards:
                rows += _check_shard(folder, shard, expected, ids_by_split[split], problems)
                problems += _check_rows(folder, shard, name, split)
        if numbered and sizes.get(split) != rows:
            problems.append(f"config {name}, split {split}: {rows} rows in files, card says {sizes.get(split)}")
    splits = sorted(ids_by_split)
    for i, a in enumerate(splits):
        for b in splits[i + 1:]:
            shared = ids_by_split[a] & ids_by_split[b]
            if shared:
                problems.append(f"config {name}: {len(shared)} id(s) in both {a} and {b}, e.g. {sorted(shared)[0]}")
    return problems


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
        if split == AUGMENTED and augmented < len(copies):
            problems.append(f"{rel}: {len(copies) - augmented} original row(s) in the {AUGMENTED} split")
        if split != AUGMENTED and augmented:
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


def _check_shard(folder: Path, shard: Path, expected: datasets.Features, ids: set[str], problems: list[str]) -> int:
    """Rows of one shard (0 when unreadable); its schema must hold the card's features."""
    try:
        pf = pq.ParquetFile(shard)
    except Exception as exc:  # a truncated or non-Parquet file
        problems.append(f"{shard.relative_to(folder)}: unreadable ({type(exc).__name__}: {exc})")
        return 0
    found = datasets.Features.from_arrow_schema(pf.schema_arrow)
    if any(col not in found or found[col] != feat for col, feat in expected.items()):
        problems.append(f"{shard.relative_to(folder)}: schema differs from the card's features")
    ids.update(pq.read_table(shard, columns=["id"]).column("id").to_pylist())
    return pf.metadata.num_rows


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
