"""hq.csv (LAION-AI/emonet-face data/hq.csv): optional; model baselines joined by content signature.

Columns `image, annotator, annotations, human`. `annotations` is a stringified dict keyed
`Family|Name` (parsed with ast.literal_eval); `human` (text True/False) is the authority on who
is an expert — names are never used for that (saveli/emonet-readout,
analysis/reliability_vs_performance.py). The expert rows repeat the Parquet's ratings; the
14 model baselines (Hume Face*, GPT-4o ZS, Empathic Insight Face Large, Random Baseline, ...)
are what hq.csv adds, each on its own scale: 0-1, mean-subtracted (negative values), 0-7.

The join is the readout authors' (analysis/build_image_index_map.py): an image's expert rows
(a later row of the same rater wins) give its content signature; the first image with a
signature owns it; the Parquet row with the same signature is that image. Model rows then
go to that record's annotations (is_model true, their scale in `note`), never into its labels.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curator.reasons import Reason
from curator.sources import emonet
from curator.sources.emonet_hq.label import Signature, expert, signature
from curator.sources.recipe import Reject

CSV_COLUMNS = ("image", "annotator", "annotations", "human")
_TRUTH = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def scale_note(annotator: str) -> str:
    """The scale a baseline's numbers are on, as far as the evidence goes (its annotations' note)."""
    if annotator.startswith("Hume Face"):
        return f"{annotator} 0-1 scale"  # LAION's analysis-hq.ipynb multiplies it by 7 "to match scale"
    if annotator.startswith("Empathic Insight Face"):
        return f"{annotator} mean-subtracted scale (negatives valid)"  # the readout authors' reading
    if annotator == "Random Baseline":
        return "random baseline"
    if annotator.endswith(" ZS"):
        return f"{annotator} zero-shot VLM 1-7"
    if annotator.endswith(" MS"):
        return f"{annotator} multi-shot VLM 0-7"
    return f"{annotator} model baseline, scale unverified"


@dataclass(frozen=True)
class ModelRow:
    annotator: str
    cell: str  # the annotations text; parsed again when attached, so 35k model dicts are not held in memory


@dataclass
class CsvImage:
    name: str
    humans: dict[str, dict[Any, Any]] = field(default_factory=dict)
    models: list[ModelRow] = field(default_factory=list)


def _numbers(values: dict[Any, Any]) -> bool:
    return all(isinstance(k, str) and emonet.is_number(v) for k, v in values.items())


def _parse_row(row: dict[str, Any], where: str) -> tuple[str, tuple[str, bool, Any]] | Reject:
    image, annotator = (row.get("image") or "").strip(), (row.get("annotator") or "").strip()
    human = _TRUTH.get((row.get("human") or "").strip().casefold())
    if not image or not annotator or human is None:
        return Reject(None, Reason.MALFORMED_ANNOTATION,
                      f"{where}: expected an image, an annotator and human True/False; got {emonet.short(row)}",
                      image or None)
    cell = row.get("annotations") or ""
    try:
        values = emonet.literal_dict(cell)
    except ValueError as exc:
        return Reject(None, Reason.MALFORMED_ANNOTATION, f"{where}: annotator {annotator!r}: annotations {exc}", image)
    try:
        if human:  # checked like the Parquet's experts, so a bad row is reported, not a silently spoilt signature
            expert(annotator, values)
        elif not _numbers(values):
            raise ValueError("are not all name -> number")
    except ValueError as exc:
        return Reject(None, Reason.MALFORMED_ANNOTATION, f"{where}: annotator {annotator!r}: annotations {exc}", image)
    return image, (annotator, human, values if human else ModelRow(annotator, cell))


class Baselines:
    """hq.csv read once: per image its expert dicts and model rows, indexed by signature."""

    def __init__(self, path: Path) -> None:
        grouped, self.malformed = emonet.read_grouped_csv(path, CSV_COLUMNS, _parse_row)
        self.images: dict[str, CsvImage] = {}
        for name, rows in grouped.items():
            image = self.images[name] = CsvImage(name)
            for annotator, human, payload in rows:
                if human:
                    image.humans[annotator] = payload  # a later row of the same rater wins
                else:
                    image.models.append(payload)
        self.unjoinable: list[Reject] = []
        self._by_signature: dict[Signature, str] = {}
        for name, image in self.images.items():
            if not image.humans:
                self._unjoined(image, "has no human rows, so no signature to join on")
                continue
            owner = self._by_signature.setdefault(signature(image.humans), name)
            if owner != name:
                self._unjoined(image, f"has the same expert ratings as {owner}, which was joined instead")
        self.joined: list[str] = []
        self.model_rows = Counter[str]()  # annotator -> rows attached to records

    def _unjoined(self, image: CsvImage, why: str) -> None:
        self.unjoinable.append(Reject(
            None, Reason.UNJOINED_ANNOTATION,
            f"hq.csv image {image.name} ({len(image.humans)} expert, {len(image.models)} model row(s)) {why}",
            image.name))

    def claim(self, sig: Signature) -> CsvImage | None:
        """The hq.csv image with this signature, once: a second Parquet row with it gets nothing."""
        name = self._by_signature.pop(sig, None)
        if name is None:
            return None
        image = self.images[name]
        self.joined.append(name)
        self.model_rows.update(m.annotator for m in image.models)
        return image

    def leftovers(self) -> list[Reject]:
        """Unjoinable images, then those whose signature no Parquet row had (call after the last claim)."""
        for sig_owner in self._by_signature.values():
            self._unjoined(self.images[sig_owner], "matches no Parquet row by expert ratings (content signature)")
        self._by_signature.clear()
        return self.unjoinable


def model_annotations(row: ModelRow) -> list[dict[str, Any]]:
    """One annotation per key of a model row, on the model's own scale."""
    note = scale_note(row.annotator)
    return [{"annotator": row.annotator, "is_model": True, "target": _target(key), "value": float(value),
             "note": note} for key, value in emonet.literal_dict(row.cell).items()]


def _target(key: str) -> str:
    """The fine name of a guide key, `Extra Dimensions|X` as given, any other key as given."""
    try:
        kind, name = emonet.guide_key(key)
    except ValueError:
        return key
    return name if kind == "emotion" else f"{emonet.EXTRA}{name}"
