"""EMER recipe: the real CLI on the sample sources, plus the edge cases of its own format."""

from __future__ import annotations

import json
import logging
import math
import shutil
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from curator.reasons import Reason
from curator.sources import emer
from curator.sources.recipe import Reject
from tests.conftest import run_cli


def _pipeline(ws: Path, dirty: bool) -> Path:
    """samples -> download --from -> prepare -> normalize, as a user types them, in `ws`."""
    ws.mkdir(parents=True)
    run_cli("samples", "--out", "samples", *(["--dirty"] if dirty else []), cwd=ws)
    run_cli("download", "emer", "--from", str(ws / "samples" / "emer"), cwd=ws)
    run_cli("prepare", "emer", cwd=ws)
    run_cli("normalize", "--in", "data/prepared/emer", cwd=ws)
    return ws


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("emer")
    # the two chains are independent subprocesses: run them side by side to halve the wait
    with ThreadPoolExecutor(2) as pool:
        futures = {kind: pool.submit(_pipeline, base / kind, kind == "dirty") for kind in ("clean", "dirty")}
        return {kind: f.result() for kind, f in futures.items()}


def _metrics(path: Path) -> dict:
    return json.loads((path / "metrics.json").read_text())


def _rows(path: Path) -> dict[str, dict]:
    return {r["id"]: r for f in sorted(path.glob("*.parquet")) for r in pq.read_table(f).to_pylist()}


def _sheets(root: Path) -> dict[str, pd.DataFrame]:
    return pd.read_excel(root / "new_label.xlsx", sheet_name=None, dtype={"ID": str})


# --------------------------------------------------------------------------- the real CLI


@pytest.mark.parametrize("kind", ["clean", "dirty"])
def test_counts_match_the_manifest(runs: dict[str, Path], kind: str) -> None:
    ws = runs[kind]
    entry = json.loads((ws / "samples" / "manifest.json").read_text())["emer"]
    prepared, normalized = _metrics(ws / "data/prepared/emer"), _metrics(ws / "data/normalized")
    assert prepared["inputs"] == entry["items"]
    assert prepared["rejected_by_reason"] == entry["expected"]["prepare_rejects"]
    assert normalized["kept"] == entry["expected"]["records"]
    assert normalized["rejected_by_reason"] == entry["expected"]["normalize_rejects"]
    lines = (ws / "data/normalized/rejects.jsonl").read_text().splitlines()
    assert Counter(json.loads(ln)["reason"] for ln in lines) == Counter(entry["expected"]["normalize_rejects"])


def test_felt_and_expressed_labels_are_kept_apart(runs: dict[str, Path]) -> None:
    ws = runs["clean"]
    sheets = _sheets(ws / "samples" / "emer")
    er, fer = (sheets[k].set_index("ID") for k in ("ER", "FER"))
    rows = _rows(ws / "data/normalized")
    assert set(rows) == {f"emer/{i}" for i in fer.index}
    differ = [i for i in fer.index if er.at[i, "Emotion"] != fer.at[i, "Emotion"]]
    assert differ  # the samples make some felt labels differ from the shown ones
    for i in fer.index:
        row = rows[f"emer/{i}"]
        assert (row["label_original"], row["label_felt_original"]) == (fer.at[i, "Emotion"], er.at[i, "Emotion"])
        assert row["label_kind"] == "expressed"
    assert all(rows[f"emer/{i}"]["label"] != rows[f"emer/{i}"]["label_felt"] for i in differ)
    dims = {d["name"]: d["value"] for d in rows[f"emer/{differ[0]}"]["dimensions"]}
    assert dims["valence"] == pytest.approx(fer.at[differ[0], "Valence"], abs=1e-6)
    assert dims["felt_valence"] == pytest.approx(er.at[differ[0], "Valence"], abs=1e-6)
    assert dims["intensity"] == fer.at[differ[0], "Intensity"]


def test_physio_image_and_group_of_one_sample(runs: dict[str, Path]) -> None:
    ws = runs["clean"]
    src = ws / "samples" / "emer"
    row = _rows(ws / "data/normalized")["emer/005"]
    eye = pd.read_excel(src / "eye" / "005.xlsx")
    kinds = eye["Eye movement type"]
    expected = {
        "eye_gaze_x_mean": eye["Gaze point X"].mean(),
        "eye_gaze_x_std": eye["Gaze point X"].std(),
        "eye_gaze_y_mean": eye["Gaze point Y"].mean(),
        "eye_gaze_y_std": eye["Gaze point Y"].std(),
        "eye_pupil_left_mean": eye["Pupil diameter left"].mean(),
        "eye_pupil_right_mean": eye["Pupil diameter right"].mean(),
        "eye_fixation_share": (kinds == "Fixation").mean(),
        "eye_saccade_count": ((kinds == "Saccade") & (kinds.shift() != "Saccade")).sum(),
    }
    got = {k: v for k, v in row["physio"].items() if k.startswith("eye_")}
    assert got == pytest.approx(expected)
    assert row["image"]["bytes"] == (src / "face" / "005.jpg").read_bytes()
    participants = pd.read_csv(src / "participants.csv", dtype=str).set_index("ID")
    assert row["group_id"] == f"emer/{participants.at['005', 'participant']}"
    assert row["license"] == emer.INFO.license


def test_download_without_from_names_the_flag(tmp_path: Path) -> None:
    proc = run_cli("download", "emer", cwd=tmp_path, check=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1
    assert "--from" in lines[0] and "licence" in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "data").exists()


