"""EMER eye sheets as Tobii Pro Lab writes them, through the real CLI: every numeric column summarised
(declared ones in `physio`, the rest under `physio_extra`, each listed as not read), unit suffixes
understood, and a sheet that cannot be a sample still rejected."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from curator.sources.emer.eye import KEPT_GENERICALLY
from curator.sources.emer.samples import MICROSECONDS
from tests.sources.emer.helpers import build_sample, inspect_cli, metrics, prepare_cli, rejects, rows

FIRST = "3_film_happy Happy"  # [DACS px] headers, millisecond clocks
MICRO = "27_film_disgust Disgust"  # a sheet the sample writes with Tobii's microsecond clocks
NO_GAZE = "12_film_surprise Surprise"
HUGE = "12_film_fear Fear"


def _edit(raw: Path, name: str, edit) -> pd.DataFrame:
    path = raw / "eye" / f"{name}.xlsx"
    df = edit(pd.read_excel(path))
    df.to_excel(path, index=False)
    return df


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("emer-eye")
    raw = shutil.copytree(build_sample(base / "built"), base / "raw")
    first = _edit(raw, FIRST, lambda df: df.assign(**{"Blink count": range(len(df)),
                                                      "Eye movement type": ["Fixation"] * len(df)}))
    _edit(raw, NO_GAZE, lambda df: df.drop(columns=["Gaze point X", "Gaze point Y"]))
    _edit(raw, HUGE, lambda df: df.astype({"Gaze point X": object}).assign(**{"Gaze point X": ["1e309"] * len(df)}))
    out = prepare_cli(base / "ws", raw)
    return {"raw": raw, "out": out, "first": first, "micro": pd.read_excel(raw / "eye" / f"{MICRO}.xlsx"),
            "inspect": inspect_cli(base / "inspect", raw)}


def test_the_microsecond_sheet_keeps_its_sample_and_converts_its_recording_clock(run: dict) -> None:
    assert set(MICROSECONDS.values()) <= set(run["micro"].columns)  # the sample really is written that way
    row = rows(run["out"])[f"emer/{MICRO}"]
    us = run["micro"]["Recording timestamp [μs]"]
    assert row["physio"]["eye_recording_timestamp_mean"] == pytest.approx(us.mean() / 1000)
    assert row["physio"]["eye_recording_timestamp_std"] == pytest.approx(us.std() / 1000)
    assert row["physio"]["eye_computer_timestamp_mean"] is None  # the sheet has no computer clock
    tracker = run["micro"]["Eyetracker timestamp [μs]"]
    assert row["physio_extra"] == [{"name": "Eyetracker timestamp [μs]", "unit": "μs",
                                    "mean": pytest.approx(tracker.mean()), "std": pytest.approx(tracker.std())}]


def test_undeclared_numeric_columns_are_kept_generically_and_text_is_listed(run: dict) -> None:
    row, first = rows(run["out"])[f"emer/{FIRST}"], run["first"]
    blinks = first["Blink count"]
    assert row["physio_extra"] == [{"name": "Blink count", "unit": None, "mean": pytest.approx(blinks.mean()),
                                    "std": pytest.approx(blinks.std())}]
    assert row["physio"]["eye_gaze_x_mean"] == pytest.approx(first["Gaze point X [DACS px]"].mean())
    not_read = {(n["what"], n["why"]): n["count"] for n in metrics(run["out"])["not_read"]}
    n_micro = len([p for p in (run["raw"] / "eye").glob("*.xlsx")
                   if "Eyetracker timestamp [μs]" in pd.read_excel(p, nrows=0).columns])
    assert not_read[("eye column 'Eyetracker timestamp [μs]'", KEPT_GENERICALLY)] == n_micro == 3
    assert not_read[("eye column 'Blink count'", KEPT_GENERICALLY)] == 1
    text = [(what, n) for (what, why), n in not_read.items() if "holds text" in why]
    assert text == [("eye column 'Eye movement type'", 1)]


def test_no_gaze_pair_and_non_finite_statistics_are_still_rejects(run: dict) -> None:
    by_id = {r["id"]: r for r in rejects(run["out"])}
    assert by_id[f"emer/{NO_GAZE}"]["reason"] == "missing_field"
    assert "gaze point x / gaze point y" in by_id[f"emer/{NO_GAZE}"]["detail"]
    assert by_id[f"emer/{HUGE}"]["reason"] == "bad_value" and "not finite" in by_id[f"emer/{HUGE}"]["detail"]
    kept = rows(run["out"])
    assert f"emer/{NO_GAZE}" not in kept and f"emer/{HUGE}" not in kept and len(kept) == 13


def test_dimensions_carry_the_label_kind_of_the_sheet(run: dict) -> None:
    for row in rows(run["out"]).values():
        assert [(d["name"], d["label_kind"]) for d in row["dimensions"]] == [
            ("valence", "expressed"), ("arousal", "expressed"), ("intensity", "expressed")]


def test_inspect_lists_the_columns_it_keeps_generically(run: dict) -> None:
    lines = run["inspect"]
    assert f"not read: eye column 'Eyetracker timestamp [μs]' (3x): {KEPT_GENERICALLY}" in lines
    assert f"not read: eye column 'Blink count' (1x): {KEPT_GENERICALLY}" in lines
    assert any(line.startswith("items: 19 (13 records, 6 rejected or excluded)") for line in lines), lines
