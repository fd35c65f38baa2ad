"""The card's "How labels were aggregated": per source with an annotator model, the method its prepare
asked for and used (its metrics, else the params) and what the published records show (labelled,
unlabelled, changed from majority)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from curator.config import SourceParams
from curator.pipeline.stages import AUGMENTED_SPLIT
from curator.sources import get_recipe

_METHODS = {"dawid_skene": "Dawid-Skene (crowd-kit): each annotator weighed by its estimated sensitivity and "
                           "specificity, prompted and distractor emotions fitted apart",
            "majority": "majority vote: more present than absent votes"}


def aggregation_section(folder: Path, sources: list[str], source_params: dict[str, SourceParams],
                        prepared: dict[str, dict[str, Any]]) -> list[str]:
    """Empty when no published source has an `aggregation` parameter (votes turned into labels).
    `prepared`: each source's prepare metrics where publish found them (what the build really did)."""
    lines: list[str] = []
    for source in sources:
        params = source_params.get(source) or get_recipe(source).Params()  # none given: the defaults
        ran = (prepared.get(source) or {}).get("aggregation") or {}
        method = ran.get("method") or getattr(params, "aggregation", None)
        counts = _counts(folder, source) if method else None  # only recipes with the parameter aggregate votes
        if counts is None:
            continue
        labelled, unlabelled, changed = counts
        threshold = ran.get("present_threshold", getattr(params, "present_threshold", 0.5))
        lines += [f"- `{source}`: {_METHODS.get(method, method)}; a label where the posterior of present is above "
                  f"{threshold}. Published originals: {labelled:,} labelled, {unlabelled:,} unlabelled, "
                  f"{changed:,} whose label differs from majority vote (`label_majority` keeps majority's; "
                  "`scores` the posteriors)."]
        for group, why in sorted((ran.get("fallback") or {}).items()):
            lines.append(f"  The {group} emotions fell back to majority vote: {why}.")
        if method != "majority" and changed == 0 and not ran:
            lines.append("  No label differs from majority vote: if crowd-kit was not installed, prepare used "
                         "majority vote and said so in its metrics (`aggregation.fallback`).")
    return ["## How labels were aggregated", "", *lines] if lines else []


def _counts(folder: Path, source: str) -> tuple[int, int, int] | None:
    shards = [p for p in sorted((folder / "data" / source).glob("*/*.parquet"))
              if not p.name.startswith(AUGMENTED_SPLIT)]
    if not shards or "label_majority" not in pq.read_schema(shards[0]).names:
        return None
    labelled = unlabelled = changed = 0
    for shard in shards:
        table = pq.read_table(shard, columns=["label_original", "label_majority"])
        for ours, majority in zip(*(table.column(c).to_pylist() for c in table.column_names), strict=True):
            labelled += ours is not None
            unlabelled += ours is None
            changed += ours != majority
    return labelled, unlabelled, changed
