"""Continuous emotion dimensions on one scale (schemas/dimensions.yaml is the single source of truth).

Sources name and scale valence, arousal... differently (EMER `Valence` in -1..1, EmoNet `Valence` in
-3..3); a record's `dimensions` entry carries the common name and the value mapped linearly onto the
common scale, with the source's own name, value and stated range beside it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from curator.errors import SchemaError
from curator.record.schema import load_yaml


@dataclass(frozen=True)
class Stated:
    """How one source gives one dimension: the common name, and the range its guide states."""

    dimension: str
    low: float
    high: float


@cache
def scale() -> tuple[float, float]:
    low, high = load_yaml("dimensions.yaml")["scale"]
    return float(low), float(high)


@cache
def stated(source: str) -> dict[str, Stated]:
    """The dimensions `source` (a key of dimensions.yaml `given`) states, by its own name."""
    spec = load_yaml("dimensions.yaml")
    given = spec["given"].get(source)
    if given is None:
        raise SchemaError(f"dimensions.yaml: no `given` entry for {source!r} (have {sorted(spec['given'])})")
    out = {}
    for original, (dimension, low, high) in given.items():
        if dimension not in spec["dimensions"] or not low < high:
            raise SchemaError(f"dimensions.yaml: given.{source}.{original} = {[dimension, low, high]} "
                              f"needs a dimension of {sorted(spec['dimensions'])} and low < high")
        out[original] = Stated(dimension, float(low), float(high))
    return out


def check(source: str, original: str, value: float) -> None:
    """ValueError (one line) when a stated dimension's value lies outside the range the source states."""
    s = stated(source).get(original)
    if s is not None and not s.low <= value <= s.high:
        raise ValueError(f"{original} = {value:g} is outside the stated range {s.low:g}..{s.high:g} "
                         f"(schemas/dimensions.yaml given.{source})")


def common(source: str, values: Iterable[tuple[str, float]], label_kind: str | None = None) -> list[dict[str, Any]]:
    """The `dimensions` column of one record from (original name, value) pairs, in the order given.

    Values are checked (`check`); a name the source does not state is left out (it stays in the
    record's `annotations`, where the recipe keeps every rating as given). `label_kind` (felt or
    expressed): the label kind the ratings belong to, for a source that rates each kind apart (EMER).
    """
    lo, hi = scale()
    out = []
    for original, value in values:
        s = stated(source).get(original)
        if s is None:
            continue
        check(source, original, value)
        out.append({"name": s.dimension, "value": lo + (value - s.low) / (s.high - s.low) * (hi - lo),
                    "original_name": original, "original_value": value,
                    "original_min": s.low, "original_max": s.high,
                    **({"label_kind": label_kind} if label_kind else {})})
    return out
