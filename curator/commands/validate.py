"""`curator validate DIR`: check a published folder the way the Hub and its users will read it.

The files against `.curator/SHA256SUMS` (publish's record of what each file's bytes are: a changed
row, a missing or an extra file is named), the card against the files (schemas, shard numbering, row
counts), the splits (no id in two splits, none twice in one; originals and augmented copies each in
their own split), the values (every class index names a class), augmented copies (each made from a
train record of the same config), the lineage (what the class indices meant when normalize wrote them
is what the card says they mean) and the Croissant file.

The folder and its card may be hand-edited or hostile: nothing that is not a regular file is opened
(a FIFO named like a shard would block the read), links are not followed, the card's `data_files` are
matched against the folder's own listing (a pattern with `..` or an absolute path is refused, never
globbed), and nothing is sized from a file name. Every problem is one line.
"""

from __future__ import annotations

import json
import reprlib
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path, PurePosixPath
from typing import Any

import datasets
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml
from datasets.info import DatasetInfosDict
from fsspec.utils import glob_translate
from huggingface_hub import DatasetCardData
from huggingface_hub.utils import filter_repo_objects

from curator.commands.push import IGNORE_PATTERNS
from curator.io.card import read_card_header
from curator.io.checksums import sha256_file
from curator.io.patterns import compile_pattern
from curator.io.secrets import first_line
from curator.pipeline import lineage
from curator.pipeline.stages import AUGMENTED_SPLIT, TRAIN
from curator.record.schema import config_specs
from curator.stages.publish.croissant import validate_croissant
from curator.stages.publish.filelist import CARD, CROISSANT, SUMS, SumsError, listed, read_sums, walk

LABEL_LEVELS = {"label": "basic", "label_fine": "fine", "label_family": "family"}  # ClassLabel column -> level


def _bounded_repr() -> reprlib.Repr:
    shown = reprlib.Repr()  # keyword arguments only from Python 3.12
    shown.maxstring, shown.maxother, shown.maxlevel = 60, 60, 2
    return shown


_echo = _bounded_repr().repr  # a card value as a message shows it: short, however long or deep the value


def _short(text: str) -> str:
    """A name from the card (a config, split or pattern) as a message shows it."""
    return text if len(text) <= 120 else f"{text[:117]}..."


def validate_folder(folder: Path) -> list[str]:
    """Every problem found, one line each (empty list = valid)."""
    return [_one_line(problem) for problem in _problems(Path(folder))]


