"""report: one self-contained HTML page a curator reads to decide what to fix, plus plots for `dvc plots`.

Sections: 1 overview (counts per config, sources and licences, params, a verdict per check),
2 funnel, 3 balance, 4 label mapping, 5 annotator agreement, 6 duplicates and leakage,
7 distributions, 8 augmentation. Charts are matplotlib SVGs and thumbnails are JPEGs, all inlined
as data URIs: the page fetches nothing when opened. The same charts are written to
reports/plots/*.svg, and the counts to CSV, for `dvc plots`.
"""

from __future__ import annotations

import csv
import html
import io
from collections import Counter
from pathlib import Path

from curator.io.atomic import atomic_dir, atomic_write_text
from curator.stages.report import charts
from curator.stages.report.counts import balance, funnel, funnel_rows, label_mapping, overview
from curator.stages.report.data import Build, load_build
from curator.stages.report.quality import agreement, augmentation, distributions, duplicates

SECTIONS = ("overview", "funnel", "balance", "mapping", "agreement", "duplicates", "distributions", "augmentation")
_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:0 auto;padding:1em;color:#222;line-height:1.4}
h2{border-bottom:2px solid #4c78a8;padding-bottom:.2em;margin-top:2em}
nav{position:sticky;top:0;background:#fff;padding:.4em 0;border-bottom:1px solid #ddd;font-size:14px;z-index:1}
nav a{margin-right:.8em;white-space:nowrap}
.scroll{overflow-x:auto}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;
text-align:left;vertical-align:top}th{background:#f3f3f3}table.num td+td{text-align:right}
img.chart{max-width:100%;height:auto;display:block;margin:.5em 0}
@media (max-width:600px){img.chart{max-width:none}.chart-box{overflow-x:auto;max-width:100%}}
.strip{margin:.6em 0}.strip-title{font-size:13px;font-weight:600;margin-bottom:.2em}
.row{display:flex;flex-wrap:wrap;gap:6px}
figure{margin:0;text-align:center;font-size:11px;max-width:164px}
figure img{display:block;max-width:100%;border:1px solid #ddd;margin:0 auto}
figcaption{overflow-wrap:anywhere}
.side{display:flex;flex-wrap:wrap;gap:0 2em;align-items:flex-start}
.pairs{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:4px 16px}
.verdicts li{margin:.2em 0}.ok b{color:#2a7a2a}.bad b{color:#c0392b}.note{color:#555;font-size:13px}
"""


def _page(title: str, sections: list[str]) -> str:
    nav = " ".join(f"<a href='#{a}'>{i}. {a}</a>" for i, a in enumerate(SECTIONS, 1))  # spaces: links wrap
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{html.escape(title)} report</title><style>{_STYLE}</style></head><body>"
            f"<h1>{html.escape(title)}: build report</h1><nav>{nav}</nav>" + "".join(sections) + "</body></html>\n")


def run_report(data: Path, published: Path, out: Path) -> Path:
    """Write index.html, figures/ (the charts as SVG) and plots/ (their counts as CSV) into `out`."""
    build = load_build(Path(data), Path(published))
    out = Path(out)
    figs = charts.Figures()
    sections = [overview(build), funnel(build, figs), balance(build, figs), label_mapping(build, figs),
                agreement(build, figs), duplicates(build), distributions(build, figs), augmentation(build)]
    page = _page(build.meta.get("pretty_name", "dataset"), sections)
    _write(out, page, {f"{name}.svg": svg for name, svg in figs.svgs.items()}, _csv_plots(build))
    return out / "index.html"


def _write(out: Path, page: str, figures: dict[str, bytes], plots: dict[str, str]) -> None:
    """All or nothing: figures/ and plots/ are built under temp names and swapped in only once
    index.html is written too, so a failure (a full disk: one line naming the folder or file) leaves
    the previous report as it was. Only the report's own names change: `out` may hold other files
    (DVC's .gitignore). The folders are nested so that an error names the one being written."""
    with atomic_dir(out / "figures") as figures_tmp:  # the same SVGs, for `dvc plots` (an image directory)
        for name, svg in figures.items():
            (figures_tmp / name).write_bytes(svg)
        with atomic_dir(out / "plots") as plots_tmp:
            for name, text in plots.items():
                (plots_tmp / name).write_bytes(text.encode())
            atomic_write_text(out / "index.html", page)


def _csv(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)  # csv's own \r\n line ends, as these files always had
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _csv_plots(build: Build) -> dict[str, str]:
    """The counts behind the charts, in the long form dvc's bar templates read."""
    rec = build.records
    counts = Counter(zip(rec["source"], rec["split"], rec["class"], strict=True))
    counts.update(Counter((s, "train (augmented)", c) for s, c in zip(build.augmented["source"],
                                                                      build.augmented["class"], strict=True)))
    return {
        "class_distribution.csv": _csv(["source_class", "split", "count"],
                                       [[f"{s}/{c}", sp, n] for (s, sp, c), n in sorted(counts.items())]),
        "rejects.csv": _csv(["reason", "count"], sorted(Counter(r["reason"] for r in build.rejects).items())),
        "funnel.csv": _csv(["source", "outcome", "count"],
                           [[s, outcome, n] for s, *values in funnel_rows(build)
                            for outcome, n in zip(("kept", "rejected", "excluded"), values, strict=True)]),
    }
