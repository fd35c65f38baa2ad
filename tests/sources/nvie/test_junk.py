"""NVIE with random extra files and folders beside its per-class archives: the records stay byte-identical
and every added file is counted, never paired, never a stop — in-process (hypothesis) and via the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from curator.sources import nvie
from curator.sources.thermal.samples import build_nvie
from tests.sources.junk import assert_junk_is_counted, cli_junk_run, counted_in_metrics, junk_sets, outcome

PLACES = ["", "models", "results", "other_project"]


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[list[dict], int]]:
    base = tmp_path_factory.mktemp("nvie-junk")
    build_nvie(base, 0, False)
    return base / "nvie", outcome(nvie.prepare(base / "nvie"))


@settings(max_examples=3, deadline=None, derandomize=True,  # the same examples on every run and in CI
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=junk_sets(PLACES))
def test_junk_leaves_records_identical_and_is_counted(clean, tmp_path_factory, junk) -> None:
    raw, baseline = clean
    assert_junk_is_counted(nvie.prepare, raw, tmp_path_factory.mktemp("nvie-j") / "nvie", junk, baseline)


def test_junk_through_the_cli(clean, tmp_path: Path) -> None:
    raw, (records, counted) = clean
    run = cli_junk_run("nvie", tmp_path, raw, ["", "results"], {"accept_license": True})
    assert len(run["added"]) == 2 * 9
    assert sorted(r["id"] for r in run["rows"]) == sorted(r["id"] for r in records)
    assert counted_in_metrics(run["metrics"]) == counted + len(run["added"])
    excluded = {r["path"] for r in run["rejects"] if r["reason"] == "working_file"}
    bookkeeping = [n for n in run["metrics"]["not_read"] if "bookkeeping" in n["what"]]
    assert len(excluded) + sum(n["count"] for n in bookkeeping) == len(run["added"])
