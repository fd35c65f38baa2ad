"""Placed files -> records and rejects: pairs by normalised stem, exclusions, groups.

Visible and IR files are paired by normalised stem within one class, never by list position (the
authors' vis-ir-code.py pairs two unsorted rglob lists by index, which mispairs).

Groups (the unit split never cuts): `<source>/subject:<id>` when params `subject_pattern` finds a
subject id in the visible file's stem, else `<source>/pair:<Class>/<stem>` (the pair alone). Both
sources use these two prefixes, so a later stage can count records grouped only by their pair
(`group_id` containing "/pair:"), whose person may then sit in several splits.
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from curator.reasons import Reason
from curator.record.group import PAIR, SUBJECT, GroupId
from curator.record.record import empty_record
from curator.sources.recipe import Reject
from curator.sources.thermal.layout import AUG_NAME, ImageFile, pair_stem

log = logging.getLogger(__name__)

SUBJECT_GROUP = f"{SUBJECT}:"  # group_id <source>/subject:<id>
PAIR_GROUP = f"{PAIR}:"  # group_id <source>/pair:<Class>/<stem>


@dataclass
class Tally:
    """What prepare logs at the end: how records were grouped and what was excluded."""

    records: int = 0
    pair_groups: int = 0  # records whose group is their pair (no subject id found)
    split_conflicts: int = 0  # pairs whose visible and IR files sit in different official splits
    excluded: Counter[str] = field(default_factory=Counter)

    def log(self, name: str, subject: re.Pattern[str] | None) -> None:
        if self.excluded:
            log.info("%s: excluded %s", name, ", ".join(f"{n} {r}" for r, n in sorted(self.excluded.items())))
        if self.split_conflicts:
            log.warning("%s: %d pair(s) have their visible and IR files in different official splits; their "
                        "official_split is left empty", name, self.split_conflicts)
        if not self.records:  # nothing paired: the rejects say why, and there is no group to count
            return
        if not self.pair_groups:
            log.info("%s: all %d pair(s) grouped by subject (group_id %s/%s...)", name, self.records, name,
                     SUBJECT_GROUP)
            return
        why = (f"sources.{name}.subject_pattern {subject.pattern!r} found no subject in their file stems"
               if subject else f"no subject id is known (set sources.{name}.subject_pattern if file names carry one)")
        log.warning("%s: %d of %d pair(s) are grouped by the pair alone (group_id %s/%s...): %s; pairs of one "
                    "person may straddle splits", name, self.pair_groups, self.records, name, PAIR_GROUP, why)


def pair_id(name: str, f: ImageFile) -> str:
    return f"{name}/{f.placement.label}/{pair_stem(f.file.name)}"


def group_id(name: str, f: ImageFile, subject: re.Pattern[str] | None) -> str:
    """The subject where `subject` finds one in the stem (group 1), else the pair."""
    stem = pair_stem(f.file.name)
    match = subject.search(stem) if subject else None
    if match and match.group(1):
        return str(GroupId(name, match.group(1), SUBJECT))
    return str(GroupId(name, f"{f.placement.label}/{stem}", PAIR))


# --- exclusions -----------------------------------------------------------------------------


def _view(f: ImageFile) -> tuple[str, str | None, str]:
    return (f.placement.label or "").casefold(), f.placement.modality, f.key


def copies_named_as_augmented(files: list[ImageFile]) -> set[str]:
    """Originals named like the authors' augmented copies (`<stem>_hflip_3`) of another original of
    the same class and view: copied in from train_aug_images, so excluded like the rest there."""
    keys = {_view(f) for f in files}
    out = set()
    for f in files:
        match = AUG_NAME.match(pair_stem(f.file.name))
        label, modality, _ = _view(f)
        if match and (label, modality, match.group("base").casefold()) in keys:
            out.add(f.where)
    return out


def exclusions(name: str, files: list[ImageFile], named_as_augmented: set[str]) -> Iterator[Reject]:
    """One Reject per file deliberately left out, naming why and (for copies) its original."""
    originals = {_view(f): f.where for f in files if not f.placement.augmented and f.where not in named_as_augmented}
    for f in sorted(files, key=lambda f: f.where):
        reason = Reason.SOURCE_AUGMENTED_COPY if f.where in named_as_augmented else f.placement.exclusion
        if reason is None:
            continue
        if reason is Reason.SOURCE_AUGMENTED_COPY:
            detail = _copy_detail(f, originals)
        else:
            detail = (f"{f.where}: an {f.placement.modality} image (FLIR's blend of visible edges into the thermal "
                      f"image); a record holds the visible and IR images only")
        yield Reject(f"{name}/{f.where}", reason, detail, f.where)


def _copy_detail(f: ImageFile, originals: dict[tuple[str, str | None, str], str]) -> str:
    stem = pair_stem(f.file.name)
    match = AUG_NAME.match(stem)
    base = match.group("base") if match else stem
    what = (f"the authors' augmented copy ({match.group('transform').lower()} #{match.group('k')}) of {base!r}"
            if match else f"the authors' re-saved copy of {base!r}")
    label, modality, _ = _view(f)
    original = originals.get((label, modality, base.casefold()))
    return f"{f.where}: {what}; original: {original or 'not in this download'}"


# --- pairing --------------------------------------------------------------------------------


def pair_files(name: str, license: str, files: list[ImageFile], subject: re.Pattern[str] | None,
               tally: Tally) -> Iterator[dict[str, Any] | Reject]:
    """One record per (class, stem) with exactly one visible and one IR file; rejects otherwise."""
    groups: dict[tuple[str, str], list[ImageFile]] = defaultdict(list)
    for f in files:
        groups[((f.placement.label or "").casefold(), f.key)].append(f)
    for key in sorted(groups):
        yield from _pair_group(name, license, groups[key], subject, tally)


def _pair_group(name: str, license: str, group: list[ImageFile], subject: re.Pattern[str] | None,
                tally: Tally) -> Iterator[dict[str, Any] | Reject]:
    vis = sorted((f for f in group if f.placement.modality == "visible"), key=lambda f: f.where)
    ir = sorted((f for f in group if f.placement.modality == "ir"), key=lambda f: f.where)
    if len(vis) == 1 and len(ir) == 1:
        yield _record(name, license, vis[0], ir[0], subject, tally)
    elif len(vis) > 1 or len(ir) > 1:
        for f in vis + ir:
            yield _ambiguous(name, f, vis, ir)
    else:
        yield _unpaired(name, (vis or ir)[0])


def _record(name: str, license: str, vis: ImageFile, ir: ImageFile, subject: re.Pattern[str] | None,
            tally: Tally) -> dict[str, Any]:
    group = group_id(name, vis, subject)
    split = vis.placement.split if vis.placement.split == ir.placement.split else None
    tally.records += 1
    tally.pair_groups += group.startswith(f"{name}/{PAIR_GROUP}")
    tally.split_conflicts += vis.placement.split != ir.placement.split
    record = empty_record()
    record.update(
        id=pair_id(name, vis), source=name, group_id=group,
        image={"bytes": vis.file.read_bytes(), "path": vis.where},
        infrared={"bytes": ir.file.read_bytes(), "path": ir.where},
        label_original=vis.placement.label, label_kind="expressed", license=license, official_split=split,
    )
    return record


def _unpaired(name: str, f: ImageFile) -> Reject:
    missing = "IR" if f.placement.modality == "visible" else "visible"
    detail = (f"{f.where}: no {missing} partner; expected a {missing} file with stem "
              f"{pair_stem(f.file.name)!r} (case and _ir/-ir/_vis/_rgb suffixes ignored) in class {f.placement.label}")
    return Reject(pair_id(name, f), Reason.UNPAIRED, detail, f.where)


def _ambiguous(name: str, f: ImageFile, vis: list[ImageFile], ir: list[ImageFile]) -> Reject:
    detail = (f"{f.where}: stem {pair_stem(f.file.name)!r} in class {f.placement.label} matches "
              f"{len(vis)} visible and {len(ir)} IR files ({', '.join(g.where for g in vis + ir)})")
    return Reject(pair_id(name, f), Reason.AMBIGUOUS_PAIR, detail, f.where)


def items(name: str, license: str, files: list[ImageFile],
          subject: re.Pattern[str] | None) -> Iterator[dict[str, Any] | Reject]:
    """Every placed file as exactly one outcome: an excluded Reject, or part of a record/reject."""
    tally = Tally()
    named = copies_named_as_augmented([f for f in files if f.placement.exclusion is None])
    for reject in exclusions(name, files, named):
        tally.excluded[str(reject.reason)] += 1
        yield reject
    kept = [f for f in files if f.placement.exclusion is None and f.where not in named]
    yield from pair_files(name, license, kept, subject, tally)
    tally.log(name, subject)
