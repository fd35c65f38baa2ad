"""EMER (eye behaviour aided emotion recognition, arXiv 2411.05879): a manual-directory source.

The user points `curator download emer --from DIR` at the folder received after signing the licence
form: new_label.xlsx (ID, Emotion code, Valence, Arousal, Intensity), face/set1..set5/<ID>/ frame
folders, eye/<ID>.xlsx Tobii sheets, and eye fixation maps (excluded). One record per sample (its
middle frame) or per frame; the code names and the label kind come from params (unpublished).
What is known of the format, and from where: README.md beside this file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from curator.config import Download, OneGroupPattern, SourceParams
from curator.errors import CuratorError, SchemaError
from curator.io.patterns import compile_pattern
from curator.pipeline.progress import log
from curator.reasons import Reason
from curator.record.record import empty_record
from curator.sources.emer.eye import EXTRA_COLUMN, EyeProblem, eye_features
from curator.sources.emer.folders import FrameFolder, Tree, matching, middle, natural_key, scan
from curator.sources.emer.labels import LABEL_FILE, LabelRow, SampleKey, parse_row, read_labels, sample_key
from curator.sources.fetch import copy_manual
from curator.sources.recipe import NotRead, Reject, SourceInfo

NAME = "emer"
N_CLASSES = 7  # MAQT(7, 2) in the authors' discete_test_EMERT.py; README: 7-class fine labels
README_ORDER = ("happiness", "sadness", "fear", "surprise", "disgust", "anger", "neutral")

INFO = SourceInfo.read(__file__)  # the facts: source.yaml beside this file


class Params(SourceParams):
    """EMER is manual-only: `from` is the folder you received after signing its licence form."""

    emotion_codes: list[str] | None = Field(
        None, description="the 7 class names of new_label.xlsx's Emotion codes 0-6, in code order (not published)")
    label_kind: Literal["felt", "expressed"] | None = Field(
        None, description="what the Emotion column holds: felt (ER) or expressed (FER); not published")
    frames: Literal["middle", "all"] = Field(
        "middle", description="middle: one record per sample (its middle frame); all: one record per frame")
    participant_pattern: OneGroupPattern = Field(
        r"^(\d+)", description="regex whose one group is the participant in a sample ID (group_id emer/p<it>)")

    @field_validator("emotion_codes")
    @classmethod
    def _seven_names(cls, codes: list[str] | None) -> list[str] | None:
        if codes is None:
            return None
        names = [c.strip() for c in codes]
        if len(names) != N_CLASSES or any(not n for n in names) or len({n.casefold() for n in names}) != len(names):
            raise ValueError(f"expected {N_CLASSES} distinct non-empty class names (codes 0-{N_CLASSES - 1})")
        return names



def require_params(conf: Params | None) -> Params:
    """The run's Params, with the two keys that have no default set; else ONE line saying what to set."""
    conf = conf or Params()
    missing = [k for k in ("emotion_codes", "label_kind") if getattr(conf, k) is None]
    if missing:
        raise CuratorError(
            f"{NAME}: set sources.{NAME}.emotion_codes and sources.{NAME}.label_kind in params.yaml "
            f"(missing: {', '.join(missing)}); {LABEL_FILE} gives Emotion as codes 0-6 whose names and kind are "
            f"not published: emotion_codes = the 7 names in code order, e.g. the README's [{', '.join(README_ORDER)}] "
            f"(confirm the order with the data's provider), label_kind = felt (ER) or expressed (FER)")
    return conf


# --------------------------------------------------------------------------- download


def download(conf: Params, fetch: Download, out: Path, from_: str | None = None) -> Path:
    """Copy the licensed folder the user received into `out` (there is no public URL)."""
    if not from_:
        raise CuratorError(
            f"{NAME} is released only after a signed licence form (arXiv 2411.05879); once you have the "
            f"folder, run: curator download {NAME} --from DIR"
        )
    src = Path(from_)
    if "://" in from_ or not src.is_dir():
        raise CuratorError(f"{NAME}: --from must be the unpacked folder you received (with {LABEL_FILE}); got {from_}")
    find_root(src)  # fail before copying anything if the label file is not there
    out = Path(out)
    copy_manual(NAME, src, out)
    return out


