"""Bad inputs through the real CLI: each is a reject with a reason code or one clear error line,
never a traceback, and every stage keeps `inputs = kept + rejected`.

Images go through a VIRI tree (the training layout `{Visible,IR}/<Class>/`), tables through the
Kaggle CSV and EmoNet-Face hq.csv / Parquet. The unusual-but-valid images (CMYK, greyscale, 16-bit,
EXIF-rotated) are followed to the published dataset and loaded back with `datasets`.
"""

from __future__ import annotations

import io
import shutil
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from curator.io.parquet import iter_records
from curator.sources.kaggle_physio.samples import KAGGLE_COLUMNS
from curator.testing.samples import builders
from tests.conftest import ROOT, run_cli
from tests.robustness.helpers import (
    assert_accounting,
    assert_one_line_error,
    metrics,
    outcome,
    parallel,
    reasons_by_id,
    rejects,
)

CLASS = "Happy"
SIZE = (64, 48)  # width, height: not square, so a rotation shows in the size


# --- images ---------------------------------------------------------------------------------


def picture(seed: int, size: tuple[int, int] = SIZE) -> np.ndarray:
    """A smooth (JPEG-friendly) RGB picture, different per seed, with a white mark at the top left
    so that a rotated or flipped decode cannot pass for the right one."""
    w, h = size
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(40, 200, 3), rng.uniform(-60, 60, 3)
    x = np.linspace(0, 1, w)[None, :, None]
    y = np.linspace(0, 1, h)[:, None, None]
    img = a + b * (x if seed % 2 else y) + 20 * np.sin(6 * x + 4 * y + seed)
    img[: h // 4, : w // 4] = 255
    return np.clip(img, 0, 255).astype(np.uint8)


def encode(img: Image.Image, fmt: str, **options: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **options)
    return buf.getvalue()


def jpeg(seed: int) -> bytes:
    return encode(Image.fromarray(picture(seed)), "JPEG", quality=95)


def png_chunk(kind: bytes, data: bytes, crc: int | None = None) -> bytes:
    crc = zlib.crc32(kind + data) if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def bomb_png(side: int = 100_000) -> bytes:
    """~60 bytes claiming side x side pixels: the header of a decompression bomb."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\0")) + png_chunk(
        b"IEND", b"")


def bad_crc_png(seed: int) -> bytes:
    """A PNG whose image-data chunk fails its CRC (the pixels themselves still inflate)."""
    data = encode(Image.fromarray(picture(seed)), "PNG")
    start = data.index(b"IDAT") - 4
    (length,) = struct.unpack(">I", data[start : start + 4])
    end = start + 12 + length
    return data[: end - 4] + struct.pack(">I", zlib.crc32(data[start + 4 : end - 4]) ^ 0xFFFF) + data[end:]


def deep_png(seed: int) -> tuple[bytes, np.ndarray]:
    """A 16-bit greyscale PNG, and the 8-bit picture it must become (v * 255 / 65535)."""
    grey16 = (picture(seed).mean(axis=2) * 257).astype(np.uint16)
    grey16[-1, -1] = 65535  # the full range is used
    expected = ((grey16.astype(np.int64) * 255 + 32767) // 65535).astype(np.uint8)
    return encode(Image.fromarray(grey16), "PNG"), expected


def rotated_jpeg(seed: int) -> tuple[bytes, np.ndarray]:
    """A JPEG stored on its side with EXIF orientation 6 ("rotate 90° clockwise to view"), and
    the upright picture a viewer shows."""
    upright = picture(seed)
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)  # undone by orientation 6
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(stored, "JPEG", quality=95, exif=exif.tobytes()), upright


def write_thermal_tree(raw: Path) -> dict[str, Any]:
    """Visible/IR pairs, one per case (file stem = case), plus an IR without partner and an
    image with two IR partners. Returns what the checks need."""
    vis, ir = raw / "Visible" / CLASS, raw / "IR" / CLASS
    vis.mkdir(parents=True)
    ir.mkdir(parents=True)
    deep, deep_expected = deep_png(7)
    deep_ir, deep_ir_expected = deep_png(8)
    rotated, rotated_expected = rotated_jpeg(9)
    cmyk = encode(Image.fromarray(picture(10)).convert("CMYK"), "JPEG", quality=95)
    grey = encode(Image.fromarray(picture(11)).convert("L"), "JPEG", quality=95)
    visible = {
        "good1.jpg": jpeg(1), "good2.jpg": jpeg(2),
        "zero.jpg": b"", "truncated.jpg": jpeg(3)[:900], "notimage.jpg": b"just some text, not a JPEG\n",
        "bomb.png": bomb_png(), "capped.png": bomb_png(9000), "badcrc.png": bad_crc_png(4),
        "cmyk.jpg": cmyk, "grey.jpg": grey, "deep.png": deep, "rotated.jpg": rotated,
        "twin.jpg": jpeg(5),
    }
    for name, data in visible.items():
        (vis / name).write_bytes(data)
    for i, name in enumerate(visible):
        stem = name.rsplit(".", 1)[0]
        if stem == "deep":
            (ir / "deep_IR.png").write_bytes(deep_ir)  # thermal cameras write 16-bit too
        else:
            (ir / f"{stem}_IR.jpg").write_bytes(jpeg(100 + i))
    (ir / "lonely_IR.jpg").write_bytes(jpeg(200))  # no visible partner
    (ir / "twin-ir.jpg").write_bytes(jpeg(201))  # a second IR for twin.jpg (twin_IR.jpg is the first)
    return {
        "originals": {"cmyk": cmyk, "grey": grey},
        "expected": {"cmyk": picture(10), "grey": np.asarray(Image.fromarray(picture(11)).convert("L")),
                     "deep": deep_expected, "deep_ir": deep_ir_expected, "rotated": rotated_expected},
    }


def thermal_run(root: Path) -> dict[str, Any]:
    """prepare -> normalize -> split -> publish of the image tree, like a user would."""
    info = write_thermal_tree(root / "raw")
    shutil.copytree(ROOT / "pipelines", root / "pipelines")
    steps = [
        ("prepare", "viri", "--raw", "raw", "--out", "prepared"),
        ("normalize", "--in", "prepared", "--out", "normalized"),
        ("split", "--in", "normalized", "--out", "split"),
        ("publish", "--in", "split", "--out", "published"),
    ]
    info["procs"] = [run_cli(*step, cwd=root) for step in steps]
    info["root"] = root
    return info


# --- tables ---------------------------------------------------------------------------------

FEATURES = KAGGLE_COLUMNS[:-1]


def kaggle_row(seed: float, label: str, **cells: str) -> dict[str, str]:
    row = {name: f"{1.0 + seed + i / 10:.3f}" for i, name in enumerate(FEATURES)}
    return {**row, "emotion_label": label, "notes": "", **cells}


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, bom: bool = True, crlf: bool = True) -> Path:
    end = "\r\n" if crlf else "\n"
    text = end.join(",".join(cells) for cells in [header, *rows]) + end
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def kaggle_rows() -> tuple[list[str], list[list[str]]]:
    """One CSV with a BOM, CRLF line ends, an extra column (first, so columns are found by name)
    and one row of each kind of trouble."""
    header = ["notes", *KAGGLE_COLUMNS]
    rows = {
        "ok": kaggle_row(0, "Happy"),
        "messy_label": kaggle_row(1, "  sad "),
        "nan": kaggle_row(2, "Happy", hr_mean="NaN"),
        "text": kaggle_row(3, "Happy", eda_std="abc"),
        "inf": kaggle_row(4, "Happy", hr_std="inf"),
        "empty_value": kaggle_row(5, "Happy", face_au01=""),
        "duplicate": kaggle_row(0, "Happy", notes="same sample again"),
        "unknown_label": kaggle_row(6, "Bored"),
        "no_label": kaggle_row(7, ""),
    }
    lines = [[r[c] for c in header] for r in rows.values()]
    lines.append(["x", "1.0", "2.0", "3"])  # a row cut short
    lines.append([*(kaggle_row(8, "Angry")[c] for c in header), "a cell beyond the header"])
    lines.insert(3, [])  # a blank line is not a record
    return header, lines


def kaggle_runs(root: Path) -> dict[str, Any]:
    root.mkdir()
    header, rows = kaggle_rows()
    write_csv(root / "messy.csv", header, rows)
    prepared = run_cli("prepare", "kaggle_physio", "--raw", "messy.csv", "--out", "prepared", cwd=root)
    normalized = run_cli("normalize", "--in", "prepared", "--out", "normalized", cwd=root)
    return {"root": root, "procs": [prepared, normalized]}


def kaggle_refused(root: Path, name: str, data: bytes) -> tuple[Path, Any]:
    root.mkdir()
    (root / name).write_bytes(data)
    return root, run_cli("prepare", "kaggle_physio", "--raw", name, "--out", "prepared", cwd=root, check=False)


HOSTILE = "__import__('pathlib').Path('PWNED').touch()"


def hq_run(root: Path) -> dict[str, Any]:
    """EmoNet-Face hq: the sample repo plus expert rows in hq.csv whose annotation cell is not a plain dict."""
    builders()["emonet_hq"](root / "samples", 0, False)
    raw = root / "samples" / "emonet_hq"
    image = (raw / "hq.csv").read_text(encoding="utf-8").splitlines()[1].split(",", 1)[0]
    bad = {
        "truncated": "{'Negative High-Energy Emotions|Anger': 3, 'Negative High-Energy Emotions|Fear':",
        "call": HOSTILE,
        "call_in_dict": "{'Negative High-Energy Emotions|Anger': " + HOSTILE + "}",
        "not_a_dict": "[1, 2, 3]",
        "out_of_range": "{'Negative High-Energy Emotions|Anger': 99}",
    }
    with open(raw / "hq.csv", "a", encoding="utf-8", newline="") as fh:
        for annotator, cell in bad.items():
            fh.write(f'{image},{annotator},"{cell}",True\n')
    proc = run_cli("prepare", "emonet_hq", "--raw", str(raw), "--out", "prepared", cwd=root)
    return {"root": root, "proc": proc, "bad": bad, "image": image}


def parquet_refused(root: Path, data: bytes | None) -> Any:
    """emonet_big over a Parquet file with an unexpected schema (or, with `data`, not Parquet at all)."""
    (root / "raw" / "data").mkdir(parents=True)
    shard = root / "raw" / "data" / "train-00000-of-00001.parquet"
    if data is None:
        import pyarrow as pa

        pq.write_table(pa.table({"file": ["a.png"], "emotion_score": [0.5]}), shard)
    else:
        shard.write_bytes(data)
    return run_cli("prepare", "emonet_big", "--raw", "raw", "--out", "prepared", cwd=root, check=False)


def augment_without_policy(root: Path) -> Any:
    """augment with params naming a policy file that exists nowhere."""
    (root / "split" / "train").mkdir(parents=True)
    (root / "params.yaml").write_text("augment: {policy: pipelines/augment/missing.yaml}\n")
    return run_cli("augment", "--in", "split", "--out", "augmented", cwd=root, check=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("bad-inputs")
    header = ",".join(KAGGLE_COLUMNS).replace("hr_mean,", "")
    return parallel({
        "thermal": lambda: thermal_run(root / "thermal"),
        "kaggle": lambda: kaggle_runs(root / "kaggle"),
        "missing_column": lambda: kaggle_refused(root / "missing", "m.csv", f"{header}\n1,2\n".encode()),
        "latin1": lambda: kaggle_refused(
            root / "latin1", "l.csv", f"{','.join(KAGGLE_COLUMNS)}\n{'1,' * 12}Überrascht\n".encode("latin-1")),
        "hq": lambda: hq_run(root / "hq"),
        "parquet_schema": lambda: parquet_refused(root / "schema", None),
        "parquet_garbage": lambda: parquet_refused(root / "garbage", b"PAR1 this is not a Parquet file"),
        "augment_policy": lambda: augment_without_policy(root / "augment"),
    })


# --- images -----------------------------------------------------------------------------------


def test_bad_images_are_rejects_with_their_reason(runs: dict) -> None:
    prepared = outcome(runs, "thermal")["root"] / "prepared"
    m = assert_accounting(prepared)
    assert (m["inputs"], m["kept"], m["rejected"]) == (16, 6, 10)
    found = reasons_by_id(prepared)
    assert found == {
        f"viri/{CLASS}/zero": ["empty_file"],
        f"viri/{CLASS}/truncated": ["truncated_image"],
        f"viri/{CLASS}/notimage": ["not_an_image"],
        f"viri/{CLASS}/bomb": ["too_many_pixels"],  # beyond Pillow's own bomb limit
        f"viri/{CLASS}/capped": ["too_many_pixels"],  # 81 Mpx: under Pillow's limit, over prepare.max_image_pixels
        f"viri/{CLASS}/badcrc": ["corrupt_image"],
        f"viri/{CLASS}/lonely": ["unpaired"],
        f"viri/{CLASS}/twin": ["ambiguous_pair"] * 3,  # each of the three files is one input
    }
    details = {r["id"]: r["detail"] for r in rejects(prepared)}
    assert "exceeds the cap of 50000000 pixels" in details[f"viri/{CLASS}/capped"]
    assert "PNG chunk 'IDAT'" in details[f"viri/{CLASS}/badcrc"] and "CRC" in details[f"viri/{CLASS}/badcrc"]


def test_every_later_stage_keeps_the_accounting(runs: dict) -> None:
    run = outcome(runs, "thermal")
    for out in ("normalized", "split"):
        m = assert_accounting(run["root"] / out)
        assert (m["inputs"], m["kept"]) == (6, 6), out
    m = assert_accounting(run["root"] / "published" / ".curator")
    assert (m["inputs"], m["kept"]) == (6, 6)


def published_rows(folder: Path, config: str) -> dict[str, dict[str, Any]]:
    rows = {}
    for shard in sorted((folder / "data" / config).glob("*/*.parquet")):
        for row in pq.read_table(shard, columns=["id", "image", "infrared"]).to_pylist():
            rows[row["id"]] = row
    return rows


def close(decoded: Image.Image, expected: np.ndarray, tolerance: float) -> bool:
    got = np.asarray(decoded, dtype=np.float64)
    return got.shape == expected.shape and float(np.abs(got - expected).mean()) < tolerance


def test_cmyk_and_greyscale_are_kept_as_their_original_bytes_and_load_right(runs: dict, tmp_path: Path) -> None:
    import datasets

    run = outcome(runs, "thermal")
    published = run["root"] / "published"
    raw = published_rows(published, "viri")
    for case in ("cmyk", "grey"):
        assert raw[f"viri/{CLASS}/{case}"]["image"]["bytes"] == run["originals"][case], case
    loaded = datasets.load_dataset(str(published), "viri", cache_dir=str(tmp_path / "hf-cache"))
    rows = {r["id"]: r for split in loaded.values() for r in split}
    cmyk = rows[f"viri/{CLASS}/cmyk"]["image"]
    assert cmyk.mode == "CMYK" and close(cmyk.convert("RGB"), run["expected"]["cmyk"], 6)
    grey = rows[f"viri/{CLASS}/grey"]["image"].convert("RGB")
    assert close(grey, np.repeat(run["expected"]["grey"][:, :, None], 3, axis=2), 3)


def test_16bit_and_exif_rotated_images_are_published_upright_and_8bit(runs: dict, tmp_path: Path) -> None:
    """Such images are re-encoded once, losslessly, at prepare (and recorded): every reader then
    sees the same picture, whether or not it honours EXIF, and .convert("RGB") does not clip."""
    import datasets

    run = outcome(runs, "thermal")
    root, expected = run["root"], run["expected"]
    assert metrics(root / "prepared")["images_normalized"] == {"exif_orientation": 1, "high_bit_depth": 2}
    fixes = [line for line in (root / "prepared" / "normalized.jsonl").read_text().splitlines() if line]
    assert len(fixes) == 3 and all(f'"id": "viri/{CLASS}/' in line for line in fixes)

    raw = published_rows(root / "published", "viri")
    for key, column in (("deep", "image"), ("deep_ir", "infrared"), ("rotated", "image")):
        data = raw[f"viri/{CLASS}/{key.removesuffix('_ir')}"][column]["bytes"]
        assert data.startswith(b"\x89PNG"), key
        plain = Image.open(io.BytesIO(data))  # no EXIF handling at all
        tolerance = 0 if key.startswith("deep") else 4  # 16-bit: exact; rotated: the original JPEG's loss
        assert plain.mode in ("L", "RGB") and close(plain.convert(plain.mode), expected[key], tolerance + 1e-9), key

    loaded = datasets.load_dataset(str(root / "published"), "viri", cache_dir=str(tmp_path / "hf-cache"))
    rows = {r["id"]: r for split in loaded.values() for r in split}
    deep = rows[f"viri/{CLASS}/deep"]
    assert np.array_equal(np.asarray(deep["image"].convert("RGB"))[:, :, 0], expected["deep"])
    assert np.array_equal(np.asarray(deep["infrared"].convert("L")), expected["deep_ir"])
    rotated = rows[f"viri/{CLASS}/rotated"]["image"].convert("RGB")
    assert rotated.size == SIZE and close(rotated, expected["rotated"], 4)


# --- tables -----------------------------------------------------------------------------------


def test_messy_csv_rows_are_kept_or_rejected_each_with_a_reason(runs: dict) -> None:
    run = outcome(runs, "kaggle")
    m = assert_accounting(run["root"] / "prepared")
    # 11 rows (the blank line is not one): the good, the messy label, the unknown label and the long row are kept
    assert (m["inputs"], m["kept"]) == (11, 4)
    assert m["rejected_by_reason"] == {"bad_value": 4, "duplicate_id": 1, "missing_field": 2}
    details = {r["detail"] for r in rejects(run["root"] / "prepared")}
    for fragment in ("hr_mean='NaN'", "eda_std='abc'", "hr_std='inf'", "face_au01=''", "empty emotion_label"):
        assert any(fragment in d for d in details), fragment
    rows = list(iter_records(run["root"] / "prepared", columns=["id", "label_original", "physio"]))
    assert sorted(r["label_original"] for r in rows) == ["  sad ", "Angry", "Bored", "Happy"]  # no stray \r
    ok = next(r for r in rows if r["label_original"] == "Happy")
    assert ok["physio"]["eda_mean"] == pytest.approx(1.0)  # first feature read by name, BOM and all
    assert reasons_by_id(run["root"] / "prepared")[ok["id"]] == ["duplicate_id"]  # the repeat of that row


def test_unknown_label_is_rejected_at_normalize_with_its_text(runs: dict) -> None:
    run = outcome(runs, "kaggle")
    m = assert_accounting(run["root"] / "normalized")
    assert (m["inputs"], m["kept"], m["rejected_by_reason"]) == (4, 3, {"unknown_label": 1})
    [reject] = rejects(run["root"] / "normalized")
    assert "'Bored'" in reject["detail"] and "curator/sources/kaggle_physio/labels.yaml" in reject["detail"]


def test_csv_missing_a_column_is_one_line_and_writes_nothing(runs: dict) -> None:
    root, proc = outcome(runs, "missing_column")
    assert_one_line_error(proc, "m.csv", "missing column(s) hr_mean")
    assert not (root / "prepared").exists()


def test_csv_that_is_not_utf8_is_one_line_and_writes_nothing(runs: dict) -> None:
    root, proc = outcome(runs, "latin1")
    assert_one_line_error(proc, "l.csv", "not UTF-8")
    assert not (root / "prepared").exists()


def test_hq_annotations_that_are_not_plain_dicts_are_rejected_and_never_run(runs: dict) -> None:
    run = outcome(runs, "hq")
    prepared = run["root"] / "prepared"
    m = assert_accounting(prepared)
    assert m["rejected_by_reason"] == {"malformed_annotation": len(run["bad"])}
    by_annotator = {r["detail"].split("annotator ")[1].split(":")[0].strip("'"): r for r in rejects(prepared)}
    assert set(by_annotator) == set(run["bad"])
    assert all(r["path"] == run["image"] for r in by_annotator.values())  # the hq.csv image they rate
    assert not (run["root"] / "PWNED").exists() and not list(run["root"].rglob("PWNED"))  # nothing executed
    assert m["kept"] == 24  # the image itself keeps its expert ratings (from the Parquet label)


def test_parquet_with_an_unexpected_schema_is_one_line(runs: dict) -> None:
    assert_one_line_error(outcome(runs, "parquet_schema"), "train-00000-of-00001.parquet", "unknown Parquet layout",
                          "found file (string), emotion_score (double)")


def test_file_that_is_not_parquet_is_one_line(runs: dict) -> None:
    assert_one_line_error(outcome(runs, "parquet_garbage"), "train-00000-of-00001.parquet")


def test_missing_augment_policy_is_one_line(runs: dict) -> None:
    assert_one_line_error(outcome(runs, "augment_policy"), "pipelines/augment/missing.yaml")
