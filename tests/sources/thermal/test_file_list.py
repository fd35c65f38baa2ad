"""A source param that names files (the thermal family's archive list, kaggle_physio's CSV) holding `..` or an
absolute path is refused when params.yaml loads, as one line naming the entry, through the real CLI: it could
read outside `--from` and write outside `--out`. Any command refuses it, so `dvc repro` stops before a stage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from curator.sources.thermal.samples import build_viri
from tests.robustness.helpers import assert_one_line_error, snapshot
from tests.robustness.workspace import cli

CASES = [  # (source, key, value, the entry the error names)
    ("viri", "files", ["VIRI-Angry-Ir.zip", "../secret.zip"], "sources.viri.files.1: "),
    ("nvie", "files", ["../../secret.zip"], "sources.nvie.files.0: "),
    ("viri", "files", ["VIRI-Angry-Ir.zip", "sub/../../secret.zip"], "sources.viri.files.1: "),
    ("viri", "files", ["/tmp/secret.zip"], "sources.viri.files.0: "),
    ("kaggle_physio", "file", "../secret.csv", "sources.kaggle_physio.file: "),
]


@pytest.mark.parametrize(("source", "key", "value", "where"), CASES, ids=[c[3].strip(": ") for c in CASES])
def test_a_file_list_entry_outside_the_delivery_is_one_line(tmp_path: Path, source: str, key: str, value,
                                                            where: str) -> None:
    build_viri(tmp_path / "deliveries", 0, False)
    given = tmp_path / "deliveries" / "viri"  # --from; secret.zip sits beside it, `..` away
    (tmp_path / "deliveries" / "secret.zip").write_bytes((given / "VIRI-Angry-Vis.zip").read_bytes())
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "params.yaml").write_text(yaml.safe_dump({"sources": {source: {key: value}}}))
    before = snapshot(tmp_path)

    shown = value[-1] if isinstance(value, list) else value
    for command in (["download", source, "--from", str(given), "--out", "out/raw"], ["prepare", source]):
        assert_one_line_error(cli(ws, *command), "params.yaml", where, repr(shown))
    assert snapshot(tmp_path) == before  # nothing read into, nor written beside, --out


def test_an_archive_linked_from_outside_the_delivery_is_not_read(tmp_path: Path) -> None:
    """--from a folder of the authors' archives, one of them a link to a file elsewhere: download copies the
    link, not what it points to, and prepare rejects it by name (outside_delivery); the others are read."""
    build_viri(tmp_path / "deliveries", 0, False)
    given = tmp_path / "deliveries" / "viri"
    elsewhere = tmp_path / "elsewhere.zip"
    (given / "VIRI-Sad-Ir.zip").rename(elsewhere)
    (given / "VIRI-Sad-Ir.zip").symlink_to(elsewhere)
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "params.yaml").write_text(yaml.safe_dump({"sources": {"viri": {}}, "prepare": {"workers": 1}}))

    assert cli(ws, "download", "viri", "--from", str(given)).returncode == 0
    assert (ws / "data" / "raw" / "viri" / "VIRI-Sad-Ir.zip").is_symlink()
    done = cli(ws, "prepare", "viri")

    assert done.returncode == 0, done.stderr
    out = ws / "data" / "prepared" / "viri"
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
    assert ("VIRI-Sad-Ir.zip", "outside_delivery") in {(r["path"], r["reason"]) for r in rejects}
    assert {r["id"].split("/")[1] for r in rejects if r["reason"] == "unpaired"} == {"Sad"}  # its IR half unread
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["inputs"] == metrics["kept"] + metrics["rejected"]
