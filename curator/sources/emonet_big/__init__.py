"""EmoNet-Face Big: ~203k synthetic faces with weak labels from a vision-language model.

The Hub repo's storage is unverified: Parquet shards, WebDataset tars or an image folder with metadata are
detected and streamed with `datasets`, and LAION's own notebook output (`<image>.json` answers mirrored
or side by side) is joined to its images (curator.sources.emonet_big.layouts, .answers); the VLM output
is read in each shape LAION's code writes or documents (curator.sources.emonet_big.vlm). See README.md
for the format, where each part of it is known from, what is tolerated and what is unverified.

Record: id `emonet_big/<key>`; scores the models' mean rating / 7; label_original the top-rated name;
agreement 1 - sd / 3.5 with two or more models; annotations one per model and name (reasoning in note);
dimensions the extra dimensions on the common scale.
Items: each image. Rejects: malformed VLM output or a key naming another file (malformed_annotation),
none at all or no image (missing_field), an answer or metadata row whose image is absent (missing_image).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import Field

from curator.config import Download
from curator.pipeline.progress import log
from curator.reasons import Reason
from curator.record import dimensions
from curator.record.taxonomy import taxonomy
from curator.sources import emonet, recipe
from curator.sources.emonet.parquet import UnitPlan
from curator.sources.emonet_big import layouts, vlm
from curator.sources.recipe import NotRead, Reject, SourceInfo

NAME = "emonet_big"


class Params(emonet.HubParams):
    repo: str = Field("laion/emonet-face-big", description="Hub dataset repo")


HUB = emonet.Hub(NAME, Params(), ("*.parquet", "*.tar", "*.md", "*.json", *layouts.METADATA,
                                  *(f"*{ext}" for ext in layouts.IMAGE_EXTENSIONS)))
INFO = SourceInfo.read(__file__)  # the facts: source.yaml beside this file


def download(conf: Params, fetch: Download, out: Path, from_: str | None = None) -> Path:
    return emonet.download(emonet.Hub(NAME, conf, HUB.manual_patterns), fetch, out, from_)


def layout(raw: Path, conf: Params) -> str:
    """One line on what is under `raw` (for `curator inspect`): what is read, and what is not known;
    CuratorError when nothing fits. What is not read is listed by inspect from prepare's NotRead items."""
    found = layouts.detect(NAME, raw)
    return f"{found.describe()}; unverified: {UNKNOWN[found.kind]}"


UNKNOWN = {  # what is not known of each layout (README.md says where each part of the format comes from)
    "parquet": "that the Hub repo uses this layout, its column names (read: image/path, annotations/label, "
               "prompt, demographics)",
    "webdataset": "that the Hub repo uses this layout (the Hub viewer's auto-conversion suggests a non-Parquet "
                  "one), where prompt and demographics live (read: <key>.txt, the JSON's own keys)",
    "imagefolder": "that the Hub repo uses this layout, the metadata's column names (read: file_name, "
                   "annotations/label, prompt, demographics)",
    "answers": "whether a published copy keeps LAION's notebook layout; an answer key's folder name (a renamed "
               "folder is tolerated and logged; the file name must match); no prompt or demographics in it",
}


def prepare(raw: Path, conf: Params | None = None) -> Iterator[dict[str, Any] | Reject | NotRead]:
    found = layouts.detect(NAME, raw)
    notes = []
    for item in layouts.stream(NAME, found):
        if isinstance(item, Reject | NotRead):  # the answer join's own: no image to make a record of
            yield item
            continue
        record, note = item_and_note(item)
        notes.append(note)
        yield record
    yield from finish(notes, layouts.not_read(found))


def storage_plan(raw: Path, conf: Params | None = None) -> UnitPlan | None:
    """With `--executor ray`: Parquet row groups or WebDataset tars as Ray Data units, read where they are
    and turned into records by the same item_and_note as prepare(); None for an image folder, which
    prepare() reads from the driver (its images then checked on Ray tasks, as before)."""
    found = layouts.detect(NAME, raw)
    listed = layouts.storage_units(NAME, found)
    if listed is None:
        return None
    units, context = listed
    return UnitPlan(NAME, tuple(units), partial(_unit_items, found=found, context=context),
                    partial(finish, unread=layouts.not_read(found)))


