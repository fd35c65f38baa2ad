"""Kaggle "Face Emotion & Physiological Insight Dataset": one CSV, 13 columns, no images.

Columns are the 12 physio features of schemas/physio.yaml plus `emotion_label`, matched by name
(spacing and case ignored): any other column is listed as not read, never a reject. The table has
no subject id, so each row is its own group; its id is a hash of the row's content (same input ->
same id; an exact duplicate row is a duplicate id). See README.md.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import Field

from curator.config import Download, SourceParams
from curator.errors import CuratorError, SchemaError
from curator.io.paths import DeliveryName
from curator.io.secrets import basic_credentials, first_line, scrub
from curator.pipeline.progress import log
from curator.reasons import Reason
from curator.record.record import empty_record
from curator.record.schema import physio_features_of
from curator.sources.recipe import NotRead, Reject, SourceInfo

NAME = "kaggle_physio"
LABEL_COLUMN = "emotion_label"
INFO = SourceInfo.read(__file__)  # the facts: source.yaml beside this file


def feature_columns() -> list[str]:
    return physio_features_of(NAME)



class Params(SourceParams):
    handle: str | None = Field(None, description='Kaggle "owner/slug[/versions/N]" of the dataset')
    file: DeliveryName | None = Field(None, description="CSV file name inside it; null = the single *.csv found")


def layout(raw: Path, conf: Params) -> str:
    """One line for `curator inspect`: which CSV, and its header as found."""
    path = find_csv(raw, conf)
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        header = next(csv.reader(fh), [])
    wanted = {c.casefold() for c in [*feature_columns(), LABEL_COLUMN]}
    others = [h for h in header if h.strip().casefold() not in wanted]
    extra = f"; not read: {', '.join(map(repr, others))}" if others else ""
    return f"one CSV, {path.name}: {len(header)} columns ({', '.join(header[:4])}, ...){extra}"


def find_csv(raw: Path, conf: Params) -> Path:
    """The CSV named in params, else the single *.csv in `raw` (the real file name is unknown)."""
    raw = Path(raw)
    if raw.is_file():
        return raw
    name = conf.file
    if name and (raw / name).is_file():
        return raw / name
    top = sorted(p for p in raw.glob("*.csv") if p.is_file() and not p.name.startswith("."))
    found = top if len(top) == 1 else sorted(p for p in raw.rglob("*.csv") if not p.name.startswith("."))
    if len(found) != 1:
        what = "no *.csv" if not found else f"{len(found)} CSV files ({', '.join(p.name for p in found[:5])})"
        raise SchemaError(f"{NAME}: expected one CSV in {raw}, found {what}; set sources.{NAME}.file in params.yaml")
    return found[0]


def _row_id(values: list[str]) -> str:
    digest = hashlib.sha1("\x1f".join(v.strip() for v in values).encode("utf-8")).hexdigest()[:16]
    return f"{NAME}/{digest}"


def _parse_float(text: str) -> float:
    value = float(text.strip())
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


NOT_EVIDENCED = "not one of the 13 evidenced columns (schemas/physio.yaml kaggle_physio, emotion_label): not read"


def _columns(header: list[str], wanted: list[str], where: str) -> tuple[dict[str, int], list[str]]:
    """Wanted column -> its index (the first of a name, spacing and case ignored), and the other headers."""
    index: dict[str, int] = {}
    keys = {c.casefold(): c for c in wanted}
    for i, h in enumerate(header):
        c = keys.get(h.casefold())
        if c is not None and c not in index:
            index[c] = i
    missing = [c for c in wanted if c not in index]
    if missing:
        raise SchemaError(f"{where}: missing column(s) {', '.join(missing)}; found {', '.join(header)}")
    used = set(index.values())
    return index, [h if h else f"(unnamed column {i + 1})" for i, h in enumerate(header) if i not in used]


def prepare(raw: Path, conf: Params | None = None) -> Iterator[dict[str, Any] | Reject | NotRead]:
    path = find_csv(raw, conf or Params())
    features = feature_columns()
    # utf-8-sig swallows a BOM; newline="" lets csv handle CRLF line ends
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        try:
            header = [h.strip() for h in next(reader, [])]
            index, others = _columns(header, [*features, LABEL_COLUMN], path.name)
            if others:
                log.warning("%s: %s: %d column(s) not read: %s", NAME, path.name, len(others), ", ".join(others))
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue  # blank line, not a record
                yield _record(row, index, features, f"{path.name}:{reader.line_num}")
        # A file that is not UTF-8 text, or not CSV, is a wrong file, not a bad row: one line, no traceback
        # (the decoding error surfaces mid-file, so it is caught around the whole loop).
        except UnicodeDecodeError as exc:
            raise SchemaError(f"{path.name}: not UTF-8 text (byte {exc.start}: {exc.reason}); "
                              "save it as UTF-8 and run again") from None
        except csv.Error as exc:
            raise SchemaError(f"{path.name}:{reader.line_num}: not readable as CSV ({exc})") from None
    for column in others:  # once per file: a column of the table, not of one row
        yield NotRead(f"{path.name} column {column!r}", NOT_EVIDENCED)
    yield from _beside(Path(raw), path)


def _beside(raw: Path, csv_path: Path) -> Iterator[NotRead]:
    """Every other file of the download (notes, plots, a copy of another folder): seen, not read, counted."""
    if not raw.is_dir():
        return
    for f in sorted(p for p in raw.rglob("*") if p.is_file() and p != csv_path):
        yield NotRead(f"file {f.relative_to(raw).as_posix()}", "beside the dataset's CSV: not part of it, not read")


def _record(row: list[str], index: dict[str, int], features: list[str], where: str) -> dict[str, Any] | Reject:
    if len(row) <= max(index.values()):
        return Reject(None, Reason.MISSING_FIELD, f"{where}: {len(row)} cells, expected {max(index.values()) + 1}",
                      where)
    rid = _row_id([row[i] for i in index.values()])
    physio: dict[str, float] = {}
    for name in features:
        text = row[index[name]]
        try:
            physio[name] = _parse_float(text)
        except ValueError:
            return Reject(rid, Reason.BAD_VALUE, f"{where}: {name}={text!r} is not a number", where)
    label = row[index[LABEL_COLUMN]]
    if not label.strip():
        return Reject(rid, Reason.MISSING_FIELD, f"{where}: empty {LABEL_COLUMN}", where)
    record = empty_record()
    record.update(
        id=rid, source=NAME, group_id=rid, physio=physio, label_original=label, label_kind="expressed",
        license=INFO.license,
    )
    return record


def download(conf: Params, fetch: Download, out: Path, from_: str | None = None) -> Path:
    """Fetch the CSV into `out`: from a manual folder/file, a URL, or kagglehub."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if from_ and "://" not in from_:
        src = find_csv(Path(from_), conf)
        shutil.copyfile(src, out / src.name)
        return out / src.name
    if from_:
        from curator.sources.fetch import download_files

        return download_files(NAME, [from_], out, fetch)[0]
    return _kagglehub_download(conf, out)


