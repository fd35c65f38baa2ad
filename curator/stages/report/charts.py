"""The report's charts: matplotlib figures rendered offline to SVG, inlined as data URIs and saved
under reports/plots/ so `dvc plots` can show the same pictures.

Every chart function takes plain counts (no Parquet) so it is cheap to test and to reuse.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: the report is built in CI and by `dvc repro`
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from curator.pipeline.stages import SPLITS

# text stays text in the SVG (a few kB per chart instead of glyph outlines); the viewer's sans-serif draws it
plt.rcParams.update({"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False,
                     "axes.spines.right": False, "svg.hashsalt": "emotion-curator"})
SPLIT_COLOURS = dict(zip(SPLITS, ("#4c78a8", "#f58518", "#54a24b"), strict=True))
OUTCOME_COLOURS = {"kept": "#54a24b", "rejected": "#e45756", "excluded": "#bab0ac"}


class Figures:
    """Collects the rendered figures: each is an <img> data URI for the page, and its SVG (`svgs`, by
    name) for the stage to write out for dvc."""

    def __init__(self) -> None:
        self.svgs: dict[str, bytes] = {}

    def img(self, fig: Figure, name: str, alt: str) -> str:
        buf = io.BytesIO()
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
        plt.close(fig)
        svg = self.svgs[name] = buf.getvalue()
        uri = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
        # its own scroll box: on a phone a chart keeps its drawn size (readable) and scrolls sideways
        return f'<div class="chart-box"><img class="chart" alt="{alt}" src="{uri}"></div>'


def _height(rows: int, per_row: float = 0.28, base: float = 0.9) -> float:
    return max(1.6, base + per_row * rows)


def funnel(rows: Sequence[tuple[str, int, int, int]]) -> Figure:
    """One horizontal bar per source: kept, rejected and excluded stacked, the input count at the end."""
    fig, ax = plt.subplots(figsize=(7, _height(len(rows), 0.35)))
    labels = [r[0] for r in rows][::-1]
    left = [0] * len(rows)
    for i, outcome in enumerate(("kept", "rejected", "excluded")):
        values = [r[i + 1] for r in rows][::-1]
        ax.barh(labels, values, left=left, color=OUTCOME_COLOURS[outcome], label=outcome)
        left = [a + b for a, b in zip(left, values, strict=True)]
    for y, total in enumerate(left):
        ax.text(total, y, f" {total}", va="center", fontsize=8)
    ax.set_xlabel("input items")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    return fig


def class_colours(classes: Sequence[str]) -> dict[str, tuple]:
    """One colour per class for the whole report, so a class looks the same in every config's chart."""
    basic = sorted(c for c in classes if "(" not in c)  # "X (no basic)" and "unlabelled (...)" are the rest
    rest = sorted(c for c in classes if "(" in c)
    strong, soft = plt.get_cmap("tab10").colors, [*plt.get_cmap("Pastel1").colors, *plt.get_cmap("Pastel2").colors]
    return {**{c: strong[i % len(strong)] for i, c in enumerate(basic)},
            **{c: soft[i % len(soft)] for i, c in enumerate(rest)}}


