"""EMER eye/<ID>.xlsx: a Tobii export, all numeric, reduced to the physio features of schemas/physio.yaml.

The authors' loader (kejun1/EMER `dataset/SMEAD_dataset.py`, history commit 247543d) reads the
first sheet with `pd.read_excel(eye_path)`, takes `Gaze point X`/`Gaze point Y` or, failing that,
`Gaze point X [DACS px]`/`Gaze point Y [DACS px]`, and casts the whole sheet to float (39 columns:
`nn.LSTM(39, ...)`). So: first sheet, every cell numeric or empty, and a header ending in
" [DACS px]" is the same column as the header without it.

Each declared column becomes its mean and (ddof=1) standard deviation over the sheet's rows, NaN
cells skipped, null when nothing is left. Which column feeds which feature is declared in
schemas/physio.yaml (`column`, `stat`); the other 37 column names of EMER's export are not
published, so a header the file has and physio.yaml lacks rejects the sample (unexpected_columns)
naming it, rather than silently dropping data the user asked to keep.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from curator.errors import SchemaError
from curator.reasons import Reason
from curator.record.schema import load_yaml

if TYPE_CHECKING:
    import pandas as pd

SOURCE = "emer"
DACS_PX = " [dacs px]"
GAZE = ("gaze point x", "gaze point y")  # the only columns the authors' loader names: required
STATS = ("mean", "std")


class EyeProblem(Exception):
    """Why one eye file cannot give features: a reject reason and a one-line detail."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def column_key(header: object) -> str:
    """A header as the loader compares it: spacing and case ignored, " [DACS px]" dropped."""
    key = " ".join(str(header).split()).casefold()
    return key.removesuffix(DACS_PX)


@cache
def declared() -> dict[str, dict[str, str]]:
    """Column key -> {stat: feature name}, from schemas/physio.yaml's emer section."""
    out: dict[str, dict[str, str]] = {}
    for feature, spec in load_yaml("physio.yaml").get(SOURCE, {}).items():
        if spec.get("stat") not in STATS or not spec.get("column"):
            raise SchemaError(f"schemas/physio.yaml {SOURCE}.{feature}: needs column and stat ({'/'.join(STATS)})")
        out.setdefault(column_key(spec["column"]), {})[spec["stat"]] = feature
    return out


def read_sheet(path: Path) -> pd.DataFrame:
    """The first sheet, as the authors read it; an unreadable workbook is an EyeProblem."""
    import pandas as pd  # ~0.5 s to import: only when a sheet is read
    try:
        return pd.read_excel(path, sheet_name=0)
    except Exception as exc:  # openpyxl/zipfile raise many types on a corrupt file; one line is enough
        raise EyeProblem(Reason.UNREADABLE_FILE, f"cannot read ({type(exc).__name__}: {exc})") from None


def _columns(df: pd.DataFrame) -> dict[str, str]:
    """Column key -> the sheet's header; unknown or doubled columns are an EyeProblem."""
    known = declared()
    by_key: dict[str, list[str]] = {}
    for header in df.columns:
        by_key.setdefault(column_key(header), []).append(str(header))
    unknown = [h for k, hs in by_key.items() if k not in known for h in hs]
    if unknown:
        shown = ", ".join(repr(h) for h in unknown[:6]) + (", ..." if len(unknown) > 6 else "")
        raise EyeProblem(Reason.UNEXPECTED_COLUMNS, f"{len(unknown)} column(s) not declared in schemas/physio.yaml "
                                                    f"({SOURCE}: column, stat): {shown}")
    doubled = [hs for hs in by_key.values() if len(hs) > 1]
    if doubled:
        raise EyeProblem(Reason.UNEXPECTED_COLUMNS, f"columns {' and '.join(map(repr, doubled[0]))} are one feature")
    missing = [k for k in GAZE if k not in by_key]
    if missing:
        raise EyeProblem(Reason.MISSING_FIELD, f"no {' / '.join(missing)} column (with or without [DACS px]); "
                                               f"found {', '.join(map(str, df.columns))}")
    return {k: hs[0] for k, hs in by_key.items()}


def _numeric(df: pd.DataFrame, header: str) -> pd.Series:
    import pandas as pd  # ~0.5 s to import: only when a sheet is read
    values = pd.to_numeric(df[header], errors="coerce")
    bad = df[header].notna() & values.isna()
    if bad.any():  # the authors cast the whole sheet to float: text in a cell breaks their loader too
        row = int(bad.to_numpy().argmax())
        raise EyeProblem(Reason.BAD_VALUE, f"{header}={df[header].iloc[row]!r} (row {row + 2}) is not a number")
    return values.astype(float)


def _clean(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def eye_features(path: Path) -> dict[str, float | None]:
    """Every declared EMER feature (null where the sheet lacks its column); raises EyeProblem."""
    df = read_sheet(path)
    columns = _columns(df)
    if df.dropna(how="all").empty:
        raise EyeProblem(Reason.MISSING_EYE_DATA, "the sheet has no rows")
    out: dict[str, float | None] = {}
    for key, features in declared().items():
        values = _numeric(df, columns[key]) if key in columns else None
        for stat, feature in features.items():
            out[feature] = None if values is None else _clean(getattr(values, stat)())
    return out
