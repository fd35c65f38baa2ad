"""binary.csv's votes: one vote per (annotator, image, emotion), majority vote, and the task groups.

A task is one (image, emotion) pair. Every image of the real file has two judged emotions: the
first listed is the one the image was prompted with (judged present on 70-96% of its votes), the
second a distractor (1-16%). Their priors differ so much that an annotator model fitted on both
at once can settle on a degenerate solution (curator.sources.emonet_binary.aggregate), so each
task belongs to a group, fitted apart: `prompted` (the image's first-listed emotion) or
`distractor` (any later one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curator.reasons import Reason
from curator.record.taxonomy import label_map, taxonomy
from curator.sources import emonet
from curator.sources.emonet import parquet
from curator.sources.recipe import Reject

if TYPE_CHECKING:
    import pandas as pd

NAME = "emonet_binary"
CSV_COLUMNS = ("path", "annotator", "value", "emotion")
_TRUTH = {"true": True, "1": True, "false": False, "0": False}
PROMPTED, DISTRACTOR = "prompted", "distractor"
GROUPS = (PROMPTED, DISTRACTOR)


@dataclass(frozen=True)
class Vote:
    annotator: str
    emotion: str
    present: bool


@cache
def fine_name(emotion: str) -> str:
    """The taxonomy's fine class name of an emotion as binary.csv writes it (Hopelessness -> Helplessness,
    through the label map); the text itself when the map does not resolve it to a fine class."""
    resolved = label_map(NAME).resolve(emotion)
    return taxonomy().fine[resolved.fine] if resolved and resolved.fine is not None else emotion


def taxonomy_order(name: str) -> int:
    fine = taxonomy().fine
    return fine.index(name) if name in fine else len(fine)


def once_each(votes: list[Vote]) -> tuple[list[Vote], int]:
    """One image's votes with each (annotator, emotion class) kept once, the first in file order, and
    how many repeats were dropped: a vote written three times must not outvote two others."""
    seen: set[tuple[str, str]] = set()
    kept: list[Vote] = []
    for vote in votes:
        key = (vote.annotator, fine_name(vote.emotion))
        if key not in seen:
            seen.add(key)
            kept.append(vote)
    return kept, len(votes) - len(kept)


def dedupe(votes: Mapping[str, list[Vote]]) -> tuple[dict[str, list[Vote]], int]:
    """once_each over every image: (the votes, the number of repeated votes dropped)."""
    out: dict[str, list[Vote]] = {}
    dropped = 0
    for stem, vs in votes.items():
        out[stem], n = once_each(vs)
        dropped += n
    return out, dropped


def vote_label(votes: list[Vote]) -> tuple[str | None, float | None]:
    """(the emotion with a majority of True votes, as the first True vote writes it; its share of
    True), or (None, None). Votes are tallied per taxonomy class: `Hopelessness` and `Helplessness`
    (its alias) on one image are votes on one emotion."""
    tally: dict[str, list[int]] = {}
    written: dict[str, str] = {}
    for vote in votes:
        name = fine_name(vote.emotion)
        tally.setdefault(name, [0, 0])[0 if vote.present else 1] += 1
        if vote.present:
            written.setdefault(name, vote.emotion)
    qualified = [(yes / (yes + no), yes, name) for name, (yes, no) in tally.items() if yes > no]
    if not qualified:
        return None, None
    share, _, name = min(qualified, key=lambda q: (-q[0], -q[1], taxonomy_order(q[2])))
    return written[name], share


def task_id(stem: str, emotion: str) -> str:
    return f"{stem}|{fine_name(emotion)}"


def groups(votes: Mapping[str, list[Vote]]) -> dict[str, str]:
    """task id -> PROMPTED for each image's first-listed emotion, DISTRACTOR for any later one."""
    out: dict[str, str] = {}
    for stem, vs in votes.items():
        first = fine_name(vs[0].emotion) if vs else None
        for vote in vs:
            out.setdefault(task_id(stem, vote.emotion), PROMPTED if fine_name(vote.emotion) == first else DISTRACTOR)
    return out


def frame(votes: Mapping[str, Iterable[Vote]], group_of: Mapping[str, str]) -> pd.DataFrame:
    """The votes as crowd-kit's long table: task, worker, label (1 present, 0 absent), plus group."""
    import pandas as pd

    rows = [(tid, v.annotator, int(v.present), group_of[tid])
            for stem, vs in votes.items() for v in vs for tid in (task_id(stem, v.emotion),)]
    return pd.DataFrame(rows, columns=["task", "worker", "label", "group"]).astype({"label": "int64"})


def read_votes(path: Path) -> tuple[dict[str, list[Vote]], list[Reject]]:
    """binary.csv grouped by its path stem, plus one reject per unreadable row."""
    return emonet.read_grouped_csv(path, CSV_COLUMNS, _parse_vote)


def _parse_vote(row: dict[str, Any], where: str) -> tuple[str, Vote] | Reject:
    stem = parquet.image_stem(row.get("path"))
    annotator, emotion = (row.get("annotator") or "").strip(), (row.get("emotion") or "").strip()
    present = _TRUTH.get((row.get("value") or "").strip().casefold())
    if stem is None or not annotator or not emotion or present is None:
        return Reject(f"{NAME}/{stem}" if stem else None, Reason.MALFORMED_ANNOTATION,
                      f"{where}: expected path, annotator, True/False, emotion; got {emonet.short(row)}")
    return stem, Vote(annotator, emotion, present)