def find_root(raw: Path) -> Path:
    """The folder holding new_label.xlsx: `raw` itself, or the one nested folder that has it
    (the authors' copy sits in data/smead_cross/)."""
    raw = Path(raw)
    if (raw / LABEL_FILE).is_file():
        return raw
    found = sorted(p.parent for p in raw.rglob(LABEL_FILE) if p.is_file()) if raw.is_dir() else []
    if len(found) != 1:
        what = f"no {LABEL_FILE}" if not found else f"{len(found)} copies of {LABEL_FILE}"
        raise SchemaError(f"{NAME}: expected one {LABEL_FILE} under {raw}, found {what}")
    return found[0]


def layout(raw: Path, conf: Params) -> str:
    """One line describing the EMER layout found under `raw`; CuratorError when it is not there."""
    root = find_root(raw)
    table = read_labels(root / LABEL_FILE)
    tree = scan(root)
    per_set = Counter(f.fold for folders in tree.folders.values() for f in folders)
    frames = sum(len(f.frames) for folders in tree.folders.values() for f in folders)
    sets = ", ".join(f"{s} {n}" for s, n in sorted(per_set.items()))
    left = Counter(r.reason for r in tree.strays)
    return (f"{NAME} at {root}: {LABEL_FILE} sheet {table.sheet!r} (1st of {len(table.sheets)}) "
            f"with {len(table.rows)} rows; face/ frame folders {sets} ({frames} frames); eye/ {len(tree.eyes)} .xlsx; "
            f"{left[Reason.UNSUPPORTED_MODALITY]} eye fixation map file(s) excluded (unsupported_modality: no column "
            f"for them); {left[Reason.STRAY_FILE]} stray file(s); eye columns physio.yaml does not name are kept "
            f"under {EXTRA_COLUMN}; frames={conf.frames}")


# --------------------------------------------------------------------------- prepare


@dataclass
class _Run:
    conf: Params
    tree: Tree
    pattern: Any  # compiled by RE2 (curator/io/patterns.py): match() as re does
    seen: set[str] = field(default_factory=set)  # sample names of the label rows read so far
    used: set[tuple[str, str]] = field(default_factory=set)  # ("face" | "eye", name) consumed by a row
    ungrouped: list[str] = field(default_factory=list)
    generic: Counter[str] = field(default_factory=Counter)  # eye column kept under physio_extra -> sheets

    def group_of(self, name: str) -> str:
        found = self.pattern.search(name)
        participant = found.group(1) if found else None
        if not participant:
            self.ungrouped.append(name)
            return f"{NAME}/{name}"
        return f"{NAME}/p{int(participant) if participant.isdigit() else participant}"  # "03" and "3": one person

    def report(self) -> None:
        if self.ungrouped:
            more = ", ..." if len(self.ungrouped) > 10 else ""
            log.warning("%s: %d sample ID(s) do not match participant_pattern %r; each is its own split group: %s%s",
                        NAME, len(self.ungrouped), self.pattern.pattern, ", ".join(self.ungrouped[:10]), more)
        if self.generic:
            log.warning("%s: %d eye column(s) schemas/physio.yaml does not name were kept under %s (mean, std): %s",
                        NAME, len(self.generic), EXTRA_COLUMN, ", ".join(repr(c) for c in list(self.generic)[:10]))


def _claim(run: _Run, key: SampleKey) -> tuple[str, list[str], list[str]]:
    """The sample's name (as its folder, else its eye file, spells it) and the folder/eye names its ID
    means; those files are this row's from now on, whatever becomes of it (never orphans too)."""
    faces, eyes = matching(key, run.tree.folders), matching(key, run.tree.eyes)
    run.used.update([("face", n) for n in faces] + [("eye", n) for n in eyes])
    name = faces[0] if len(faces) == 1 else eyes[0] if len(eyes) == 1 else key.text
    return name, faces, eyes


