"""The hq Parquet `label` cell: every expert's ratings of one image, and its content signature.

The cell is a Python literal (parsed with ast.literal_eval, never eval) holding a list of
one-key dicts, `[{'human-1': {'Family|Emotion': 0-7, ...}}, {'human-3': {...}}, ...]`
(saveli/emonet-readout, evaluation/e0_prompt_sweep.py). Raters are merged as the readout
authors do: a rater named twice keeps its later dict (counted once; prepare's metrics count the
dicts dropped as `repeated_raters_dropped`).

The signature is theirs too (analysis/build_image_index_map.py): the sorted tuple of
(rater, sorted((key, round(float(value), 4)))) over every key, `Extra Dimensions|` ones
included. It identifies an image by its ratings: the same tuple built from hq.csv's expert
rows names the same image, which is how hq.csv joins a Parquet row without a file name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from curator.record import dimensions
from curator.sources import emonet

Signature = tuple[tuple[str, tuple[tuple[str, float], ...]], ...]


@dataclass(frozen=True)
class Expert:
    """One rater's dict, checked: emotions by fine name (as given: a key left out is absent) and
    the `Extra Dimensions|X` values by X."""

    rater: str
    emotions: dict[str, float]
    extra: dict[str, float]


@dataclass(frozen=True)
class Label:
    experts: tuple[Expert, ...]
    signature: Signature
    encoded_keys: int  # keys that arrived URL-encoded (counted: never seen on the real data)
    repeated_raters: int = 0  # dicts of a rater named earlier in the cell, dropped (the later one is kept)


def merged(entries: Any) -> dict[str, dict[Any, Any]]:
    """The cell's list of {rater: ratings} dicts as one rater -> ratings dict (a later duplicate wins: one
    rater's dict written twice must not outvote the others)."""
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"is a {type(entries).__name__}, not a non-empty list of {{rater: ratings}} dicts")
    out: dict[str, dict[Any, Any]] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not entry:
            raise ValueError(f"entry {emonet.short(entry)} is not a {{rater: ratings}} dict")
        for rater, ratings in entry.items():
            if not isinstance(rater, str) or not rater.strip() or not isinstance(ratings, dict):
                raise ValueError(f"entry {emonet.short(entry)} is not a {{rater: ratings}} dict")
            out[rater] = ratings
    return out


def signature(per_rater: Mapping[str, Mapping[str, Any]]) -> Signature:
    """The readout authors' content signature of one image's expert ratings (URL-unquoted keys)."""
    return tuple(sorted(
        (rater, tuple(sorted((unquote(key), round(float(value), 4)) for key, value in ratings.items())))
        for rater, ratings in per_rater.items()
    ))


def record_key(sig: Signature) -> str:
    """A stable id key from the signature: the first 16 hex digits of sha256(repr(signature)).

    repr of a tuple of str and float is the same on every Python 3 (shortest round-trip floats).
    """
    return hashlib.sha256(repr(sig).encode("utf-8")).hexdigest()[:16]


def expert(rater: str, ratings: Mapping[Any, Any]) -> tuple[Expert, int]:
    """Check one rater's dict: `Family|Name` keys of the guide with 0-7 numbers, or
    `Extra Dimensions|X` with a number in the range schemas/dimensions.yaml states (any number if it
    states none). Returns the Expert and how many keys were URL-encoded."""
    emotions: dict[str, float] = {}
    extra: dict[str, float] = {}
    encoded = 0
    for key, value in ratings.items():
        kind, name = emonet.guide_key(key)  # ValueError names the key
        encoded += unquote(key) != key
        if not emonet.is_number(value):
            raise ValueError(f"{rater}: {key!r} = {emonet.short(value)} is not a number")
        if kind == "extra":
            try:
                dimensions.check("emonet", name, value)
            except ValueError as exc:
                raise ValueError(f"{rater}: {exc}") from None
            extra[name] = float(value)
        elif not 0 <= value <= emonet.INTENSITY_MAX:
            raise ValueError(f"{rater}: {key!r} = {value} is outside 0-{emonet.INTENSITY_MAX}")
        else:
            emotions[name] = float(value)
    return Expert(rater, emotions, extra), encoded


def parse_label(cell: Any) -> Label:
    """One `label` cell -> its experts and signature; ValueError (one line) when malformed."""
    entries = emonet.literal(cell)
    per_rater = merged(entries)
    experts, encoded = [], 0
    for rater, ratings in per_rater.items():
        checked, n = expert(rater, ratings)
        experts.append(checked)
        encoded += n
    named = sum(len(entry) for entry in entries)  # merged checked: a list of {rater: ratings} dicts
    return Label(tuple(experts), signature(per_rater), encoded, named - len(per_rater))
