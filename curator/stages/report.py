"""report: one self-contained HTML page (images embedded) plus CSV plots for `dvc plots`.

Counts per source x split x class (table and bars), a sample grid per class per source, the
augmentation before/after grid, rejects by reason with examples, duplicates/leakage,
standardization statistics and build provenance.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from PIL import Image, ImageDraw, ImageFont

from curator.io.atomic import atomic_write_text
from curator.io.rejects import read_rejects
from curator.record.schema import config_specs
from curator.record.taxonomy import taxonomy
from curator.stages.split import SPLITS
from curator.stages.validate import read_card_header

THUMB = 72
try:
    _FONT: ImageFont.ImageFont | ImageFont.FreeTypeFont = ImageFont.load_default(size=14)
except (TypeError, OSError):  # Pillow without FreeType: the small bitmap font
    _FONT = ImageFont.load_default()
PER_CLASS = 4
SPLIT_COLOURS = {"train": "#4c78a8", "validation": "#f58518", "test": "#54a24b"}


def _class_of(label: int | None, fine: int | None, original: str | None) -> str:
    tax = taxonomy()
    if label is not None:
        return tax.basic[label]
    # no basic counterpart: say so, rather than mixing fine names in among the basic classes
    return f"no basic · {tax.fine[fine]}" if fine is not None else f"unlabelled ({original})"


def class_counts(published: Path, sources: list[str]) -> dict[tuple[str, str, str], int]:
    """(source, split, class) -> records, read from the per-source configs (labels only)."""
    counts: Counter = Counter()
    for source in sources:
        for split in SPLITS:
            # data/<source>/<facets>/<split>-*.parquet; augmented copies are the train_augmented split
            kinds = (split, "train_augmented") if split == "train" else (split,)
            shards = [p for kind in kinds for p in (published / "data" / source).glob(f"*/{kind}-*.parquet")]
            for shard in sorted(shards):
                t = pq.read_table(shard, columns=["label", "label_fine", "label_original", "augmented_from"])
                for b, f, o, aug in zip(*(t.column(c).to_pylist() for c in t.column_names), strict=True):
                    counts[(source, split + (" (augmented)" if aug else ""), _class_of(b, f, o))] += 1
    return dict(counts)


def _png_data_uri(img: Image.Image) -> str:
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def sample_grid(published: Path, source: str) -> Image.Image | None:
    """Up to PER_CLASS original train images per class: one row per class, labelled."""
    by_class: dict[str, list[bytes]] = defaultdict(list)
    for shard in sorted((published / "data" / source).glob("*/train-*.parquet")):
        t = pq.read_table(shard, columns=["image", "label", "label_fine", "label_original", "augmented_from"])
        for img, b, f, o, aug in zip(*(t.column(c).to_pylist() for c in t.column_names), strict=True):
            cls = _class_of(b, f, o)
            if img and not aug and len(by_class[cls]) < PER_CLASS:
                by_class[cls].append(img["bytes"])
    if not by_class:
        return None
    label_w = 260
    grid = Image.new("RGB", (label_w + PER_CLASS * THUMB, len(by_class) * THUMB), "white")
    draw = ImageDraw.Draw(grid)
    for row, cls in enumerate(sorted(by_class)):
        draw.text((4, row * THUMB + THUMB // 2 - 8), cls[:34], fill="black", font=_FONT)
        for col, data in enumerate(by_class[cls]):
            thumb = Image.open(io.BytesIO(data)).convert("RGB")
            thumb.thumbnail((THUMB, THUMB))
            grid.paste(thumb, (label_w + col * THUMB, row * THUMB))
    return grid


def _bars_svg(counts: dict[tuple[str, str, str], int], source: str) -> str:
    """Grouped horizontal bars: one group per class, one bar per split."""
    rows = sorted({c for (s, _, c) in counts if s == source})
    splits = [s for s in SPLITS if any(k[0] == source and k[1] == s for k in counts)]
    peak = max([counts.get((source, sp, c), 0) for c in rows for sp in splits] + [1])
    bar, gap, label_w, width = 10, 8, 290, 360
    height = len(rows) * (len(splits) * bar + gap) + 20
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + width + 60}" height="{height}">']
    y = 10
    for cls in rows:
        parts.append(f'<text x="0" y="{y + len(splits) * bar / 2 + 4}" font-size="12">{html.escape(cls[:44])}</text>')
        for sp in splits:
            n = counts.get((source, sp, cls), 0)
            w = width * n / peak
            parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar - 1}" '
                         f'fill="{SPLIT_COLOURS[sp]}"><title>{sp}: {n}</title></rect>')
            parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar - 2}" font-size="10">{n}</text>')
            y += bar
        y += gap
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def collect_rejects(data: Path) -> list[dict]:
    out = []
    stage_files = [("prepare", p) for p in sorted((data / "prepared").glob("*/rejects.jsonl"))]
    stage_files += [("normalize", data / "normalized/rejects.jsonl"), ("split", data / "split/rejects.jsonl"),
                    ("augment", data / "augmented/rejects.jsonl")]
    for stage, path in stage_files:
        out += [{**r, "stage": stage} for r in read_rejects(path)]
    return out


def run_report(data: Path, published: Path, out: Path) -> Path:
    data, published, out = Path(data), Path(published), Path(out)
    meta = read_card_header(published)
    sources = sorted({c["config_name"] for c in meta["configs"]} - set(config_specs()))  # the per-source configs
    counts = class_counts(published, sources)
    rejects = collect_rejects(data)
    sections = [_counts_section(counts, sources), _grids_section(published, sources),
                _augment_section(data), _rejects_section(rejects), _leakage_section(data),
                _standardization_section(published), _provenance_section(published)]
    page = _page(meta.get("pretty_name", "dataset"), sections)
    atomic_write_text(out / "index.html", page)
    _write_plots(out / "plots", counts, rejects)
    return out / "index.html"


def _counts_section(counts: dict, sources: list[str]) -> str:
    rows = [[s, c, *(counts.get((s, sp, c), 0) for sp in SPLITS), counts.get((s, "train (augmented)", c), 0)]
            for s in sources for c in sorted({k[2] for k in counts if k[0] == s})]
    legend = " ".join(f'<span style="color:{col}">■ {sp}</span>' for sp, col in SPLIT_COLOURS.items())
    charts = "".join(f"<h3>{html.escape(s)}</h3>{_bars_svg(counts, s)}" for s in sources)
    return ("<h2>Records per source, split and class</h2>"
            + _table(["source", "class", *SPLITS, "train augmented"], rows)
            + f"<p>{legend} (bars: original records; augmented copies are counted in the table only). "
            "“no basic · X”: a fine EmoNet class with no basic-level counterpart (see taxonomy.yaml).</p>" + charts)


def _grids_section(published: Path, sources: list[str]) -> str:
    parts = ["<h2>Sample images per class (train, originals)</h2>"]
    for s in sources:
        grid = sample_grid(published, s)
        if grid is not None:
            parts.append(f'<h3>{html.escape(s)}</h3><img alt="samples of {s}" src="{_png_data_uri(grid)}">')
    return "".join(parts) if len(parts) > 1 else ""


def _augment_section(data: Path) -> str:
    png = data / "augmented" / "before_after.png"
    if not png.is_file():
        return "<h2>Augmentation</h2><p>No augmented images (no train records with images).</p>"
    uri = "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode()
    return ("<h2>Augmentation: before and after</h2><p>Visible and infrared side by side; the IR image gets the "
            f'same geometric transform and no photometric change.</p><img alt="before/after" src="{uri}">')


def _rejects_section(rejects: list[dict]) -> str:
    if not rejects:
        return "<h2>Rejects</h2><p>None: every input record was kept.</p>"
    by = Counter((r["stage"], r["source"], r["reason"]) for r in rejects)
    examples: dict[tuple, list[str]] = defaultdict(list)
    for r in rejects:
        key = (r["stage"], r["source"], r["reason"])
        if len(examples[key]) < 2:
            examples[key].append(f"{r['id']}: {r['detail']}")
    rows = [[st, so, re, n, " | ".join(examples[(st, so, re)])] for (st, so, re), n in sorted(by.items())]
    return "<h2>Rejects by reason</h2>" + _table(["stage", "source", "reason", "count", "examples"], rows)


def _leakage_section(data: Path) -> str:
    path = data / "split" / "leakage.json"
    if not path.is_file():
        return ""
    leakage = json.loads(path.read_text())
    summary = _table(list(leakage["summary"]), [list(leakage["summary"].values())])
    rows = [[", ".join(c["record_ids"]), c["split"], ", ".join(c["kinds"]), "yes" if c["moved"] else "no",
             max(e["distance"] for e in c["edges"])] for c in leakage["clusters"][:20]]
    return ("<h2>Duplicates and leakage</h2>" + summary
            + _table(["records", "split", "kind", "moved into one split", "max dHash distance"], rows))


def _standardization_section(published: Path) -> str:
    path = published / "standardization.json"
    if not path.is_file():
        return ""
    stats = json.loads(path.read_text())
    rows = [[name, f"{s['mean']:.4g}", f"{s['std']:.4g}", s["n"]] for name, s in stats["features"].items()]
    return (f"<h2>Standardization (fitted on {stats['fitted_on']})</h2>"
            + _table(["feature", "mean", "std", "n"], rows))


def _provenance_section(published: Path) -> str:
    card = (published / "README.md").read_text()
    block = card.split("## Build provenance", 1)[-1]
    return f"<h2>Build provenance</h2><pre>{html.escape(block.strip().strip('`').strip())}</pre>"


def _page(title: str, sections: list[str]) -> str:
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
             "font-size:13px;text-align:left}th{background:#f3f3f3}img{max-width:100%;border:1px solid #ddd}"
             "pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:12px}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)} report</title>"
            f"<style>{style}</style></head><body><h1>{html.escape(title)}: build report</h1>"
            + "".join(sections) + "</body></html>\n")


def _write_plots(folder: Path, counts: dict, rejects: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "class_distribution.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["source_class", "split", "count"])
        for (s, sp, c), n in sorted(counts.items()):
            w.writerow([f"{s}/{c}", sp, n])
    by = Counter(r["reason"] for r in rejects)
    with open(folder / "rejects.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["reason", "count"])
        for reason, n in sorted(by.items()):
            w.writerow([reason, n])
