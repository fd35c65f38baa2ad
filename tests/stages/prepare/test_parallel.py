"""prepare's image checks on a process pool: the same output bytes as in one process."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from curator.config import Prepare
from curator.reasons import Reason
from curator.record.record import empty_record
from curator.sources import get_recipe
from curator.sources.recipe import Reject
from curator.stages.prepare.stage import run_prepare
from curator.testing.samples import builders
from tests.conftest import run_cli


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _prepare_twice(tmp_path: Path, source: str, recipe: Any, raw: Path) -> tuple[dict, dict[str, bytes]]:
    """Prepare with 1 and 2 workers; assert both give the same counts and bytes, return them."""
    results, files = {}, {}
    for workers in (1, 2):
        out = tmp_path / f"workers{workers}"
        results[workers] = run_prepare(source, recipe, raw, out, Prepare(workers=workers))
        files[workers] = _files(out)
    assert results[1] == results[2]
    assert files[1] == files[2]
    return results[1], files[1]


def test_a_dirty_sample_source_gives_the_same_bytes_on_one_or_two_workers(tmp_path: Path) -> None:
    built = builders()["emonet_binary"](tmp_path, 0, True)  # a truncated image and a duplicate id
    result, files = _prepare_twice(tmp_path, "emonet_binary", get_recipe("emonet_binary").prepare,
                                   tmp_path / "emonet_binary")
    assert result["inputs"] == built.items
    assert json.loads(files["metrics.json"])["rejected_by_reason"] == dict(built.prepare_rejects)


def _png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


GOOD = _png(np.full((8, 8), 128, np.uint8))
DEEP = _png(np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000)  # 16-bit: re-encoded as 8-bit
CUT = GOOD[:-20]  # no IEND chunk


def _record(id_: str, image: bytes, infrared: bytes | None = None) -> dict[str, Any]:
    rec = empty_record()
    rec.update(id=id_, source="viri", group_id=id_, license="test", label_original="Happy",
               image={"bytes": image, "path": f"{id_}.png"},
               infrared=None if infrared is None else {"bytes": infrared, "path": f"{id_}_ir.png"})
    return rec


def _tricky(raw: Path) -> Iterator[dict[str, Any] | Reject]:
    """Duplicate ids whose first record is still being checked when the next one is submitted."""
    yield _record("x/a", GOOD)
    yield _record("x/b", CUT)  # rejected: its id stays free
    yield _record("x/b", DEEP)  # kept (and fixed) although its id was seen
    yield _record("x/b", b"junk")  # a duplicate: rejected as such, its image never judged
    yield _record("x/a", DEEP)  # a duplicate: its fix is not reported
    yield _record("x/c", DEEP, CUT)  # a bad infrared rejects the record, and drops its image's fix
    yield Reject("x/r", Reason.UNPAIRED, "from the recipe")
    for i in range(40):
        yield _record(f"x/fill{i}", GOOD)


def test_duplicate_ids_and_fixes_are_decided_in_input_order(tmp_path: Path) -> None:
    result, files = _prepare_twice(tmp_path, "viri", _tricky, tmp_path / "raw")  # raw: not read by _tricky
    assert (result["kept"], result["rejected"]) == (42, 5)
    rejects = [json.loads(line) for line in files["rejects.jsonl"].decode().splitlines()]
    assert [(r["id"], r["reason"]) for r in rejects] == [
        ("x/b", "truncated_image"), ("x/b", "duplicate_id"), ("x/a", "duplicate_id"), ("x/c", "truncated_image"),
        ("x/r", "unpaired"),
    ]
    fixes = [json.loads(line) for line in files["normalized.jsonl"].decode().splitlines()]
    assert [(f["id"], f["changes"]) for f in fixes] == [("x/b", ["high_bit_depth"])]


def test_prepare_rejects_an_unknown_executor(tmp_path: Path) -> None:
    proc = run_cli("prepare", "viri", "--executor", "nope", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "choose one of local, ray" in proc.stderr
