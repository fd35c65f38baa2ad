"""Report sections 1-4: overview with verdicts, the funnel, class balance, label mapping."""

from __future__ import annotations

import html
from collections import Counter
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from curator.io.secrets import redact_values
from curator.pipeline.stages import SPLITS
from curator.reasons import Reason, is_exclusion
from curator.record.taxonomy import label_map
from curator.sources import get_recipe
from curator.stages.report import charts
from curator.stages.report.data import Build, class_name, config_counts, data_paths
from curator.stages.report.thumbnails import raw_file, strip, thumb_uri

_MEANINGS = {r.value: r.meaning for r in Reason}


def table(headers: list[str], rows: list[list[Any]], cls: str = "") -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<div class='scroll'><table class='{cls}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"


def section(number: int, anchor: str, title: str, body: str) -> str:
    return f"<section id='{anchor}'><h2>{number}. {html.escape(title)}</h2>{body}</section>"


# --- 1 overview -------------------------------------------------------------------------------------------

def verdicts(build: Build) -> list[tuple[str, bool, str]]:
    """(check, passed, one line) for leakage, accounting and duplicates."""
    rec = build.records
    straddling = int((rec.groupby("group_id")["split"].nunique() > 1).sum()) if len(rec) else 0
    clusters = build.leakage.get("clusters", [])
    leak = (straddling == 0, "no group (subject, pair or image) and no duplicate cluster is in two splits"
            if straddling == 0 else f"{straddling} group(s) appear in more than one split")
    problems = [f"{name}: {m['inputs']} in ≠ {m['kept']} kept + {m['rejected']} rejected"
                for name, m in build.metrics.items() if m.get("inputs") != m.get("kept", 0) + m.get("rejected", 0)]
    prepared = sum(m["kept"] for k, m in build.metrics.items() if k.startswith("prepare/"))
    chain = [("prepare → normalize", prepared, build.metrics.get("normalize", {}).get("inputs")),
             ("normalize → split", build.metrics.get("normalize", {}).get("kept"),
              build.metrics.get("split", {}).get("inputs")),
             ("split → records read", build.metrics.get("split", {}).get("kept"), len(rec))]
    problems += [f"{what}: {a} passed on, {b} received" for what, a, b in chain if a != b]
    account = (not problems, "every stage: inputs = kept + rejected, and each stage received what the previous kept"
               if not problems else "; ".join(problems))
    summary = build.leakage.get("summary", {})
    conflicts = summary.get("identical_with_conflicting_labels", 0)
    dup = (not conflicts, "none found (no identical or near-identical images)" if not clusters else
           f"{summary.get('clusters')} cluster(s) ({summary.get('exact_clusters')} exact, "
           f"{summary.get('near_clusters')} near), {summary.get('moved_to_one_split')} moved into one split, "
           f"{summary.get('dropped_within_split')} dropped"
           + (f"; {conflicts} identical pair(s) labelled differently (section 6)" if conflicts else ""))
    return [("leakage", *leak), ("accounting", *account), ("duplicates", *dup)]


def overview(build: Build) -> str:
    ver = "".join(f"<li class='{'ok' if ok else 'bad'}'><b>{name}</b>: {'OK' if ok else 'PROBLEM'} — "
                  f"{html.escape(text)}</li>" for name, ok, text in verdicts(build))
    counts = config_counts(build)
    # every split the card names, as load_dataset returns it: the originals' splits, then the augmented one
    splits = [*SPLITS, *dict.fromkeys(c["split"] for c in counts if c["split"] not in SPLITS)]
    cells = {(c["config"], c["split"]): c["originals"] + c["augmented"] for c in counts}
    rows = [[config, *(cells.get((config, s), 0) for s in splits)]
            for config in dict.fromkeys(c["config"] for c in counts)]
    kept = Counter(build.records["source"])
    sources = []
    for s in build.sources:
        info = get_recipe(s).INFO
        sources.append([s, info.title, info.license, info.redistributable, kept.get(s, 0)])
    flat = [[f"{section}.{k}", v] for section, values in build_params(build).items() if values
            for k, v in sorted(values.items())]
    flat += [[section, "not recorded"] for section, values in build_params(build).items() if not values]
    return section(1, "overview", "Overview", f"<ul class='verdicts'>{ver}</ul>"
                   "<h3>Records per config and split</h3>"
                   + table(["config", *splits], rows, "num")
                   + "<p class='note'>Rows per split, as <code>load_dataset</code> returns them: originals in "
                   "train / validation / test, augmented copies of train records in their own split.</p>"
                   "<h3>Sources</h3>" + table(["source", "title", "licence", "redistributable", "records"], sources)
                   + "<h3>Build parameters</h3>" + table(["param", "value"], flat))


