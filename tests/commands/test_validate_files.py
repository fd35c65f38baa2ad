"""A published folder says what its bytes are, and `curator validate` checks them (issue 27).

publish lists every file's sha256 in .curator/SHA256SUMS and in croissant.json's FileObjects; validate
recomputes them, so a changed row, a missing or an extra file is one `problem:` line naming the file.
The folder may be hostile: a FIFO named like a shard is refused without being opened (it would block),
a shard name never sizes anything, odd `data_files` entries in the card are one line each. All through
the real CLI.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml

from tests.conftest import ROOT, run_cli

SHARD = "data/kaggle_physio/physio.label/test-00000-of-00001.parquet"
SUMS = ".curator/SHA256SUMS"


@pytest.fixture
def folder(sample_build, tmp_path) -> Path:
    target = tmp_path / "pub"
    shutil.copytree(sample_build["pub"], target)
    return target


def problems(proc: subprocess.CompletedProcess) -> list[str]:
    """The `problem:` lines, after checking the run failed the way a user is told: exit 1, one line per
    problem, then one `error:` line; no traceback, no internal error."""
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    assert lines[-1].startswith("error: ") and all(line.startswith("problem: ") for line in lines[:-1]), lines
    return [line.removeprefix("problem: ") for line in lines[:-1]]


def test_publish_lists_every_files_sha256_in_its_metadata_and_in_croissant(sample_build):
    pub = sample_build["pub"]
    listed = dict(reversed(line.split("  ", 1)) for line in (pub / SUMS).read_text().splitlines())
    on_disk = {p.relative_to(pub).as_posix() for p in pub.rglob("*") if p.is_file()}
    # everything published but the bookkeeping, the card and croissant.json (which cannot list itself)
    assert set(listed) == {p for p in on_disk if not p.startswith(".curator/")} - {"README.md", "croissant.json"}
    assert SHARD in listed and "LICENSE.md" in listed
    assert listed == {p: hashlib.sha256((pub / p).read_bytes()).hexdigest() for p in listed}
    croissant = json.loads((pub / "croissant.json").read_text())
    objects = {d["contentUrl"]: d for d in croissant["distribution"] if d["@type"] == "cr:FileObject"}
    assert {path: d["sha256"] for path, d in objects.items()} == listed
    assert objects[SHARD]["encodingFormat"] == "application/x-parquet"
    assert objects[SHARD]["contentSize"] == f"{(pub / SHARD).stat().st_size} B"


def test_a_changed_row_is_named_by_its_sha256(folder):
    """One label changed to another valid class, the shard rewritten under its own name: every other
    check passes, only the sha256 tells."""
    path = folder / SHARD
    table = pq.read_table(path)
    labels = table.column("label").to_pylist()
    labels[0] = (labels[0] + 1) % 7
    index = table.schema.get_field_index("label")
    pq.write_table(table.set_column(index, table.schema.field(index), pa.array(labels, pa.int64())), path)
    assert pc.sum(pc.not_equal(pq.read_table(path).column("label"), table.column("label"))).as_py() == 1
    proc = run_cli("validate", str(folder), check=False)
    assert problems(proc) == [f"{SHARD}: sha256 differs from {SUMS}: its bytes changed since publish"]


@pytest.mark.parametrize("damage, expected", [
    ("delete", f"LICENSE.md: missing ({SUMS} lists it)"),
    ("add", f"data/notes.parquet: not in {SUMS}: publish did not write it"),
    ("edit", f"taxonomy.yaml: sha256 differs from {SUMS}: its bytes changed since publish"),
])
def test_a_missing_extra_or_edited_file_is_one_line(folder, damage, expected):
    if damage == "delete":
        (folder / "LICENSE.md").unlink()
    elif damage == "add":
        (folder / "data/notes.parquet").write_bytes(b"not listed")
    else:
        with (folder / "taxonomy.yaml").open("a") as f:
            f.write("# edited\n")
    assert expected in problems(run_cli("validate", str(folder), check=False))


def test_a_croissant_hash_that_disagrees_is_one_line(folder):
    """What a Hub user checks against is what publish hashed: an edited FileObject sha256 is named."""
    path = folder / "croissant.json"
    doc = json.loads(path.read_text())
    entry = next(d for d in doc["distribution"] if d.get("contentUrl") == SHARD)
    entry["sha256"] = "0" * 64
    path.write_text(json.dumps(doc))
    assert problems(run_cli("validate", str(folder), check=False)) == [
        f"croissant.json: its FileObjects and {SUMS} disagree on 1 file(s), e.g. {SHARD}"]


def test_a_missing_list_is_one_line(folder):
    (folder / SUMS).unlink()
    assert problems(run_cli("validate", str(folder), check=False)) == [
        f"{SUMS} is missing: not made by `curator publish`, or by an older version; re-run it"]


def _limited_memory() -> None:
    """3 GB of address space: the old validate built set(range(10**10)) from a shard name; bounded here so
    that it fails fast instead of taking the machine's memory."""
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def test_a_shard_name_never_sizes_anything(folder):
    (folder / SHARD).rename(folder / SHARD.replace("-of-00001", "-of-9999999999"))
    proc = subprocess.run([sys.executable, "-m", "curator.cli", "validate", str(folder)], capture_output=True,
                          text=True, env={**os.environ, "CURATOR_SCHEMAS": str(ROOT / "schemas")},
                          preexec_fn=_limited_memory, timeout=600)
    found = problems(proc)
    assert "config physio, split test: 9999999998 shard(s) missing of 9999999999, e.g. index 1, 2, 3" in found
    assert f"{SHARD}: missing ({SUMS} lists it)" in found