def _one_line(exc: BaseException, config: Path) -> str:
    """kagglehub's messages run over several lines (and may quote a request): keep the first
    line, with the Kaggle key masked in clear and as HTTP Basic credentials (base64 of user:key)."""
    user, key = os.environ.get("KAGGLE_USERNAME") or "", os.environ.get("KAGGLE_KEY") or ""
    if not key and config.is_file():
        with contextlib.suppress(OSError, ValueError, AttributeError):
            creds = json.loads(config.read_text(encoding="utf-8"))
            user, key = str(creds.get("username") or ""), str(creds.get("key") or "")
    return scrub(first_line(exc), basic_credentials(user, key) if key else None, key)


def _kagglehub_download(conf: Params, out: Path) -> Path:
    handle = conf.handle
    config = Path(os.environ.get("KAGGLE_CONFIG_DIR", Path.home() / ".kaggle")) / "kaggle.json"
    has_env = os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY")
    if not (has_env or config.is_file()):
        raise CuratorError(
            f"{NAME}: no Kaggle credentials: set KAGGLE_USERNAME and KAGGLE_KEY (or create {config.name} in "
            f"~/.kaggle), or download the CSV by hand and run: curator download {NAME} --from DIR|FILE"
        )
    if not handle:
        raise CuratorError(f"{NAME}: set sources.{NAME}.handle (owner/slug[/versions/N]) in params.yaml")
    import kagglehub

    try:
        cached = Path(kagglehub.dataset_download(handle))
    except Exception as exc:  # kagglehub raises many types; keep the message, drop the traceback
        raise CuratorError(f"{NAME}: kagglehub could not fetch {handle}: {_one_line(exc, config)}") from None
    src = find_csv(cached, conf)
    shutil.copyfile(src, out / src.name)
    return out / src.name
