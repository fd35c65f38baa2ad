"""What a CLI call imports (the fixed cost of each of the ~20 calls of a pipeline): importing
`curator.cli`, loading params (which imports every recipe package for its Params) and a stage's
`--help` must not load the heavy libraries; each stage, run for real on the VIRI sample, loads only
what its work needs. A module-set check in a fresh interpreter, not a time threshold: each test
fails if someone re-adds an import it excludes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("datasets", "pandas", "albumentations", "cv2", "ray", "huggingface_hub", "pyarrow")
# loaded by every call before this work: the HTTP client (only `download` needs it), py7zr (only a
# 7z archive), mlcroissant (only validation)
CALL_PATH = ("http.client", "urllib.request", "py7zr", "mlcroissant")
STAGES = ("download", "prepare", "inspect", "normalize", "split", "augment", "publish", "report", "validate",
          "push", "demo")


def _loaded(code: str, modules: tuple[str, ...] = HEAVY) -> list[str]:
    """Which of `modules` are in sys.modules after running `code` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {modules!r} if m in sys.modules)))"
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
    assert _loaded(code, HEAVY + CALL_PATH) == []


@pytest.mark.parametrize("stage", STAGES)
def test_stage_help_loads_no_heavy_library(stage):
    code = ("import sys\n"
            "from curator.cli import app\n"
            f"sys.argv = ['curator', {stage!r}, '--help']\n"
            "try:\n    app()\nexcept SystemExit as exc:\n    assert exc.code == 0, exc.code\n")
    assert _loaded(code) == []


def test_the_check_sees_a_heavy_import():
    """The probe itself works: a module that imports pyarrow is reported."""
    assert _loaded("import curator.stages.normalize.stage") == ["pyarrow"]


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


def _stage_call(*argv: str) -> str:
    """Code that runs `curator ARGV` through the CLI (as the console script does) and must succeed."""
    return ("import sys\n"
            "from curator.cli import app\n"
            f"sys.argv = ['curator', '--quiet', *{list(argv)!r}]\n"
            "try:\n    app()\nexcept SystemExit as exc:\n    assert exc.code in (0, None), exc.code\n")


@pytest.fixture(scope="module")
def viri_pipeline(tmp_path_factory) -> dict[str, list[str]]:
    """Each stage run for real, in order, on the VIRI sample (a zip of visible+IR pairs): which of
    the libraries the fixed cost was cut from it loaded."""
    from curator.sources import recipe_samples

    root = tmp_path_factory.mktemp("importcost")
    recipe_samples("viri").build(root / "raw", 0, False)
    d = root / "data"
    calls = {
        "prepare": ("prepare", "viri", "--raw", str(root / "raw" / "viri"), "--out", str(d / "prepared")),
        "normalize": ("normalize", "--in", str(d / "prepared"), "--out", str(d / "normalized")),
        "split": ("split", "--in", str(d / "normalized"), "--out", str(d / "split")),
        "augment": ("augment", "--in", str(d / "split"), "--out", str(d / "augmented")),
        "publish": ("publish", "--in", str(d / "split"), "--augmented", str(d / "augmented"), "--out",
                    str(d / "publish")),
    }
    watched = (*HEAVY, *CALL_PATH)
    loaded = {stage: _loaded(_stage_call(*argv), watched) for stage, argv in calls.items()}
    assert (d / "publish" / "croissant.json").is_file()  # every stage really ran
    return loaded


def test_prepare_of_a_zip_source_loads_arrow_only(viri_pipeline):
    """pandas (pyarrow's passive probe), py7zr (a zip needs only zipfile), the HTTP client (recipes import
    their download code lazily): none of them. No pool worker imports into this process either."""
    assert viri_pipeline["prepare"] == ["pyarrow"]


@pytest.mark.parametrize("stage", ["normalize", "split"])
def test_arrow_stages_load_arrow_only(viri_pipeline, stage):
    assert viri_pipeline[stage] == ["pyarrow"]


def test_augment_loads_albumentations_without_its_hub_mixin(viri_pipeline):
    """albumentations and OpenCV do the work; huggingface_hub (albumentations' optional Hub mixin) and
    pandas are not loaded. (albumentations' own version-check module imports urllib.request, hence
    http.client, whatever NO_ALBUMENTATIONS_UPDATE says.)"""
    assert viri_pipeline["augment"] == ["albumentations", "cv2", "http.client", "pyarrow", "urllib.request"]


def test_publish_writes_card_and_croissant_without_datasets(viri_pipeline):
    """The card's features YAML and croissant.json come from the schema module's dict features and
    plain JSON-LD: neither `datasets` (nor the pandas it pulls in) nor mlcroissant is loaded."""
    assert viri_pipeline["publish"] == ["pyarrow"]


def test_hidden_hides_a_module_only_inside_the_block():
    code = ("import sys\n"
            "from curator.lazy import hidden\n"
            "with hidden('pandas'):\n"
            "    try:\n        import pandas\n    except ModuleNotFoundError:\n        pass\n"
            "    else:\n        raise AssertionError('pandas imported inside hidden()')\n"
            "assert 'pandas' not in sys.modules\n"
            "import pandas\n")
    assert _loaded(code, ("pandas",)) == ["pandas"]
