"""Report sections 5-8: annotator agreement, duplicates and leakage, distributions, augmentation."""

from __future__ import annotations

import html
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable

import pandas as pd

from curator.stages.report import charts
from curator.stages.report.agreement import agreement_by_source, summary_row
from curator.stages.report.annotators import annotator_sections
from curator.stages.report.counts import section, table
from curator.stages.report.data import Build, image_sizes, images_by_id
from curator.stages.report.thumbnails import strip, thumb_uri

MAX_CLUSTERS = 30


def agreement(build: Build, figs: charts.Figures) -> str:
    found = agreement_by_source(build.records)
    reliability = annotator_sections(build, figs)
    if not found:
        return section(5, "agreement", "Annotator agreement",
                       "<p>No source in this build has two or more human annotators per record.</p>" + reliability)
    body = table(["source", "annotators", "measure", "mean over categories", "categories", "undefined"],
                 [summary_row(a) for a in found])
    images = images_by_id(build.data, [r for a in found for r, _ in a.most_disagreed])
    for a in found:
        shown = {k: v for k, v in a.per_category.items() if not math.isnan(v)}
        body += f"<h3>{html.escape(a.source)}</h3>"
        if shown:
            xlabel = "Krippendorff's alpha (ordinal)" if a.kind == "ratings" else "majority share of votes"
            limits = (min(-0.1, min(shown.values()) - 0.05), 1.0) if a.kind == "ratings" else (0.0, 1.0)
            body += figs.img(charts.bars(shown, xlabel, limits=limits), f"agreement_{a.source}",
                             f"agreement per category: {a.source}")
        if not a.per_category:  # annotators, but never two on the same image and category
            body += ("<p class='note'>Nothing to compare: no image has two or more human votes on one category"
                     + (" (and the records carry no <code>agreement</code>)." if a.kind == "votes" else ".") + "</p>")
        if a.undefined:
            body += ("<p class='note'>Alpha undefined (every rating the same, nothing to agree on): "
                     + html.escape(", ".join(a.undefined)) + "</p>")
        items = [(uri, f"{rid} · {'rating spread' if a.kind == 'ratings' else '1 − vote agreement'} {d:.2f}")
                 for rid, d in a.most_disagreed if rid in images and (uri := thumb_uri(images[rid]))]
        if items:
            body += strip(items, "Most disagreement")
        elif a.per_category:
            body += "<p class='note'>No record with disagreement: every vote sides with its majority.</p>"
    return section(5, "agreement", "Annotator agreement", body + reliability)


def duplicates(build: Build) -> str:
    clusters = build.leakage.get("clusters", [])
    distance = build.leakage.get("summary", {}).get("max_distance", "?")
    if not clusters:
        return section(6, "duplicates", "Duplicates and leakage",
                       f"<p>None found: no two images are identical (sha256) or near-identical (dHash within "
                       f"{distance} bits), so no duplicate can leak across splits.</p>")
    split_of = dict(zip(build.records["id"], build.records["split"], strict=True))
    # clusters whose identical images disagree on the label first: someone should look at those
    shown = sorted(clusters, key=lambda c: not c.get("label_conflicts"))[:MAX_CLUSTERS]
    images = images_by_id(build.data, [r for c in shown for r in c["record_ids"]])
    body = (f"<p>{len(clusters)} cluster(s) of identical or near-identical images (dHash within {distance} bits). "
            "Each row is one cluster; the caption gives each record's split.</p>")
    for c in shown:
        items = [(uri, f"{rid} · {split_of.get(rid, 'dropped')}") for rid in c["record_ids"]
                 if rid in images and (uri := thumb_uri(images[rid], 120))]
        worst = max((e["distance"] for e in c["edges"]), default=0)
        conflicts = "; ".join(f"identical, labelled {x['a_label']} and {x['b_label']}"
                              for x in c.get("label_conflicts", []))
        title = (f"{', '.join(c['kinds'])}, max distance {worst}; "
                 + ("moved into one split" if c["moved"] else "already in one split")
                 + (f"; {conflicts}" if conflicts else ""))
        body += strip(items, title)
    if len(clusters) > MAX_CLUSTERS:
        body += f"<p class='note'>{len(clusters) - MAX_CLUSTERS} more cluster(s) in split/leakage.json.</p>"
    return section(6, "duplicates", "Duplicates and leakage", body)


