"""EmoNet-Face Binary: 19,999 synthetic faces, each judged present/absent on two emotions.

The Hub Parquet (`path` image with its file name, `emotion` ClassLabel) joined by file stem to the votes
in LAION's binary.csv (`path,annotator,value,emotion`). label_original is the label the votes give
(below); label_provided the Parquet `emotion` as written; agreement the label's share of True votes.
The join is checked on the data before any record: a shift of the names by +-1 is refused, and
applied only when params `name_offset` says so. See README.md for the format, where each
part of it is known from, and what is unverified.

The label: the judged emotion most likely present under the annotator model `aggregation` names
(labels.py, aggregate.py; README.md's "How the votes become a label"), when its posterior is above
`present_threshold` (none -> kept unlabelled); label_majority keeps what plain majority vote gives;
scores each judged emotion's posterior (0 for the others); repeated (annotator, image, emotion) votes
count once. How the labels were aggregated, its counts and each annotator's reliability go to
prepare's metrics.json under `aggregation`.

Items: each Parquet row; each unreadable vote row (malformed_annotation); each binary.csv stem no
Parquet image matched (missing_image). Images without votes or a label are counted in the log.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import Field

from curator.config import Download
from curator.errors import SchemaError
from curator.pipeline.progress import log
from curator.reasons import Reason
from curator.record.taxonomy import taxonomy
from curator.sources import emonet, recipe
from curator.sources.emonet import parquet
from curator.sources.emonet.strays import strays
from curator.sources.emonet_binary.labels import Decision, Labels, label_votes
from curator.sources.emonet_binary.votes import Vote, fine_name, read_votes, vote_label
from curator.sources.recipe import NotRead, Reject, SourceInfo

__all__ = ["Join", "Params", "Vote", "fine_name", "prepare", "read_votes", "vote_label"]

NAME = "emonet_binary"
CSV_NAME = "binary.csv"
LABELS = ("emotion",)


class Params(emonet.AnnotatedHubParams):
    repo: str = Field("laion/emonet-face-binary", description="Hub dataset repo")
    annotations_url: str | None = Field(f"{emonet.GITHUB_DATA}/{CSV_NAME}",
                                        description="binary.csv (the votes) on LAION's GitHub, pinned to a commit")
    min_join_share: float = Field(0.9, ge=0, le=1,
                                  description="least share of Parquet image names that must match a binary.csv path")
    name_offset: int = Field(0, ge=-1, le=1,
                             description="add this to each numeric Parquet image name before joining binary.csv "
                             "(-1: 18.jpg is 00017's votes); 0 = as named. Set it only after checking the shift "
                             "prepare reports, on the images themselves")
    aggregation: Literal["dawid_skene", "majority"] = Field(
        "dawid_skene", description="dawid_skene: weigh each annotator by its estimated reliability (needs the "
        "`annotators` extra, else majority, said in the metrics); majority: count the votes")
    present_threshold: float = Field(0.5, ge=0, lt=1,
                                     description="an emotion is the label only when its posterior of being present "
                                                 "is above this")


HUB = emonet.Hub(NAME, Params())  # the defaults; a run uses Hub(NAME, conf)
INFO = SourceInfo.read(__file__)  # the facts: source.yaml beside this file


def download(conf: Params, fetch: Download, out: Path, from_: str | None = None) -> Path:
    return emonet.download(emonet.Hub(NAME, conf), fetch, out, from_)


def layout(raw: Path, conf: Params) -> str:
    """One line on what is under `raw` (for `curator inspect`); CuratorError when nothing fits."""
    shards = parquet.describe(NAME, raw, LABELS, LABELS)
    votes, _ = read_votes(votes_csv(raw, conf))
    shift = f"; name_offset {conf.name_offset:+d} applied" if conf.name_offset else ""
    return (f"{shards}; {CSV_NAME}: {sum(map(len, votes.values()))} vote(s) for {len(votes)} image(s){shift}; "
            f"unverified: {UNKNOWN}")


UNKNOWN = ("that the Parquet file names are binary.csv's stems (checked on the data before any record), what the "
           "Parquet `emotion` means (kept as label_provided), Parquet columns beyond path and emotion")


def prepare(raw: Path, conf: Params | None = None) -> Iterator[dict[str, Any] | Reject]:
    yield from parquet.plan_items(storage_plan(raw, conf), raw, LABELS, LABELS)


def storage_plan(raw: Path, conf: Params | None = None) -> parquet.RowPlan:
    """The votes read and the join checked (here, before any image is read), then a plan of the rows:
    one record per Parquet row, then the unreadable vote rows and the voted stems no image has."""
    conf = conf or Params()
    csv = votes_csv(raw, conf)
    votes, malformed = read_votes(csv)
    join = Join(votes, conf.name_offset)
    join.check(parquet.stems_and_labels(NAME, raw, LABELS, LABELS), conf.min_join_share)
    labels = label_votes(votes, conf.aggregation, conf.present_threshold)
    _report(labels)
    files = tuple(parquet.parquet_files(NAME, raw))
    layouts = tuple(parquet.detect_layout(NAME, f, LABELS, LABELS) for f in files)
    unread = [*parquet.not_read(layouts, {}, UNKNOWN_COLUMN),
              *strays(raw, [*files, csv], "Hub Parquet + binary.csv layout")]
    row_item = partial(_row_item, join=join, votes=labels.votes, labels=labels.decisions)
    return parquet.RowPlan(NAME, files, layouts, row_item,
                           partial(_finish, votes=votes, malformed=malformed, unread=unread))


UNKNOWN_COLUMN = "the evidenced layout is `path` + `emotion` only: unverified, not read"


def _report(labels: Labels) -> None:
    """How the labels were aggregated: a log line and prepare's metrics.json (`aggregation`)."""
    counts, agg = labels.counts(), labels.aggregation
    used = ", ".join(f"{group} {method}" for group, method in agg.used.items()) or "no votes"
    log.info("%s: labels by %s (asked: %s); %d labelled, %d unlabelled, %d differ from majority vote, "
             "%d repeated vote(s) counted once", NAME, used, agg.requested, counts["labelled"], counts["unlabelled"],
             counts["changed_from_majority"], counts["repeated_votes_dropped"])
    recipe.report_metrics("aggregation", labels.metrics())


