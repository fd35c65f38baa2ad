"""EMER recipe: the real CLI on the sample sources (the authors' layout), plus the edge cases of that format."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from curator.record.taxonomy import taxonomy
from curator.sources import emer
from curator.sources.emer.folders import natural_key
from curator.sources.emer.samples import EMER_CODES, sample_params
from tests.conftest import run_cli


def _write_params(ws: Path, **emer_keys: object) -> Path:
    path = ws / "params.yaml"
    path.write_text(yaml.safe_dump({"sources": {"emer": emer_keys}}))
    return path


def _pipeline(ws: Path, dirty: bool) -> Path:
    """samples -> download --from -> prepare -> normalize, as a user types them, in `ws`."""
    ws.mkdir(parents=True)
    _write_params(ws, **sample_params())
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


def _rejects(path: Path) -> list[dict]:
    return [json.loads(line) for line in (path / "rejects.jsonl").read_text().splitlines()]


def _labels(root: Path) -> list[tuple]:
    """new_label.xlsx's data rows, each cell as typed in the sheet."""
    return list(openpyxl.load_workbook(root / "new_label.xlsx").worksheets[0].iter_rows(values_only=True))[1:]


def _folders(root: Path) -> dict[str, Path]:
    return {p.name: p for p in (root / "face").glob("set*/*") if p.is_dir()}


def _frames(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.suffix == ".jpg"), key=lambda p: natural_key(p.name))


# --------------------------------------------------------------------------- the real CLI


@pytest.mark.parametrize("kind", ["clean", "dirty"])
def test_counts_match_the_manifest(runs: dict[str, Path], kind: str) -> None:
    ws = runs[kind]
    entry = json.loads((ws / "samples" / "manifest.json").read_text())["emer"]
    prepared, normalized = _metrics(ws / "data/prepared/emer"), _metrics(ws / "data/normalized")
    assert prepared["inputs"] == entry["items"] == prepared["kept"] + prepared["rejected"]
    assert prepared["rejected_by_reason"] == entry["expected"]["prepare_rejects"]
    assert normalized["kept"] == entry["expected"]["records"]
    assert normalized["rejected_by_reason"] == entry["expected"]["normalize_rejects"]


def test_labels_dimensions_and_label_kind(runs: dict[str, Path]) -> None:
    ws = runs["clean"]
    rows, tax = _rows(ws / "data/normalized"), taxonomy()
    labels = _labels(ws / "samples" / "emer")
    assert set(rows) == {f"emer/{r[0]}" for r in labels}
    for sid, code, valence, arousal, intensity in labels:
        row = rows[f"emer/{sid}"]
        assert row["label_original"] == EMER_CODES[code]  # the code's name, from params
        assert tax.basic[row["label"]] == EMER_CODES[code]  # the sample's names are the basic classes
        assert (row["label_kind"], row["label_felt"], row["label_felt_original"]) == ("expressed", None, None)
        dims = [(d["name"], d["value"], d["original_name"], d["original_value"]) for d in row["dimensions"]]
        assert dims == [  # the file's values, and on the common 0..1 scale from EMER's -1..1 and 0..3
            ("valence", pytest.approx((valence + 1) / 2), "Valence", pytest.approx(valence)),
            ("arousal", pytest.approx((arousal + 1) / 2), "Arousal", pytest.approx(arousal)),
            ("intensity", pytest.approx(intensity / 3), "Intensity", pytest.approx(intensity))]
        assert row["license"] == emer.INFO.license


