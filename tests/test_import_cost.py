"""What a CLI call imports before its stage runs (the fixed cost of each of the ~20 calls of a
pipeline): importing `curator.cli`, loading params (which imports every recipe package for its
Params) and a stage's `--help` must not load the heavy libraries; the stages load them when they run.
A module-set check in a fresh interpreter, not a time threshold."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("datasets", "pandas", "albumentations", "cv2", "ray", "huggingface_hub", "pyarrow")
STAGES = ("download", "prepare", "inspect", "normalize", "split", "augment", "publish", "report", "validate",
          "push", "demo")


def _loaded(code: str) -> list[str]:
    """Which HEAVY modules are in sys.modules after running `code` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "CURATOR_SCHEMAS": str(ROOT / "schemas")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_cli_and_params_load_no_heavy_library():
    code = ("import curator.cli\n"
            "from curator.config import load_config\n"
            "from curator.sources import all_recipes\n"
            "config = load_config()\n"  # ./params.yaml of the project: every section and recipe
            "params = [config.source(name) for name in all_recipes()]\n"
            "assert params and config.prepare and config.augment and config.publish\n")
    assert _loaded(code) == []


@pytest.mark.parametrize("stage", STAGES)
def test_stage_help_loads_no_heavy_library(stage):
    code = ("import sys\n"
            "from curator.cli import app\n"
            f"sys.argv = ['curator', {stage!r}, '--help']\n"
            "try:\n    app()\nexcept SystemExit as exc:\n    assert exc.code == 0, exc.code\n")
    assert _loaded(code) == []


def test_the_check_sees_a_heavy_import():
    """The probe itself works: a module that imports pyarrow is reported."""
    assert _loaded("import curator.stages.normalize") == ["pyarrow"]


def test_arrow_without_pandas_keeps_pyarrow_working():
    """The normalize/split/augment commands stop pyarrow's passive pandas probe; tables, Parquet and an
    explicit to_pandas still work (pandas is imported then)."""
    code = ("from curator.lazy import arrow_without_pandas\n"
            "arrow_without_pandas()\n"
            "import io, sys, pyarrow as pa, pyarrow.parquet as pq\n"
            "t = pa.Table.from_pylist([{'a': 1, 's': 'x'}, {'a': None, 's': None}])\n"
            "buf = io.BytesIO(); pq.write_table(t, buf); buf.seek(0)\n"
            "assert pq.read_table(buf).equals(t)\n"
            "assert 'pandas' not in sys.modules\n"
            "df = t.to_pandas()\n"
            "assert pa.Table.from_pandas(df, preserve_index=False).num_rows == 2\n")
    assert _loaded(code) == ["pandas", "pyarrow"]
