"""A statistic of an eye-tracker column that is not finite (an `inf`, a `-inf` cell) rejects its sample at
prepare (`bad_value`), through the real CLI: it never reaches split, where standardizing it would overflow."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from tests.sources.emer.helpers import build_sample, metrics, prepare_cli, rejects, rows

EDITS = {  # sheet -> (column, the cell written into its second row)
    "3_film_sad Sad": ("Pupil diameter left [mm]", "inf"),  # a declared feature, as text
    "41_film_sad Sad": ("Pupil diameter right [mm]", float("-inf")),  # a declared feature, as a number
    "58_film_fear Fear": ("Eyetracker temperature", "inf"),  # a column kept generically (physio_extra)
}


def test_inf_in_an_eye_tracker_column_is_a_bad_value(tmp_path: Path) -> None:
    raw = shutil.copytree(build_sample(tmp_path / "built"), tmp_path / "raw")
    for sheet, (column, cell) in EDITS.items():
        path = raw / "eye" / f"{sheet}.xlsx"
        df = pd.read_excel(path)
        values = (df[column] if column in df else pd.Series([1.0] * len(df))).astype(object)
        values.iloc[1] = cell
        df.assign(**{column: values}).to_excel(path, index=False)

    out = prepare_cli(tmp_path / "ws", raw)

    by_id = {r["id"]: r for r in rejects(out)}
    for sheet, (column, _) in EDITS.items():
        reject = by_id[f"emer/{sheet}"]
        assert reject["reason"] == "bad_value", reject
        assert column in reject["detail"] and "not finite" in reject["detail"]
        assert f"emer/{sheet}" not in rows(out)
    m = metrics(out)
    assert m["inputs"] == m["kept"] + m["rejected"]
