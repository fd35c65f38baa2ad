"""Report, in the agreement section: how each source's votes became labels, and each annotator's reliability.

Binary votes (a recipe's prepare metrics `aggregation`, curator/sources/emonet_binary/labels.py): the
method asked and used per task group (with any fallback to majority and why), the counts, each
annotator's estimated sensitivity and specificity as a chart, and a few records whose label differs
from majority vote's, with their votes. Ratings (hq): each expert's mean rating against the pooled
mean, from the annotations as given: their rating bias.
"""

from __future__ import annotations

import html
from collections import defaultdict
from statistics import fmean
from typing import Any

import pandas as pd

from curator.stages.report import charts
from curator.stages.report.counts import table
from curator.stages.report.data import Build, images_by_id
from curator.stages.report.thumbnails import strip, thumb_uri

SHOWN = 6  # changed records shown side by side


def annotator_sections(build: Build, figs: charts.Figures) -> str:
    body = ""
    for source in build.sources:
        agg = build.metrics.get(f"prepare/{source}", {}).get("aggregation")
        if isinstance(agg, dict):
            body += _aggregation(build, figs, source, agg)
    for source, bias in _rating_bias(build).items():
        body += (f"<h3>{html.escape(source)}: rating bias per expert</h3>"
                 + figs.img(charts.bars(bias, "mean rating (0-7) minus the mean of all experts' ratings"),
                            f"rating_bias_{source}", f"rating bias per expert: {source}"))
    return body


def _aggregation(build: Build, figs: charts.Figures, source: str, agg: dict[str, Any]) -> str:
    used = ", ".join(f"{g}: {m}" for g, m in agg.get("used", {}).items()) or "no votes"
    out = (f"<h3>{html.escape(source)}: how the votes became labels</h3><p>Asked: <b>{html.escape(agg['method'])}"
           f"</b>; used per task group: {html.escape(used)}. {agg['labelled']:,} labelled, {agg['unlabelled']:,} "
           f"unlabelled (posterior of present not above {agg['present_threshold']}), "
           f"<b>{agg['changed_from_majority']:,}</b> differ from majority vote; "
           f"{agg['repeated_votes_dropped']:,} repeated vote(s) counted once.</p>")
    for group, why in agg.get("fallback", {}).items():
        out += f"<p class='note'>The {html.escape(group)} emotions fell back to majority vote: {html.escape(why)}</p>"
    rows = [r for r in agg.get("annotators", []) if r.get("sensitivity") is not None]
    if rows:
        out += figs.img(charts.reliability(rows), f"reliability_{source}", f"annotator reliability: {source}")
        out += table(["annotator", "group", "votes", "yes-rate", "sensitivity", "specificity"],
                     [[r["annotator"], r["group"], r["votes"], f"{r['yes_rate']:.0%}", _num(r["sensitivity"]),
                       _num(r["specificity"])] for r in agg["annotators"]], "num")
    return out + _changed(build, agg.get("changed_examples", [])[:SHOWN])


def _changed(build: Build, ids: list[str]) -> str:
    if not ids:
        return ""
    rec = build.records.set_index("id")
    images = images_by_id(build.data, ids)
    items = []
    for rid in ids:
        if rid not in images or rid not in rec.index or not (uri := thumb_uri(images[rid])):
            continue
        row = rec.loc[rid]
        votes = "; ".join(f"{a['annotator']} {a['target']} {'yes' if a['value'] else 'no'}"
                          for a in row["annotations"] if not a["is_model"])
        items.append((uri, f"{rid} · model: {_text(row.get('label_original'))} · "
                           f"majority: {_text(row.get('label_majority'))} · {votes}"))
    return strip(items, "Labels that differ from majority vote, with their votes") if items else ""


def _rating_bias(build: Build) -> dict[str, dict[str, float]]:
    """source -> expert -> their mean rating minus the pooled mean, for sources whose annotations are 0-7
    ratings (a vote source's 0/1 values are left to the aggregation above)."""
    out: dict[str, dict[str, float]] = {}
    for source, frame in build.records.groupby("source"):
        ratings: dict[str, list[float]] = defaultdict(list)
        for notes in frame["annotations"]:
            for a in notes if notes is not None else []:
                if not a["is_model"] and a["value"] is not None and "|" not in a["target"]:
                    ratings[a["annotator"]].append(float(a["value"]))
        values = [v for vs in ratings.values() for v in vs]
        if len(ratings) >= 2 and values and max(values) > 1:
            pooled = fmean(values)
            out[str(source)] = {r: fmean(vs) - pooled for r, vs in sorted(ratings.items())}
    return out


def _text(value: Any) -> str:
    return "none" if value is None or pd.isna(value) else str(value)


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"
