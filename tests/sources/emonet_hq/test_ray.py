"""emonet_hq with `--executor ray` names the same columns and files as not read, and makes the same records."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curator.io.parquet import iter_records
from curator.sources.emonet_hq import samples as hq_samples
from tests.conftest import run_cli


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed")
def test_ray_reports_what_the_pool_reports(tmp_path: Path) -> None:
    hq_samples.build(tmp_path / "built", 0, False)
    raw = shutil.copytree(tmp_path / "built" / "emonet_hq", tmp_path / "raw")
    (shard,) = raw.rglob("*.parquet")
    table = pq.read_table(shard)
    pq.write_table(table.append_column("seed", pa.array(range(table.num_rows), pa.int64())), shard)
    (raw / "data" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    seen = {}
    for executor in ("local", "ray"):
        run_cli("prepare", "emonet_hq", "--raw", str(raw), "--out", executor, "--metrics", f"{executor}.json",
                "--executor", executor, cwd=tmp_path)
        seen[executor] = (list(iter_records(tmp_path / executor)),
                          json.loads((tmp_path / f"{executor}.json").read_text())["not_read"])
    assert seen["ray"] == seen["local"]
    assert {n["what"] for n in seen["ray"][1]} == {"Parquet column 'image_metadata'", "Parquet column 'seed'",
                                                  "file README.md", "files .DS_Store"}
