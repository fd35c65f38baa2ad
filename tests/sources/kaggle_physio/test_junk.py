"""The Kaggle download with random extra files and folders beside its CSV (a nested copy of another
folder with its own CSV included): the records stay identical and every added file is listed as not
read, never a stop — in-process (hypothesis) and through the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from curator.sources import kaggle_physio
from curator.sources.kaggle_physio import samples as kaggle_samples
from tests.sources.junk import assert_junk_is_counted, cli_junk_run, counted_in_metrics, junk_sets, outcome

PLACES = ["", "models", "extra"]


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[list[dict], int]]:
    base = tmp_path_factory.mktemp("kaggle-junk")
    kaggle_samples.build(base, 0, False)
    return base / "kaggle_physio", outcome(kaggle_physio.prepare(base / "kaggle_physio"))


@settings(max_examples=4, deadline=None, derandomize=True,  # the same examples on every run and in CI
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=junk_sets(PLACES))
def test_junk_leaves_records_identical_and_is_counted(clean, tmp_path_factory, junk) -> None:
    raw, baseline = clean
    assert_junk_is_counted(kaggle_physio.prepare, raw, tmp_path_factory.mktemp("kaggle-j") / "raw", junk, baseline)


def test_junk_through_the_cli(clean, tmp_path: Path) -> None:
    raw, (records, counted) = clean
    run = cli_junk_run("kaggle_physio", tmp_path, raw, ["", "extra"])
    assert len(run["added"]) == 2 * 9 and len(run["rows"]) == len(records) == 120
    assert sorted(r["id"] for r in run["rows"]) == sorted(r["id"] for r in records)
    assert run["metrics"]["rejected"] == 0 and counted_in_metrics(run["metrics"]) == counted + len(run["added"])
    listed = {n["what"].removeprefix("file ") for n in run["metrics"]["not_read"]}
    assert listed == run["added"]
