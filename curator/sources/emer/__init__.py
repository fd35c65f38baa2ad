"""EMER (eye behaviour aided emotion recognition, arXiv 2411.05879): a manual-directory source.

The data is released only after a signed licence form, so there is nothing to download: the
user points `curator download emer --from DIR` at the folder they received. Layout read here:

    new_label.xlsx      sheets ER (felt) and FER (expressed), each: ID, Emotion, Valence,
                        Arousal, Intensity; or one sheet with ER_/FER_ columns (ER_Emotion...)
    participants.csv    ID, participant (the split group); optional
    eye/<ID>.xlsx       Tobii export: Gaze point X/Y, Pupil diameter left/right, Eye movement type
    face/<ID>.jpg       aligned face frame; optional per sample

One record per labelled sample. `label_original` is the FER emotion and `label_felt_original`
the ER emotion: the two are kept apart, never merged. `dimensions` holds FER valence, arousal
and intensity; `felt_valence`/`felt_arousal` are added only when ER's differ from FER's (absent
means "same as the expressed value"). Eye statistics use pandas' defaults: NaN samples are
skipped and standard deviations are sample (ddof=1) deviations.

A labelled sample without an eye file is kept with null physio and counted in a warning; an
eye file or face image without a label row is a reject. Unknown emotion names pass through
(normalize rejects them against schemas/maps/emer.yaml).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from curator.config import Download, SourceParams
from curator.errors import CuratorError, SchemaError
from curator.progress import log
from curator.reasons import Reason
from curator.record.schema import empty_record, physio_features_of
from curator.sources.fetch import copy_manual
from curator.sources.recipe import Reject, SourceInfo

NAME = "emer"
LABEL_FILE = "new_label.xlsx"
PARTICIPANTS_FILE = "participants.csv"
KINDS = ("ER", "FER")  # ER = felt, FER = expressed
# Columns each label sheet must have; ER's intensity is not used (intensity is an FER rating).
REQUIRED = {"ER": ("ID", "Emotion", "Valence", "Arousal"), "FER": ("ID", "Emotion", "Valence", "Arousal", "Intensity")}
EYE_COLUMNS = ("Gaze point X", "Gaze point Y", "Pupil diameter left", "Pupil diameter right", "Eye movement type")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")

INFO = SourceInfo(
    name=NAME,
    title="EMER: eye-behaviour-aided emotion recognition",
    license="EMER licence (signed form; research only)",
    redistributable="no",
    size="1,303 samples, 121 participants",
    needs="a signed licence; supply the folder with --from DIR",
    homepage="https://arxiv.org/abs/2411.05879",
    citation=(
        "Y. Liu, L. Wei, K. Liu, Y. Zhan, Z. Chen, Z. Chen, S. Shan. Smile upon the Face but Sadness in the Eyes: "
        "Emotion Recognition based on Facial Expressions and Eye Behaviors. arXiv:2411.05879, 2024."
    ),
    attribution="EMER dataset (arXiv:2411.05879), used under its signed research licence",
)


@dataclass(frozen=True)
class Sample:
    """One labelled sample: its FER and ER rows (canonical column names -> cell values)."""

    id: str
    fer: dict[str, Any]
    er: dict[str, Any]
    where: str


# --------------------------------------------------------------------------- download


class Params(SourceParams):
    """EMER is manual-only: `from` is the folder you received after signing its licence form."""


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


# --------------------------------------------------------------------------- label table


def find_root(raw: Path) -> Path:
    """The folder holding new_label.xlsx: `raw` itself, or the one nested folder that has it."""
    raw = Path(raw)
    if (raw / LABEL_FILE).is_file():
        return raw
    found = sorted(p.parent for p in raw.rglob(LABEL_FILE) if p.is_file())
    if len(found) != 1:
        what = f"no {LABEL_FILE}" if not found else f"{len(found)} copies of {LABEL_FILE}"
        raise SchemaError(f"{NAME}: expected one {LABEL_FILE} under {raw}, found {what}")
    return found[0]


def _tokens(name: Any) -> frozenset[str]:
    return frozenset(t for t in re.split(r"[^a-z0-9]+", str(name).lower()) if t)


def _columns_of(df: pd.DataFrame) -> str:
    return ", ".join(map(str, df.columns))


def _pick(df: pd.DataFrame, wanted: dict[str, frozenset[str]]) -> dict[str, Any]:
    """Canonical name -> the sheet's own column whose name tokens equal `wanted[name]`."""
    found = {}
    for canon, tokens in wanted.items():
        hits = [c for c in df.columns if _tokens(c) == tokens]
        if len(hits) == 1:
            found[canon] = hits[0]
    return found