def build_params(build: Build) -> dict[str, dict[str, Any] | None]:
    """The settings the build's stages ran with (their lineage.json); None: not recorded (or nothing augmented).
    Redacted here too: a lineage.json an older curator wrote may hold a URL's password."""
    facts = build.facts
    return redact_values({"split": facts.split and facts.split.model_dump(mode="json"),
                          "dedup": facts.dedup and facts.dedup.model_dump(mode="json"),
                          "augment": facts.augment_params(), "publish": build.publish_params})


# --- 2 funnel ---------------------------------------------------------------------------------------------

def funnel_rows(build: Build) -> list[tuple[str, int, int, int]]:
    """(source, kept, rejected, excluded): kept = records in the splits; the three add up to the inputs."""
    kept = Counter(build.records["source"])
    rejected = Counter(r["source"] for r in build.rejects if r["stage"] != "augment"
                       and not is_exclusion(r["reason"]))
    excluded = Counter(r["source"] for r in build.rejects if is_exclusion(r["reason"]))
    return [(s, kept[s], rejected[s], excluded[s]) for s in build.sources]


def _reject_thumbs(build: Build) -> str:
    shown, items = set(), []
    for r in build.rejects:
        key = (r["source"], r["reason"])
        if key in shown or not r.get("path"):
            continue
        data = raw_file(build.data / "raw" / r["source"], r["path"])
        uri = thumb_uri(data, 120, partial=True) if data else None
        if uri:
            shown.add(key)
            items.append((uri, f"{r['source']}: {r['reason']} ({r['id']})"))
    if not items:
        return ("<p class='note'>No rejected file could be shown (none decodes even partly, or the raw data "
                "is gone).</p>")
    return strip(items, "Rejected files, as far as they decode")


def funnel(build: Build, figs: charts.Figures) -> str:
    rows = funnel_rows(build)
    body = figs.img(charts.funnel(rows), "funnel", "kept, rejected and excluded items per source")
    stage_rows = [[k, m.get("inputs"), m.get("kept"), m.get("rejected"),
                   sum(n for code, n in (m.get("rejected_by_reason") or {}).items() if is_exclusion(code))]
                  for k, m in build.metrics.items()]
    body += "<h3>Per stage</h3>" + table(["stage", "inputs", "kept", "rejected", "of which excluded"], stage_rows,
                                         "num")
    if not build.rejects:
        return section(2, "funnel", "Funnel: inputs to kept", body + "<p>No rejects: every input item was kept.</p>")
    by = Counter((r["reason"], r["stage"], r["source"]) for r in build.rejects)
    example = {}
    for r in build.rejects:
        example.setdefault((r["reason"], r["stage"], r["source"]), r["detail"])
    top = [[reason, "excluded" if is_exclusion(reason) else "rejected", stage, source, n,
            _MEANINGS.get(reason, ""), example[(reason, stage, source)][:160]]
           for (reason, stage, source), n in by.most_common(15)]
    body += ("<h3>Top reasons</h3>" + table(["reason", "kind", "stage", "source", "count", "meaning", "example"], top)
             + _reject_thumbs(build))
    return section(2, "funnel", "Funnel: inputs to kept", body)


# --- 3 balance --------------------------------------------------------------------------------------------