def _demographics(build: Build, figs: charts.Figures) -> str:
    demo = build.records[build.records["demographics"].notna()]
    if not len(demo):
        return "<p class='note'>No record states demographics.</p>"
    body = ""
    for key in ("gender", "ethnicity", "age"):
        counts = Counter(d.get(key) for d in demo["demographics"] if d.get(key))
        if counts:
            sources = ", ".join(sorted(set(demo["source"])))
            body += (f"<h4>{key} ({html.escape(sources)})</h4>"
                     + figs.img(charts.bars(dict(counts.most_common()), "records"), f"demographics_{key}",
                                f"records per {key}"))
    return body


def _physio(build: Build, figs: charts.Figures) -> str:
    body = ""
    for source, frame in build.records[build.records["physio"].notna()].groupby("source", sort=True):
        values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for phys, cls in zip(frame["physio"], frame["class"], strict=True):
            for name, v in phys.items():
                if v is not None and not pd.isna(v):
                    values[name][cls].append(float(v))
        features = [f for f in values if len(values[f]) > 1][:4]  # the first four the source fills
        if features:
            body += (f"<h4>{html.escape(str(source))}: {', '.join(features)}</h4>"
                     + figs.img(charts.boxes({f: dict(sorted(values[f].items())) for f in features}),
                                f"physio_{source}", f"physio features per class: {source}"))
    return (body or "<p class='note'>No record carries physio features.</p>") + _standardization(build)


def _standardization(build: Build) -> str:
    """The z-score statistics publish ships (fitted on train only): what `physio_z` was computed with."""
    path = build.published / "standardization.json"
    if not path.is_file():
        return ""
    stats = json.loads(path.read_text())
    rows = [[name, f"{s['mean']:.4g}", f"{s['std']:.4g}", s["n"]] for name, s in stats["features"].items()]
    return (f"<details><summary>Standardization of <code>physio_z</code> (fitted on {html.escape(stats['fitted_on'])})"
            "</summary>" + table(["feature", "mean", "std", "n"], rows, "num") + "</details>")


def distributions(build: Build, figs: charts.Figures) -> str:
    sizes = image_sizes(build.data)
    body = "<h3>Demographics</h3>" + _demographics(build, figs) + "<h3>Physio features per class</h3>" + _physio(
        build, figs) + "<h3>Image sizes per source</h3>"
    if not sizes:
        return section(7, "distributions", "Distributions", body + "<p class='note'>No images.</p>")
    rows = [[s, len(v), _span(w for w, _ in v), _span(h for _, h in v)] for s, v in sorted(sizes.items())]
    body += ("<div class='side'>" + table(["source", "images read", "width (px)", "height (px)"], rows, "num")
             + figs.img(charts.scatter_sizes(sizes), "image_sizes", "image width and height per source") + "</div>")
    return section(7, "distributions", "Distributions", body)


def _span(numbers: Iterable[int]) -> str:
    v = sorted(numbers)
    return f"{v[0]}" if v[0] == v[-1] else f"{v[0]}–{v[-1]} (median {v[len(v) // 2]})"


def augmentation(build: Build) -> str:
    aug = build.augmented
    image_sources = sorted(set(build.records["source"]) & set(image_sizes(build.data, per_source=1)))
    if not len(aug):
        return section(8, "augmentation", "Augmentation", "<p>No augmented rows in this build.</p>")
    firsts = aug.drop_duplicates(["source", "class"]).sort_values(["source", "class"])
    ids = list(firsts["id"]) + list(firsts["augmented_from"])
    visible, infrared = images_by_id(build.data, ids), images_by_id(build.data, ids, "infrared")
    body = ("<p>One train record per class and source: the original beside its augmented copy (IR beside it "
            "where the record has one).</p>")
    for source in image_sources:
        rows = firsts[firsts["source"] == source]
        body += f"<h3>{html.escape(source)}</h3>"
        if not len(rows):
            body += "<p class='note'>No augmented copy of this source (no train image records).</p>"
            continue
        body += "<div class='pairs'>"
        for rid, parent, cls in zip(rows["id"], rows["augmented_from"], rows["class"], strict=True):
            items = [(u, f"{label}") for label, data in (("before", visible.get(parent)), ("after", visible.get(rid)),
                                                         ("IR before", infrared.get(parent)),
                                                         ("IR after", infrared.get(rid)))
                     if data and (u := thumb_uri(data, 96))]
            body += strip(items, cls)
        body += "</div>"
    return section(8, "augmentation", "Augmentation: before and after", body)
