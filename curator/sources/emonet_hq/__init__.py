"""EmoNet-Face HQ: 2,500 synthetic faces, each rated 0-7 on 40 categories by up to 4 experts.

Reads the Hub Parquet (`path` image, `label` expert ratings, and LAION's own columns where present:
Prompt, Age, Ethnicity, Gender, Emotion -> label_provided, ind -> source_index) and, optionally,
hq.csv's model baselines joined by content signature. Every other column and file is named as not read.
See README.md for the format, where each part of it is known from, and what is unverified.

Scores: per fine class, the mean over the experts of rating / 7 (a key left out counts 0); with
`expert_scale: standardized`, each expert's ratings are first z-scored and mapped back onto the pooled
scale (curator.sources.emonet_hq.standardize); annotations and agreement keep the ratings as given.

Items: each Parquet row (a malformed label cell is malformed_annotation); each malformed hq.csv row
(malformed_annotation); each hq.csv image that joins no row (unjoined_annotation, excluded). Counts that
are not items (keys left out, URL-encoded keys, joined images, model rows per baseline) are logged.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from curator.config import Download
from curator.errors import CuratorError
from curator.pipeline.progress import log
from curator.reasons import Reason
from curator.record import dimensions
from curator.record.taxonomy import taxonomy
from curator.sources import emonet, recipe
from curator.sources.emonet import parquet
from curator.sources.emonet.strays import strays
from curator.sources.emonet_hq.baselines import Baselines, CsvImage, ModelRow, model_annotations
from curator.sources.emonet_hq.label import Expert, Label, parse_label, record_key
from curator.sources.emonet_hq.standardize import Scale, fit
from curator.sources.recipe import NotRead, Reject, SourceInfo

NAME = "emonet_hq"
CSV_NAME = "hq.csv"
LABELS = ("label",)
# LAION's own table of these images (statistics/descriptive.ipynb) names 8 columns: path, ind, Prompt, Age,
# Ethnicity, Gender, Emotion, image_metadata. path/Prompt/Age/Ethnicity/Gender are read as the image, the
# prompt and the demographics; these two under the recipe's own roles:
EXTRAS = {"provided": ("Emotion",), "index": ("ind",)}
NOT_READ = {  # why a column the evidence names is not read; any other column: UNKNOWN_COLUMN
    "image_metadata": "LAION's table holds {path, has_image} here, a file name the image struct and hq.csv "
                      "do not share: not joined on until a real file shows which name it is",
}
UNKNOWN_COLUMN = "not in any column list LAION or the readout authors publish: unverified, not read"


class Params(emonet.AnnotatedHubParams):
    repo: str = Field("laion/emonet-face-hq", description="Hub dataset repo")
    annotations_url: str | None = Field(f"{emonet.GITHUB_DATA}/{CSV_NAME}",
                                        description="hq.csv (model baselines) on LAION's GitHub, pinned to a "
                                        "commit; null = expert labels only")
    expert_scale: Literal["as_rated", "standardized"] = Field(
        "as_rated", description="as_rated: the mean of the experts' 0-7 ratings, as LAION's labels; standardized: "
        "each expert's ratings z-scored and mapped back to the scale first (README.md beside the recipe)")


HUB = emonet.Hub(NAME, Params())  # the defaults; a run uses Hub(NAME, conf)
INFO = SourceInfo.read(__file__)  # the facts: source.yaml beside this file


def download(conf: Params, fetch: Download, out: Path, from_: str | None = None) -> Path:
    return emonet.download(emonet.Hub(NAME, conf), fetch, out, from_)


def layout(raw: Path, conf: Params) -> str:
    """One line on what is under `raw` (for `curator inspect`); CuratorError when nothing fits."""
    shards = parquet.describe(NAME, raw, LABELS, (), EXTRAS)
    found = emonet.annotation_csv(emonet.Hub(NAME, conf), raw, CSV_NAME, required=False)
    extra = f"{found.name} ({found.stat().st_size:,} bytes): model baselines" if found else \
        "no hq.csv (optional: model baselines)"
    return f"{shards}; {extra}; unverified: {UNKNOWN}"


UNKNOWN = ("the Hub shard's columns beyond path and label (LAION's own table names 8: path, ind, Prompt, Age, "
           "Ethnicity, Gender, Emotion, image_metadata), what Emotion says (kept as written in label_provided)")


class Tally:
    """What prepare counts beside its items, logged at the end."""

    def __init__(self) -> None:
        self.keys = Counter[str]()  # same signature seen before -> suffix
        self.missing = 0  # fine classes a rater's dict leaves out
        self.sparse_raters = 0
        self.encoded = 0
        self.repeated_raters = 0  # a rater's dict named again in one label cell: dropped, counted

    def log(self, baselines: Baselines | None) -> None:
        recipe.report_metrics("repeated_raters_dropped", self.repeated_raters)
        if self.repeated_raters:
            log.warning("%s: %d expert dict(s) repeat a rater already named in their label cell: each rater "
                        "counted once (the later dict kept)", NAME, self.repeated_raters)
        if self.missing:
            log.warning("%s: %d rating(s) left out of %d expert dict(s) counted as 0", NAME, self.missing,
                        self.sparse_raters)
        if self.encoded:
            log.warning("%s: %d URL-encoded Family|Name key(s) read unquoted", NAME, self.encoded)
        repeated = sum(n - 1 for n in self.keys.values())
        if repeated:
            log.warning("%s: %d row(s) repeat an earlier row's expert ratings; ids suffixed -2, -3...", NAME, repeated)
        if baselines is None:
            log.info("%s: no %s: expert labels only, no model baselines", NAME, CSV_NAME)
            return
        models = ", ".join(f"{k} {v}" for k, v in sorted(baselines.model_rows.items())) or "none"
        log.info("%s: %s joined %d of %d image(s) by content signature; model rows attached: %s", NAME, CSV_NAME,
                 len(baselines.joined), len(baselines.images), models)


def prepare(raw: Path, conf: Params | None = None) -> Iterator[dict[str, Any] | Reject | NotRead]:
    conf = conf or Params()
    hub = emonet.Hub(NAME, conf)
    found = emonet.annotation_csv(hub, raw, CSV_NAME, required=False)
    baselines = Baselines(found) if found else None
    tally = Tally()
    scale = expert_scale(raw) if conf.expert_scale == "standardized" else None
    for row in parquet.read_rows(NAME, raw, LABELS, extras=EXTRAS):
        yield row if isinstance(row, Reject) else image_record(row, baselines, tally, scale)
    yield from closing(baselines, tally, unread(raw, found))


def expert_scale(raw: Path) -> Scale:
    """Each expert's mean and sd over every row (a pass over the label column only): logged, and in
    prepare's metrics.json as `expert_scale` (each expert's [mean, sd]: their rating bias)."""
    labels = (label_of(row) for row in parquet.read_rows(NAME, raw, LABELS, images=False)
              if not isinstance(row, Reject))
    scale = fit(e for label in labels if not isinstance(label, Reject) for e in label.experts)
    experts = {r: [round(m, 4), round(sd, 4)] for r, (m, sd) in sorted(scale.raters.items())}
    recipe.report_metrics("expert_scale", {"method": "standardized", "experts": experts,
                                           "pooled": [round(scale.mean, 4), round(scale.sd, 4)]})
    log.info("%s: experts standardised (mean/sd of their 0-7 ratings: %s; pooled %.2f/%.2f)", NAME,
             ", ".join(f"{r} {m:.2f}/{sd:.2f}" for r, (m, sd) in sorted(scale.raters.items())), scale.mean, scale.sd)
    return scale


def unread(raw: Path, csv: Path | None) -> list[NotRead]:
    """Each shard's columns prepare does not read, and every other file under raw, named (metrics
    `not_read`, `curator inspect`)."""
    files = parquet.parquet_files(NAME, raw)
    layouts = [parquet.detect_layout(NAME, f, LABELS, (), EXTRAS) for f in files]
    return [*parquet.not_read(layouts, NOT_READ, UNKNOWN_COLUMN),
            *strays(raw, [*files, *([csv] if csv else [])], "Hub Parquet + hq.csv layout")]


def closing(baselines: Baselines | None, tally: Tally, unread: list[NotRead]) -> list[Reject | NotRead]:
    """What prepare yields after the rows: hq.csv's malformed rows and unjoined images, and the columns
    not read; logs the tally."""
    items: list[Reject | NotRead] = [*baselines.malformed, *baselines.leftovers()] if baselines is not None else []
    tally.log(baselines)
    return [*items, *unread]


def storage_plan(raw: Path, conf: Params | None = None) -> parquet.UnitPlan:
    """With `--executor ray`: row groups as Ray Data units, the order-dependent ids and joins decided
    first from the label column: the pre-pass (decisions for every row, in file order), then one unit
    per row group carrying its own.

    An hq record depends on the rows before it in file order: a row whose label signature an earlier row
    had gets the id suffix `-2`, `-3`...; hq.csv's image with a signature joins the first row with it
    whose record is made. Two designs keep the driver off the records:
    - events: the units make records without those decisions, and the ordered pass (write_in_order)
      patches each one: its id (also group_id, a reject's id, a fix's id), its image path, the model
      annotations. That puts recipe knowledge into the stage's ordered pass and a record edit after the
      image check, so every place an id or path was copied would need patching.
    - a pre-pass (chosen): the driver reads every row WITHOUT its image column (the label string, a few
      KB, plus demographics and prompt), runs the recipe's own `decide` in file order, and gives each
      unit, in the unit itself, the decisions for its rows: the id key and the joined hq.csv image's model
      rows. The units then run the recipe's own `build`, so a record is made once, by the same code as
      prepare(). The tally the recipe logs at the end comes from this pass too.
    The cost is a second read and parse of the label column on the driver: 2.1 CPU-s for 2,400 sample
    rows, hq.csv's parse (which the pool path's driver does as well) included; the real repo has 2,500.
    Images, the bulk of the bytes and of the per-record work, stay on the cluster. A unit is a row group:
    how many rows the real shards put in one is unverified (`datasets` writes 100 per group for image
    datasets), and a shard written as a single group is a single unit.
    """
    from curator.io.parquet import row_group_units

    conf = conf or Params()

    found = emonet.annotation_csv(emonet.Hub(NAME, conf), raw, CSV_NAME, required=False)
    baselines = Baselines(found) if found else None
    tally = Tally()
    decisions: list[Any] = []  # per row: None (rejected whatever came before) or [key, joined name, model rows]
    for row in parquet.read_rows(NAME, raw, LABELS, images=False, extras=EXTRAS):
        label = row if isinstance(row, Reject) else label_of(row)
        if isinstance(row, Reject) or isinstance(label, Reject):
            decisions.append(None)
            continue
        key, joined = decide(row, label, baselines, tally)
        decisions.append([key, None, []] if joined is None else
                         [key, joined.name, [[m.annotator, m.cell] for m in joined.models]])
    files = parquet.parquet_files(NAME, raw)
    layouts = tuple(parquet.detect_layout(NAME, f, LABELS, (), EXTRAS) for f in files)
    units = row_group_units(files)
    if sum(u["rows"] for u in units) != len(decisions):
        raise CuratorError(f"{NAME}: the Parquet shards under {raw} changed while prepare read them")
    for unit in units:  # JSON text: a unit is one small Arrow row however many model rows it carries
        unit["decisions"] = json.dumps(decisions[unit["offset"]:unit["offset"] + unit["rows"]])
    not_read = unread(raw, found)
    scale = expert_scale(raw) if conf.expert_scale == "standardized" else None
    return parquet.UnitPlan(NAME, tuple(units), partial(_unit_items, layouts=layouts, scale=scale),
                            partial(_finish, baselines=baselines, tally=tally, unread=not_read))


def _unit_items(unit: dict[str, Any], layouts: tuple[parquet.Layout, ...],
                scale: Scale | None = None) -> Iterator[tuple[Any, None]]:
    """One row group's items (a Ray Data task): the recipe's `build` with the pre-pass's decisions."""
    decisions = json.loads(unit["decisions"])
    rows = parquet.row_group_rows(NAME, layouts[unit["file"]], unit["row_group"], unit["first_row"])
    for row, decision in zip(rows, decisions, strict=True):
        label = row if isinstance(row, Reject) else label_of(row)
        if isinstance(row, Reject) or isinstance(label, Reject):
            yield label, None
            continue
        if decision is None:
            raise CuratorError(f"{NAME}: {row.where} changed while prepare read it")
        key, name, models = decision
        joined = None if name is None else CsvImage(name, models=[ModelRow(a, c) for a, c in models])
        yield build(row, label, key, joined, scale), None


