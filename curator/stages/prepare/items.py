"""prepare's rules for one item, shared by the pool path (curator.stages.prepare.stage) and the Ray
Data path (curator.stages.prepare.raydata): what of the raw folder a recipe may read, the required
fields, what the workers check, and the decision in input order (duplicate ids, the checked images'
fixes and hashes).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from curator.io.paths import decodable, delivery, shown
from curator.reasons import Reason
from curator.record.record import RecordError, record_problem, strict
from curator.sources.recipe import Reject
from curator.stages.prepare.worker import IMAGE_COLUMNS, Checked


def image_task(item: dict[str, Any] | Reject, seen: set[str]) -> dict[str, bytes | None] | None:
    """What the workers check for one item: the bytes of its present image columns; None when the
    item is rejected whatever its images (a Reject, or an id already kept)."""
    if isinstance(item, Reject) or item["id"] in seen:
        return None
    return {c: item[c].get("bytes") for c in IMAGE_COLUMNS if item.get(c) is not None}


@contextmanager
def delivered(raw: Path) -> Iterator[tuple[Path, list[Reject]]]:
    """The folder the recipe reads for `raw` (curator.io.paths.delivery: nothing outside the delivery,
    no name that is not UTF-8, no FIFO), and a reject for each entry it may not read."""
    with delivery(raw) as (root, left_out):
        yield root, [Reject(None, e.reason, e.detail, e.path) for e in left_out]


def _undecodable(value: Any, where: str = "") -> str | None:
    """The first string in a record (its id, an image's path, a nested value) that is not UTF-8: where
    it is and its text escaped. Such a string is a file name's raw bytes (a name inside an archive)."""
    if isinstance(value, str):
        return None if decodable(value) else f"{where or 'value'} '{shown(value)}'"
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    return next((found for k, v in items if (found := _undecodable(v, f"{where}.{k}" if where else str(k)))), None)


def storable(item: Reject) -> Reject:
    """A reject whose id, detail or path holds a name that is not UTF-8, with that name escaped (rejects.jsonl
    and metrics stay UTF-8 JSON)."""
    texts = (item.id, item.detail, item.path)
    if all(t is None or decodable(t) for t in texts):
        return item
    return Reject(item.id and shown(item.id), item.reason, shown(item.detail), item.path and shown(item.path))


def name_problem(record: dict[str, Any]) -> Reject | None:
    """A record holding a name that is not UTF-8 (a file inside an archive): no output can store it."""
    bad_name = _undecodable(record)
    if bad_name is None:
        return None
    rid = record.get("id")
    return Reject(shown(rid) if isinstance(rid, str) else None, Reason.UNDECODABLE_NAME,
                  f"{bad_name} is not UTF-8 (a file name's bytes); rename the file to read it")


def missing_fields(record: dict[str, Any], required: list[str]) -> Reject | None:
    """A record holding a name that is not UTF-8 (name_problem), missing a required field, or one the
    schema cannot store (a recipe bug: raised at once with CURATOR_STRICT_RECORDS, as tests run; in a
    run, a reject that names the field)."""
    named = name_problem(record)
    if named is not None:
        return named
    missing = [c for c in required if record.get(c) in (None, "")]
    if missing:
        return Reject(record.get("id"), Reason.MISSING_FIELD, f"missing {', '.join(missing)}")
    problem = record_problem(record)
    if problem is None:
        return None
    if strict():
        raise RecordError(f"{record.get('id')}: {problem}")
    return Reject(record.get("id"), Reason.INVALID_RECORD, problem)


def duplicate(rid: str) -> Reject:
    """The reject of a record whose id an earlier kept record has."""
    return Reject(rid, Reason.DUPLICATE_ID, f"id {rid} already seen; kept the first")


def resolve(item: dict[str, Any] | Reject, checked: Checked | None, seen: set[str],
             fixes: list[dict[str, Any]]) -> dict[str, Any] | Reject:
    """Decide one item, in input order: the record, with its fixed bytes and hashes, or a Reject.

    The duplicate check comes first and uses `seen` as it is now: a duplicate is rejected whatever
    its images, and an id counts as seen only once a record with it was kept (a later record may
    reuse the id of a rejected one). A record submitted while its id's first record was still
    being checked was checked too; that result is simply dropped here.
    """
    if isinstance(item, Reject):
        return storable(item)
    if item["id"] in seen:
        return duplicate(item["id"])
    if checked is None:  # image_task skips only Rejects and ids in `seen`, and `seen` only grows
        raise RuntimeError(f"prepare: no image check for {item['id']}")
    if checked.bad is not None:
        bad = checked.bad
        return Reject(item["id"], bad.reason, f"{bad.column}: {bad.detail}", item[bad.column].get("path"))
    for fix in checked.fixed:
        value = item[fix.column]
        fixes.append({"id": item["id"], "column": fix.column, "path": value.get("path"), "changes": list(fix.changes),
                      "from": fix.was})
        item[fix.column] = {**value, "bytes": fix.data}
    item["hashes"] = checked.hashes
    seen.add(item["id"])
    return item
