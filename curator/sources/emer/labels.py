"""EMER new_label.xlsx: the label table, read as the authors' loader reads it (first sheet; ID,
Emotion as an integer code, Valence, Arousal, Intensity). See README.md.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curator.errors import SchemaError
from curator.pipeline.progress import log
from curator.reasons import Reason
from curator.record import dimensions
from curator.sources.recipe import Reject

SOURCE = "emer"
LABEL_FILE = "new_label.xlsx"
COLUMNS = ("ID", "Emotion", "Valence", "Arousal", "Intensity")
DIMENSIONS = ("Valence", "Arousal", "Intensity")


@dataclass(frozen=True)
class SampleKey:
    """A label row's ID as the source means it: its text, and its number when the cell is a number."""

    text: str
    number: int | None = None


@dataclass(frozen=True)
class LabelRow:
    key: SampleKey
    code: int
    dimensions: list[dict[str, Any]]
    where: str


@dataclass(frozen=True)
class LabelTable:
    sheet: str
    sheets: list[str]
    headers: dict[str, str]  # canonical column -> the sheet's own header
    rows: list[tuple[int, dict[str, Any]]]  # (Excel row number, canonical column -> cell)


def _tokens(name: Any) -> frozenset[str]:
    return frozenset(t for t in re.split(r"[^a-z0-9]+", str(name).lower()) if t)


def read_labels(path: Path) -> LabelTable:
    """The first sheet's rows with canonical column names (matched ignoring case and spacing)."""
    import pandas as pd  # ~0.5 s to import: only when a sheet is read
    try:
        book = pd.ExcelFile(path)
        sheet = book.sheet_names[0]
        # dtype=object keeps each cell as typed: a text ID keeps its zeros, a number stays a number
        df = pd.read_excel(book, sheet_name=sheet, dtype=object)
    except Exception as exc:  # openpyxl/zipfile raise many types on a bad file; one line is enough
        raise SchemaError(f"{LABEL_FILE}: cannot read ({type(exc).__name__}: {exc})") from None
    if len(book.sheet_names) > 1:
        log.warning("%s: %s has sheets %s; reading only the first, %r, as the authors' loader does",
                    SOURCE, LABEL_FILE, ", ".join(map(repr, book.sheet_names)), sheet)
    headers = {}
    for canon in COLUMNS:
        hits = [c for c in df.columns if _tokens(c) == _tokens(canon)]
        if len(hits) == 1:
            headers[canon] = str(hits[0])
    missing = [c for c in COLUMNS if c not in headers]
    if missing:
        raise SchemaError(f"{LABEL_FILE} sheet {sheet!r}: missing column(s) {', '.join(missing)}; expected "
                          f"{', '.join(COLUMNS)}, found {', '.join(map(str, df.columns))}")
    rows = []
    for i, cells in enumerate(df[[headers[c] for c in COLUMNS]].set_axis(list(COLUMNS), axis=1).to_dict("records")):
        if not all(is_blank(v) for v in cells.values()):  # a formatted but empty row is not a sample
            rows.append((i + 2, cells))
    return LabelTable(sheet, list(book.sheet_names), headers, rows)


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == ""


def sample_key(value: Any) -> SampleKey | None:
    """The ID cell as text (None when empty); a numeric cell 7 or 7.0 also keeps its number 7."""
    if is_blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return SampleKey(str(value), value)
    return SampleKey(str(value).strip())


def _code(value: Any) -> int:
    """An integer class code from a numeric cell (3 or 3.0) or digits typed as text; else ValueError."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise ValueError(value)


def _number(value: Any) -> float:
    """A finite float from a numeric cell or numeric text; anything else raises ValueError."""
    if isinstance(value, bool) or is_blank(value):
        raise ValueError("empty")
    number = float(str(value).strip()) if isinstance(value, str) else float(value)
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def parse_row(table: LabelTable, excel_row: int, cells: dict[str, Any], n_codes: int,
              label_kind: str | None = None) -> LabelRow | Reject:
    """One label row checked: its key, emotion code (0..n_codes-1) and dimensions, or a Reject. The sheet
    holds one label kind (`label_kind`): its Valence, Arousal and Intensity belong to that kind."""
    where = f"{LABEL_FILE} row {excel_row}"
    key = sample_key(cells["ID"])
    if key is None:
        return Reject(None, Reason.MISSING_FIELD, f"{where}: empty ID", LABEL_FILE)
    rid = f"{SOURCE}/{key.text}"
    emotion = cells["Emotion"]
    if is_blank(emotion):
        return Reject(rid, Reason.MISSING_FIELD, f"{where}: empty Emotion", LABEL_FILE)
    try:
        code = _code(emotion)
    except (TypeError, ValueError):
        return Reject(rid, Reason.BAD_VALUE, f"{where}: Emotion={emotion!r} is not an integer class code", LABEL_FILE)
    if not 0 <= code < n_codes:
        return Reject(rid, Reason.UNKNOWN_LABEL, f"{where}: Emotion code {code} has no name (sources.{SOURCE}."
                                                 f"emotion_codes names codes 0-{n_codes - 1})", LABEL_FILE)
    given = []
    for name in DIMENSIONS:
        try:
            given.append((name, _number(cells[name])))
        except (TypeError, ValueError):
            return Reject(rid, Reason.BAD_VALUE, f"{where}: {name}={cells[name]!r} is not a number", LABEL_FILE)
    try:
        dims = dimensions.common(SOURCE, given, label_kind)
    except ValueError as exc:
        return Reject(rid, Reason.BAD_VALUE, f"{where}: {exc}", LABEL_FILE)
    return LabelRow(key, code, dims, where)