def _config_frame(build: Build, config: dict) -> pd.DataFrame:
    """A published config's original records: split, group and class (columns it lacks read as null)."""
    wanted = ("label", "label_fine", "label_original", "group_id", "augmented_from")
    parts = []
    for files in config.get("data_files", []):
        for path in data_paths(build.published, files):
            names = set(pq.read_schema(path).names)
            frame = pq.read_table(path, columns=[c for c in wanted if c in names]).to_pandas()
            parts.append(frame.assign(split=files["split"], **{c: None for c in wanted if c not in names}))
    if not parts:
        return pd.DataFrame(columns=[*wanted, "split", "class"])
    frame = pd.concat(parts, ignore_index=True)
    frame = frame[frame["augmented_from"].isna()].copy()
    frame["class"] = [class_name(*v) for v in zip(frame["label"], frame["label_fine"], frame["label_original"],
                                                   strict=True)]
    return frame


def balance(build: Build, figs: charts.Figures) -> str:
    ratios = build.facts.split.ratios.model_dump() if build.facts.split is not None else {}
    target = " / ".join(f"{100 * ratios[s]:.0f}" for s in SPLITS if s in ratios) or "?"
    body = (f"<p>Target split ratios {target} % ({' / '.join(SPLITS)}); originals only. A class has one colour "
            "in every chart.</p>")
    colours = charts.class_colours(build.records["class"].unique())
    for config in build.meta.get("configs", []):
        frame = _config_frame(build, config)
        if not len(frame):
            continue
        splits = [s for s in SPLITS if (frame["split"] == s).any()]
        shares = {s: frame[frame["split"] == s]["class"].value_counts(normalize=True).to_dict() for s in splits}
        colours.update({c: (0.5, 0.5, 0.5) for c in frame["class"].unique() if c not in colours})
        name = config["config_name"]
        rows = [[s, int((frame["split"] == s).sum()), f"{100 * (frame['split'] == s).mean():.1f} %",
                 frame[frame["split"] == s]["group_id"].nunique()] for s in splits]
        body += (f"<h3>{html.escape(name)}</h3><div class='side'>"
                 + table(["split", "records", "share", "groups"], rows, "num")
                 + figs.img(charts.class_shares(shares, colours), f"balance_{name}", f"class shares per split: {name}")
                 + "</div>")
    return section(3, "balance", "Balance: class shares per split", body)


# --- 4 label mapping --------------------------------------------------------------------------------------

def _dropped(build: Build, source: str) -> list[list[Any]]:
    unknown = Counter(r["detail"] for r in build.rejects
                      if r["source"] == source and r["reason"] == Reason.UNKNOWN_LABEL.value)
    return [[detail, n] for detail, n in unknown.most_common()]


def label_mapping(build: Build, figs: charts.Figures) -> str:
    body = ("<p>Each source's own label text → the taxonomy class it lands in, counted over the kept records. "
            "An alias is a spelling the map folds into one of its entries; a dropped label is one the map does not "
            "list (its records are rejected as <code>unknown_label</code>).</p>")
    for source in build.sources:
        rec = build.records[build.records["source"] == source]
        lm = label_map(source)
        pairs: Counter = Counter()
        rows = []
        for (orig, cls), n in Counter(zip(rec["label_original"], rec["class"], strict=True)).most_common():
            resolved = lm.resolve(orig)
            alias = f"alias of {resolved.canonical}" if resolved and resolved.canonical != orig else ""
            rows.append([orig, cls, n, alias])
            pairs[(str(orig), cls)] += n
        dropped = _dropped(build, source)
        body += f"<h3>{html.escape(source)}</h3>"
        listing = table(["source label", "taxonomy class", "records", "alias"], rows)
        if 0 < len({o for o, _ in pairs}) <= 16:  # a matrix reads well up to a dozen labels or so
            body += ("<div class='side'>" + figs.img(charts.mapping_matrix(pairs), f"mapping_{source}",
                                                     f"label mapping of {source}") + listing + "</div>")
        else:
            body += f"<details><summary>{len(rows)} source labels → classes (table)</summary>{listing}</details>"
        if lm.aliases:
            aliases = ", ".join(f"{a} → {t}" for a, t in lm.aliases.items())
            body += f"<p class='note'>Aliases in the map: {html.escape(aliases)}</p>"
        body += (table(["dropped (unknown) label", "records"], dropped) if dropped
                 else "<p class='note'>No label dropped.</p>")
    return section(4, "mapping", "Label mapping", body)
