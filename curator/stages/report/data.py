"""What the report reads: each stage's metrics and rejects, the split records (light columns) and
the published configs as the card's header names them (never a hard-coded config list)."""

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

from curator.io.card import read_card_header
from curator.io.parquet import read_columns, shard_paths
from curator.io.rejects import read_rejects
from curator.pipeline.stages import SPLITS, STAGES, TRAIN, folder
from curator.reasons import Reason
from curator.record.taxonomy import taxonomy

# left out on purpose (each still counts as an input and a reject, but it is not a problem to fix): the codes
# curator/reasons.py lists as "deliberately left out", and publish's EXCLUDED
EXCLUDED_REASONS = {Reason.SOURCE_AUGMENTED_COPY.value, Reason.UNSUPPORTED_MODALITY.value,
                    Reason.UNJOINED_ANNOTATION.value, Reason.EXCLUDED.value}
LIGHT = ["id", "source", "group_id", "label", "label_fine", "label_original", "label_provided", "agreement",
         "demographics", "physio", "annotations", "augmented_from"]


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
    return Build(data=data, published=published, meta=read_card_header(published),
                 metrics={k: v for k, v in metrics.items() if v}, rejects=rejects, records=records,
                 augmented=_records(folder("augment", data=data), TRAIN),
                 leakage=_json(folder("split", data=data) / "leakage.json"))


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


def provenance(published: Path) -> dict[str, Any]:
    """The card's build-provenance JSON block, parsed (empty when the card has none)."""
    card = (published / "README.md").read_text(encoding="utf-8")
    block = card.split("## Build provenance", 1)
    if len(block) < 2 or "```json" not in block[1]:
        return {}
    return json.loads(block[1].split("```json", 1)[1].split("```", 1)[0])


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
