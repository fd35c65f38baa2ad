"""What the report reads: each stage's metrics and rejects, the split records (light columns), the
published configs as the card's header names them (never a hard-coded config list), and how the build
was split and augmented from the lineage.json of the folders it was published from."""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
from PIL import Image

from curator.config import BuildFacts
from curator.errors import CuratorError
from curator.io.card import read_card_header
from curator.io.parquet import read_columns, shard_paths
from curator.io.rejects import read_rejects
from curator.pipeline import lineage
from curator.pipeline.stages import SPLITS, STAGES, TRAIN, folder
from curator.record.taxonomy import taxonomy

LIGHT = ["id", "source", "group_id", "label", "label_fine", "label_original", "label_provided", "label_majority",
         "agreement", "demographics", "physio", "annotations", "augmented_from"]


def class_name(label: int | None, fine: int | None, original: str | None) -> str:
    """The basic class, or the fine one marked as having no basic counterpart."""
    tax = taxonomy()
    if label is not None and not pd.isna(label):
        return tax.basic[int(label)]
    if fine is not None and not pd.isna(fine):
        return f"{tax.fine[int(fine)]} (no basic)"
    return "unlabelled" if original is None or pd.isna(original) else f"unlabelled ({original})"


@dataclass
class Build:
    """Everything a section needs, read once."""

    data: Path
    published: Path
    meta: dict[str, Any]
    metrics: dict[str, Any]  # "prepare/<src>", "normalize", "split", "augment"
    rejects: list[dict[str, Any]]
    records: pd.DataFrame  # split records (originals) with a `split` and a `class` column
    augmented: pd.DataFrame  # augmented rows: id, source, augmented_from, class
    facts: BuildFacts = field(default_factory=BuildFacts)  # split / augment settings, from lineage
    publish_params: dict[str, Any] = field(default_factory=dict)  # what publish recorded in its lineage
    leakage: dict[str, Any] = field(default_factory=dict)

    @property
    def sources(self) -> list[str]:
        return sorted(set(self.records["source"]) | {k.split("/", 1)[1] for k in self.metrics if "/" in k})


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def _stage_dirs(data: Path) -> list[tuple[str, Path]]:
    """(metrics key, output folder) of every stage up to publish (whose metrics sit in the published folder)."""
    dirs = []
    for stage in STAGES:
        if not stage.records or stage.name == "publish":
            continue
        if stage.per_source:
            found = sorted(stage.sources_folder(data).glob("*"))
            dirs += [(f"{stage.name}/{p.name}", p) for p in found if p.is_dir()]
        else:
            dirs.append((stage.name, stage.default_folder(data=data)))
    return dirs


def _records(location: Path, split: str | None) -> pd.DataFrame:
    paths = shard_paths(location) if location.exists() else []
    if not paths:
        return pd.DataFrame(columns=[*LIGHT, "split", "class"])
    names = set(pq.read_schema(paths[0]).names)
    frame = read_columns(paths, [c for c in LIGHT if c in names]).to_pandas()
    for c in LIGHT:
        if c not in frame:
            frame[c] = None
    frame["split"] = split
    frame["class"] = [class_name(b, f, o) for b, f, o in
                      zip(frame["label"], frame["label_fine"], frame["label_original"], strict=True)]
    return frame


def load_build(data: Path, published: Path) -> Build:
    metrics = {name: _json(d / "metrics.json") for name, d in _stage_dirs(data)}
    rejects = [{**r, "stage": name.split("/")[0]} for name, d in _stage_dirs(data)
               for r in read_rejects(d / "rejects.jsonl")]
    records = pd.concat([_records(folder("split", data=data) / s, s) for s in SPLITS], ignore_index=True)
    facts, publish_params = build_facts(data, published)
    return Build(data=data, published=published, meta=read_card_header(published),
                 metrics={k: v for k, v in metrics.items() if v}, rejects=rejects, records=records,
                 augmented=_records(folder("augment", data=data), TRAIN), facts=facts, publish_params=publish_params,
                 leakage=_json(folder("split", data=data) / "leakage.json"))


