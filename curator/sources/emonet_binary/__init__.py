"""EmoNet-Face Binary: 19,999 synthetic faces (00000...19998) with present/absent votes.

The Hub repo (laion/emonet-face-binary) holds `data/train-*.parquet` with `path` (an Image
struct) and `emotion` (an integer ClassLabel whose names sit in the file's `huggingface`
schema metadata). The per-annotator votes are `binary.csv` on LAION's GitHub:
`path,annotator,value,emotion` with `human-N` annotators and `True`/`False` values.

The two join on the image's file stem (`00000`): an inference, so it is checked — if no
Parquet stem matches binary.csv at all, prepare stops with a SchemaError. An image without
votes is kept with empty annotations (the count is logged); votes for an image the Parquet
lacks are one missing_image reject per image; an unreadable vote row is one
malformed_annotation reject.

- label_original: the Parquet ClassLabel name in the repo's own spelling (`Hopelessness`
  stays; schemas/maps/emonet_binary.yaml aliases it to Helplessness).
- annotations: every vote (target = the emotion as written, value 1.0 present / 0.0 absent).
- dimensions: per judged emotion, the share of its votes saying present, name `present:<emotion>`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from curator.config import Download
from curator.errors import SchemaError
from curator.progress import log
from curator.reasons import Reason
from curator.sources import emonet
from curator.sources.recipe import Reject

NAME = "emonet_binary"


class Params(emonet.AnnotatedHubParams):
    repo: str = Field("laion/emonet-face-binary", description="Hub dataset repo")
    annotations_url: str = Field(f"{emonet.GITHUB_DATA}/binary.csv",
                                 description="binary.csv on LAION's GitHub, pinned to a commit")


HUB = emonet.Hub(NAME, Params())  # the defaults; a run uses Hub(NAME, conf)
INFO = emonet.source_info(NAME, "EmoNet-Face Binary (present/absent votes)",
                          "19,999 images (~2.2 GB), 65,686 votes in binary.csv from GitHub",
                          HUB.repo, enabled_by_default=True)
CSV_COLUMNS = ("path", "annotator", "value", "emotion")
LABELS = ("emotion",)
_TRUTH = {"true": True, "1": True, "false": False, "0": False}


@dataclass(frozen=True)
class Vote:
    annotator: str
    emotion: str
    present: bool


def download(conf: Params, fetch: Download, out: Path, from_: str | None = None) -> Path:
    return emonet.download(emonet.Hub(NAME, conf), fetch, out, from_)


def prepare(raw: Path, conf: Params | None = None) -> Iterator[dict[str, Any] | Reject]:
    hub = emonet.Hub(NAME, conf or Params())
    votes, malformed = read_votes(emonet.annotation_csv(hub, raw))
    check_join(emonet.image_stems(NAME, raw), votes)
    seen: set[str] = set()
    unvoted = 0
    for row in emonet.read_rows(NAME, raw, LABELS):
        if isinstance(row, Reject):
            yield row
            continue
        seen.add(row.stem)
        unvoted += row.stem not in votes
        yield image_record(row, votes.get(row.stem, []))
    if unvoted:
        log.warning("%s: %d image(s) have no votes in binary.csv; kept with empty annotations", NAME, unvoted)
    yield from malformed
    for stem in sorted(set(votes) - seen):
        yield Reject(f"{NAME}/{stem}", Reason.MISSING_IMAGE,
                     f"binary.csv has {len(votes[stem])} vote(s) for {stem} but no Parquet image has that name")


def read_votes(path: Path) -> tuple[dict[str, list[Vote]], list[Reject]]:
    """binary.csv grouped by image stem, plus one reject per unreadable row."""
    return emonet.read_grouped_csv(path, CSV_COLUMNS, _parse_vote)


def _parse_vote(row: dict[str, Any], where: str) -> tuple[str, Vote] | Reject:
    stem = emonet.image_stem(row.get("path"))
    annotator, emotion = (row.get("annotator") or "").strip(), (row.get("emotion") or "").strip()
    present = _TRUTH.get((row.get("value") or "").strip().casefold())
    if stem is None or not annotator or not emotion or present is None:
        rid = f"{NAME}/{stem}" if stem else None
        return Reject(rid, Reason.MALFORMED_ANNOTATION,
                      f"{where}: expected path, annotator, True/False, emotion; got {emonet.short(row)}")
    return stem, Vote(annotator, emotion, present)


def check_join(stems: list[str], votes: dict[str, list[Vote]]) -> None:
    """The Parquet <-> binary.csv join on file stems must match at least one image."""
    if stems and not set(stems) & set(votes):
        ours, theirs = sorted(stems)[:3], sorted(votes)[:3]
        raise SchemaError(f"{NAME}: no Parquet image stem (e.g. {', '.join(ours)}) matches binary.csv's path column "
                          f"(e.g. {', '.join(theirs) or 'no rows'}): the join on file stems does not hold here")


def image_record(row: emonet.Row, votes: list[Vote]) -> dict[str, Any] | Reject:
    record = emonet.base_record(NAME, row)
    if isinstance(record, Reject):
        return record
    record.update(label_original=row.label, annotations=[_annotation(v) for v in votes],
                  dimensions=vote_shares(votes))
    return record


def _annotation(vote: Vote) -> dict[str, Any]:
    return {"annotator": vote.annotator, "is_model": False, "target": vote.emotion,
            "value": 1.0 if vote.present else 0.0, "note": None}


def vote_shares(votes: list[Vote]) -> list[dict[str, Any]]:
    """Per judged emotion (first-seen order), the share of its votes saying present."""
    tally: dict[str, list[bool]] = defaultdict(list)
    for vote in votes:
        tally[vote.emotion].append(vote.present)
    return [{"name": f"present:{emotion}", "value": sum(v) / len(v)} for emotion, v in tally.items()]
