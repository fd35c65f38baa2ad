"""Annotator agreement where a source has several human annotators.

Ratings (EmoNet hq's 0-7 intensities per category): Krippendorff's alpha per category, ordinal, from
the maintained `krippendorff` package (Castro Santiago's implementation, on PyPI). Votes (binary
present/absent): the share of votes that side with the majority. Model annotators (`is_model`) are
left out: agreement is about people.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from statistics import mean, pstdev
from typing import Any

import krippendorff
import numpy as np
import pandas as pd


@dataclass
class Agreement:
    source: str
    kind: str  # "ratings" or "votes"
    annotators: int
    per_category: dict[str, float]  # alpha (ratings) or mean majority share (votes); NaN = undefined
    undefined: list[str]  # categories where alpha has no meaning (every rating the same)
    most_disagreed: list[tuple[str, float]]  # record id, disagreement (rating spread or 1 - majority share)


def _human_votes(frame: pd.DataFrame) -> dict[str, dict[tuple[str, str], float]]:
    """record id -> {(annotator, target): value} for human annotators only."""
    out: dict[str, dict[tuple[str, str], float]] = {}
    for rid, notes in zip(frame["id"], frame["annotations"], strict=True):
        if notes is None or len(notes) == 0:
            continue
        votes = {(a["annotator"], a["target"]): float(a["value"]) for a in notes
                 if not a.get("is_model") and a.get("value") is not None}
        if votes:
            out[rid] = votes
    return out


def _alpha(table: np.ndarray) -> float:
    try:
        return float(krippendorff.alpha(reliability_data=table, level_of_measurement="ordinal"))
    except ValueError:  # one value only in the data: alpha is undefined, not 1 or 0
        return math.nan


def _ratings(source: str, votes: dict[str, dict[tuple[str, str], float]], top: int) -> Agreement:
    annotators = sorted({a for v in votes.values() for a, _ in v})
    targets = sorted({t for v in votes.values() for _, t in v})
    ids = sorted(votes)
    per_category = {}
    for t in targets:
        table = np.array([[votes[r].get((a, t), np.nan) for r in ids] for a in annotators], dtype=float)
        per_category[t] = _alpha(table)
    spread = []
    for r in ids:
        by_target: dict[str, list[float]] = defaultdict(list)
        for (_, t), v in votes[r].items():
            by_target[t].append(v)
        sds = [pstdev(v) for v in by_target.values() if len(v) > 1]
        if sds:
            spread.append((r, mean(sds)))
    spread.sort(key=lambda x: (-x[1], x[0]))
    return Agreement(source, "ratings", len(annotators), per_category,
                     [t for t, a in per_category.items() if math.isnan(a)], spread[:top])


def _majority_share(values: list[float]) -> float:
    counts = defaultdict(int)
    for v in values:
        counts[v] += 1
    return max(counts.values()) / len(values)


def _votes(source: str, votes: dict[str, dict[tuple[str, str], float]], given: dict[str, float],
           top: int) -> Agreement:
    per_target: dict[str, list[float]] = defaultdict(list)
    per_record: dict[str, float] = dict(given)
    for r, v in votes.items():
        by_target: dict[str, list[float]] = defaultdict(list)
        for (_, t), value in v.items():
            by_target[t].append(value)
        shares = {t: _majority_share(vals) for t, vals in by_target.items() if len(vals) > 1}
        for t, s in shares.items():
            per_target[t].append(s)
        if r not in per_record and shares:
            per_record[r] = mean(shares.values())
    per_category = {t: mean(s) for t, s in sorted(per_target.items())}
    ranked = sorted(((r, 1 - a) for r, a in per_record.items()), key=lambda x: (-x[1], x[0]))
    annotators = len({a for v in votes.values() for a, _ in v})
    return Agreement(source, "votes", annotators, per_category, [], [x for x in ranked if x[1] > 0][:top])


def agreement_by_source(records: pd.DataFrame, top: int = 6) -> list[Agreement]:
    """One Agreement per source whose records carry two or more human annotators."""
    out = []
    for source, frame in records.groupby("source", sort=True):
        votes = _human_votes(frame)
        if len({a for v in votes.values() for a, _ in v}) < 2:
            continue
        given = {r: float(a) for r, a in zip(frame["id"], frame["agreement"], strict=True)
                 if a is not None and not pd.isna(a)}
        values = {v for vs in votes.values() for v in vs.values()}
        out.append(_votes(str(source), votes, given, top) if values <= {0.0, 1.0}
                   else _ratings(str(source), votes, top))
    return out


def summary_row(a: Agreement) -> list[Any]:
    defined = [v for v in a.per_category.values() if not math.isnan(v)]
    measure = "Krippendorff's alpha (ordinal)" if a.kind == "ratings" else "majority share of votes"
    return [a.source, a.annotators, measure, f"{mean(defined):.2f}" if defined else "undefined",
            len(a.per_category), len(a.undefined)]