def _one_line(text: str) -> str:
    """A problem as one printable line: control characters and undecodable bytes of a file name escaped."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= 1000 else f"{text[:997]}..."


def _problems(folder: Path) -> list[str]:
    if not (folder / CARD).is_file():
        return [f"{folder}: no {CARD} (dataset card)"]
    files, odd = walk(folder)
    published = list(filter_repo_objects(files, ignore_patterns=list(IGNORE_PATTERNS)))  # what push uploads
    refused = list(filter_repo_objects(sorted(odd), ignore_patterns=list(IGNORE_PATTERNS)))
    if refused:  # never opened: a FIFO blocks a read, a link may lead anywhere
        return [f"{path}: {odd[path]}, not a regular file; publish writes none, validate does not open it"
                for path in refused]
    try:
        meta = read_card_header(folder)
    except (ValueError, TypeError, UnicodeDecodeError, yaml.YAMLError) as exc:  # TypeError: a key not a string
        return [f"card header does not parse: {' '.join(str(exc).split())}"]
    try:
        sums: dict[str, str] | None = read_sums(folder)
    except SumsError as exc:
        sums, problems = None, [str(exc)]
    else:
        problems = _check_files(folder, published, sums)
    configs = _entries(meta, "configs", problems)
    if isinstance(meta.get("dataset_info"), dict):  # `datasets` writes a single config's info as a mapping
        meta["dataset_info"] = [meta["dataset_info"]]
    infos = {i.get("config_name"): i for i in _entries(meta, "dataset_info", problems)
             if isinstance(i.get("config_name"), str)}
    class_names: dict[str, list[str]] = {}  # ClassLabel column -> its names, as the card gives them
    for config in configs:
        name = config.get("config_name")
        if not isinstance(name, str):
            problems.append(f"card header: a config's `config_name` must be a string (found {_echo(name)})")
            continue
        if name not in infos:
            problems.append(f"config {_short(name)}: no dataset_info entry in the card")
            continue
        checked = _check_config(folder, published, config, infos[name])
        problems += checked.problems
        problems += _same_class_names(name, checked.features, class_names)
    problems += _check_lineage(folder, class_names)
    croissant = folder / CROISSANT
    if not croissant.is_file():
        problems.append(f"{CROISSANT} is missing")
    else:
        problems += [f"{CROISSANT}: {p}" for p in validate_croissant(croissant) if "warning" not in p.lower()]
        if sums is not None:  # else its problem is said already
            problems += _check_croissant_hashes(croissant, sums)
    return problems


def _check_croissant_hashes(croissant: Path, sums: dict[str, str]) -> list[str]:
    """croissant.json's FileObjects carry the hashes SHA256SUMS lists (what a Hub user checks against)."""
    try:
        doc = json.loads(croissant.read_text(encoding="utf-8"))
        objects = {d["contentUrl"]: d.get("sha256") for d in doc["distribution"] if d.get("@type") == "cr:FileObject"}
    except (ValueError, KeyError, TypeError, AttributeError):  # said already (mlcroissant)
        return []
    differ = sorted(str(path) for path in objects.keys() | sums.keys() if objects.get(path) != sums.get(path))
    if not differ:
        return []
    return [f"{CROISSANT}: its FileObjects and {SUMS} disagree on {len(differ)} file(s), e.g. {differ[0]}"]


def _check_files(folder: Path, published: list[str], sums: dict[str, str]) -> list[str]:
    """Every published file is the one publish wrote (`sums`: SHA256SUMS): same set of files, same sha256
    (each file read once, in chunks). The card and croissant.json cannot be listed (see filelist)."""
    present = set(listed(published))
    problems = [f"{path}: missing ({SUMS} lists it)" for path in sorted(sums.keys() - present)]
    problems += [f"{path}: not in {SUMS}: publish did not write it" for path in sorted(present - sums.keys())]
    for path in sorted(present & sums.keys()):
        try:
            if sha256_file(folder / path) != sums[path]:
                problems.append(f"{path}: sha256 differs from {SUMS}: its bytes changed since publish")
        except OSError as exc:  # no read permission
            problems.append(f"{path}: cannot be read ({exc.strerror})")
    return problems


def _entries(meta: dict[str, Any], key: str, problems: list[str]) -> list[dict[str, Any]]:
    value = meta.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        problems.append(f"card header: `{key}` must be a non-empty list of mappings (found {type(value).__name__})")
        return []
    return value


def _data_files(value: Any) -> list[tuple[str, list[str]]]:
    """A config's `data_files` as (split, patterns) pairs, in the form publish writes (a list of
    {split, path} entries, path a string or a list of strings); TypeError naming what is not."""
    if not isinstance(value, list) or not value:
        raise TypeError(f"`data_files` must be a non-empty list of {{split, path}} entries (found {_echo(value)})")
    out = []
    for entry in value:
        split = entry.get("split") if isinstance(entry, dict) else None
        paths = entry.get("path") if isinstance(entry, dict) else None
        paths = [paths] if isinstance(paths, str) else paths
        if not isinstance(split, str) or not isinstance(paths, list) or not paths \
                or not all(isinstance(p, str) for p in paths):
            raise TypeError(f"a `data_files` entry must be {{split: <name>, path: <pattern or list of patterns>}} "
                            f"(found {_echo(entry)})")
        out.append((split, paths))
    return out