def build_facts(data: Path, published: Path) -> tuple[BuildFacts, dict[str, Any]]:
    """How the published build was made, and publish's own params, from lineage.json: the published
    folder's names its split (and augmented) input by fingerprint, and data/split (data/augmented) must
    be that very folder, whose own lineage holds the settings it was made with."""
    manifest = lineage.read(published, "published", role="--in")
    inputs = manifest.get("inputs")
    entries = [i for i in inputs if isinstance(i, dict)] if isinstance(inputs, list) else []
    made_from = {i["kind"]: i.get("fingerprint") for i in entries if i.get("kind") in ("split", "augmented")}
    makers = {s.makes: s.name for s in STAGES}
    folders = {kind: folder(makers[kind], data=data) for kind in made_from}
    for kind, where in folders.items():
        if not lineage.manifest_path(where).is_file() or lineage.fingerprint(where) != made_from[kind]:
            raise CuratorError(f"{where} is not the {kind} folder {published} was published from (changed or "
                               "missing since): re-run `curator publish`, or give the --data folder it was made from")
    if "split" not in folders:
        raise CuratorError(f"{published}'s lineage.json names no split input; re-run `curator publish`")
    split = lineage.read(folders["split"], "split", role="split folder")
    augmented = lineage.read(folders["augmented"], "augmented", role="augmented folder") if "augmented" in folders \
        else None
    params = manifest.get("params")
    return BuildFacts.from_lineage(split, augmented), params if isinstance(params, dict) else {}


def data_paths(published: Path, files: dict[str, Any]) -> list[Path]:
    """The shards of one `data_files` entry: its `path` is one glob or a list of them (a config
    that is a union of per-source folders)."""
    patterns = [files["path"]] if isinstance(files["path"], str) else files["path"]
    return sorted(p for pattern in patterns for p in published.glob(pattern))


def config_counts(build: Build) -> list[dict[str, Any]]:
    """Per published config and split: original and augmented records (from the card's data_files)."""
    out = []
    for config in build.meta.get("configs", []):
        for files in config.get("data_files", []):
            paths = data_paths(build.published, files)
            aug = read_columns(paths, ["augmented_from"]).column("augmented_from") if paths else None
            n_aug = 0 if aug is None else len(aug) - aug.null_count
            n_all = 0 if aug is None else len(aug)
            out.append({"config": config["config_name"], "split": files["split"], "originals": n_all - n_aug,
                        "augmented": n_aug})
    return out


def images_by_id(data: Path, ids: list[str], column: str = "image") -> dict[str, bytes]:
    """Encoded image bytes of the given records, from the split and augmented shards."""
    wanted, found = set(ids), {}
    locations = [folder("split", data=data) / s for s in SPLITS] + [folder("augment", data=data)]
    for path in (p for loc in locations if loc.exists() for p in shard_paths(loc)):
        if not wanted - set(found):
            break
        table = pq.read_table(path, columns=["id", column])
        table = table.filter(pc.is_in(table.column("id"), pc.cast(list(wanted), "string")))
        for rid, img in zip(table.column("id").to_pylist(), table.column(column).to_pylist(), strict=True):
            if img and img.get("bytes"):
                found[rid] = img["bytes"]
    return found


def image_sizes(data: Path, per_source: int = 200) -> dict[str, list[tuple[int, int]]]:
    """(width, height) of up to `per_source` visible images per source: headers only, nothing decoded."""
    sizes: dict[str, list[tuple[int, int]]] = {}
    counts: Counter = Counter()
    split = folder("split", data=data)
    for path in (p for s in SPLITS if (split / s).exists() for p in shard_paths(split / s)):
        table = pq.read_table(path, columns=["source", "image"])
        for source, img in zip(table.column("source").to_pylist(), table.column("image").to_pylist(), strict=True):
            if img and img.get("bytes") and counts[source] < per_source:
                counts[source] += 1
                sizes.setdefault(source, []).append(Image.open(io.BytesIO(img["bytes"])).size)
    return sizes
