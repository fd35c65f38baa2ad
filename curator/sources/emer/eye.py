"""EMER eye/<ID>.xlsx: a Tobii Pro Lab export, each numeric column reduced to its mean and std.

First sheet only, as the authors' loader reads it. Columns schemas/physio.yaml names fill `physio`;
every other numeric column is kept under `physio_extra` ({name, unit, mean, std}) and reported as
NotRead. Headers are matched by name and Tobii unit suffix (`[ms]`, `[μs]`, `[DACS px]`...): a time
column in another time unit is converted; `[DACS px]` equals no suffix (both spellings occur for the
gaze pair). Strict only where the evidence is firm: the gaze pair. See README.md.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curator.errors import SchemaError
from curator.reasons import Reason
from curator.record.schema import load_yaml
from curator.sources.recipe import NotRead

if TYPE_CHECKING:
    import pandas as pd

SOURCE = "emer"
GAZE = ("gaze point x", "gaze point y")  # the only columns the authors' loader names: required
STATS = ("mean", "std")
EXTRA_COLUMN = "physio_extra"
KEPT_GENERICALLY = f"not named in schemas/physio.yaml: kept generically under {EXTRA_COLUMN} (name, unit, mean, std)"
# Tobii Pro Lab's unit suffixes, spelled as a key: micro may be typed µ (micro sign), μ (mu) or u
_MICRO = re.compile(r"^[µμu]s$")
_TIME = {"s": 1.0, "ms": 1e-3, "μs": 1e-6}  # seconds per unit
_SAME_AS_NONE = "dacs px"  # the loader reads 'Gaze point X' or 'Gaze point X [DACS px]': one column
_SUFFIX = re.compile(r"^(?P<base>.*?)\s*\[(?P<unit>[^\[\]]*)\]$")


class EyeProblem(Exception):
    """Why one eye file cannot give features: a reject reason and a one-line detail."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Header:
    base: str  # name without unit, spacing and case folded
    unit: str  # canonical unit ("ms", "μs", "dacs mm"...), "" for none or [DACS px]

    @property
    def key(self) -> str:
        return f"{self.base} [{self.unit}]" if self.unit else self.base


def parse_header(header: object) -> Header:
    """`Eyetracker timestamp [µs]` -> ("eyetracker timestamp", "μs");
    `Gaze point X [DACS px]` -> ("gaze point x", "")."""
    text = " ".join(str(header).split()).casefold()
    found = _SUFFIX.match(text)
    base, unit = (found["base"], " ".join(found["unit"].split())) if found else (text, "")
    unit = "μs" if _MICRO.match(unit) else unit
    return Header(base, "" if unit == _SAME_AS_NONE else unit)


def column_key(header: object) -> str:
    """A header as the loader compares it: spacing and case ignored, " [DACS px]" dropped."""
    return parse_header(header).key


def _factor(sheet: Header, declared: Header) -> float | None:
    """What turns the sheet's values into the declared column's unit, or None when they differ."""
    if sheet.base != declared.base:
        return None
    if sheet.unit == declared.unit:
        return 1.0
    if sheet.unit in _TIME and declared.unit in _TIME:
        return _TIME[sheet.unit] / _TIME[declared.unit]
    return None


@cache
def declared() -> dict[str, dict[str, str]]:
    """Column key -> {stat: feature name}, from schemas/physio.yaml's emer section."""
    out: dict[str, dict[str, str]] = {}
    for feature, spec in load_yaml("physio.yaml").get(SOURCE, {}).items():
        if spec.get("stat") not in STATS or not spec.get("column"):
            raise SchemaError(f"schemas/physio.yaml {SOURCE}.{feature}: needs column and stat ({'/'.join(STATS)})")
        out.setdefault(column_key(spec["column"]), {})[spec["stat"]] = feature
    return out


@cache
def _declared_headers() -> dict[str, Header]:
    return {key: parse_header(key) for key in declared()}


@dataclass
class EyeSummary:
    """One sheet's statistics: declared features, the other numeric columns, and what was not read."""

    physio: dict[str, float | None]
    extra: list[dict[str, Any]] = field(default_factory=list)
    not_read: list[NotRead] = field(default_factory=list)


