"""EmoNet-Face HQ: 2,500 synthetic faces, each rated by up to 4 experts on 40 categories (0-7).

The Hub repo (laion/emonet-face-hq) holds the images (`data/train-*.parquet`: image, prompt,
demographics); the ratings are `hq.csv` on LAION's GitHub: `image, annotator, annotations`,
where `annotations` is a stringified Python dict of category -> 0-7 that also carries
`Extra Dimensions|<name>` keys. Rows join on the image's file stem.

- annotations: every rating of every row, as given (target = the category or the full
  `Extra Dimensions|...` key); annotators named `Hume Face...` are models (is_model).
- scores: per taxonomy category, the mean over the image's expert (non-model) rows of its
  intensity / 7; a category an expert's dict leaves out counts as 0 for that expert.
- dimensions: per `Extra Dimensions|X` key, the mean over the expert rows that have it, name X.
- label_original: the top-scoring category. Tie rule: the earliest in taxonomy order wins;
  with every score 0 there is no label.

Items: each image is one; each malformed hq.csv row is one more, rejected as
malformed_annotation (carrying its image and annotator); ratings for an image the Parquet
lacks are one missing_image reject per image; an image without expert rows is missing_field.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from curator.config import Download
from curator.reasons import Reason
from curator.record.taxonomy import taxonomy
from curator.sources import emonet
from curator.sources.recipe import Reject

NAME = "emonet_hq"


class Params(emonet.AnnotatedHubParams):
    repo: str = Field("laion/emonet-face-hq", description="Hub dataset repo")
    annotations_url: str = Field(f"{emonet.GITHUB_DATA}/hq.csv",
                                 description="hq.csv on LAION's GitHub, pinned to a commit")


HUB = emonet.Hub(NAME, Params())  # the defaults; a run uses Hub(NAME, conf)
INFO = emonet.source_info(NAME, "EmoNet-Face HQ (expert intensity ratings)",
                          "2,500 images, up to 4 expert ratings each on 40 categories (hq.csv from GitHub)",
                          HUB.repo, enabled_by_default=True)
CSV_COLUMNS = ("image", "annotator", "annotations")
EXTRA = "Extra Dimensions|"
MODEL_PREFIX = "Hume Face"


@dataclass(frozen=True)
class Rating:
    """One hq.csv row: one annotator's ratings of one image."""

    annotator: str
    values: dict[str, float]

    @property
    def is_model(self) -> bool:
        return self.annotator.startswith(MODEL_PREFIX)


def download(conf: Params, fetch: Download, out: Path, from_: str | None = None) -> Path:
    return emonet.download(emonet.Hub(NAME, conf), fetch, out, from_)


def prepare(raw: Path, conf: Params | None = None) -> Iterator[dict[str, Any] | Reject]:
    hub = emonet.Hub(NAME, conf or Params())
    ratings, malformed = read_ratings(emonet.annotation_csv(hub, raw))
    seen: set[str] = set()
    for row in emonet.read_rows(NAME, raw):
        if isinstance(row, Reject):
            yield row
            continue
        seen.add(row.stem)
        yield image_record(row, ratings.get(row.stem, []))
    yield from malformed
    for stem in sorted(set(ratings) - seen):
        yield Reject(f"{NAME}/{stem}", Reason.MISSING_IMAGE,
                     f"hq.csv rates {stem} ({len(ratings[stem])} row(s)) but no Parquet image has that name")


def parse_ratings(text: str) -> dict[str, float]:
    """One `annotations` cell: a dict of str -> number, categories within 0-7; ValueError otherwise."""
    values = emonet.literal_dict(text)
    out: dict[str, float] = {}
    for key, value in values.items():
        if not isinstance(key, str) or not emonet.is_number(value):
            raise ValueError(f"{emonet.short(key)}: {emonet.short(value)} is not a category -> number entry")
        if not key.startswith(EXTRA) and not 0 <= value <= emonet.INTENSITY_MAX:
            raise ValueError(f"{key!r} = {value} is outside 0-{emonet.INTENSITY_MAX}")
        out[key] = float(value)
    return out


def read_ratings(path: Path) -> tuple[dict[str, list[Rating]], list[Reject]]:
    """hq.csv grouped by image stem, plus one reject per malformed row (hq.csv is small: ~10k rows)."""
    return emonet.read_grouped_csv(path, CSV_COLUMNS, _parse_row)


def _parse_row(row: dict[str, Any], where: str) -> tuple[str, Rating] | Reject:
    image, annotator = row.get("image") or "", (row.get("annotator") or "").strip()
    stem = emonet.image_stem(image)
    rid = f"{NAME}/{stem}" if stem else None
    if stem is None or not annotator:
        return Reject(rid, Reason.MALFORMED_ANNOTATION, f"{where}: empty image or annotator", image or None)
    try:
        values = parse_ratings(row.get("annotations") or "")
    except ValueError as exc:
        return Reject(rid, Reason.MALFORMED_ANNOTATION, f"{where}: annotator {annotator!r}: annotations {exc}", image)
    return stem, Rating(annotator, values)


def image_record(row: emonet.Row, ratings: list[Rating]) -> dict[str, Any] | Reject:
    record = emonet.base_record(NAME, row)
    if isinstance(record, Reject):
        return record
    experts = [r for r in ratings if not r.is_model]
    if not experts:
        models = ", ".join(sorted({r.annotator for r in ratings})) or "none"
        return Reject(record["id"], Reason.MISSING_FIELD,
                      f"{row.where}: no expert rating in hq.csv (model rows: {models})", row.image["path"])
    means = expert_means(experts)
    record.update(scores=emonet.scores(means), label_original=emonet.top_label(means),
                  annotations=annotations(ratings), dimensions=extra_dimensions(experts))
    return record


def expert_means(experts: list[Rating]) -> dict[str, float]:
    """Mean intensity (0-7) per taxonomy category over the expert rows; absent counts as 0."""
    return {name: sum(r.values.get(name, 0.0) for r in experts) / len(experts) for name in taxonomy().fine}


def extra_dimensions(experts: list[Rating]) -> list[dict[str, Any]]:
    """`Extra Dimensions|X` keys, averaged over the expert rows that have them, in first-seen order."""
    found: dict[str, list[float]] = defaultdict(list)
    for rating in experts:
        for key, value in rating.values.items():
            if key.startswith(EXTRA):
                found[key.removeprefix(EXTRA)].append(value)
    return [{"name": name, "value": sum(vs) / len(vs)} for name, vs in found.items()]


def annotations(ratings: list[Rating]) -> list[dict[str, Any]]:
    return [
        {"annotator": r.annotator, "is_model": r.is_model, "target": key, "value": value, "note": None}
        for r in ratings for key, value in r.values.items()
    ]
