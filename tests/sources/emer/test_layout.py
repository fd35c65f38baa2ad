"""EMER recipe, in process: frames middle/all, label kinds, IDs typed as numbers, and every file the
layout has no place for (each input kept or rejected with its own reason)."""

from __future__ import annotations

import logging
import math
import shutil
from collections import Counter
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest

from curator.errors import CuratorError
from curator.reasons import Reason
from curator.record.taxonomy import taxonomy
from curator.sources import emer
from curator.sources.emer import eye as emer_eye
from curator.sources.emer import samples as emer_samples
from curator.sources.emer.folders import middle, natural_key
from curator.sources.recipe import Reject
from curator.stages.normalize.stage import run_normalize
from curator.stages.prepare.stage import run_prepare

FIRST = "3_film_happy Happy"  # set1, 8 frames, eye sheet with [DACS px] headers


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("emer-sample")
    emer_samples.build(out, seed=0, dirty=False)
    return out / "emer"


@pytest.fixture
def raw(built: Path, tmp_path: Path) -> Path:
    return shutil.copytree(built, tmp_path / "emer")


def _conf(**changes: object) -> emer.Params:
    return emer.Params.model_validate({**emer_samples.sample_params(), **changes})


def _prepare(raw: Path, **changes: object) -> tuple[dict[str, dict], list[Reject]]:
    items = list(emer.prepare(raw, _conf(**changes)))
    records = {r["id"]: r for r in items if isinstance(r, dict)}
    assert len(records) == sum(isinstance(r, dict) for r in items)  # no id twice
    # the sample's fixation maps are excluded in every run (tests/sources/emer/ checks them)
    return records, [r for r in items if isinstance(r, Reject) and r.reason is not Reason.UNSUPPORTED_MODALITY]


def _set_id(raw: Path, old: str, new: object) -> None:
    """Retype one ID cell of new_label.xlsx (a number stays a number in the sheet)."""
    book = openpyxl.load_workbook(raw / "new_label.xlsx")
    sheet = book.worksheets[0]
    cell = next(c for c in sheet["A"] if c.value == old)
    cell.value = new
    book.save(raw / "new_label.xlsx")


def _folder(raw: Path, name: str) -> Path:
    return next(raw.glob(f"face/set*/{name}"))


# --------------------------------------------------------------------------- frames and label kinds


def test_frames_all_gives_one_record_per_frame_in_the_same_group(raw: Path) -> None:
    middle_recs, _ = _prepare(raw)
    all_recs, rejects = _prepare(raw, frames="all")
    assert not rejects
    frames = sorted(_folder(raw, FIRST).iterdir(), key=lambda p: natural_key(p.name))
    mine = {rid: r for rid, r in all_recs.items() if rid.startswith(f"emer/{FIRST}/")}
    assert list(mine) == [f"emer/{FIRST}/{p.name}" for p in frames]
    assert {(r["group_id"], r["official_split"], r["frame_count"]) for r in mine.values()} == {("emer/p3", "set1", 8)}
    assert [r["image"]["bytes"] for r in mine.values()] == [p.read_bytes() for p in frames]
    total = sum(len(list(p.iterdir())) for p in raw.glob("face/set*/*"))
    assert len(all_recs) == total and len(middle_recs) == 15
    one = middle_recs[f"emer/{FIRST}"]
    assert one["image"]["path"] == f"face/set1/{FIRST}/0004.jpg"  # frames 1..8: the earlier middle one
    assert one["physio"] == mine[f"emer/{FIRST}/0004.jpg"]["physio"]


def test_middle_frame_is_in_natural_order_not_the_authors_last_digit_order() -> None:
    names = [f"{k}.jpg" for k in range(1, 12)]  # unpadded: name order would put 10.jpg and 11.jpg after 1.jpg
    ordered = sorted(names, key=natural_key)
    assert ordered == names and middle(tuple(Path(n) for n in ordered)).name == "6.jpg"
    authors = sorted(names, key=lambda x: x[-5])  # SMEAD_dataset.py: sorts on one character
    assert authors != names