def test_label_file_missing_a_column_is_one_clear_line(runs: dict[str, Path], tmp_path: Path) -> None:
    raw = shutil.copytree(runs["clean"] / "samples" / "emer", tmp_path / "raw")
    sheets = _sheets(raw)
    sheets["FER"] = sheets["FER"].drop(columns=["Valence"])
    _write_sheets(raw / "new_label.xlsx", sheets)
    proc = run_cli("prepare", "emer", "--raw", str(raw), "--out", str(tmp_path / "out"), check=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert "FER" in lines[0] and "Valence" in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- in-process edge cases


def _write_sheets(path: Path, sheets: dict[str, pd.DataFrame]) -> None:
    with pd.ExcelWriter(path) as writer:
        for name, df in sheets.items():
            df.to_excel(writer, sheet_name=name, index=False)


@pytest.fixture
def raw(runs: dict[str, Path], tmp_path: Path) -> Path:
    return shutil.copytree(runs["clean"] / "samples" / "emer", tmp_path / "emer")


def _prepare(raw: Path) -> tuple[dict[str, dict], list[Reject]]:
    items = list(emer.prepare(raw))
    return {r["id"]: r for r in items if isinstance(r, dict)}, [r for r in items if isinstance(r, Reject)]


def test_one_sheet_with_er_fer_columns_reads_like_two_sheets(raw: Path) -> None:
    before, _ = _prepare(raw)
    sheets = _sheets(raw)
    wide = sheets["FER"].add_prefix("FER_").rename(columns={"FER_ID": "ID"}).merge(
        sheets["ER"].add_prefix("ER ").rename(columns={"ER ID": "ID"}), on="ID")
    _write_sheets(raw / "new_label.xlsx", {"labels": wide})
    after, rejects = _prepare(raw)
    assert not rejects and after.keys() == before.keys()
    for rid, rec in before.items():
        for col in ("label_original", "label_felt_original", "dimensions", "physio", "group_id"):
            assert after[rid][col] == rec[col], (rid, col)


def test_missing_eye_kept_orphans_and_bad_values_rejected(raw: Path, caplog: pytest.LogCaptureFixture) -> None:
    (raw / "eye" / "002.xlsx").unlink()
    shutil.copyfile(raw / "face" / "003.jpg", raw / "face" / "099.jpg")
    sheets = _sheets(raw)
    sheets["FER"]["Valence"] = sheets["FER"]["Valence"].astype(object)
    sheets["FER"].loc[sheets["FER"]["ID"] == "004", "Valence"] = "high"
    _write_sheets(raw / "new_label.xlsx", sheets)
    logger = logging.getLogger("curator")
    logger.addHandler(caplog.handler)  # the CLI's logging setup may have turned propagation off
    try:
        records, rejects = _prepare(raw)
    finally:
        logger.removeHandler(caplog.handler)
    assert records["emer/002"]["physio"] is None and records["emer/002"]["image"] is not None
    assert "002" in caplog.text and "no eye file" in caplog.text
    by_id = {r.id: r for r in rejects}
    assert by_id.keys() == {"emer/004", "emer/099"}
    assert by_id["emer/004"].reason is Reason.BAD_VALUE and "'high'" in by_id["emer/004"].detail
    assert by_id["emer/099"].reason is Reason.MISSING_FIELD and "face/099.jpg" in by_id["emer/099"].detail
    assert len(records) + len(rejects) == 15  # 14 labelled samples + one orphan image


def test_eye_features_skip_nan_samples(tmp_path: Path) -> None:
    nan = math.nan
    df = pd.DataFrame({
        "Gaze point X": [1.0, nan, 3.0, 5.0, nan],
        "Gaze point Y": [2.0, 2.0, nan, 4.0, 6.0],
        "Pupil diameter left": [3.0, 3.2, nan, nan, 3.4],
        "Pupil diameter right": [nan] * 5,
        "Eye movement type": ["Saccade", None, "Saccade", "Fixation", "Saccade"],
    })
    df.to_excel(tmp_path / "e.xlsx", index=False)
    got = emer.eye_features(tmp_path / "e.xlsx")
    assert got["eye_gaze_x_mean"] == pytest.approx(3.0) and got["eye_gaze_x_std"] == pytest.approx(2.0)
    assert got["eye_pupil_left_mean"] == pytest.approx(3.2)
    assert got["eye_pupil_right_mean"] is None  # no valid sample: null, not NaN
    assert got["eye_fixation_share"] == pytest.approx(0.25)
    assert got["eye_saccade_count"] == 2  # the NaN row between two saccade samples does not split the run


def test_label_rows_that_cannot_be_joined_are_rejects() -> None:
    def table(ids: list) -> pd.DataFrame:
        n = len(ids)
        return pd.DataFrame({"ID": ids, "Emotion": ["fear"] * n, "Valence": [0.1] * n, "Arousal": [0.2] * n,
                             "Intensity": [1] * n}, dtype=object)

    items = list(emer.pair_rows({"ER": table(["001", "002", "002", "004"]), "FER": table(["001", "002", "003", None])}))
    samples = [i.id for i in items if isinstance(i, emer.Sample)]
    rejects = [(i.id, i.reason) for i in items if isinstance(i, Reject)]
    assert samples == ["001", "002"]
    assert rejects == [("emer/002", Reason.DUPLICATE_ID), ("emer/003", Reason.MISSING_FIELD),
                       (None, Reason.MISSING_FIELD), ("emer/004", Reason.MISSING_FIELD)]