def _row_item(row: parquet.Row, join: Join, votes: dict[str, list[Vote]],
              labels: dict[str, Decision]) -> tuple[dict[str, Any] | Reject, Any]:
    """One Parquet row's record, and its note: [stem, has votes, has a label] (None: no stem)."""
    if row.stem is None:
        return Reject(None, Reason.MISSING_FIELD, f"{row.where}: the image has no file name, the key of its id"), None
    stem = join.key(row.stem)
    record = image_record(row, stem, votes.get(stem, []), labels.get(stem))
    return record, [stem, stem in votes, isinstance(record, Reject) or record["label_original"] is not None]


def _finish(notes: list[Any], votes: dict[str, list[Vote]], malformed: list[Reject],
            unread: list[NotRead]) -> list[Reject | NotRead]:
    kept = [n for n in notes if n is not None]
    log.info("%s: %d image(s) without votes, %d without a label: kept unlabelled",
             NAME, sum(1 for n in kept if not n[1]), sum(1 for n in kept if not n[2]))
    seen = {n[0] for n in kept}
    return [*malformed, *(Reject(f"{NAME}/{stem}", Reason.MISSING_IMAGE,
                                 f"{CSV_NAME} has {len(votes[stem])} vote(s) for {stem} but no Parquet image has that "
                                 "name") for stem in sorted(set(votes) - seen)), *unread]


def votes_csv(raw: Path, conf: Params) -> Path:
    """binary.csv under `raw` (required: CuratorError when absent)."""
    return cast(Path, emonet.annotation_csv(emonet.Hub(NAME, conf), raw, CSV_NAME, required=True))