def _finish(notes: list[Any], baselines: Baselines | None, tally: Tally,
            unread: list[NotRead]) -> list[Reject | NotRead]:
    """prepare()'s closing items and log, from the pre-pass's baselines and tally."""
    return closing(baselines, tally, unread)


def image_record(row: parquet.Row, baselines: Baselines | None, tally: Tally,
                 scale: Scale | None = None) -> dict[str, Any] | Reject:
    label = label_of(row)
    if isinstance(label, Reject):
        return label
    key, joined = decide(row, label, baselines, tally)
    return build(row, label, key, joined, scale)


def label_of(row: parquet.Row) -> Label | Reject:
    if row.label is None:
        return Reject(None, Reason.MISSING_FIELD, f"{row.where}: the label cell is empty")
    try:
        return parse_label(row.label)
    except ValueError as exc:
        return Reject(None, Reason.MALFORMED_ANNOTATION, f"{row.where}: label {exc}", row.image.get("path") or None)


def decide(row: parquet.Row, label: Label, baselines: Baselines | None, tally: Tally) -> tuple[str, CsvImage | None]:
    """What a row's record takes from the rows before it, in file order: its id key (suffixed when an
    earlier row had the same signature) and the hq.csv image it joins (claimed by the first row with
    that signature whose record is made: a row whose demographics base_record rejects claims none)."""
    base = record_key(label.signature)
    tally.keys[base] += 1
    key = base if tally.keys[base] == 1 else f"{base}-{tally.keys[base]}"
    try:
        emonet.parse_demographics(row.demographics)
    except ValueError:
        return key, None  # build's base_record rejects this row
    joined = baselines.claim(label.signature) if baselines is not None else None  # once: the first row wins
    _count(label, tally)
    return key, joined


