"""Junk a real download carries beside the data, for the EmoNet recipes' junk tests.

Plots, model weights, notebooks, Finder/Explorer metadata, a `__MACOSX/` tree, READMEs, and a nested
copy of an unrelated project (a CSV, notes, a config JSON and images). Image junk goes in folders of
its own (a plot dropped among the data images would be an image without a label: a reject, rightly);
non-image junk also lands in the data folders. A junk test adds a drawn set, runs prepare through the
CLI, and checks that the records are byte-identical and that every added file is counted.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from curator.testing.samples.portraits import face
from curator.testing.samples.writers import jpeg, png
from tests.conftest import run_cli

OTHER_FOLDERS = ("plots", "runs/exp1", "figures/2024")


def _plot(seed: int) -> bytes:
    return png(face("Anger", seed, "plot"))


FILES: dict[str, Callable[[int], bytes]] = {  # name -> its bytes
    "loss.png": _plot,
    "confusion_matrix.jpg": lambda seed: jpeg(face("Fear", seed, "cm")),
    "model_best.pt": lambda seed: b"PK\x03\x04" + bytes(range(256)) * (1 + seed % 3),
    "analysis.ipynb": lambda seed: json.dumps({"cells": [], "nbformat": 4, "nbformat_minor": 5}).encode(),
    ".DS_Store": lambda seed: b"\x00\x00\x00\x01Bud1" + bytes(32),
    "Thumbs.db": lambda seed: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64),
    "README.txt": lambda seed: b"Downloaded for the thesis; see the notebook.\n",
    "NOTES.md": lambda seed: b"# notes\n",
}
IMAGES = {"loss.png", "confusion_matrix.jpg"}
UNRELATED = {  # another project's folder, copied in whole
    "data.csv": b"id,score\n1,0.5\n2,0.7\n",
    "notes.txt": b"unrelated\n",
    "config.json": json.dumps({"lr": 0.001, "epochs": 10}).encode(),
}


@st.composite
def junk(draw: st.DrawFn, data_folders: tuple[str, ...]) -> list[tuple[str, bytes]]:
    """A few junk files (relative path, bytes): each name at most once per folder."""
    seed = draw(st.integers(0, 9))
    chosen: dict[str, bytes] = {}
    for name in draw(st.lists(st.sampled_from(sorted(FILES)), min_size=1, max_size=5, unique=True)):
        folders = OTHER_FOLDERS + (() if name in IMAGES else ("", *data_folders))
        chosen[f"{draw(st.sampled_from(folders))}/{name}".lstrip("/")] = FILES[name](seed)
    if draw(st.booleans()):  # a macOS archive's metadata: AppleDouble files mirroring a data file
        chosen[f"__MACOSX/{data_folders[0]}/._{draw(st.sampled_from(('a.png', 'b.parquet', 'c.json')))}"] = \
            b"\x00\x05\x16\x07" + bytes(60)
    if draw(st.booleans()):
        base = draw(st.sampled_from(("other_project", "backup/old_project")))
        chosen |= {f"{base}/{name}": data for name, data in UNRELATED.items()}
        chosen[f"{base}/img/001.jpg"] = jpeg(face("Sadness", seed, "other"))
    return sorted(chosen.items())


def add(raw: Path, files: list[tuple[str, bytes]]) -> None:
    for rel, data in files:
        path = raw / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def prepare(source: str, raw: Path, cwd: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """(records, rejects, metrics) of `curator prepare` through the real CLI."""
    from curator.io.parquet import iter_records
    from curator.io.rejects import read_rejects

    cwd.mkdir(parents=True, exist_ok=True)
    run_cli("prepare", source, "--raw", str(raw), "--out", "out", "--metrics", "metrics.json", cwd=cwd)
    metrics = json.loads((cwd / "metrics.json").read_text())
    return list(iter_records(cwd / "out")), read_rejects(cwd / "out" / "rejects.jsonl"), metrics


def not_read(metrics: dict[str, Any]) -> int:
    return sum(n["count"] for n in metrics.get("not_read", []))


def check(source: str, clean: Path, files: list[tuple[str, bytes]], work: Path) -> None:
    """The records with the junk equal those without, rejects too, and not_read grows by one per file."""
    shutil.rmtree(work, ignore_errors=True)
    before = prepare(source, clean, work / "before")
    raw = shutil.copytree(clean, work / "raw")
    add(raw, files)
    after = prepare(source, raw, work / "after")
    assert after[0] == before[0], "the junk changed the records"
    assert after[1] == before[1], "the junk changed the rejects"
    assert not_read(after[2]) - not_read(before[2]) == len(files), (after[2].get("not_read"), files)
    shown = run_cli("inspect", source, str(raw), cwd=work).stdout
    assert "not read: " in shown and "Traceback" not in shown