def _sheet_table(df: pd.DataFrame, kind: str, sheet: str) -> pd.DataFrame:
    """One label sheet with canonical column names (matched ignoring case and spacing)."""
    cols = _pick(df, {c: _tokens(c) for c in (*REQUIRED[kind], "Intensity")})
    missing = [c for c in REQUIRED[kind] if c not in cols]
    if missing:
        raise SchemaError(
            f"{LABEL_FILE} sheet {sheet!r}: missing column(s) {', '.join(missing)}; "
            f"expected {', '.join(REQUIRED[kind])}, found {_columns_of(df)}"
        )
    return df[list(cols.values())].set_axis(list(cols), axis=1)


def _wide_tables(df: pd.DataFrame) -> dict[str, pd.DataFrame] | None:
    """Split a single sheet with ER_x / FER_x columns (any order, case, separator) into two tables."""
    fields = ("Emotion", "Valence", "Arousal", "Intensity")
    wanted = {"ID": _tokens("ID")} | {f"{k}:{f}": frozenset({k.lower(), f.lower()}) for k in KINDS for f in fields}
    cols = _pick(df, wanted)
    needed = ["ID"] + [f"{k}:{f}" for k in KINDS for f in REQUIRED[k][1:]]
    if any(c not in cols for c in needed):
        return None
    tables = {}
    for kind in KINDS:
        own = {"ID": cols["ID"]} | {f: cols[f"{kind}:{f}"] for f in fields if f"{kind}:{f}" in cols}
        tables[kind] = df[list(own.values())].set_axis(list(own), axis=1)
    return tables


def read_labels(path: Path) -> dict[str, pd.DataFrame]:
    """{"ER": table, "FER": table} with canonical columns ID, Emotion, Valence, Arousal[, Intensity]."""
    try:
        # dtype=object keeps each cell as typed in the sheet: text IDs keep their leading zeros
        sheets = pd.read_excel(path, sheet_name=None, dtype=object)
    except Exception as exc:  # openpyxl/zipfile raise many types on a bad file; one line is enough
        raise SchemaError(f"{path.name}: cannot read ({type(exc).__name__}: {exc})") from None
    by_kind = {str(name).strip().upper(): (name, df) for name, df in sheets.items()}
    if all(k in by_kind for k in KINDS):
        return {k: _sheet_table(by_kind[k][1], k, by_kind[k][0]) for k in KINDS}
    wide = [t for t in map(_wide_tables, sheets.values()) if t is not None]
    if len(wide) == 1:
        return wide[0]
    found = "; ".join(f"{name!r} ({_columns_of(df)})" for name, df in sheets.items())
    raise SchemaError(
        f"{path.name}: expected sheets ER (felt) and FER (expressed) with columns "
        f"{', '.join(REQUIRED['FER'])}, or one sheet with ER_/FER_ columns; found sheets {found}"
    )


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == ""


def _id_text(value: Any) -> str | None:
    """The sample key as text: "001" stays "001"; a numeric cell 7 (or 7.0) becomes "7"."""
    if _is_blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _rows(df: pd.DataFrame, kind: str) -> Iterator[tuple[str | None, dict[str, Any], str]]:
    """(id, row, where) for each non-blank row; `where` names the sheet and Excel row."""
    for i, row in enumerate(df.to_dict("records")):
        if all(_is_blank(v) for v in row.values()):
            continue
        yield _id_text(row["ID"]), row, f"{LABEL_FILE}[{kind}] row {i + 2}"


def pair_rows(tables: dict[str, pd.DataFrame]) -> Iterator[Sample | Reject]:
    """Join FER and ER rows by ID; every row that cannot be joined becomes a reject."""
    felt: dict[str, tuple[dict[str, Any], str]] = {}
    for rid, row, where in _rows(tables["ER"], "ER"):
        if rid is None:
            yield Reject(None, Reason.MISSING_FIELD, f"{where}: empty ID", LABEL_FILE)
        elif rid in felt:
            yield Reject(f"{NAME}/{rid}", Reason.DUPLICATE_ID, f"{where}: ID {rid} repeats; kept the first", LABEL_FILE)
        else:
            felt[rid] = (row, where)
    paired: set[str] = set()
    for rid, row, where in _rows(tables["FER"], "FER"):
        if rid is None:
            yield Reject(None, Reason.MISSING_FIELD, f"{where}: empty ID", LABEL_FILE)
        elif rid not in felt:
            yield Reject(f"{NAME}/{rid}", Reason.MISSING_FIELD, f"{where}: no ER (felt) row for ID {rid}", LABEL_FILE)
        else:
            paired.add(rid)  # a repeated FER ID is left to the driver's duplicate-id check
            yield Sample(rid, row, felt[rid][0], where)
    for rid in (r for r in felt if r not in paired):  # sheet order, so rejects.jsonl is reproducible
        yield Reject(f"{NAME}/{rid}", Reason.MISSING_FIELD, f"{felt[rid][1]}: no FER (expressed) row for ID {rid}",
                     LABEL_FILE)