def test_groups_folds_frames_and_the_middle_image(runs: dict[str, Path]) -> None:
    ws = runs["clean"]
    src, rows = ws / "samples" / "emer", _rows(ws / "data/normalized")
    for name, folder in _folders(src).items():
        row, frames = rows[f"emer/{name}"], _frames(folder)
        assert row["group_id"] == f"emer/p{int(name.split('_')[0])}"  # the leading number: the participant
        assert row["official_split"] == folder.parent.name  # set1..set5
        assert row["frame_count"] == len(frames) >= 8
        middle = frames[(len(frames) - 1) // 2]
        assert row["image"]["path"] == middle.relative_to(src).as_posix()
        assert row["image"]["bytes"] == middle.read_bytes()
    assert len({r["group_id"] for r in rows.values()}) == 7
    assert {r["official_split"] for r in rows.values()} == {f"set{i}" for i in range(1, 6)}


def test_physio_holds_every_eye_column_with_either_gaze_spelling(runs: dict[str, Path]) -> None:
    ws = runs["clean"]
    src, rows = ws / "samples" / "emer", _rows(ws / "data/normalized")
    spellings = set()
    for name in ("3_film_happy Happy", "12_film_fear Fear"):
        eye = pd.read_excel(src / "eye" / f"{name}.xlsx")
        gaze = "Gaze point X [DACS px]" if "Gaze point X [DACS px]" in eye else "Gaze point X"
        spellings.add(gaze)
        physio = rows[f"emer/{name}"]["physio"]
        assert physio["eye_gaze_x_mean"] == pytest.approx(eye[gaze].mean())
        assert physio["eye_gaze_x_std"] == pytest.approx(eye[gaze].std(ddof=1))
        assert eye["Pupil diameter left [mm]"].isna().any()  # blanks are skipped, not zeros
        assert physio["eye_pupil_left_mean"] == pytest.approx(eye["Pupil diameter left [mm]"].dropna().mean())
        emer_features = [k for k in physio if k.startswith("eye_")]
        assert len(emer_features) == 78 and all(physio[k] is not None for k in emer_features)  # 39 columns x 2
    assert spellings == {"Gaze point X", "Gaze point X [DACS px]"}


def test_dirty_extras_are_kept_or_rejected_by_name(runs: dict[str, Path]) -> None:
    ws = runs["dirty"]
    rows = _rows(ws / "data/normalized")
    numeric = rows["emer/016"]  # the sheet says 16 (a number); the folder and eye file say 016
    assert (numeric["group_id"], numeric["official_split"], numeric["label_original"]) == ("emer/p16", "set3",
                                                                                          "surprise")
    by_reason = {r["reason"]: r for r in _rejects(ws / "data/prepared/emer")}
    assert by_reason["stray_file"]["path"] == "face/set1/3_film_happy Happy/Thumbs.db"
    assert by_reason["missing_eye_data"]["id"] == "emer/104_film_fear Fear"
    assert "eye/104_film_fear Fear.xlsx" in by_reason["missing_eye_data"]["detail"]
    assert by_reason["unknown_label"]["id"] == "emer/76_film_neutral Neutral"
    assert "code 7" in by_reason["unknown_label"]["detail"]
    assert "emer/3_film_happy Happy" in rows  # a stray file does not cost its sample


def test_missing_params_fail_in_one_line_naming_both_keys(runs: dict[str, Path], tmp_path: Path) -> None:
    raw = runs["clean"] / "data/raw/emer"
    for keys in ({}, {"emotion_codes": list(EMER_CODES)}):
        params = _write_params(tmp_path, **keys)
        proc = run_cli("--params", str(params), "prepare", "emer", "--raw", str(raw), "--out", str(tmp_path / "out"),
                       check=False)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 1 and len(lines) == 1, proc.stderr
        assert "sources.emer.emotion_codes" in lines[0] and "sources.emer.label_kind" in lines[0]
        assert "happiness, sadness" in lines[0] and "Traceback" not in proc.stderr  # the README order as an example
        assert ("missing: label_kind" in lines[0]) == bool(keys)
        assert not (tmp_path / "out").exists()


def test_bad_params_are_one_line_config_errors(tmp_path: Path) -> None:
    for keys, words in (({"emotion_codes": ["a", "b"]}, "7 distinct"), ({"label_kind": "both"}, "label_kind"),
                        ({"participant_pattern": r"^\d+"}, "one capturing group"), ({"frames": "first"}, "frames")):
        proc = run_cli("--params", str(_write_params(tmp_path, **keys)), "params", "--check", check=False)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 1 and len(lines) == 1 and words in lines[0], proc.stderr


def test_download_without_from_names_the_flag(tmp_path: Path) -> None:
    proc = run_cli("download", "emer", cwd=tmp_path, check=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1
    assert "--from" in lines[0] and "licence" in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "data").exists()


def test_label_file_missing_a_column_is_one_clear_line(runs: dict[str, Path], tmp_path: Path) -> None:
    raw = shutil.copytree(runs["clean"] / "samples" / "emer", tmp_path / "raw")
    df = pd.read_excel(raw / "new_label.xlsx").drop(columns=["Valence"])
    df.to_excel(raw / "new_label.xlsx", index=False)
    params = _write_params(tmp_path, **sample_params())
    proc = run_cli("--params", str(params), "prepare", "emer", "--raw", str(raw), "--out", str(tmp_path / "out"),
                   check=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert "Valence" in lines[0] and "ID, Emotion, Valence, Arousal, Intensity" in lines[0]
    assert not (tmp_path / "out").exists()