def _sample_files(run: _Run, row: LabelRow, name: str, faces: list[str], eyes: list[str]
                  ) -> tuple[FrameFolder, Path] | Reject:
    """The sample's frame folder and eye file, or why they cannot be used."""
    tree, rid = run.tree, f"{NAME}/{name}"
    folders = [f for n in faces for f in tree.folders[n]]
    eye_files = [p for n in eyes for p in tree.eyes[n]]
    if len(folders) > 1 or len(eye_files) > 1:
        paths = [tree.rel(f.path) + "/" for f in folders] + [tree.rel(p) for p in eye_files]
        return Reject(rid, Reason.AMBIGUOUS_PAIR, f"{row.where}: ID {row.key.text} matches {', '.join(paths)}")
    if not folders or not folders[0].frames:
        what = f"an empty {tree.rel(folders[0].path)}/" if folders else f"no face/set1..set5/{row.key.text}/ folder"
        return Reject(rid, Reason.MISSING_FACE_FRAMES, f"{row.where}: ID {row.key.text} has {what}",
                      tree.rel(folders[0].path) if folders else LABEL_FILE)
    if not eye_files:
        return Reject(rid, Reason.MISSING_EYE_DATA, f"{row.where}: ID {row.key.text} has no eye/{name}.xlsx",
                      tree.rel(folders[0].path))
    return folders[0], eye_files[0]


def _records(run: _Run, row: LabelRow, name: str, faces: list[str], eyes: list[str]
             ) -> Iterator[dict[str, Any] | Reject | NotRead]:
    files = _sample_files(run, row, name, faces, eyes)
    if isinstance(files, Reject):
        yield files
        return
    folder, eye = files
    try:
        summary = eye_features(eye)
    except EyeProblem as problem:
        yield Reject(f"{NAME}/{name}", problem.reason, f"{run.tree.rel(eye)}: {problem.detail}", run.tree.rel(eye))
        return
    yield from summary.not_read  # once per sample, whatever frames: all makes of it
    run.generic.update(c["name"] for c in summary.extra)
    label = run.conf.emotion_codes[row.code]
    base = dict(source=NAME, group_id=run.group_of(name), physio=summary.physio,
                physio_extra=summary.extra or None, label_original=label,
                label_kind=run.conf.label_kind, dimensions=row.dimensions, official_split=folder.fold,
                frame_count=len(folder.frames), license=INFO.license)
    if run.conf.label_kind == "felt":
        base["label_felt_original"] = label
    chosen = folder.frames if run.conf.frames == "all" else (middle(folder.frames),)
    for frame in chosen:
        rid = f"{NAME}/{name}/{frame.name}" if run.conf.frames == "all" else f"{NAME}/{name}"
        record = empty_record()
        record.update(id=rid, image={"bytes": frame.read_bytes(), "path": run.tree.rel(frame)}, **base)
        yield record


def _orphans(run: _Run) -> Iterator[Reject]:
    """Frame folders and eye files that no label row claimed: one missing_label reject per ID."""
    tree = run.tree
    faces = {n: [tree.rel(f.path) + "/" for f in fs] for n, fs in tree.folders.items() if ("face", n) not in run.used}
    eyes = {n: [tree.rel(p) for p in ps] for n, ps in tree.eyes.items() if ("eye", n) not in run.used}
    for name in sorted(faces.keys() | eyes.keys(), key=natural_key):
        paths = faces.get(name, []) + eyes.get(name, [])
        yield Reject(f"{NAME}/{name}", Reason.MISSING_LABEL,
                     f"{', '.join(paths)}: no row for ID {name} in {LABEL_FILE}", paths[0])


def prepare(raw: Path, conf: Params | None = None) -> Iterator[dict[str, Any] | Reject | NotRead]:
    """One record per labelled sample (or per frame with frames: all); every other file a Reject (excluded
    or stray); each eye column kept generically or not summarised a NotRead."""
    conf = require_params(conf)
    root = find_root(raw)
    table = read_labels(root / LABEL_FILE)
    run = _Run(conf, scan(root), compile_pattern(conf.participant_pattern))
    yield from run.tree.strays
    for excel_row, cells in table.rows:
        row = parse_row(table, excel_row, cells, len(conf.emotion_codes), conf.label_kind)
        key = row.key if isinstance(row, LabelRow) else sample_key(cells["ID"])
        if key is None:  # an empty ID: parse_row's reject
            yield row
            continue
        name, faces, eyes = _claim(run, key)
        if name in run.seen:
            yield Reject(f"{NAME}/{name}", Reason.DUPLICATE_ID, f"{LABEL_FILE} row {excel_row}: ID {key.text} "
                         "repeats an earlier row (the first one counts)", LABEL_FILE)
        elif isinstance(row, Reject):
            yield replace(row, id=f"{NAME}/{name}")
        else:
            yield from _records(run, row, name, faces, eyes)
        run.seen.add(name)
    yield from _orphans(run)
    run.report()