class Join:
    """Parquet file stem -> binary.csv stem: equal, or the same integer (9197 ~ 09197); with `applied`
    (params name_offset, the user's decision) the integer plus that offset."""

    def __init__(self, votes: dict[str, list[Vote]], applied: int = 0) -> None:
        self.judged = {stem: {v.emotion for v in vs} for stem, vs in votes.items()}
        self.by_number = {int(s): s for s in sorted(votes, reverse=True) if s.isdigit()}  # the first in order wins
        self.applied = applied

    def key(self, stem: str) -> str:
        """The id key of a Parquet stem: its binary.csv stem, else the name (shifted as applied) itself."""
        if not self.applied or not stem.isdigit():
            return self.match(stem) or stem
        return self.match(stem, self.applied) or str(int(stem) + self.applied)

    def match(self, stem: str | None, offset: int = 0) -> str | None:
        if stem is None or (offset and not stem.isdigit()):
            return None
        if not offset and stem in self.judged:
            return stem
        return self.by_number.get(int(stem) + offset) if stem.isdigit() else None

    def _names(self, pairs: list[tuple[str | None, Any]], offset: int = 0) -> float:
        return sum(1 for stem, _ in pairs if self.match(stem, offset)) / len(pairs)

    def _labels(self, pairs: list[tuple[str | None, Any]], offset: int = 0) -> float:
        """Of the rows joined at `offset`, the share whose Parquet emotion is one binary.csv judged."""
        hits = [label in self.judged[key] for stem, label in pairs if (key := self.match(stem, offset))]
        return sum(hits) / len(hits) if hits else 0.0

    def check(self, pairs: list[tuple[str | None, Any]], least: float) -> None:
        """SchemaError (one line) when the join, with the offset applied (0 unless params say), does not
        hold on the data.

        Names: at least `least` of the Parquet stems must match. That cannot see an
        off-by-one on consecutive numbers (almost every shifted name exists too), so the content
        is checked as well: if the Parquet `emotion` is among an image's judged emotions far more
        often under another shift than under the applied one, the join is refused. A refusal names
        the shift that fits and the param that applies it; the recipe never applies it by itself.
        """
        if not pairs:
            return
        applied = self.applied
        share = self._names(pairs, applied)
        others = [o for o in (1, -1, 0) if o != applied]
        if share < least:
            ours = [s or "(no name)" for s, _ in pairs if not self.match(s, applied)][:3]
            shares = {o: self._names(pairs, o) for o in others}
            near = ", ".join(f"{o:+d} would match {v:.0%}" for o, v in shares.items() if o)
            fits = max(shares, key=lambda o: shares[o])
            raise SchemaError(
                f"{NAME}: only {share:.0%} of the Parquet image names{_as(applied)} match a {CSV_NAME} path "
                f"(need {least:.0%}): e.g. {', '.join(ours)} vs {', '.join(sorted(self.judged)[:3]) or 'no rows'}; "
                f"shifted by {near} (never applied on its own: {_how(fits, shares[fits] >= least)})")
        labels = {offset: self._labels(pairs, offset) for offset in (applied, *others)}
        best = max(labels, key=lambda o: labels[o])
        if best != applied and labels[best] >= 0.5 and labels[best] > 2 * labels[applied]:
            raise SchemaError(
                f"{NAME}: the Parquet emotion is one of the emotions {CSV_NAME} judged for {labels[applied]:.0%} of "
                f"the images{_as(applied)}, but for {labels[best]:.0%} with the names shifted by {best:+d}: the join "
                f"looks off by one (never applied on its own: {_how(best, True)})")
        if applied:
            log.warning("%s: sources.%s.name_offset %+d applied: Parquet image name N joins %s stem N%+d",
                        NAME, NAME, applied, CSV_NAME, applied)
        log.info("%s: join: %.0f%% of the Parquet image names match %s; the Parquet emotion is a judged one for "
                 "%.0f%% of them", NAME, 100 * share, CSV_NAME, 100 * labels[applied])


def _as(applied: int) -> str:
    return f" shifted by {applied:+d} (name_offset)" if applied else " as named"


def _how(offset: int, fits: bool) -> str:
    """What a user does next: check the images, then set the param, or fix the files."""
    if not fits:
        return "check which names the images really have"
    return (f"check on a few images which names they really have, then set sources.{NAME}.name_offset: {offset} "
            "in params.yaml to apply it")


def _annotation(vote: Vote) -> dict[str, Any]:
    """One vote: target the taxonomy's name, the spelling binary.csv used in `note` when it differs."""
    name = fine_name(vote.emotion)
    return {"annotator": vote.annotator, "is_model": False, "target": name,
            "value": 1.0 if vote.present else 0.0,
            "note": None if name == vote.emotion else f"as written: {vote.emotion}"}


def image_record(row: parquet.Row, stem: str, votes: list[Vote], decision: Decision | None) -> dict[str, Any] | Reject:
    """One image's record; `votes` once each, `decision` its aggregated label (None: no votes)."""
    record = emonet.base_record(NAME, f"{NAME}/{stem}", row.image, row.prompt, row.demographics, row.where)
    if isinstance(record, Reject):
        return record
    if decision is not None:
        fine = taxonomy().fine
        record.update(label_original=decision.label, agreement=decision.share, label_majority=decision.majority,
                      scores=[decision.posterior.get(name, 0.0) for name in fine])
    record.update(label_provided=row.label, annotations=[_annotation(v) for v in votes])
    return record