def build(row: parquet.Row, label: Label, key: str, joined: CsvImage | None,
          scale: Scale | None = None) -> dict[str, Any] | Reject:
    """One row's record (or Reject) once its key and join are decided."""
    image = {"bytes": row.image.get("bytes"), "path": row.image.get("path") or None}
    record = emonet.base_record(NAME, f"{NAME}/{key}", image, row.prompt, row.demographics, row.where)
    if isinstance(record, Reject):
        return record
    if joined is not None and image["path"] is None:
        image["path"] = joined.name  # the file name the Parquet lost
    record.update(expert_fields(label.experts, scale))
    record["annotations"] += _models(joined)
    provided, index = row.extras.get("provided"), row.extras.get("index")
    record.update(label_provided=None if provided is None else str(provided), source_index=_index(index))
    return record


def _index(value: Any) -> int | None:
    """`ind` as an integer; anything else (unverified on the Hub files) is left null rather than losing the row."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and value.strip().isdigit() else None


def _count(label: Label, tally: Tally) -> None:
    fine = len(taxonomy().fine)
    missing = [fine - len(e.emotions) for e in label.experts]
    tally.missing += sum(missing)
    tally.sparse_raters += sum(1 for m in missing if m)
    tally.encoded += label.encoded_keys
    tally.repeated_raters += label.repeated_raters


def expert_fields(experts: tuple[Expert, ...], scale: Scale | None = None) -> dict[str, Any]:
    """scores, label_original, agreement, annotations (experts) and dimensions from the experts' dicts;
    with `scale`, the scores and label from standardised ratings (agreement and annotations as rated)."""
    rated = [scale.ratings(e) if scale else e.emotions for e in experts]
    means = {name: sum(r.get(name, 0.0) for r in rated) / len(experts) for name in taxonomy().fine}
    top = emonet.top_label(means)
    agreement = emonet.spread_agreement([e.emotions.get(top, 0.0) for e in experts]) if top else None
    dims: dict[str, list[float]] = {}
    for e in experts:
        for name, value in e.extra.items():
            dims.setdefault(name, []).append(value)
    annotations = [
        {"annotator": e.rater, "is_model": False, "target": target, "value": value, "note": None}
        for e in experts
        for target, value in [*e.emotions.items(), *((f"{emonet.EXTRA}{k}", v) for k, v in e.extra.items())]
    ]
    return {"scores": emonet.scores(means), "label_original": top, "agreement": agreement,
            "annotations": annotations,
            "dimensions": dimensions.common("emonet", ((name, sum(vs) / len(vs)) for name, vs in dims.items()))}


def _models(joined: CsvImage | None) -> list[dict[str, Any]]:
    return [a for row in joined.models for a in model_annotations(row)] if joined else []