def _matching(pattern: str, files: list[str]) -> list[str]:
    """The folder's files `pattern` names, as `datasets` resolves a data_files glob (fsspec's rules:
    `*` within a folder, `**` across), matched by RE2 in linear time; ValueError for a pattern that
    would leave the folder or is no pattern."""
    parts = PurePosixPath(pattern).parts
    if not pattern.strip() or "\0" in pattern:
        raise ValueError(f"the pattern {_echo(pattern)} is empty or holds a NUL")
    if pattern.startswith("/") or ".." in parts:
        raise ValueError(f"the pattern {_echo(pattern)} leaves the folder (an absolute path or `..`); "
                         "data_files name files inside it")
    regex = compile_pattern(glob_translate(pattern).removesuffix(r"\Z"))  # RE2 spells the end \z; fullmatch
    return [path for path in files if regex.fullmatch(path)]


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


def _check_config(folder: Path, files: list[str], config: dict, info: dict) -> Checked:
    name = _short(config["config_name"])
    out = Checked()
    try:
        expected = card_features(info)
        entries = _data_files(config.get("data_files"))
        sizes = {s["name"]: s["num_examples"] for s in info.get("splits", [])}
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as exc:
        out.problems.append(f"config {name}: card entry is incomplete or malformed ({first_line(exc)}); "
                            "it needs features, data_files (split, path) and splits")
        return out
    out.features = expected
    columns = config.get("columns")  # a config reads these columns of files shared with other configs
    if columns is not None and (not isinstance(columns, list) or columns != list(expected)):
        out.problems.append(f"config {name}: `columns` and the card's features differ")
    rows_by_split: dict[str, SplitRows] = defaultdict(SplitRows)
    for split, patterns in entries:
        rows, numbered = 0, True
        for pattern in patterns:
            try:
                shards = [folder / path for path in _matching(pattern, files)]
            except ValueError as exc:
                out.problems.append(f"config {name}, split {_short(split)}: {exc}")
                numbered = False
                continue
            if not shards:
                out.problems.append(f"config {name}, split {_short(split)}: no files match {_short(pattern)}")
                numbered = False
                continue
            for group in _by_folder(shards).values():
                numbered &= _check_numbering(name, split, group, out.problems) is not None
            for shard in shards:
                rows += _check_shard(folder, shard, expected, rows_by_split[split], out.problems)
                out.problems += _check_rows(folder, shard, name, split)
        if numbered and sizes.get(split) != rows:
            out.problems.append(f"config {name}, split {_short(split)}: {rows} rows in files, card says "
                                f"{_echo(sizes.get(split))}")
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
        problems.append(f"{where}: unreadable ({first_line(exc)})")
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
            problems.append(f"config {name}, split {_short(split)}: {len(repeated)} id(s) appear more than once, "
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
    """Shards are `<split>-NNNNN-of-TTTTT.parquet`: every index 0..T-1 must be present. T comes from a
    file name, so nothing is sized by it: the indices present are counted, the gaps found lazily."""
    try:
        totals = {int(p.stem.rsplit("-of-", 1)[1]) for p in shards}
        indices = {int(p.stem.rsplit("-of-", 1)[0].rsplit("-", 1)[1]) for p in shards}
    except (IndexError, ValueError):  # ValueError: no number, or one of more than 4300 digits
        problems.append(f"config {name}, split {_short(split)}: shard names are not <split>-NNNNN-of-NNNNN.parquet")
        return None
    total = max(totals)
    if len(totals) > 1:
        problems.append(f"config {name}, split {_short(split)}: shard names disagree on the number of shards "
                        f"({', '.join(map(str, sorted(totals)[:3]))}{', ...' if len(totals) > 3 else ''})")
    outside = sorted(i for i in indices if not 0 <= i < total)
    if outside:
        problems.append(f"config {name}, split {_short(split)}: shard index {outside[0]} outside 0..{total - 1}")
    missing = total - (len(indices) - len(outside))
    if missing:
        first = list(islice(_gaps(indices, total), 3))
        problems.append(f"config {name}, split {_short(split)}: {missing} shard(s) missing of {total}, "
                        f"e.g. index {', '.join(map(str, first))}")
    return total


def _gaps(indices: set[int], total: int) -> Iterator[int]:
    """The indices in 0..total-1 not in `indices`, in order (a generator: `total` may be 10**10)."""
    return (i for i in range(total) if i not in indices)
