"""What a CLI call imports: importing `curator.cli`, loading params (which imports every recipe
package for its Params) and a stage's `--help` must not load the heavy libraries (every call and
every shell completion pays them); each stage, run for real on the VIRI sample, loads the libraries
that serialise (`datasets` writes the Arrow schema, so pyarrow, pandas and huggingface_hub come
with it) but none of those only another stage's work needs: those cost seconds, beyond the about
one second a stage may take to start. A module-set check in a fresh interpreter, not a time
threshold: each test fails if someone re-adds an import it excludes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("datasets", "pandas", "albumentations", "cv2", "ray", "huggingface_hub", "pyarrow")
# not loaded by `--help` and params: the HTTP client (only `download` needs it), py7zr (only a 7z
# archive), mlcroissant (only publish and validate)
CALL_PATH = ("http.client", "urllib.request", "py7zr", "mlcroissant")
# libraries only some stages' work needs: albumentations and OpenCV (augment), Ray (`--executor ray`),
# mlcroissant (publish), py7zr (a 7z archive)
WORK = ("albumentations", "cv2", "ray", "mlcroissant", "py7zr")
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


def _stage_call(*argv: str) -> str:
    """Code that runs `curator ARGV` through the CLI (as the console script does) and must succeed."""
    return ("import sys\n"
            "from curator.cli import app\n"
            f"sys.argv = ['curator', '--quiet', *{list(argv)!r}]\n"
            "try:\n    app()\nexcept SystemExit as exc:\n    assert exc.code in (0, None), exc.code\n")


@pytest.fixture(scope="module")
def viri_pipeline(tmp_path_factory) -> dict[str, list[str]]:
    """Each stage run for real, in order, on the VIRI sample (a zip of visible+IR pairs): which of
    the libraries only some stages need it loaded."""
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
    loaded = {stage: _loaded(_stage_call(*argv), WORK) for stage, argv in calls.items()}
    assert (d / "publish" / "croissant.json").is_file()  # every stage really ran
    return loaded


@pytest.mark.slow  # the fixture runs five CLI calls, each importing `datasets`
@pytest.mark.parametrize("stage", ["prepare", "normalize", "split"])
def test_record_stages_load_none_of_the_other_stages_libraries(viri_pipeline, stage):
    """py7zr (a zip needs only zipfile), albumentations/OpenCV, Ray (the local executor), mlcroissant:
    none of them. No pool worker imports into this process either."""
    assert viri_pipeline[stage] == []


@pytest.mark.slow
def test_augment_loads_albumentations_and_opencv_only(viri_pipeline):
    assert viri_pipeline["augment"] == ["albumentations", "cv2"]


@pytest.mark.slow
def test_publish_loads_mlcroissant_for_the_croissant_file_only(viri_pipeline):
    assert viri_pipeline["publish"] == ["mlcroissant"]


def test_hidden_hides_a_module_only_inside_the_block():
    code = ("import sys\n"
            "from curator.lazy import hidden\n"
            "with hidden('pandas'):\n"
            "    try:\n        import pandas\n    except ModuleNotFoundError:\n        pass\n"
            "    else:\n        raise AssertionError('pandas imported inside hidden()')\n"
            "assert 'pandas' not in sys.modules\n"
            "import pandas\n")
    assert _loaded(code, ("pandas",)) == ["pandas"]
