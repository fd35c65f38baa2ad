"""`curator report` on a full disk, through the real CLI: the disk fills while it writes its figures,
its CSVs or index.html; each time one `error:` line saying so, the previous report byte for byte as it
was (it used to rewrite the figures one by one, then fail with an internal error, leaving a mix and a
truncated SVG), no temp folder left, and with space again the same command writes the same report.

The full disk is faults/sitecustomize.py's: every write under reports/ past a budget of bytes fails
with ENOSPC (a small tmpfs needs privileges)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.robustness import workspace
from tests.robustness.helpers import assert_one_line_error, fault_env, leftovers

pytestmark = pytest.mark.slow

REPORT = ("report", "--out", "reports")
# where the disk fills, as the bytes written before it does: the report writes its figures, then its
# CSVs, then index.html
WHERE = ("first figure", "a later figure", "the CSVs", "index.html")


def budget(previous: dict[str, bytes], where: str) -> int:
    figures = sum(len(v) for k, v in previous.items() if k.startswith("figures/"))
    plots = sum(len(v) for k, v in previous.items() if k.startswith("plots/"))
    return {"first figure": 0, "a later figure": figures // 2, "the CSVs": figures + 1,
            "index.html": figures + plots + 1000}[where]


def full_disk_scenario(base: Path, root: Path) -> dict[str, Any]:
    ws = workspace.copy(base, root)
    seen: dict[str, Any] = {"first": workspace.cli(ws, *REPORT)}
    seen["built"] = workspace.state(ws / "reports")
    for name in seen["built"]:  # an earlier build's report: any file the failing run rewrote would differ
        with open(ws / "reports" / name, "ab") as fh:
            fh.write(b"\n<!-- an earlier build -->\n")
    seen["previous"] = workspace.state(ws / "reports")
    for where in WHERE:
        env = fault_env(enospc_dir=str(ws / "reports"), enospc_after=budget(seen["previous"], where))
        seen[where] = {"run": workspace.cli(ws, *REPORT, env=env), "after": workspace.state(ws / "reports"),
                       "leftovers": leftovers(ws / "reports" / "figures") + leftovers(ws / "reports" / "plots")}
    seen["again"] = workspace.cli(ws, *REPORT)
    seen["final"] = workspace.state(ws / "reports")
    return seen


@pytest.fixture(scope="module")
def runs(pipeline_ws: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return full_disk_scenario(pipeline_ws, tmp_path_factory.mktemp("report-full") / "ws")


@pytest.mark.parametrize("where", WHERE)
def test_a_full_disk_leaves_the_previous_report_and_says_so_in_one_line(runs: dict, where: str) -> None:
    seen = runs
    assert seen["first"].returncode == 0, seen["first"].stderr
    assert any(name.startswith("figures/") for name in seen["previous"]), seen["previous"].keys()
    run = seen[where]["run"]
    line = assert_one_line_error(run, "No space left on device", "reports/")
    assert "previous content is left as it was" in line, line
    assert seen[where]["after"] == seen["previous"]  # byte for byte, not one figure rewritten
    assert seen[where]["leftovers"] == []


def test_with_space_again_the_same_report_is_written(runs: dict) -> None:
    seen = runs
    assert seen["again"].returncode == 0, seen["again"].stderr
    assert seen["final"] == seen["built"]
