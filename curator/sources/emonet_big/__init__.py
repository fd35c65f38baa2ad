"""EmoNet-Face Big: 203,201 synthetic faces with weak labels from a vision-language model.

The Hub repo (laion/emonet-face-big) holds `data/train-*.parquet` with image, prompt,
demographics (a stringified dict here) and `annotations`, a JSON string:
{"emotions": {name: {"rating": 0-7, "reasoning": str}}, "extra_dimensions": {name: number}}.
A revision that carries an `emotion` ClassLabel instead is read for its label only.

- scores: rating / 7 for the 40 taxonomy names (absent = 0).
- label_original: the top-rated name, even one the taxonomy does not know (normalize then
  rejects it with its text). Tie rule: the earliest in taxonomy order; all 0 -> no label.
- annotations: one per emotion (annotator "vlm", is_model, value = rating, note = reasoning).
- dimensions: extra_dimensions as given. Malformed JSON -> a malformed_annotation reject.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import Field

from curator.config import Download
from curator.reasons import Reason
from curator.sources import emonet
from curator.sources.recipe import Reject

NAME = "emonet_big"


class Params(emonet.HubParams):
    repo: str = Field("laion/emonet-face-big", description="Hub dataset repo")


HUB = emonet.Hub(NAME, Params())  # the defaults; a run uses Hub(NAME, conf)
INFO = emonet.source_info(NAME, "EmoNet-Face Big (VLM weak labels)",
                          "203,201 images (the repo card says over 400,000), VLM ratings on 40 categories", HUB.repo)
LABELS = ("annotations", "emotion")
ANNOTATOR = "vlm"

Ratings = dict[str, tuple[float, str | None]]  # emotion -> (rating 0-7, reasoning)


def download(conf: Params, fetch: Download, out: Path, from_: str | None = None) -> Path:
    return emonet.download(emonet.Hub(NAME, conf), fetch, out, from_)


def prepare(raw: Path, conf: Params | None = None) -> Iterator[dict[str, Any] | Reject]:
    for row in emonet.read_rows(NAME, raw, LABELS):
        yield row if isinstance(row, Reject) else image_record(row)


def image_record(row: emonet.Row) -> dict[str, Any] | Reject:
    record = emonet.base_record(NAME, row)
    if isinstance(record, Reject):
        return record
    if row.label_column == "emotion":  # a ClassLabel revision: its label, no ratings
        record["label_original"] = row.label
        return record
    try:
        ratings, dimensions = parse_vlm(row.label)
    except ValueError as exc:
        return Reject(record["id"], Reason.MALFORMED_ANNOTATION, f"{row.where}: annotations {exc}", row.image["path"])
    values = {name: rating for name, (rating, _) in ratings.items()}
    record.update(
        scores=emonet.scores(values),
        label_original=emonet.top_label(values),
        annotations=[{"annotator": ANNOTATOR, "is_model": True, "target": name, "value": rating, "note": why}
                     for name, (rating, why) in ratings.items()],
        dimensions=[{"name": name, "value": value} for name, value in dimensions.items()],
    )
    return record


def _load(cell: Any) -> dict[str, Any]:
    if isinstance(cell, dict):  # a revision storing it as a struct
        return cell
    if not isinstance(cell, str):
        raise ValueError(f"is a {type(cell).__name__}, not JSON text")
    if len(cell) > emonet.MAX_LITERAL_CHARS:
        raise ValueError(f"is {len(cell)} characters long (limit {emonet.MAX_LITERAL_CHARS})")
    try:
        data = json.loads(cell)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"is not valid JSON ({type(exc).__name__}): {emonet.short(cell)}") from None
    if not isinstance(data, dict):
        raise ValueError(f"is a JSON {type(data).__name__}, not an object")
    return data


def parse_vlm(cell: Any) -> tuple[Ratings, dict[str, float]]:
    """The VLM annotation: (emotion -> (rating, reasoning), extra dimension -> value); ValueError if malformed."""
    data = _load(cell)
    emotions = data.get("emotions")
    if not isinstance(emotions, dict) or not emotions:
        raise ValueError("has no 'emotions' object")
    ratings: Ratings = {}
    for name, entry in emotions.items():
        rating = entry.get("rating") if isinstance(entry, dict) else None
        reasoning = entry.get("reasoning") if isinstance(entry, dict) else None
        if not emonet.is_number(rating) or not 0 <= rating <= emonet.INTENSITY_MAX:
            raise ValueError(f"emotion {emonet.short(name)}: rating {emonet.short(rating)} is not a number in 0-7")
        if reasoning is not None and not isinstance(reasoning, str):
            raise ValueError(f"emotion {emonet.short(name)}: reasoning is not text")
        ratings[str(name)] = (float(rating), reasoning)
    extra = data.get("extra_dimensions") or {}
    if not isinstance(extra, dict) or not all(emonet.is_number(v) for v in extra.values()):
        raise ValueError(f"extra_dimensions {emonet.short(extra)} is not an object of numbers")
    return ratings, {str(k): float(v) for k, v in extra.items()}