def class_shares(shares: Mapping[str, Mapping[str, float]], colours: Mapping[str, tuple]) -> Figure:
    """100 % stacked bars, one per split: does each split keep the class proportions?"""
    splits = list(shares)
    classes = sorted({c for s in shares.values() for c in s})
    fig, ax = plt.subplots(figsize=(6, _height(len(splits), 0.35, 1.0) + 0.12 * ((len(classes) + 2) // 3)))
    left = [0.0] * len(splits)
    for cls in classes:
        values = [100 * shares[s].get(cls, 0.0) for s in splits]
        bars = ax.barh(splits[::-1], values[::-1], left=left[::-1], color=colours[cls], label=cls)
        for bar, v in zip(bars, values[::-1], strict=True):
            if v >= 8:  # a label only where it fits inside its segment
                ax.text(bar.get_x() + bar.get_width() / 2, bar.get_y() + bar.get_height() / 2, f"{v:.0f}%",
                        ha="center", va="center", fontsize=7, color="black" if sum(colours[cls][:3]) > 1.8 else "white")
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of the split's records (%)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=3, fontsize=7, frameon=False)
    return fig


def mapping_matrix(pairs: Mapping[tuple[str, str], int]) -> Figure:
    """Original label (rows) x taxonomy class (columns), the record count in each cell."""
    rows = sorted({o for o, _ in pairs})
    cols = sorted({c for _, c in pairs})
    grid = [[pairs.get((o, c), 0) for c in cols] for o in rows]
    fig, ax = plt.subplots(figsize=(max(3.5, 0.55 * len(cols) + 2), _height(len(rows), 0.3, 1.4)))
    ax.imshow(grid, cmap="Blues", aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=40, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    peak = max(max(r) for r in grid) or 1
    for y, row in enumerate(grid):
        for x, n in enumerate(row):
            if n:
                ax.text(x, y, str(n), ha="center", va="center", fontsize=7, color="white" if n > peak / 2 else "black")
    ax.set_xlabel("taxonomy class")
    ax.set_ylabel("source label")
    return fig


def bars(values: Mapping[str, float], xlabel: str, *, limits: tuple[float, float] | None = None) -> Figure:
    """Plain horizontal bars with the value written at the end (agreement per category, demographics)."""
    labels = list(values)
    fig, ax = plt.subplots(figsize=(6, _height(len(labels), 0.24)))
    ax.barh(labels[::-1], [values[k] for k in labels][::-1], color="#4c78a8")
    for y, k in enumerate(labels[::-1]):
        ax.text(values[k], y, f" {values[k]:.2f}" if isinstance(values[k], float) else f" {values[k]}",
                va="center", fontsize=7)
    if limits:
        ax.set_xlim(*limits)
    ax.set_xlabel(xlabel)
    return fig


def reliability(rows: Sequence[Mapping[str, Any]]) -> Figure:
    """Per annotator and task group, estimated sensitivity and specificity side by side (0-1)."""
    labels = [f"{r['annotator']} ({r['group']})" for r in rows][::-1]
    y = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(6, _height(len(labels), 0.4)))
    for offset, key, colour in ((0.2, "sensitivity", "#4c78a8"), (-0.2, "specificity", "#f58518")):
        values = [r[key] if r[key] is not None else 0.0 for r in rows][::-1]
        ax.barh(y + offset, values, height=0.38, color=colour, label=key)
    ax.set_yticks(y, labels)
    ax.set_xlim(0, 1)
    ax.set_xlabel("estimated against the aggregated labels")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=7, frameon=False)  # off the bars
    return fig


def boxes(groups: Mapping[str, Mapping[str, Sequence[float]]]) -> Figure:
    """One panel per feature: its values per class as box plots."""
    features = list(groups)
    fig, axes = plt.subplots(1, len(features), figsize=(2.6 * len(features), 2.8), squeeze=False)
    for ax, feature in zip(axes[0], features, strict=True):
        per_class = groups[feature]
        ax.boxplot([list(v) for v in per_class.values()], orientation="horizontal", widths=0.6)
        ax.set_yticks(range(1, len(per_class) + 1), list(per_class), fontsize=7)
        ax.set_title(feature, fontsize=8)
    fig.tight_layout()
    return fig


def scatter_sizes(sizes: Mapping[str, Sequence[tuple[int, int]]]) -> Figure:
    """Image width x height, one colour per source."""
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for source, points in sizes.items():
        ax.scatter([w for w, _ in points], [h for _, h in points], s=12, alpha=0.6, label=f"{source} ({len(points)})")
    ax.set_xlabel("width (px)")
    ax.set_ylabel("height (px)")
    ax.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1, 0.5))
    return fig
