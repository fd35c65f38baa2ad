"""Shared by EMER's tests: the sample built in-process, the real CLI on a copy of it."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from curator.sources.emer import samples as emer_samples
from tests.conftest import run_cli


def build_sample(out: Path) -> Path:
    emer_samples.build(out, seed=0, dirty=False)
    return out / "emer"


def prepare_cli(ws: Path, raw: Path) -> Path:
    """params.yaml, `download emer --from raw` and `prepare emer` in `ws`, as a user types them."""
    ws.mkdir(parents=True, exist_ok=True)
    (ws / "params.yaml").write_text(yaml.safe_dump({"sources": {"emer": emer_samples.sample_params()}}))
    run_cli("download", "emer", "--from", str(raw), cwd=ws)
    run_cli("prepare", "emer", cwd=ws)
    return ws / "data" / "prepared" / "emer"


def inspect_cli(ws: Path, raw: Path) -> list[str]:
    ws.mkdir(parents=True, exist_ok=True)
    (ws / "params.yaml").write_text(yaml.safe_dump({"sources": {"emer": emer_samples.sample_params()}}))
    return run_cli("inspect", "emer", str(raw), cwd=ws).stdout.splitlines()


def metrics(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text())


def rows(out: Path) -> dict[str, dict]:
    return {r["id"]: r for f in sorted(out.glob("*.parquet")) for r in pq.read_table(f).to_pylist()}


def rejects(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