def _unit_items(unit: dict[str, Any], found: layouts.Found,
                context: dict[str, Any]) -> Iterator[tuple[dict[str, Any] | Reject, Any]]:
    for item in layouts.unit_items(NAME, found, unit, context):
        yield item_and_note(item)


def item_and_note(item: layouts.Item) -> tuple[dict[str, Any] | Reject, list[int] | None]:
    """One item's record and its note: [names left out, outputs leaving some out, repeated model answers
    dropped] when there is any."""
    missing, repeated = [0, 0], [0]
    record = image_record(item, missing, repeated)
    note = [*missing, *repeated]
    return record, note if any(note) else None


def finish(notes: list[Any], unread: list[NotRead]) -> list[NotRead]:
    """After the last item: the count of left-out ratings logged; the files not read, named."""
    left_out, outputs = sum(n[0] for n in notes if n), sum(n[1] for n in notes if n)
    repeated = sum(n[2] for n in notes if n)
    recipe.report_metrics("repeated_raters_dropped", repeated)
    if repeated:
        log.warning("%s: %d answer(s) of a model already answering for the same image dropped: each model "
                    "counted once (its first answer kept)", NAME, repeated)
    if left_out:
        log.warning("%s: %d emotion rating(s) left out of %d model output(s), counted as 0 (the spec requires "
                    "all %d)", NAME, left_out, outputs, len(taxonomy().fine))
    return unread


def record_id(item: layouts.Item) -> str:
    key = item.key or f"sha256-{hashlib.sha256(item.image.get('bytes') or b'').hexdigest()[:16]}"
    return f"{NAME}/{key}"


def image_record(item: layouts.Item, missing: list[int] | None = None,
                 repeated: list[int] | None = None) -> dict[str, Any] | Reject:
    """One item's record; `missing` adds [names left out, outputs leaving some out], `repeated` [answers
    dropped because their model had answered already]."""
    rid, path = record_id(item), item.image.get("path")
    if item.missing:
        reason = Reason.MISSING_IMAGE if "cannot be read" in item.missing else Reason.MISSING_FIELD
        return Reject(rid, reason, f"{item.where}: {item.missing}", path)
    if item.annotations is None:
        return Reject(rid, Reason.MISSING_FIELD, f"{item.where}: no VLM annotations", path)
    try:
        outputs, dropped = vlm.once_per_model(vlm.parse(item.annotations))
    except ValueError as exc:
        return Reject(rid, Reason.MALFORMED_ANNOTATION, f"{item.where}: annotations {exc}", path)
    record = emonet.base_record(NAME, rid, item.image, item.prompt, item.demographics, item.where)
    if isinstance(record, Reject):
        return record
    if missing is not None:
        left_out = [sum(1 for n in taxonomy().fine if n not in o.emotions) for o in outputs]
        missing[0] += sum(left_out)
        missing[1] += sum(1 for n in left_out if n)
    if repeated is not None:
        repeated[0] += dropped
    record.update(vlm_fields(outputs))
    return record


def _mean(outputs: list[vlm.ModelOutput], name: str) -> float:
    """The models' mean rating of `name`; a model that leaves it out rates it 0."""
    return sum(o.emotions.get(name, (0.0, None))[0] for o in outputs) / len(outputs)


def _mean_extra(outputs: list[vlm.ModelOutput], name: str) -> float:
    """The mean of an extra dimension over the models that give it."""
    given = [o.extra[name][0] for o in outputs if name in o.extra]
    return sum(given) / len(given)


def vlm_fields(outputs: list[vlm.ModelOutput]) -> dict[str, Any]:
    """scores, label_original, agreement, annotations and dimensions from the models' answers."""
    names = list(dict.fromkeys(n for o in outputs for n in o.emotions))
    means = {name: _mean(outputs, name) for name in names}
    top = emonet.top_label(means)
    dims = list(dict.fromkeys(n for o in outputs for n in o.extra))
    return {
        "scores": emonet.scores(means),
        "label_original": top,
        "agreement": emonet.spread_agreement([o.emotions.get(top, (0.0, None))[0] for o in outputs]) if top else None,
        "annotations": [
            {"annotator": o.model, "is_model": True, "target": target, "value": rating, "note": why}
            for o in outputs
            for target, (rating, why) in [*o.emotions.items(),
                                          *((f"{emonet.EXTRA}{k}", v) for k, v in o.extra.items())]
        ],
        "dimensions": dimensions.common("emonet", ((name, _mean_extra(outputs, name)) for name in dims)),
    }
