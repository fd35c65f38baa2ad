"""A source param that names files (the thermal family's archive list, kaggle_physio's CSV) holding `..` or an
absolute path is refused when params.yaml loads, as one line naming the entry, through the real CLI: it could
read outside `--from` and write outside `--out`. Any command refuses it, so `dvc repro` stops before a stage."""

from __future__ import annotations

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
