"""The recipe contract, and the prepare driver every recipe shares.

A recipe module in curator/sources/ defines:
    INFO: SourceInfo
    download(params, out, from_) -> Path      fetch raw files into `out`
    prepare(raw, params) -> Iterator[dict | Reject]
        one item per input sample: a unified record (curator.schema.empty_record() filled in)
        or a Reject. The driver validates images, ids and required fields centrally, so each
        recipe only reads its own format.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curator.io.images import DEFAULT_MAX_PIXELS, check_image, dhash, upright_8bit
from curator.progress import track
from curator.reasons import Reason
from curator.schema import required_columns
from curator.stage import StageRun


@dataclass(frozen=True)
class SourceInfo:
    name: str
    title: str
    license: str
    redistributable: str  # "yes", "opt-in" (only if params allow it), "no"
    size: str
    needs: str  # what a user must supply: nothing, credentials, a signed licence...
    homepage: str
    citation: str
    attribution: str = ""


@dataclass(frozen=True)
class Reject:
    id: str | None
    reason: Reason
    detail: str
    path: str | None = None


PrepareFn = Callable[[Path, dict[str, Any]], Iterator["dict[str, Any] | Reject"]]


def _check_images(record: dict[str, Any], max_pixels: int, fixes: list[dict[str, Any]]) -> Reject | None:
    """Decode each image once: reject a bad one, else fingerprint it (sha256 + dHash) for dedup.

    An image whose stored pixels are not what a viewer shows (EXIF-rotated, 16-bit) is replaced
    by its upright 8-bit PNG (curator.io.images.upright_8bit), and the change is added to `fixes`:
    every reader of the published bytes, and augment and dedup here, then see the same picture.
    """
    hashes: dict[str, str | None] = {}
    for column in ("image", "infrared"):
        value = record.get(column)
        if value is None:
            continue
        data = value.get("bytes")
        check = check_image(data, max_pixels=max_pixels, keep=True)
        if not check.ok:
            return Reject(record["id"], check.reason, f"{column}: {check.detail}", value.get("path"))
        image = check.image
        fixed = upright_8bit(image)
        if fixed is not None:
            fixes.append({"id": record["id"], "column": column, "path": value.get("path"),
                          "changes": list(fixed.changes),
                          "from": f"{check.format} {check.mode} {check.width}x{check.height}"})
            data, image = fixed.data, fixed.image
            record[column] = {**value, "bytes": data}
        hashes[f"{column}_sha256"] = hashlib.sha256(data).hexdigest()
        hashes[f"{column}_dhash"] = dhash(image)
    record["hashes"] = hashes or None
    return None


def run_prepare(
    source: str, prepare: PrepareFn, raw: Path, out: Path, params: dict[str, Any], *, metrics_copy: Path | None = None
) -> dict[str, Any]:
    """Drive one recipe's prepare() into `out`: records as shards, the rest as rejects."""
    max_pixels = int(params.get("prepare", {}).get("max_image_pixels", DEFAULT_MAX_PIXELS))
    required = required_columns()
    seen: set[str] = set()
    fixes: list[dict[str, Any]] = []  # images re-encoded upright/8-bit: few, so kept in memory
    with StageRun("prepare", out, source=source, metrics_copy=metrics_copy) as run:
        writer = run.writer()
        batch: list[dict[str, Any]] = []
        for item in track(prepare(Path(raw), params), desc=f"prepare {source}"):
            run.count_input()
            if not isinstance(item, Reject):
                item = _check_record(item, required, seen, max_pixels, fixes)
            if isinstance(item, Reject):
                run.reject(id=item.id, reason=item.reason, detail=item.detail, path=item.path)
                continue
            batch.append(item)
            if len(batch) >= 256:
                writer.write_rows(batch)
                batch = []
        writer.write_rows(batch)
        if fixes:  # only then, so a source without such images keeps its metrics and files as before
            run.metrics["images_normalized"] = dict(sorted(Counter(c for f in fixes for c in f["changes"]).items()))
            (run.dir / "normalized.jsonl").write_text(
                "".join(json.dumps(f, ensure_ascii=False) + "\n" for f in fixes), encoding="utf-8")
    return {"inputs": run.inputs, "kept": run.kept, "rejected": run.rejects.total}


def _check_record(
    record: dict[str, Any], required: list[str], seen: set[str], max_pixels: int, fixes: list[dict[str, Any]]
) -> dict | Reject:
    missing = [c for c in required if record.get(c) in (None, "")]
    if missing:
        return Reject(record.get("id"), Reason.MISSING_FIELD, f"missing {', '.join(missing)}")
    if record["id"] in seen:
        return Reject(record["id"], Reason.DUPLICATE_ID, f"id {record['id']} already seen; kept the first")
    mine: list[dict[str, Any]] = []  # only a kept record's fixes are reported
    problem = _check_images(record, max_pixels, mine)
    if problem:
        return problem
    fixes.extend(mine)
    seen.add(record["id"])
    return record
