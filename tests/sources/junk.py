"""Random extra files and folders as real downloads carry them (plots, weights, notebooks, OS droppings,
a README, a nested copy of an unrelated folder), for the per-recipe junk tests: adding them must leave
the records byte-identical and count every added file (a reject or a NotRead), never stop the source."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from PIL import Image, ImageDraw

from curator.sources.recipe import NotRead, Reject


def _plot(seed: int) -> bytes:
    img = Image.new("RGB", (64, 48), (255, 255, 255))
    ImageDraw.Draw(img).line([(4, 40), (30, 10 + seed % 20), (60, 8)], fill=(31, 119, 180), width=2)
    buf = io.BytesIO()
    img.save(buf, "JPEG")
    return buf.getvalue()


def _weights() -> bytes:  # a PyTorch checkpoint is a zip: it must not be unpacked as data
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("model/data.pkl", b"\x80\x02}q\x00.")
        zf.writestr("model/data/0", bytes(32))
    return buf.getvalue()


_NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()
# name -> files it adds (relative path, bytes); the folder names avoid every word a layout reads
KINDS: dict[str, Callable[[int], list[tuple[str, bytes]]]] = {
    "plot": lambda k: [(f"loss_curve_{k}.jpg", _plot(k))],
    "weights": lambda k: [(f"models/resnet18_{k}.pt", _weights())],
    "notebook": lambda k: [(f"train_{k}.ipynb", _NOTEBOOK)],
    "ds_store": lambda k: [(".DS_Store", b"\x00\x00\x00\x01Bud1" + bytes(24))],
    "macosx": lambda k: [(f"__MACOSX/._loss_curve_{k}.jpg", b"\x00\x05\x16\x07" + bytes(28))],
    "thumbs": lambda k: [("Thumbs.db", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(56))],
    "readme": lambda k: [("README.md", b"# notes\n")],
    "unrelated": lambda k: [(f"backup_old/cats/cat_{k:03d}.jpg", _plot(k + 1)), ("backup_old/cats/labels.csv",
                                                                                b"file,label\ncat_000.jpg,cat\n")],
}


def junk_sets(places: list[str]) -> st.SearchStrategy[list[tuple[str, str, int]]]:
    """A few (kind, place, k) to add: `places` are folders of the layout where such files may land."""
    return st.lists(st.tuples(st.sampled_from(sorted(KINDS)), st.sampled_from(places), st.integers(0, 9)),
                    min_size=1, max_size=5)


def add_junk(root: Path, junk: Iterable[tuple[str, str, int]]) -> set[str]:
    """Write the junk under `root`; returns the relative paths of the files added (a file written twice
    counts once)."""
    added = set()
    for kind, place, k in junk:
        for rel, data in KINDS[kind](k):
            path = root / place / rel
            if path.exists():
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            added.add(path.relative_to(root).as_posix())
    return added


def outcome(items: Iterable[Any]) -> tuple[list[dict], int]:
    """The records, and how many other things were counted (rejects and NotRead items)."""
    records, counted = [], 0
    for item in items:
        if isinstance(item, dict):
            records.append(item)
        elif isinstance(item, (Reject, NotRead)):
            counted += 1
    return records, counted


def assert_junk_is_counted(prepare: Callable[[Path], Iterable[Any]], clean: Path, work: Path,
                           junk: list[tuple[str, str, int]], baseline: tuple[list[dict], int]) -> None:
    """Copy the clean layout to `work`, add `junk`, prepare: the same records, byte for byte, and one more
    reject or NotRead per added file."""
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(clean, work)
    added = add_junk(work, junk)
    records, counted = outcome(prepare(work))
    assert records == baseline[0], f"records changed after adding {sorted(added)}"
    more = counted - baseline[1]
    assert more == len(added), f"{more} counted for {len(added)} added: {sorted(added)}"


def cli_junk_run(source: str, ws: Path, clean: Path, places: list[str], params: dict | None = None) -> dict:
    """The real CLI: download the clean layout, add one of every junk kind at each place to the raw copy,
    prepare. Returns the metrics, the rows, the files added and the rejects."""
    import pyarrow.parquet as pq
    import yaml

    from tests.conftest import run_cli

    ws.mkdir(parents=True, exist_ok=True)
    (ws / "params.yaml").write_text(yaml.safe_dump({"sources": {source: params or {}}}))
    run_cli("download", source, "--from", str(clean), cwd=ws)
    raw = ws / "data" / "raw" / source
    added = add_junk(raw, [(kind, place, 1) for kind in sorted(KINDS) for place in places])
    run_cli("prepare", source, cwd=ws)
    out = ws / "data" / "prepared" / source
    rows = [r for f in sorted(out.glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
    metrics = json.loads((out / "metrics.json").read_text())
    inspect = run_cli("inspect", source, str(raw), cwd=ws).stdout
    return {"metrics": metrics, "rows": rows, "added": added, "rejects": rejects, "inspect": inspect}


def counted_in_metrics(metrics: dict) -> int:
    """Rejects plus what was seen and not read, as prepare's metrics count them."""
    return metrics["rejected"] + sum(n["count"] for n in metrics.get("not_read", []))
