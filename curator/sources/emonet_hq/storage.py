"""emonet_hq's storage plan: prepare with `--executor ray` reads the Parquet row groups where they are.

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

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from curator.errors import CuratorError
from curator.sources import emonet
from curator.sources import emonet_hq as hq
from curator.sources.emonet import parquet
from curator.sources.emonet_hq.baselines import Baselines, CsvImage, ModelRow
from curator.sources.recipe import NotRead, Reject


def plan(raw: Path, conf: hq.Params) -> parquet.UnitPlan:
    """The pre-pass (decisions for every row, in file order), then one unit per row group carrying its own."""
    from curator.io.parquet import row_group_units

    found = emonet.annotation_csv(emonet.Hub(hq.NAME, conf), raw, hq.CSV_NAME, required=False)
    baselines = Baselines(found) if found else None
    tally = hq.Tally()
    decisions: list[Any] = []  # per row: None (rejected whatever came before) or [key, joined name, model rows]
    for row in parquet.read_rows(hq.NAME, raw, hq.LABELS, images=False, extras=hq.EXTRAS):
        label = row if isinstance(row, Reject) else hq.label_of(row)
        if isinstance(row, Reject) or isinstance(label, Reject):
            decisions.append(None)
            continue
        key, joined = hq.decide(row, label, baselines, tally)
        decisions.append([key, None, []] if joined is None else
                         [key, joined.name, [[m.annotator, m.cell] for m in joined.models]])
    files = parquet.parquet_files(hq.NAME, raw)
    layouts = tuple(parquet.detect_layout(hq.NAME, f, hq.LABELS, (), hq.EXTRAS) for f in files)
    units = row_group_units(files)
    if sum(u["rows"] for u in units) != len(decisions):
        raise CuratorError(f"{hq.NAME}: the Parquet shards under {raw} changed while prepare read them")
    for unit in units:  # JSON text: a unit is one small Arrow row however many model rows it carries
        unit["decisions"] = json.dumps(decisions[unit["offset"]:unit["offset"] + unit["rows"]])
    unread = hq.unread(raw, found)
    return parquet.UnitPlan(hq.NAME, tuple(units), partial(_unit_items, layouts=layouts),
                            partial(_finish, baselines=baselines, tally=tally, unread=unread))


def _unit_items(unit: dict[str, Any], layouts: tuple[parquet.Layout, ...]) -> Iterator[tuple[Any, None]]:
    """One row group's items (a Ray Data task): the recipe's `build` with the pre-pass's decisions."""
    decisions = json.loads(unit["decisions"])
    rows = parquet.row_group_rows(hq.NAME, layouts[unit["file"]], unit["row_group"], unit["first_row"])
    for row, decision in zip(rows, decisions, strict=True):
        label = row if isinstance(row, Reject) else hq.label_of(row)
        if isinstance(row, Reject) or isinstance(label, Reject):
            yield label, None
            continue
        if decision is None:
            raise CuratorError(f"{hq.NAME}: {row.where} changed while prepare read it")
        key, name, models = decision
        joined = None if name is None else CsvImage(name, models=[ModelRow(a, c) for a, c in models])
        yield hq.build(row, label, key, joined), None


def _finish(notes: list[Any], baselines: Baselines | None, tally: hq.Tally,
            unread: list[NotRead]) -> list[Reject | NotRead]:
    """prepare()'s closing items and log, from the pre-pass's baselines and tally."""
    return hq.closing(baselines, tally, unread)
