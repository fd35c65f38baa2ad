"""VIRI with random extra files and folders, in both sample layouts (the per-class archives, and the
authors' working folder from Dataset.zip, extracted): the records stay byte-identical and every added
file is counted (working_file / stray_file reject, or NotRead for OS bookkeeping), never paired, never
a stop — in-process (hypothesis) and through the real CLI."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from curator.sources import viri
from curator.sources.thermal.samples import build_viri
from curator.sources.thermal.samples_figshare import ROOT, build_figshare
from tests.sources.junk import assert_junk_is_counted, cli_junk_run, counted_in_metrics, junk_sets, outcome

PLACES = {"archives": ["", "models", "extra"],
          "training": ["", ROOT, f"{ROOT}/Vis", f"{ROOT}/IR/results", f"{ROOT}/tran_val_test"]}


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, tuple[list[dict], int]]]:
    base = tmp_path_factory.mktemp("viri-junk")
    build_viri(base, 0, False)
    with zipfile.ZipFile(build_figshare(base, 0)) as zf:  # the working folder as a user unpacks it
        zf.extractall(base / "training")
    layouts = {"archives": base / "viri", "training": base / "training"}
    return {name: (raw, outcome(viri.prepare(raw))) for name, raw in layouts.items()}


@pytest.mark.parametrize("layout", sorted(PLACES))
def test_junk_leaves_records_identical_and_is_counted(clean, tmp_path_factory, layout: str) -> None:
    raw, baseline = clean[layout]

    @settings(max_examples=3, deadline=None, derandomize=True,  # the same examples on every run and in CI
          suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(junk=junk_sets(PLACES[layout]))
    def check(junk) -> None:
        assert_junk_is_counted(viri.prepare, raw, tmp_path_factory.mktemp("viri-j") / "raw", junk, baseline)

    check()


def test_junk_through_the_cli(clean, tmp_path: Path) -> None:
    raw, (records, counted) = clean["archives"]
    run = cli_junk_run("viri", tmp_path, raw, ["", "models"])
    assert len(run["added"]) == 2 * 9
    assert {r["id"]: (r["image"]["bytes"], r["infrared"]["bytes"]) for r in run["rows"]} == {
        r["id"]: (r["image"]["bytes"], r["infrared"]["bytes"]) for r in records}
    assert counted_in_metrics(run["metrics"]) == counted + len(run["added"])
    assert not any(r["reason"] in ("unpaired", "ambiguous_pair") for r in run["rejects"])
    assert "working_file" in run["inspect"]
    assert "not read: operating-system or editor bookkeeping files" in run["inspect"]