# --------------------------------------------------------------------------- values


def _number(value: Any) -> float:
    """A finite float from a numeric cell or numeric text; anything else raises ValueError."""
    if isinstance(value, bool) or _is_blank(value):
        raise ValueError("empty")
    number = float(str(value).strip()) if isinstance(value, str) else float(value)
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def _dimensions(sample: Sample) -> list[dict[str, Any]] | Reject:
    values: dict[str, float] = {}
    wanted = [("FER", "Valence"), ("FER", "Arousal"), ("FER", "Intensity"), ("ER", "Valence"), ("ER", "Arousal")]
    for kind, field in wanted:
        cell = (sample.fer if kind == "FER" else sample.er)[field]
        try:
            values[f"{kind}:{field}"] = _number(cell)
        except (TypeError, ValueError):
            return Reject(f"{NAME}/{sample.id}", Reason.BAD_VALUE,
                          f"{LABEL_FILE}[{kind}] ID {sample.id}: {field}={cell!r} is not a number", LABEL_FILE)
    dims = [{"name": f.lower(), "value": values[f"FER:{f}"]} for f in ("Valence", "Arousal", "Intensity")]
    if (values["ER:Valence"], values["ER:Arousal"]) != (values["FER:Valence"], values["FER:Arousal"]):
        dims += [{"name": f"felt_{f.lower()}", "value": values[f"ER:{f}"]} for f in ("Valence", "Arousal")]
    return dims


def _emotion(sample: Sample) -> tuple[str, str] | Reject:
    """(expressed, felt) emotion texts, untouched; an empty one is a missing field."""
    for kind, row in (("FER", sample.fer), ("ER", sample.er)):
        if _is_blank(row["Emotion"]):
            return Reject(f"{NAME}/{sample.id}", Reason.MISSING_FIELD,
                          f"{LABEL_FILE}[{kind}] ID {sample.id}: empty Emotion", LABEL_FILE)
    return str(sample.fer["Emotion"]), str(sample.er["Emotion"])


# --------------------------------------------------------------------------- eye statistics


def _runs(flags: pd.Series) -> int:
    """Number of maximal runs of True (each run = one episode)."""
    starts = flags & ~flags.shift(1, fill_value=False)
    return int(starts.sum())