def read_sheet(path: Path) -> pd.DataFrame:
    """The first sheet, as the authors read it; an unreadable workbook is an EyeProblem."""
    import pandas as pd  # ~0.5 s to import: only when a sheet is read
    try:
        return pd.read_excel(path, sheet_name=0)
    except Exception as exc:  # openpyxl/zipfile raise many types on a corrupt file; one line is enough
        raise EyeProblem(Reason.UNREADABLE_FILE, f"cannot read ({type(exc).__name__}: {exc})") from None


def _match(headers: list[str]) -> tuple[dict[str, tuple[str, float]], list[str]]:
    """Declared key -> (sheet header, unit factor), and the headers left for physio_extra.

    A declared column found twice (two spellings, two time units) takes the one in its own unit; the
    other is kept generically. The gaze pair twice is refused: which one the authors read is not known."""
    found: dict[str, list[tuple[str, float]]] = {}
    rest = []
    for h in headers:
        parsed = parse_header(h)
        hit = next(((key, f) for key, d in _declared_headers().items() if (f := _factor(parsed, d)) is not None),
                   None)
        if hit:
            found.setdefault(hit[0], []).append((h, hit[1]))
        else:
            rest.append(h)
    chosen = {}
    for key, hits in found.items():
        if len(hits) > 1 and key in GAZE:
            raise EyeProblem(Reason.UNEXPECTED_COLUMNS, f"columns {' and '.join(repr(h) for h, _ in hits)} "
                                                        "are one feature")
        hits.sort(key=lambda hit: hit[1] != 1.0)  # the declared unit first
        chosen[key] = hits[0]
        rest += [h for h, _ in hits[1:]]
    missing = [k for k in GAZE if k not in chosen]
    if missing:
        raise EyeProblem(Reason.MISSING_FIELD, f"no {' / '.join(missing)} column (with or without [DACS px]); "
                                               f"found {', '.join(headers)}")
    return chosen, [h for h in headers if h in rest]


def _numeric(df: pd.DataFrame, header: str) -> tuple[pd.Series, Any]:
    """The column as floats, and its first non-numeric cell and row (None when every cell is a number or blank)."""
    import pandas as pd  # ~0.5 s to import: only when a sheet is read
    values = pd.to_numeric(df[header], errors="coerce").astype(float)
    bad = (df[header].notna() & values.isna()).to_numpy()
    if not bad.any():
        return values, None
    row = int(bad.argmax())
    return values, f"{df[header].iloc[row]!r} (row {row + 2})"


def _stat(values: pd.Series, stat: str, header: str) -> float | None:
    value = float(getattr(values, stat)())
    if math.isnan(value):
        return None  # no value, or one value for a standard deviation
    if not math.isfinite(value):  # standardizing it would overflow downstream: the sample is refused here
        raise EyeProblem(Reason.BAD_VALUE, f"{header}: its {stat} is not finite ({value})")
    return value


def eye_features(path: Path) -> EyeSummary:
    """Every declared EMER feature (null where the sheet lacks its column) and every other numeric
    column generically; raises EyeProblem for a sheet that cannot be a sample."""
    df = read_sheet(path)
    df.columns = headers = [str(h) for h in df.columns]  # a header typed as a number is still a name
    chosen, rest = _match(headers)
    if df.dropna(how="all").empty:
        raise EyeProblem(Reason.MISSING_EYE_DATA, "the sheet has no rows")
    out = EyeSummary({})
    for key, features in declared().items():
        header, factor = chosen.get(key, (None, 1.0))
        values = None
        if header is not None:
            values, text = _numeric(df, header)
            if text is not None:
                if key in GAZE:  # the authors cast the sheet to float: text in the gaze pair breaks their loader
                    raise EyeProblem(Reason.BAD_VALUE, f"{header}={text} is not a number")
                out.not_read.append(_text(header))
                values = None
        for stat, feature in features.items():
            stat_value = None if values is None else _stat(values, stat, header or key)
            out.physio[feature] = None if stat_value is None else stat_value * factor
    for header in rest:
        values, text = _numeric(df, header)
        if text is not None:
            out.not_read.append(_text(header))
            continue
        unit = parse_header(header).unit or None
        out.extra.append({"name": header, "unit": unit, "mean": _stat(values, "mean", header),
                          "std": _stat(values, "std", header)})
        out.not_read.append(NotRead(f"eye column {header!r}", KEPT_GENERICALLY))
    return out


def _text(header: str) -> NotRead:
    return NotRead(f"eye column {header!r}", "holds text, not numbers: not summarised (the authors' loader casts "
                   "the sheet to float, so real sheets should not)")