@pytest.mark.parametrize("kind", ["fifo", "symlink"])
def test_what_is_not_a_regular_file_is_refused_unopened(folder, tmp_path, kind):
    """A FIFO named like a shard blocked validate's read for ever; a link is never followed (here to a
    copy of the very shard, outside the folder)."""
    path = folder / SHARD
    if kind == "fifo":
        path.unlink()
        os.mkfifo(path)
        what = "a FIFO"
    else:
        outside = tmp_path / "elsewhere.parquet"
        path.rename(outside)
        path.symlink_to(outside)
        what = "a symbolic link"
    proc = run_cli("validate", str(folder), check=False, timeout=300)  # the timeout only ends a hung run
    assert problems(proc) == [f"{SHARD}: {what}, not a regular file; publish writes none, validate does not open it"]


def _edit_card(folder: Path, edit: Any) -> None:
    """Hand-edit the card's header: `edit(header)` changes the parsed YAML, written back as YAML."""
    text = (folder / "README.md").read_text()
    _, header, body = text.split("---\n", 2)
    meta = yaml.safe_load(header)
    edit(meta)
    (folder / "README.md").write_text(f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n{body}")


def _set_data_files(value: Any) -> Any:
    def edit(meta: dict) -> None:
        meta["configs"][0]["data_files"] = value
    return edit


def _set_path(value: Any) -> Any:
    def edit(meta: dict) -> None:
        meta["configs"][0]["data_files"][0]["path"] = value
    return edit


ODD_DATA_FILES = {
    "a number": (_set_data_files(7), "`data_files` must be a non-empty list"),
    "a mapping": (_set_data_files({"train": "data/*/*/train-*.parquet"}), "`data_files` must be a non-empty list"),
    "a list of numbers": (_set_data_files([1, 2]), "a `data_files` entry must be {split: <name>, path:"),
    "a list as split": (_set_data_files([{"split": ["train"], "path": "x"}]), "a `data_files` entry must be"),
    "a number as path": (_set_path(5), "a `data_files` entry must be"),
    "numbers in the path list": (_set_path([1, 2.5]), "a `data_files` entry must be"),
    "an empty path": (_set_path(""), "is empty or holds a NUL"),
    "an absolute path": (_set_path("/etc/*"), "leaves the folder (an absolute path or `..`)"),
    "a path with ..": (_set_path("../*/data/*/*/train-*.parquet"), "leaves the folder (an absolute path or `..`)"),
    "a glob of everything": (_set_path("**"), "LICENSE.md: unreadable"),
    "an unclosed bracket": (_set_path("data/[*"), "no files match data/[*"),
}


@pytest.mark.parametrize("case", list(ODD_DATA_FILES))
def test_odd_data_files_entries_are_one_line(folder, case):
    edit, expected = ODD_DATA_FILES[case]
    _edit_card(folder, edit)
    found = problems(run_cli("validate", str(folder), check=False))
    assert any(expected in line for line in found), found