def _clean(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def eye_features(path: Path) -> dict[str, float | None]:
    """The EMER physio features of one Tobii export; raises SchemaError/ValueError on bad files."""
    df = pd.read_excel(path, sheet_name=0)
    missing = [c for c in EYE_COLUMNS if c not in df.columns]
    if missing:
        raise SchemaError(f"missing column(s) {', '.join(missing)}; found {_columns_of(df)}")
    num = {}
    for col in EYE_COLUMNS[:4]:
        num[col] = pd.to_numeric(df[col], errors="coerce")
        bad = df[col][num[col].isna() & df[col].notna()]
        if len(bad):  # text in a numeric column (e.g. comma decimals) is an error, not a NaN to skip
            raise ValueError(f"{col}={bad.iloc[0]!r} is not a number")
    kinds = df["Eye movement type"].dropna().astype(str).str.strip().str.lower()
    values = {
        "eye_gaze_x_mean": num["Gaze point X"].mean(),
        "eye_gaze_x_std": num["Gaze point X"].std(),
        "eye_gaze_y_mean": num["Gaze point Y"].mean(),
        "eye_gaze_y_std": num["Gaze point Y"].std(),
        "eye_pupil_left_mean": num["Pupil diameter left"].mean(),
        "eye_pupil_right_mean": num["Pupil diameter right"].mean(),
        "eye_fixation_share": (kinds == "fixation").mean() if len(kinds) else math.nan,
        # NaN rows are dropped first, so a saccade interrupted only by missing samples counts once
        "eye_saccade_count": float(_runs((kinds == "saccade").reset_index(drop=True))) if len(kinds) else math.nan,
    }
    assert list(values) == physio_features_of(NAME), "schemas/physio.yaml and emer.eye_features disagree"
    return {k: _clean(float(v)) for k, v in values.items()}


# --------------------------------------------------------------------------- files


def index_files(folder: Path, suffixes: tuple[str, ...]) -> dict[str, list[Path]]:
    """Sample ID (file stem) -> files in `folder` with one of `suffixes` (any case)."""
    found: dict[str, list[Path]] = {}
    if folder.is_dir():
        for p in sorted(folder.iterdir()):
            if p.is_file() and p.suffix.lower() in suffixes and not p.name.startswith((".", "~$")):
                found.setdefault(p.stem, []).append(p)
    return found


def read_groups(path: Path) -> dict[str, str]:
    """Sample ID -> participant, from participants.csv (empty when the file is absent)."""
    if not path.is_file():
        log.warning("%s: no %s; each sample is its own split group", NAME, PARTICIPANTS_FILE)
        return {}
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    cols = _pick(df, {"ID": _tokens("ID"), "participant": _tokens("participant")})
    if len(cols) < 2:
        raise SchemaError(f"{PARTICIPANTS_FILE}: expected columns ID, participant; found {_columns_of(df)}")
    return {i.strip(): p.strip() for i, p in zip(df[cols["ID"]], df[cols["participant"]], strict=True) if p.strip()}


@dataclass
class _Notes:
    """Kept-but-incomplete samples, reported once at the end instead of once per sample."""

    no_eye: list[str]
    no_face: list[str]
    no_group: list[str]

    def report(self) -> None:
        for what, ids in (("no eye file (kept, physio null)", self.no_eye),
                          ("no face image (kept, image null)", self.no_face),
                          ("no participant (own split group)", self.no_group)):
            if ids:
                more = ", ..." if len(ids) > 10 else ""
                log.warning("%s: %d sample(s) with %s: %s%s", NAME, len(ids), what, ", ".join(ids[:10]), more)


def _one(files: list[Path] | None, rid: str, root: Path) -> Path | Reject | None:
    if not files:
        return None
    if len(files) > 1:
        names = ", ".join(p.relative_to(root).as_posix() for p in files)
        return Reject(f"{NAME}/{rid}", Reason.AMBIGUOUS_PAIR, f"ID {rid} matches several files: {names}")
    return files[0]


def _record(sample: Sample, root: Path, eye: Path | None, face: Path | None, groups: dict[str, str],
            notes: _Notes) -> dict[str, Any] | Reject:
    rid = f"{NAME}/{sample.id}"
    labels = _emotion(sample)
    if isinstance(labels, Reject):
        return labels
    dims = _dimensions(sample)
    if isinstance(dims, Reject):
        return dims
    physio = None
    if eye is None:
        notes.no_eye.append(sample.id)
    else:
        rel = eye.relative_to(root).as_posix()
        try:
            physio = eye_features(eye)
        except SchemaError as exc:
            return Reject(rid, Reason.MISSING_FIELD, f"{rel}: {exc}", rel)
        except Exception as exc:  # unreadable workbook or text in a numeric column
            return Reject(rid, Reason.BAD_VALUE, f"{rel}: {type(exc).__name__}: {exc}", rel)
    image = None
    if face is None:
        notes.no_face.append(sample.id)
    else:
        image = {"bytes": face.read_bytes(), "path": face.relative_to(root).as_posix()}
    if groups and sample.id not in groups:  # no file at all was already reported once
        notes.no_group.append(sample.id)
    record = empty_record()
    record.update(
        id=rid, source=NAME, group_id=f"{NAME}/{groups.get(sample.id, sample.id)}", image=image, physio=physio,
        label_original=labels[0], label_felt_original=labels[1], label_kind="expressed", dimensions=dims,
        license=INFO.license,
    )
    return record


def prepare(raw: Path, conf: Params | None = None) -> Iterator[dict[str, Any] | Reject]:
    """One record per labelled sample; orphan eye files / face images become rejects."""
    root = find_root(raw)
    tables = read_labels(root / LABEL_FILE)
    groups = read_groups(root / PARTICIPANTS_FILE)
    eyes = index_files(root / "eye", (".xlsx",))
    faces = index_files(root / "face", IMAGE_SUFFIXES)
    labelled: set[str] = set()
    notes = _Notes([], [], [])
    for item in pair_rows(tables):
        if isinstance(item, Reject):
            if item.id:
                labelled.add(item.id.removeprefix(f"{NAME}/"))
            yield item
            continue
        labelled.add(item.id)
        eye, face = _one(eyes.get(item.id), item.id, root), _one(faces.get(item.id), item.id, root)
        if isinstance(eye, Reject) or isinstance(face, Reject):
            yield eye if isinstance(eye, Reject) else face
            continue
        yield _record(item, root, eye, face, groups, notes)
    for rid in sorted((eyes.keys() | faces.keys()) - labelled):
        files = [p.relative_to(root).as_posix() for p in [*eyes.get(rid, []), *faces.get(rid, [])]]
        yield Reject(f"{NAME}/{rid}", Reason.MISSING_FIELD,
                     f"{', '.join(files)}: no label row for ID {rid} in {LABEL_FILE}", files[0])
    notes.report()
