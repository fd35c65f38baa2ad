"""The VLM ratings of one Big image, in every shape LAION's code writes or documents.

LAION-AI/emonet-face inference/vlm-inference-prompt-multi-shot.ipynb: the model answers
`{"emotions": {name: {"rating": 0-7, "reasoning": str}}, "extra_dimensions": {name: {...}}}`,
all 40 emotion names required (at most 5 non-zero), bare names (not `Family|Name`),
extra dimensions Arousal 0-7, Valence and Dominance -3..3, Emotional Vulnerability 0-5.
The file next to each image holds that answer as:
- `{"key": [folder, model, file], "predictions": {...}}` (what the notebook's code writes), or
- `[{"model": name, "predictions": {...}}, ...]` (what its docstring says), or
- the answer itself, `{"emotions": ..., "extra_dimensions": ...}` (one unnamed model).
Ratings may also be plain numbers instead of {rating, reasoning} (an older sample format).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from curator.record import dimensions
from curator.sources import emonet

UNNAMED = "vlm"  # the annotator of an answer that names no model

Rated = dict[str, tuple[float, str | None]]  # name -> (rating, reasoning)


@dataclass(frozen=True)
class ModelOutput:
    model: str
    emotions: Rated
    extra: Rated


def load(cell: Any) -> Any:
    """A JSON document as text or bytes, or already parsed (a struct column, a decoded `.json` member)."""
    if isinstance(cell, bytes):
        try:
            cell = cell.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("is not UTF-8 text") from None
    if not isinstance(cell, str):
        return cell
    if len(cell) > emonet.MAX_LITERAL_CHARS:
        raise ValueError(f"is {len(cell)} characters long (limit {emonet.MAX_LITERAL_CHARS})")
    try:
        return json.loads(cell)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"is not valid JSON ({type(exc).__name__}): {emonet.short(cell)}") from None


def parse(cell: Any) -> list[ModelOutput]:
    """Every model's answer in the cell, in order; ValueError (one line) when malformed."""
    data = load(cell)
    if isinstance(data, list):
        if not data:
            raise ValueError("is an empty list")
        return [_listed(entry) for entry in data]
    if not isinstance(data, dict):
        raise ValueError(f"is a JSON {type(data).__name__}, not an object or a list")
    if "predictions" in data:
        key = data.get("key")
        model = key[1] if isinstance(key, list) and len(key) >= 2 and isinstance(key[1], str) else UNNAMED
        return [_answer(str(data.get("model") or model), data["predictions"])]
    if "emotions" in data:
        return [_answer(UNNAMED, data)]
    raise ValueError(f"has none of 'predictions', 'emotions' (keys: {emonet.short(sorted(map(str, data)))})")


def once_per_model(outputs: list[ModelOutput]) -> tuple[list[ModelOutput], int]:
    """Each model's first answer, and how many repeated answers were dropped: a model listed twice for one
    image must not outvote the others (as binary.csv's repeated votes, curator/sources/emonet_binary)."""
    kept = list({o.model: o for o in outputs[::-1]}.values())  # the first answer wins...
    kept.sort(key=outputs.index)  # ...in the order the models come
    return kept, len(outputs) - len(kept)


def _listed(entry: Any) -> ModelOutput:
    if not isinstance(entry, dict) or "predictions" not in entry:
        raise ValueError(f"list entry {emonet.short(entry)} is not a {{model, predictions}} object")
    return _answer(str(entry.get("model") or UNNAMED), entry["predictions"])


def _answer(model: str, answer: Any) -> ModelOutput:
    if not isinstance(answer, dict) or not isinstance(answer.get("emotions"), dict) or not answer["emotions"]:
        raise ValueError(f"{model}: no 'emotions' object")
    emotions = _rated(model, answer["emotions"], (0, emonet.INTENSITY_MAX))
    extra = answer.get("extra_dimensions")
    if extra is not None and not isinstance(extra, dict):
        raise ValueError(f"{model}: extra_dimensions {emonet.short(extra)} is not an object")
    return ModelOutput(model, emotions, _rated(model, extra or {}, None))


def _rated(model: str, entries: dict[Any, Any], bounds: tuple[float, float] | None) -> Rated:
    out: Rated = {}
    for name, entry in entries.items():
        if entry is None:  # absent: an image folder's metadata reader fills names other rows have with null
            continue
        rating, reasoning = (entry.get("rating"), entry.get("reasoning")) if isinstance(entry, dict) else (entry, None)
        if not emonet.is_number(rating) or (bounds and not bounds[0] <= rating <= bounds[1]):
            where = f" in {bounds[0]}-{bounds[1]}" if bounds else ""
            raise ValueError(f"{model}: {emonet.short(name)}: rating {emonet.short(rating)} is not a number{where}")
        if reasoning is not None and not isinstance(reasoning, str):
            raise ValueError(f"{model}: {emonet.short(name)}: reasoning is not text")
        if bounds is None:  # an extra dimension: the range dimensions.yaml states for EmoNet, if any
            try:
                dimensions.check("emonet", str(name), rating)
            except ValueError as exc:
                raise ValueError(f"{model}: {exc}") from None
        out[str(name)] = (float(rating), reasoning)
    return out
