"""EMER with random extra files and folders: the records stay byte-identical and every added file is
counted (a stray_file reject), never a record, never a stop — in-process (hypothesis) and via the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from curator.sources import emer
from curator.sources.emer import samples as emer_samples
from tests.sources.emer.helpers import build_sample
from tests.sources.junk import assert_junk_is_counted, cli_junk_run, counted_in_metrics, junk_sets, outcome

# not inside a sample's frame folder: there any image is a frame (frame file names are unverified), so a
# plot dropped among the frames is indistinguishable from one and would rightly change that record
PLACES = ["", "face", "eye", "data_extra"]


def _prepare(raw: Path):
    return emer.prepare(raw, emer.Params.model_validate(emer_samples.sample_params()))


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[list[dict], int]]:
    raw = build_sample(tmp_path_factory.mktemp("emer-junk"))
    return raw, outcome(_prepare(raw))


@settings(max_examples=3, deadline=None, derandomize=True,  # the same examples on every run and in CI
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=junk_sets(PLACES))
def test_junk_leaves_records_identical_and_is_counted(clean, tmp_path_factory, junk) -> None:
    raw, baseline = clean
    assert_junk_is_counted(_prepare, raw, tmp_path_factory.mktemp("emer-j") / "emer", junk, baseline)


@pytest.mark.slow
def test_junk_through_the_cli(clean, tmp_path: Path) -> None:
    raw, (records, counted) = clean
    run = cli_junk_run("emer", tmp_path, raw, ["", "eye"], emer_samples.sample_params())
    assert len(run["added"]) == 2 * 9  # one of each kind at each place: 9 files
    assert {r["id"]: r["image"]["bytes"] for r in run["rows"]} == {r["id"]: r["image"]["bytes"] for r in records}
    assert counted_in_metrics(run["metrics"]) == counted + len(run["added"])
    assert {r["path"] for r in run["rejects"] if r["reason"] == "stray_file"} >= run["added"]