@pytest.mark.parametrize("kind", ["felt", "expressed"])
def test_label_kind_comes_from_params_and_survives_normalize(raw: Path, tmp_path: Path, kind: str) -> None:
    prepare = lambda path: emer.prepare(path, _conf(label_kind=kind))  # noqa: E731
    run_prepare("emer", prepare, raw, tmp_path / "prepared")
    run_normalize([tmp_path / "prepared"], tmp_path / "normalized")
    rows = [r for f in sorted((tmp_path / "normalized").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    assert len(rows) == 15 and {r["label_kind"] for r in rows} == {kind}
    for row in rows:
        if kind == "felt":
            assert row["label_felt_original"] == row["label_original"] and row["label_felt"] == row["label"]
        else:
            assert row["label_felt_original"] is None and row["label_felt"] is None
        assert taxonomy().basic[row["label"]] == row["label_original"]


def test_codes_are_named_by_params_in_their_order(raw: Path) -> None:
    reversed_codes = list(reversed(emer_samples.EMER_CODES))
    records, _ = _prepare(raw, emotion_codes=reversed_codes)
    codes = {str(r[0]): r[1] for r in openpyxl.load_workbook(raw / "new_label.xlsx").worksheets[0].iter_rows(
        min_row=2, values_only=True)}
    assert all(records[f"emer/{i}"]["label_original"] == reversed_codes[c] for i, c in codes.items())


# --------------------------------------------------------------------------- IDs and participants


def test_an_id_typed_as_a_number_matches_its_padded_or_plain_folder(raw: Path) -> None:
    for old, new, folder in ((FIRST, 7.0, "007"), ("3_film_sad Sad", 12, "12")):
        _folder(raw, old).rename(_folder(raw, old).parent / folder)
        (raw / "eye" / f"{old}.xlsx").rename(raw / "eye" / f"{folder}.xlsx")
        _set_id(raw, old, new)
    records, rejects = _prepare(raw)
    assert not rejects and len(records) == 15
    assert (records["emer/007"]["group_id"], records["emer/007"]["official_split"]) == ("emer/p7", "set1")
    assert records["emer/12"]["group_id"] == "emer/p12"  # the same participant as 12_film_fear Fear
    assert records["emer/12"]["image"]["path"].startswith("face/set1/12/")


def test_a_number_matching_two_folders_is_ambiguous_and_text_ids_match_exactly(raw: Path) -> None:
    _folder(raw, FIRST).rename(_folder(raw, FIRST).parent / "7")
    (raw / "eye" / f"{FIRST}.xlsx").rename(raw / "eye" / "7.xlsx")
    shutil.copytree(_folder(raw, "7"), raw / "face" / "set2" / "007")
    _set_id(raw, FIRST, 7)
    _set_id(raw, "3_film_sad Sad", "3_film_sad sad")  # text: the folder "3_film_sad Sad" is another sample
    records, rejects = _prepare(raw)
    by_id = {r.id: r for r in rejects}
    assert by_id["emer/7"].reason is Reason.AMBIGUOUS_PAIR and "face/set2/007/" in by_id["emer/7"].detail
    assert by_id["emer/3_film_sad sad"].reason is Reason.MISSING_FACE_FRAMES
    assert by_id["emer/3_film_sad Sad"].reason is Reason.MISSING_LABEL  # its files: unclaimed, not dropped
    assert len(records) == 13 and len(rejects) == 3


def test_ids_the_participant_pattern_misses_are_their_own_group_and_counted(
        raw: Path, caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("curator")
    logger.addHandler(caplog.handler)  # the CLI's logging setup may have turned propagation off
    try:
        records, _ = _prepare(raw, participant_pattern=r"^(\d+)_film_(?:happy|sad) ")
    finally:
        logger.removeHandler(caplog.handler)
    grouped = {r["group_id"] for r in records.values() if r["group_id"].startswith("emer/p")}
    assert grouped == {"emer/p3", "emer/p41", "emer/p104"}  # the IDs with happy/sad stimuli
    alone = [r for r in records.values() if r["group_id"] == r["id"]]
    assert len(alone) == 11 and "11 sample ID(s) do not match participant_pattern" in caplog.text


def test_a_repeated_label_row_is_a_duplicate(raw: Path) -> None:
    book = openpyxl.load_workbook(raw / "new_label.xlsx")
    sheet = book.worksheets[0]
    sheet.append([c.value for c in sheet[2]])
    book.save(raw / "new_label.xlsx")
    records, rejects = _prepare(raw)
    assert len(records) == 15 and [(r.id, r.reason) for r in rejects] == [(f"emer/{FIRST}", Reason.DUPLICATE_ID)]


# --------------------------------------------------------------------------- accounting of files


def test_every_file_is_kept_claimed_or_rejected_with_its_reason(raw: Path) -> None:
    shutil.copytree(_folder(raw, FIRST), raw / "face" / "set4" / "99_film_joy Joy")  # no label row
    shutil.copy(raw / "eye" / f"{FIRST}.xlsx", raw / "eye" / "98_film_joy Joy.xlsx")  # no label row
    (raw / "face" / "set1" / "notes.txt").write_text("x")  # not in a sample folder
    (raw / "face" / "set6").mkdir()  # not a fold the authors read
    (raw / "eye" / "~$3_film_sad Sad.xlsx").write_bytes(b"lock")  # Excel's lock file
    empty = _folder(raw, "3_film_sad Sad")
    for p in empty.iterdir():
        p.rename(p.with_suffix(".png.txt"))  # nothing left that is a frame
    records, rejects = _prepare(raw)
    reasons = Counter((r.reason, r.path) for r in rejects)
    assert reasons == Counter({
        (Reason.STRAY_FILE, "face/set1/notes.txt"): 1, (Reason.STRAY_FILE, "face/set6/"): 1,
        (Reason.STRAY_FILE, "eye/~$3_film_sad Sad.xlsx"): 1,
        **{(Reason.STRAY_FILE, f"face/set1/3_film_sad Sad/{k:04d}.png.txt"): 1 for k in range(1, 10)},
        (Reason.MISSING_FACE_FRAMES, "face/set1/3_film_sad Sad"): 1,
        (Reason.MISSING_LABEL, "face/set4/99_film_joy Joy/"): 1, (Reason.MISSING_LABEL, "eye/98_film_joy Joy.xlsx"): 1,
    })
    assert len(records) == 14


def test_missing_eye_file_and_missing_folder_are_rejects_naming_the_file(raw: Path) -> None:
    (raw / "eye" / f"{FIRST}.xlsx").unlink()
    shutil.rmtree(_folder(raw, "3_film_sad Sad"))
    records, rejects = _prepare(raw)
    by_id = {r.id: r for r in rejects}
    assert by_id[f"emer/{FIRST}"].reason is Reason.MISSING_EYE_DATA and f"eye/{FIRST}.xlsx" in by_id[
        f"emer/{FIRST}"].detail
    assert by_id["emer/3_film_sad Sad"].reason is Reason.MISSING_FACE_FRAMES
    assert by_id["emer/3_film_sad Sad"].detail.endswith("has no face/set1..set5/3_film_sad Sad/ folder")
    assert len(records) == 13 and len(rejects) == 2


# --------------------------------------------------------------------------- eye sheets


def _edit_eye(raw: Path, name: str, edit) -> None:
    path = raw / "eye" / f"{name}.xlsx"
    df = pd.read_excel(path)
    edit(df).to_excel(path, index=False)


@pytest.mark.parametrize(("edit", "reason", "words"), [
    (lambda df: df.assign(**{"Gaze point X": df["Gaze point X [DACS px]"]}), Reason.UNEXPECTED_COLUMNS,
     "are one feature"),
    (lambda df: df.drop(columns=["Gaze point Y [DACS px]"]), Reason.MISSING_FIELD, "gaze point y"),
    (lambda df: df.astype({"Gaze point Y [DACS px]": object}).assign(**{"Gaze point Y [DACS px]": ["off"] * len(df)}),
     Reason.BAD_VALUE, "Gaze point Y [DACS px]='off' (row 2)"),
    (lambda df: df.iloc[:0], Reason.MISSING_EYE_DATA, "no rows"),
])
def test_eye_sheet_problems_reject_the_sample(raw: Path, edit, reason: Reason, words: str) -> None:
    _edit_eye(raw, FIRST, edit)
    records, rejects = _prepare(raw)
    assert [(r.id, r.reason, r.path) for r in rejects] == [(f"emer/{FIRST}", reason, f"eye/{FIRST}.xlsx")]
    assert words in rejects[0].detail and len(records) == 14


def test_a_corrupt_eye_workbook_is_unreadable(raw: Path) -> None:
    (raw / "eye" / f"{FIRST}.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    _, rejects = _prepare(raw)
    assert [(r.id, r.reason) for r in rejects] == [(f"emer/{FIRST}", Reason.UNREADABLE_FILE)]


@pytest.mark.parametrize("dacs", [True, False])
def test_physio_yaml_declares_exactly_the_sample_columns_in_either_spelling(dacs: bool) -> None:
    headers = emer_samples.eye_columns(dacs)
    assert len(headers) == 39 and ("Gaze point X [DACS px]" in headers) == dacs
    assert sorted(map(emer_eye.column_key, headers)) == sorted(emer_eye.declared())
    assert all(set(stats) == {"mean", "std"} for stats in emer_eye.declared().values())


def test_eye_statistics_skip_blank_cells_and_leave_absent_columns_null(tmp_path: Path) -> None:
    nan = math.nan
    pd.DataFrame({"Gaze point X": [1.0, nan, 3.0, 5.0], "Gaze point Y [DACS px]": [2.0, 2.0, 2.0, nan],
                  "Pupil diameter left [mm]": [nan, 3.0, nan, nan]}).to_excel(tmp_path / "e.xlsx", index=False)
    got = emer_eye.eye_features(tmp_path / "e.xlsx").physio
    assert got["eye_gaze_x_mean"] == pytest.approx(3.0) and got["eye_gaze_x_std"] == pytest.approx(2.0)
    assert got["eye_gaze_y_std"] == 0.0 and got["eye_pupil_left_mean"] == 3.0
    assert got["eye_pupil_left_std"] is None  # one value: no sample deviation, null rather than NaN
    assert got["eye_pupil_right_mean"] is None and len(got) == 78


# --------------------------------------------------------------------------- layout


def test_layout_describes_the_folder_and_refuses_an_unknown_one(raw: Path, tmp_path: Path) -> None:
    line = emer.layout(raw, _conf())
    assert "new_label.xlsx sheet 'Sheet1' (1st of 1) with 15 rows" in line
    assert "set1 5, set2 4, set3 2, set4 2, set5 2 (135 frames); eye/ 15 .xlsx" in line and "\n" not in line
    (tmp_path / "empty").mkdir()
    with pytest.raises(CuratorError, match=r"expected one new_label\.xlsx"):
        emer.layout(tmp_path / "empty", _conf())
    shutil.rmtree(raw / "face")
    (raw / "face").mkdir()
    (raw / "face" / "001.jpg").write_bytes(b"x")  # the earlier, flat layout: no longer read
    with pytest.raises(CuratorError, match=r"expected frame folders face/set1..set5/<ID>/ .*found 001.jpg"):
        emer.layout(raw, _conf())
