"""Miniature, seeded copies of every source in its real on-disk format.

Tests and the offline demo serve these files from a loopback HTTP server and run the real
download/prepare/normalize code on them, so each writer below mirrors SOURCES.md exactly.
`dirty=True` adds one set of known-bad items per source on top of the clean ones; the
manifest states what prepare/normalize must keep and reject, so tests can compare.

Determinism: every random choice comes from generators seeded by (seed, source); archives
use fixed timestamps; nothing reads the wall clock.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import random
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from curator.errors import CuratorError
from curator.reasons import Reason

if TYPE_CHECKING:
    import datasets

EXPRESSIONS = ("neutral", "happiness", "sadness", "anger", "fear", "surprise", "disgust", "contempt")

_FIXED_DATETIME = dt.datetime(2024, 1, 1, 0, 0, 0)
_ZIP_DATE = (2024, 1, 1, 0, 0, 0)
_JPEG_QUALITY = 90
_EMONET_SIZE = 160

# --------------------------------------------------------------------------- randomness


def _seed_int(seed: int, name: str) -> int:
    """A stable 64-bit seed per (seed, stream name): Python's hash() is salted per process."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:8], "big")


def _rand(seed: int, name: str) -> random.Random:
    return random.Random(_seed_int(seed, name))


def _np_rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng(_seed_int(seed, name))


# --------------------------------------------------------------------------- faces


class _Palette(NamedTuple):
    background: tuple[int, int, int]
    skin: tuple[int, int, int]
    line: tuple[int, int, int]
    eye_white: tuple[int, int, int]
    pupil: tuple[int, int, int]
    mouth: tuple[int, int, int]
    cheek: tuple[int, int, int]
    text: tuple[int, int, int]


class _Geometry(NamedTuple):
    size: int
    cx: float
    cy: float
    rx: float
    ry: float
    width: int


_SKIN_TONES = ((255, 219, 172), (241, 194, 167), (234, 192, 134), (224, 172, 105), (198, 134, 66),
               (141, 85, 36))


def _grey(v: int) -> tuple[int, int, int]:
    return (v, v, v)


# Thermal look: skin warm (bright), eyes and mouth warmest, brows/hair cool, room dark.
_IR_PALETTE = _Palette(background=_grey(25), skin=_grey(185), line=_grey(105), eye_white=_grey(235),
                       pupil=_grey(250), mouth=_grey(245), cheek=_grey(210), text=_grey(255))

# Brow (inner_dy, outer_dy) in units of ry/16; negative = raised.
_BROWS = {"flat": (0, 0), "inner_up": (-2.5, 1.0), "v": (2.5, -1.5), "high": (-3.0, -3.0),
          "inner_up_high": (-4.0, -1.5), "lowered": (1.5, 0.5)}

# expression -> (brow style, eye style, mouth style)
_PARTS = {
    "neutral": ("flat", "normal", "straight"),
    "happiness": ("flat", "normal", "smile"),
    "sadness": ("inner_up", "normal", "frown"),
    "anger": ("v", "narrow", "tight"),
    "fear": ("inner_up_high", "wide", "stretched"),
    "surprise": ("high", "wide", "o"),
    "disgust": ("lowered", "narrow", "wavy"),
    "contempt": ("flat", "normal", "smirk"),
}

# EmoNet fine label -> cartoon expression. For drawing only; the taxonomy lives in schemas/.
_FINE_TO_DRAWN = {
    "Amusement": "happiness", "Elation": "happiness", "Pleasure/Ecstasy": "happiness",
    "Contentment": "happiness", "Thankfulness/Gratitude": "happiness", "Affection": "happiness",
    "Infatuation": "happiness", "Hope/Enthusiasm/Optimism": "happiness", "Triumph": "happiness",
    "Pride": "contempt", "Awe": "surprise", "Astonishment/Surprise": "surprise", "Relief": "happiness",
    "Longing": "sadness", "Teasing": "contempt", "Impatience and Irritability": "anger",
    "Sexual Lust": "happiness", "Doubt": "contempt", "Fear": "fear", "Distress": "fear",
    "Confusion": "surprise", "Embarrassment": "sadness", "Shame": "sadness", "Disappointment": "sadness",
    "Sadness": "sadness", "Bitterness": "anger", "Contempt": "contempt", "Disgust": "disgust",
    "Anger": "anger", "Malevolence/Malice": "anger", "Sourness": "disgust", "Pain": "disgust",
    "Helplessness": "sadness", "Hopelessness": "sadness", "Jealousy & Envy": "contempt",
}


def _fine_expression(label: str) -> str:
    return _FINE_TO_DRAWN.get(label, "neutral")


def _geometry(size: int, rnd: random.Random) -> _Geometry:
    # The face stays above the bottom eighth, which the pair-code strip occupies.
    jitter = size * 0.02
    return _Geometry(size=size, cx=size / 2 + rnd.uniform(-jitter, jitter),
                     cy=size * 0.5 + rnd.uniform(-jitter, jitter), rx=size * rnd.uniform(0.29, 0.33),
                     ry=size * rnd.uniform(0.31, 0.33), width=max(1, size // 40))


def _visible_palette(rnd: random.Random) -> _Palette:
    skin = rnd.choice(_SKIN_TONES)
    hue = [rnd.randint(150, 235) for _ in range(3)]
    return _Palette(background=(hue[0], hue[1], hue[2]), skin=skin, line=(40, 25, 20),
                    eye_white=(250, 250, 250), pupil=(30, 30, 40), mouth=(120, 30, 40),
                    cheek=(235, 120, 120), text=(10, 10, 10))


def _draw_head(draw: ImageDraw.ImageDraw, g: _Geometry, p: _Palette) -> None:
    draw.ellipse((g.cx - g.rx, g.cy - g.ry, g.cx + g.rx, g.cy + g.ry), fill=p.skin, outline=p.line,
                 width=g.width)
    nose = [(g.cx, g.cy - 0.05 * g.ry), (g.cx - 0.08 * g.rx, g.cy + 0.22 * g.ry),
            (g.cx + 0.04 * g.rx, g.cy + 0.24 * g.ry)]
    draw.line(nose, fill=p.line, width=g.width)


def _draw_brows(draw: ImageDraw.ImageDraw, g: _Geometry, p: _Palette, style: str) -> None:
    inner_dy, outer_dy = (d * g.ry / 16 for d in _BROWS[style])
    y = g.cy - 0.38 * g.ry
    for side in (-1, 1):
        outer = (g.cx + side * 0.62 * g.rx, y + outer_dy)
        inner = (g.cx + side * 0.18 * g.rx, y + inner_dy)
        draw.line([outer, inner], fill=p.line, width=g.width + 1)


def _draw_eyes(draw: ImageDraw.ImageDraw, g: _Geometry, p: _Palette, style: str) -> None:
    r = g.rx * (0.15 if style == "wide" else 0.10)
    rh = r * (0.45 if style == "narrow" else 1.0)
    y = g.cy - 0.15 * g.ry
    for side in (-1, 1):
        x = g.cx + side * 0.4 * g.rx
        draw.ellipse((x - r, y - rh, x + r, y + rh), fill=p.eye_white, outline=p.line, width=1)
        pr = min(r * 0.5, rh)
        draw.ellipse((x - pr, y - pr, x + pr, y + pr), fill=p.pupil)


def _draw_mouth(draw: ImageDraw.ImageDraw, g: _Geometry, p: _Palette, style: str) -> None:
    x, y, w = g.cx, g.cy + 0.5 * g.ry, 0.38 * g.rx
    lw = g.width
    if style == "straight":
        draw.line([(x - w, y), (x + w, y)], fill=p.line, width=lw)
    elif style == "smile":
        draw.chord((x - w, y - 0.5 * w, x + w, y + 0.6 * w), 0, 180, fill=p.mouth, outline=p.line, width=lw)
    elif style == "frown":
        draw.arc((x - w, y, x + w, y + 0.9 * w), 200, 340, fill=p.line, width=lw + 1)
    elif style == "tight":
        draw.line([(x - w, y + 0.25 * w), (x - 0.7 * w, y), (x + 0.7 * w, y), (x + w, y + 0.25 * w)],
                  fill=p.line, width=lw + 1)
    elif style == "stretched":
        draw.ellipse((x - w, y - 0.2 * w, x + w, y + 0.3 * w), fill=p.mouth, outline=p.line, width=lw)
    elif style == "o":
        draw.ellipse((x - 0.3 * w, y - 0.4 * w, x + 0.3 * w, y + 0.4 * w), fill=p.mouth, outline=p.line,
                     width=lw)
    elif style == "wavy":
        pts = [(x - w + i * w / 3, y - (0.2 * w if i % 2 else 0)) for i in range(7)]
        draw.line(pts, fill=p.line, width=lw)
    elif style == "smirk":
        draw.line([(x - 0.8 * w, y), (x + 0.2 * w, y), (x + w, y - 0.4 * w)], fill=p.line, width=lw)


def _draw_extras(draw: ImageDraw.ImageDraw, g: _Geometry, p: _Palette, expression: str) -> None:
    if expression == "happiness":
        r = 0.12 * g.rx
        for side in (-1, 1):
            x, y = g.cx + side * 0.58 * g.rx, g.cy + 0.22 * g.ry
            draw.ellipse((x - r, y - r, x + r, y + r), fill=p.cheek)
    elif expression == "disgust":
        # Wrinkled nose: short diagonal creases either side of the bridge.
        for side in (-1, 1):
            x0, y0 = g.cx + side * 0.08 * g.rx, g.cy - 0.02 * g.ry
            draw.line([(x0, y0), (x0 + side * 0.12 * g.rx, y0 + 0.08 * g.ry)], fill=p.line, width=1)
            draw.line([(x0, y0 + 0.08 * g.ry), (x0 + side * 0.12 * g.rx, y0 + 0.16 * g.ry)], fill=p.line,
                      width=1)


def _font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=px)
    except (TypeError, OSError):  # Pillow built without FreeType
        return ImageFont.load_default()


def _draw_caption(img: Image.Image, caption: str, p: _Palette) -> None:
    draw = ImageDraw.Draw(img)
    fill: int | tuple[int, int, int] = p.text[0] if img.mode == "L" else p.text
    draw.text((2, 1), caption, fill=fill, font=_font(max(8, img.width // 11)))


# --- pair code: 14 equal cells along the bottom edge, white = 1:
#     [black ref, white ref, 10 data bits (MSB first), even parity, black end]
_CODE_CELLS = 14
_CODE_BITS = 10


def _strip_top(height: int) -> int:
    return height - max(8, height // 8)


def _cell_x(i: int, width: int) -> tuple[int, int]:
    return round(i * width / _CODE_CELLS), round((i + 1) * width / _CODE_CELLS) - 1


def _code_cells(code: int) -> list[int]:
    bits = [(code >> (_CODE_BITS - 1 - i)) & 1 for i in range(_CODE_BITS)]
    return [0, 1, *bits, sum(bits) % 2, 0]


def _draw_code_strip(img: Image.Image, code: int) -> None:
    if not 0 <= code < 2**_CODE_BITS:
        raise ValueError(f"pair_code must be in 0..{2**_CODE_BITS - 1}, got {code}")
    draw = ImageDraw.Draw(img)
    top = _strip_top(img.height)
    for i, bit in enumerate(_code_cells(code)):
        x0, x1 = _cell_x(i, img.width)
        value = 255 if bit else 0
        draw.rectangle((x0, top, x1, img.height - 1), fill=value if img.mode == "L" else _grey(value))


def read_pair_code(img: Image.Image) -> int:
    """Decode the pair code drawn by draw_face; ValueError when there is none."""
    grey = np.asarray(img.convert("L"), dtype=np.float64)
    h, w = grey.shape
    top = _strip_top(h)
    band = grey[top + (h - top) // 4: h - (h - top) // 4]
    means = []
    for i in range(_CODE_CELLS):
        x0, x1 = _cell_x(i, w)
        pad = (x1 - x0) // 4  # sample the cell centre only: JPEG blurs the edges
        means.append(float(band[:, x0 + pad: x1 - pad + 1].mean()))
    black, white = means[0], means[1]
    if white - black < 80:
        raise ValueError("no pair code found: reference cells lack contrast")
    cells = [int(m > (black + white) / 2) for m in means]
    bits, parity, end = cells[2:2 + _CODE_BITS], cells[2 + _CODE_BITS], cells[-1]
    if end != 0 or sum(bits) % 2 != parity:
        raise ValueError("no valid pair code found: parity or end marker mismatch")
    return int("".join(map(str, bits)), 2)


def draw_face(expression: str, size: int = 128, *, modality: str = "visible", pair_code: int | None = None,
              seed: int = 0, caption: str | None = None) -> Image.Image:
    """A cartoon face whose expression is visible at a glance (RGB, or L for modality='ir').

    The same seed gives the same geometry in both modalities, so a visible/IR pair matches.
    """
    if expression not in _PARTS:
        raise ValueError(f"unknown expression {expression!r}; expected one of {EXPRESSIONS}")
    if modality not in ("visible", "ir"):
        raise ValueError(f"modality must be 'visible' or 'ir', got {modality!r}")
    rnd = random.Random(_seed_int(seed, "face"))
    g = _geometry(size, rnd)  # drawn first so both modalities consume the same randomness
    p = _visible_palette(rnd) if modality == "visible" else _IR_PALETTE
    img = Image.new("RGB", (size, size), p.background)
    draw = ImageDraw.Draw(img)
    brows, eyes, mouth = _PARTS[expression]
    _draw_head(draw, g, p)
    _draw_extras(draw, g, p, expression)
    _draw_brows(draw, g, p, brows)
    _draw_eyes(draw, g, p, eyes)
    _draw_mouth(draw, g, p, mouth)
    if modality == "ir":
        img = img.convert("L").filter(ImageFilter.GaussianBlur(max(1, size // 80)))
    if caption:
        _draw_caption(img, caption, p)
    if pair_code is not None:
        _draw_code_strip(img, pair_code)
    return img


def _jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=_JPEG_QUALITY)
    return buf.getvalue()


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


# --------------------------------------------------------------------------- file writers


def _write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    _write_bytes(path, buf.getvalue().encode("utf-8"))


def _zip_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.create_system = 3  # fixed, not the build host's OS
    info.external_attr = (0o40755 if name.endswith("/") else 0o100644) << 16
    info.compress_type = zipfile.ZIP_STORED if name.endswith("/") else zipfile.ZIP_DEFLATED
    return info


def _zip_bytes(members: Sequence[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members:
            zf.writestr(_zip_info(name), data)
    return buf.getvalue()


def _write_7z(path: Path, members: Sequence[tuple[str, bytes]]) -> None:
    import py7zr
    from py7zr.helpers import ArchiveTimestamp

    path.parent.mkdir(parents=True, exist_ok=True)
    fixed = ArchiveTimestamp.from_datetime(_FIXED_DATETIME.replace(tzinfo=dt.timezone.utc).timestamp())
    with py7zr.SevenZipFile(path, "w") as archive:
        for name, data in members:
            archive.writestr(data, name)
        # py7zr stamps members with the current time; only lastwritetime reaches the header.
        for info in archive.header.files_info.files:
            info["lastwritetime"] = info["creationtime"] = info["lastaccesstime"] = fixed


def _write_xlsx(path: Path, sheets: dict[str, tuple[Sequence[str], Sequence[Sequence[object]]]]) -> None:
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook()
    wb.remove(wb.active)
    for title, (header, rows) in sheets.items():
        ws = wb.create_sheet(title)
        ws.append(list(header))
        for row in rows:
            ws.append(list(row))
    wb.properties.created = wb.properties.modified = _FIXED_DATETIME
    raw = io.BytesIO()
    # ExcelWriter, unlike save_workbook, leaves `modified` alone; its zip still carries
    # wall-clock member times, so re-pack with fixed ones.
    ExcelWriter(wb, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED)).save()
    with zipfile.ZipFile(raw) as zf:
        members = [(n, zf.read(n)) for n in zf.namelist()]
    _write_bytes(path, _zip_bytes(members))


def _write_parquet(path: Path, rows: list[dict], features: datasets.Features) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # Features.arrow_schema carries the 'huggingface' metadata the Hub's own files have.
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=features.arrow_schema), path)


def _image_cell(data: bytes, name: str) -> dict:
    return {"bytes": data, "path": name}


def _dataset_card(title: str, body: str) -> bytes:
    return (
        "---\nlicense: cc-by-4.0\ntask_categories:\n- image-classification\n"
        f"pretty_name: {title} (miniature synthetic sample)\n"
        "configs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/train-*\n---\n\n"
        f"# {title} — miniature sample\n\n{body}\n\n"
        "Cartoon faces generated by emotion-curator (`curator samples`) in the real repository's\n"
        "format, for offline tests. Prohibited uses (from the EmoNet-Face card): no emotion inference\n"
        "in workplaces or education, no biometric categorisation of real people, no manipulation.\n"
    ).encode()


# --------------------------------------------------------------------------- shared inputs


def shared_dir() -> Path:
    """The shared folder holding the real EmoNet-Face guide.json and binary.csv."""
    env = os.environ.get("CURATOR_SHARED")
    base = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared"
    folder = base / "sources" / "emonet-face"
    if not (folder / "guide.json").is_file() or not (folder / "binary.csv").is_file():
        raise CuratorError(f"EmoNet-Face reference files not found in {folder} "
                           "(expected guide.json and binary.csv; set CURATOR_SHARED to the shared folder)")
    return folder


def emonet_labels() -> list[str]:
    """The 40 EmoNet-Face category names, in guide.json order."""
    guide = json.loads((shared_dir() / "guide.json").read_text(encoding="utf-8"))
    return list(guide["options"]["labels"])


def _emonet_synonyms() -> dict[str, list[str]]:
    return json.loads((shared_dir() / "guide.json").read_text(encoding="utf-8"))["options"]["labels"]


# --------------------------------------------------------------------------- per-source builds


@dataclass
class _Built:
    """What one source wrote and what prepare/normalize must make of it."""

    files: list[Path]
    items: int
    prepare_rejects: Counter[Reason] = field(default_factory=Counter)
    normalize_rejects: Counter[Reason] = field(default_factory=Counter)

    def expected(self) -> dict:
        kept = self.items - sum(self.prepare_rejects.values()) - sum(self.normalize_rejects.values())
        return {"records": kept,
                "prepare_rejects": {str(k): v for k, v in sorted(self.prepare_rejects.items())},
                "normalize_rejects": {str(k): v for k, v in sorted(self.normalize_rejects.items())}}


# --- Kaggle physiological CSV

KAGGLE_COLUMNS = ("eda_mean", "eda_std", "eda_peaks", "hr_mean", "hr_std", "hr_skewness", "face_au01",
                  "face_au06", "face_au12", "face_landmark_distance1", "face_landmark_distance2",
                  "face_landmark_ratio1", "emotion_label")
KAGGLE_CLASSES = ("Neutral", "Happy", "Sad", "Angry", "Fear", "Surprise")
_KAGGLE_PER_CLASS = 20

# Per-class means of (eda_mean, eda_std, eda_peaks, hr_mean, hr_std, hr_skewness, au01, au06, au12,
# dist1, dist2, ratio1): arousal moves EDA/HR, the action units follow each expression.
_KAGGLE_PROFILE = {
    "Neutral": (2.0, 0.30, 2, 70, 4.0, 0.0, 0.10, 0.10, 0.10, 30, 45, 0.67),
    "Happy": (3.5, 0.45, 4, 80, 5.0, 0.2, 0.15, 0.75, 0.80, 36, 44, 0.82),
    "Sad": (1.8, 0.25, 2, 66, 3.5, -0.3, 0.60, 0.10, 0.05, 28, 47, 0.60),
    "Angry": (5.0, 0.70, 7, 92, 7.0, 0.5, 0.20, 0.20, 0.10, 29, 42, 0.69),
    "Fear": (5.5, 0.80, 8, 96, 7.5, 0.6, 0.75, 0.15, 0.15, 33, 49, 0.67),
    "Surprise": (4.2, 0.60, 5, 86, 6.0, 0.3, 0.80, 0.20, 0.20, 40, 52, 0.77),
}
_KAGGLE_SPREAD = (0.5, 0.08, 0, 5, 1.0, 0.3, 0.08, 0.08, 0.08, 2.5, 2.5, 0.04)


def _kaggle_row(label: str, rng: np.random.Generator) -> list[object]:
    means = _KAGGLE_PROFILE[label]
    values: list[object] = []
    for i, (mu, sd) in enumerate(zip(means, _KAGGLE_SPREAD, strict=True)):
        if i == 2:
            values.append(int(rng.poisson(mu)))  # eda_peaks is an integer count
            continue
        x = float(rng.normal(mu, sd))
        if 6 <= i <= 8:
            x = min(1.0, max(0.0, x))  # AU intensities live in [0, 1]
        values.append(f"{x:.4f}")
    return values


def _messy_label(label: str, rnd: random.Random) -> str:
    # The real CSV carries stray whitespace and case variants.
    return rnd.choice([label] * 5 + [f"  {label}", f"{label} ", label.lower(), f" {label.lower()} "])


def _kaggle_rows(seed: int) -> list[list[object]]:
    rng, rnd = _np_rng(seed, "kaggle"), _rand(seed, "kaggle")
    rows = [[*_kaggle_row(c, rng), _messy_label(c, rnd)]
            for c in KAGGLE_CLASSES for _ in range(_KAGGLE_PER_CLASS)]
    rnd.shuffle(rows)
    return rows


def _kaggle_dirty_rows(seed: int) -> list[tuple[int, list[object]]]:
    rng, rnd = _np_rng(seed, "kaggle-dirty"), _rand(seed, "kaggle-dirty")
    bored = [*_kaggle_row("Neutral", rng), "Bored"]
    bad_hr = [*_kaggle_row("Happy", rng), "Happy"]
    bad_hr[KAGGLE_COLUMNS.index("hr_mean")] = "abc"
    return [(rnd.randrange(100), bored), (rnd.randrange(100), bad_hr)]


def _build_kaggle(out: Path, seed: int, dirty: bool) -> _Built:
    rows = _kaggle_rows(seed)
    built = _Built(files=[out / "kaggle_physio" / "face_emotion_physio.csv"], items=len(rows))
    if dirty:
        for pos, row in _kaggle_dirty_rows(seed):
            rows.insert(pos, row)
        built.items += 2
        built.prepare_rejects[Reason.BAD_VALUE] += 1
        built.normalize_rejects[Reason.UNKNOWN_LABEL] += 1
    _write_csv(built.files[0], KAGGLE_COLUMNS, rows)
    return built


# --- EmoNet-Face shared helpers

_ETHNICITIES = ("Asian", "Black", "Caucasian", "Hispanic", "Middle Eastern", "South Asian")
_GENDERS = ("female", "male")
_AGES = ("20s", "30s", "40s", "50s", "60s")


def _demographics(rnd: random.Random) -> dict[str, str]:
    return {"ethnicity": rnd.choice(_ETHNICITIES), "gender": rnd.choice(_GENDERS), "age": rnd.choice(_AGES)}


def _prompt(demo: dict[str, str], label: str, synonyms: dict[str, list[str]], rnd: random.Random) -> str:
    word = rnd.choice(synonyms.get(label) or [label.lower()])
    who = f"{demo['ethnicity']} {demo['gender']} in their {demo['age']}"
    return f"A close-up portrait photo of a {who}, showing {word}."


def _emonet_face(label: str, seed: int, key: str) -> Image.Image:
    return draw_face(_fine_expression(label), _EMONET_SIZE, seed=_seed_int(seed, key), caption=label)


def _ratings(labels: Sequence[str], top: str, rnd: random.Random) -> dict[str, int]:
    # One clear winner (5-7) over sparse low ratings (<=3), so the aggregate argmax is unambiguous.
    return {name: rnd.randint(5, 7) if name == top else rnd.choice((0, 0, 0, 0, 1, 2, 3)) for name in labels}


# --- EmoNet-Face HQ

_HQ_IMAGES = 24
_HQ_EXPERTS = ("expert-1", "expert-2", "expert-3", "expert-4")
_HQ_MODEL = "Hume Face (v2)"


def _hq_annotators(rnd: random.Random) -> list[str]:
    experts = sorted(rnd.sample(_HQ_EXPERTS, rnd.randint(2, 4)))
    if len(experts) < 4 and rnd.random() < 0.3:
        experts.append(_HQ_MODEL)  # a model annotator, not a human
    return experts


def _hq_annotation(labels: Sequence[str], top: str, rnd: random.Random) -> str:
    values: dict[str, int] = _ratings(labels, top, rnd)
    values["Extra Dimensions|Valence"] = rnd.randint(-3, 3)
    values["Extra Dimensions|Arousal"] = rnd.randint(0, 7)
    values["Extra Dimensions|Dominance"] = rnd.randint(-3, 3)
    return str(values)  # the published CSV holds a Python dict repr, single quotes


def _hq_image(i: int, labels: list[str], synonyms: dict, seed: int, rnd: random.Random,
              image_bytes: bytes | None = None) -> tuple[dict, list[list[str]]]:
    """One parquet row and its hq.csv rows."""
    name, top = f"{i:05d}.jpg", rnd.choice(labels)
    demo = _demographics(rnd)
    data = _jpeg(_emonet_face(top, seed, f"hq:{i}")) if image_bytes is None else image_bytes
    prompt = _prompt(demo, top, synonyms, rnd)
    row = {"image": _image_cell(data, name), "prompt": prompt, "demographics": demo}
    csv_rows = [[name, who, _hq_annotation(labels, top, rnd)] for who in _hq_annotators(rnd)]
    return row, csv_rows


def _hq_features() -> datasets.Features:
    import datasets

    text = datasets.Value("string")
    return datasets.Features({"image": datasets.Image(), "prompt": text,
                              "demographics": {"ethnicity": text, "gender": text, "age": text}})


def _hq_malformed_row(csv_rows: list[list[str]], rnd: random.Random) -> list[str]:
    # One more expert on a valid image that lacks one, its dict cut short mid-way.
    used: dict[str, set[str]] = {}
    for name, who, _ann in csv_rows:
        used.setdefault(name, set()).add(who)
    name = rnd.choice(sorted(n for n, w in used.items() if not w >= set(_HQ_EXPERTS)))
    who = next(e for e in _HQ_EXPERTS if e not in used[name])
    return [name, who, "{'Anger': 3, 'Fear':"]


def _build_emonet_hq(out: Path, seed: int, dirty: bool) -> _Built:
    labels, synonyms, rnd = emonet_labels(), _emonet_synonyms(), _rand(seed, "emonet_hq")
    rows, csv_rows = [], []
    for i in range(_HQ_IMAGES):
        row, ann = _hq_image(i, labels, synonyms, seed, rnd)
        rows.append(row)
        csv_rows.extend(ann)
    root = out / "emonet_hq"
    parquet = root / "data" / "train-00000-of-00001.parquet"
    built = _Built(files=[root / "hq.csv", parquet, root / "README.md"], items=len(rows))
    if dirty:
        drnd = _rand(seed, "emonet_hq-dirty")
        row, ann = _hq_image(_HQ_IMAGES, labels, synonyms, seed, drnd, image_bytes=b"")
        rows.append(row)
        csv_rows.extend([*ann, _hq_malformed_row(csv_rows, drnd)])
        built.items += 2  # the empty image, and the malformed annotation row
        built.prepare_rejects.update({Reason.EMPTY_FILE: 1, Reason.MALFORMED_ANNOTATION: 1})
    _write_csv(root / "hq.csv", ("image", "annotator", "annotations"), csv_rows)
    _write_parquet(parquet, rows, _hq_features())
    _write_bytes(root / "README.md", _dataset_card("EmoNet-Face HQ", "Expert ratings: see hq.csv."))
    return built


# --- EmoNet-Face binary

_BINARY_IMAGES = 40
_BINARY_SHARDS = 2


def binary_label_names() -> list[str]:
    """ClassLabel names as the binary repo spells them: 'Hopelessness', not 'Helplessness'.

    Sorted, as a ClassLabel built from names is; so it is not guide.json's order, and a reader
    must take names from the Parquet metadata rather than assume an order.
    """
    return sorted("Hopelessness" if n == "Helplessness" else n for n in emonet_labels())


def _binary_csv_lines(stems: set[str]) -> tuple[str, list[str]]:
    lines = (shared_dir() / "binary.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    return lines[0], [ln for ln in lines[1:] if ln.split(",", 1)[0] in stems]


def _first_emotions(lines: list[str]) -> dict[str, str]:
    first: dict[str, str] = {}
    for ln in lines:
        stem, _annotator, _value, emotion = next(csv.reader([ln]))
        first.setdefault(stem, emotion)
    return first


def _binary_features(names: list[str]) -> datasets.Features:
    import datasets

    return datasets.Features({"path": datasets.Image(), "emotion": datasets.ClassLabel(names=names)})


def _binary_row(stem: str, emotion: str, names: list[str], seed: int) -> dict:
    data = _png(_emonet_face(emotion, seed, f"binary:{stem}"))
    return {"path": _image_cell(data, f"{stem}.png"), "emotion": names.index(emotion)}


def _build_emonet_binary(out: Path, seed: int, dirty: bool) -> _Built:
    stems = [f"{i:05d}" for i in range(_BINARY_IMAGES + (1 if dirty else 0))]
    header, lines = _binary_csv_lines(set(stems))
    first, names = _first_emotions(lines), binary_label_names()
    missing = [s for s in stems if s not in first]
    if missing:
        raise CuratorError(f"binary.csv has no rows for stems {missing}")
    rows = [_binary_row(s, first[s], names, seed) for s in stems[:_BINARY_IMAGES]]
    shards = [rows[:_BINARY_IMAGES // 2], rows[_BINARY_IMAGES // 2:]]
    root = out / "emonet_binary"
    files = [root / "data" / f"train-{k:05d}-of-{_BINARY_SHARDS:05d}.parquet" for k in range(_BINARY_SHARDS)]
    built = _Built(files=[root / "binary.csv", *files, root / "README.md"], items=len(rows))
    if dirty:
        bad = _binary_row(stems[-1], first[stems[-1]], names, seed)
        bad["path"]["bytes"] = bad["path"]["bytes"][: len(bad["path"]["bytes"]) // 2]
        dup = rows[_seed_int(seed, "binary-dup") % len(shards[0])]  # repeated in the other shard
        shards[1].extend([bad, dup])
        built.items += 2
        built.prepare_rejects.update({Reason.TRUNCATED_IMAGE: 1, Reason.DUPLICATE_ID: 1})
    _write_bytes(root / "binary.csv", (header + "".join(lines)).encode("utf-8"))
    for path, shard in zip(files, shards, strict=True):
        _write_parquet(path, shard, _binary_features(names))
    _write_bytes(root / "README.md", _dataset_card("EmoNet-Face Binary", "Votes: binary.csv (GitHub)."))
    return built


# --- EmoNet-Face big

_BIG_IMAGES = 30
_BIG_SHARDS = 2


def _big_annotation(labels: Sequence[str], top: str, rnd: random.Random, extra: str | None = None) -> str:
    ratings = _ratings(labels, top, rnd)
    if extra:  # an unknown name that outranks every real one
        ratings = {k: min(v, 3) for k, v in ratings.items()} | {extra: 7}
    emotions = {k: {"rating": v, "reasoning": f"Facial cues rated {v}/7 for {k.lower()}."}
                for k, v in ratings.items()}
    dims = {"Arousal": rnd.randint(0, 7), "Valence": rnd.randint(-3, 3), "Dominance": rnd.randint(-3, 3),
            "Emotional Vulnerability": rnd.randint(0, 5)}
    return json.dumps({"emotions": emotions, "extra_dimensions": dims})


def _big_row(i: int, labels: list[str], synonyms: dict, seed: int, rnd: random.Random,
             image_bytes: bytes | None = None, extra: str | None = None) -> dict:
    top, demo = rnd.choice(labels), _demographics(rnd)
    data = _jpeg(_emonet_face(top, seed, f"big:{i}")) if image_bytes is None else image_bytes
    return {"image": _image_cell(data, f"{i:06d}.jpg"), "prompt": _prompt(demo, top, synonyms, rnd),
            "demographics": str(demo), "annotations": _big_annotation(labels, top, rnd, extra)}


def _big_features() -> datasets.Features:
    import datasets

    text = datasets.Value("string")
    return datasets.Features({"image": datasets.Image(), "prompt": text, "demographics": text,
                              "annotations": text})


def _build_emonet_big(out: Path, seed: int, dirty: bool) -> _Built:
    labels, synonyms, rnd = emonet_labels(), _emonet_synonyms(), _rand(seed, "emonet_big")
    rows = [_big_row(i, labels, synonyms, seed, rnd) for i in range(_BIG_IMAGES)]
    shards = [rows[:_BIG_IMAGES // 2], rows[_BIG_IMAGES // 2:]]
    root = out / "emonet_big"
    files = [root / "data" / f"train-{k:05d}-of-{_BIG_SHARDS:05d}.parquet" for k in range(_BIG_SHARDS)]
    built = _Built(files=[*files, root / "README.md"], items=len(rows))
    if dirty:
        drnd = _rand(seed, "emonet_big-dirty")
        not_image = b"this is not an image"
        shards[1].append(_big_row(_BIG_IMAGES, labels, synonyms, seed, drnd, image_bytes=not_image))
        shards[1].append(_big_row(_BIG_IMAGES + 1, labels, synonyms, seed, drnd, extra="Boredom"))
        built.items += 2
        built.prepare_rejects[Reason.NOT_AN_IMAGE] += 1
        built.normalize_rejects[Reason.UNKNOWN_LABEL] += 1
    for path, shard in zip(files, shards, strict=True):
        _write_parquet(path, shard, _big_features())
    _write_bytes(root / "README.md", _dataset_card("EmoNet-Face Big", "VLM weak labels in `annotations`."))
    return built


# --- VIRI / NVIE paired archives


@dataclass
class _Pair:
    """One visible/IR pair as archive members: (archive key, member name, bytes) per side."""

    vis: tuple[str, str, bytes] | None
    ir: tuple[str, str, bytes] | None

    def replace_vis(self, *, name: str | None = None, data: bytes | None = None) -> _Pair:
        assert self.vis is not None
        key, old_name, old_data = self.vis
        return _Pair(vis=(key, name or old_name, old_data if data is None else data), ir=self.ir)


def _pair_images(expression: str, code: int, face_seed: int, caption: str) -> tuple[bytes, bytes]:
    vis = draw_face(expression, pair_code=code, seed=face_seed, caption=caption)
    ir = draw_face(expression, modality="ir", pair_code=code, seed=face_seed, caption=caption)
    return _jpeg(vis), _jpeg(ir)


def _shuffled_members(members: list[tuple[str, bytes]], rnd: random.Random) -> list[tuple[str, bytes]]:
    """Seeded order that is never the sorted one, so list order can't be relied on."""
    order = sorted(members)
    shuffled = order[:]
    rnd.shuffle(shuffled)
    if len(shuffled) > 1 and shuffled == order:
        shuffled = shuffled[1:] + shuffled[:1]
    return shuffled


def _write_archives(folder: Path, pairs: list[_Pair], rnd: random.Random,
                    archives: dict[str, str]) -> list[Path]:
    """archives: archive key -> file name (.zip or .7z); members go under '<key>/'."""
    members: dict[str, list[tuple[str, bytes]]] = {k: [] for k in archives}
    for pair in pairs:
        for side in (pair.vis, pair.ir):
            if side is not None:
                key, name, data = side
                members[key].append((f"{key}/{name}", data))
    paths = []
    for key, filename in sorted(archives.items()):
        path, content = folder / filename, _shuffled_members(members[key], rnd)
        if filename.endswith(".7z"):
            _write_7z(path, content)
        else:
            _write_bytes(path, _zip_bytes([(f"{key}/", b""), *content]))
        paths.append(path)
    return paths


_VIRI_CLASSES = {"Angry": "anger", "Happy": "happiness", "Neutral": "neutral", "Sad": "sadness",
                 "Surprise": "surprise"}
_PAIRS_PER_CLASS = 6


def _viri_names(number: int, rnd: random.Random) -> tuple[str, str]:
    vis_ext = rnd.choice([".JPG"] * 6 + [".jpg"])
    if rnd.random() < 0.75:
        return f"IMG_{number:04d}{vis_ext}", f"IMG_{number:04d}_IR.JPG"
    return f"IMG_{number:04d}{vis_ext}", f"img_{number:04d}-ir.jpg"  # case and separator vary


def _viri_pair(cls: str, number: int, code: int, seed: int, rnd: random.Random) -> _Pair:
    vis_name, ir_name = _viri_names(number, rnd)
    vis, ir = _pair_images(_VIRI_CLASSES[cls], code, _seed_int(seed, f"viri:{number}"), cls)
    return _Pair(vis=(f"{cls}-Vis", vis_name, vis), ir=(f"{cls}-Ir", ir_name, ir))


def _pair_codes(seed: int, name: str, n: int) -> list[int]:
    return _rand(seed, f"{name}-codes").sample(range(1, 2**_CODE_BITS), n)


def _viri_dirty(seed: int, codes: list[int]) -> list[_Pair]:
    rnd = _rand(seed, "viri-dirty")
    n = len(_VIRI_CLASSES) * _PAIRS_PER_CLASS
    lonely = _viri_pair("Happy", n + 1, codes[0], seed, rnd)
    truncated = _viri_pair("Sad", n + 2, codes[1], seed, rnd)
    assert truncated.vis is not None
    half = truncated.vis[2][: len(truncated.vis[2]) // 2]
    return [_Pair(vis=None, ir=lonely.ir), truncated.replace_vis(data=half)]


def _build_viri(out: Path, seed: int, dirty: bool) -> _Built:
    rnd, n = _rand(seed, "viri"), len(_VIRI_CLASSES) * _PAIRS_PER_CLASS
    codes = _pair_codes(seed, "viri", n + 2)
    pairs = [_viri_pair(cls, k * _PAIRS_PER_CLASS + j + 1, codes[k * _PAIRS_PER_CLASS + j], seed, rnd)
             for k, cls in enumerate(_VIRI_CLASSES) for j in range(_PAIRS_PER_CLASS)]
    j = rnd.randrange(n)  # exactly one '.jpeg': the real archives mix extensions
    assert pairs[j].vis is not None
    pairs[j] = pairs[j].replace_vis(name=pairs[j].vis[1].rsplit(".", 1)[0] + ".jpeg")
    built = _Built(files=[], items=len(pairs))
    if dirty:
        pairs += _viri_dirty(seed, codes[n:])
        built.items += 2
        built.prepare_rejects.update({Reason.UNPAIRED: 1, Reason.TRUNCATED_IMAGE: 1})
    archives = {f"{c}-{m}": f"VIRI-{c}-{m}.zip" for c in _VIRI_CLASSES for m in ("Ir", "Vis")}
    built.files = _write_archives(out / "viri", pairs, _rand(seed, "viri-order"), archives)
    return built


_NVIE_CLASSES = {"fear": "fear", "disgust": "disgust", "happy": "happiness"}
_NVIE_SPLIT = ("disgust", "happy")  # visible images split over '<class>1' and '<class>2' archives
_NVIE_ARCHIVES = {"disgust-Ir": "NVIE-disgust-Ir.zip", "disgust1-Vis": "NVIE-disgust1-Vis.zip",
                  "disgust2-Vis": "NVIE-disgust2-Vis.zip", "fear-Ir": "NVIE-fear-Ir.zip",
                  "fear-Vis": "NVIE-fear-Vis.zip", "happy-Ir": "NVIE-happy-Ir.zip",
                  "happy1-Vis": "NVIE-happy1-Vis.7z", "happy2-Vis": "NVIE-happy2-Vis.zip"}
_NVIE_SUBJECTS_PER_CLASS = 3


def _nvie_pair(cls: str, subject: int, take: int, part: int, code: int, seed: int,
               rnd: random.Random) -> _Pair:
    stem = f"S{subject:03d}_{cls}_{take:02d}"
    ir_name = f"{stem}_ir.JPG" if rnd.random() < 0.4 else f"{stem}.JPG"
    vis_key = f"{cls}{part}-Vis" if cls in _NVIE_SPLIT else f"{cls}-Vis"
    vis, ir = _pair_images(_NVIE_CLASSES[cls], code, _seed_int(seed, f"nvie:{stem}"), cls)
    return _Pair(vis=(vis_key, f"{stem}.JPG", vis), ir=(f"{cls}-Ir", ir_name, ir))


def _nvie_pairs(seed: int, codes: list[int]) -> list[_Pair]:
    rnd, pairs = _rand(seed, "nvie"), []
    per_subject = _PAIRS_PER_CLASS // _NVIE_SUBJECTS_PER_CLASS
    for cls in _NVIE_CLASSES:
        subjects = sorted(rnd.sample(range(1, 40), _NVIE_SUBJECTS_PER_CLASS))
        for k, subject in enumerate(subjects):
            part = 1 if k < _NVIE_SUBJECTS_PER_CLASS - 1 else 2  # split by subject
            for take in range(1, per_subject + 1):
                pairs.append(_nvie_pair(cls, subject, take, part, codes[len(pairs)], seed, rnd))
    return pairs


def _build_nvie(out: Path, seed: int, dirty: bool) -> _Built:
    n = len(_NVIE_CLASSES) * _PAIRS_PER_CLASS
    codes = _pair_codes(seed, "nvie", n + 1)
    pairs = _nvie_pairs(seed, codes)
    built = _Built(files=[], items=len(pairs))
    if dirty:
        bad = _nvie_pair("fear", 77, 1, 1, codes[n], seed, _rand(seed, "nvie-dirty"))
        pairs.append(bad.replace_vis(data=b""))  # zero-byte visible, IR intact
        built.items += 1
        built.prepare_rejects[Reason.EMPTY_FILE] += 1
    built.files = _write_archives(out / "nvie", pairs, _rand(seed, "nvie-order"), _NVIE_ARCHIVES)
    return built


# --- EMER

EMER_CLASSES = ("happiness", "sadness", "fear", "surprise", "disgust", "anger", "neutral")
EMER_LABEL_COLUMNS = ("ID", "Emotion", "Valence", "Arousal", "Intensity")
EMER_EYE_COLUMNS = ("Recording timestamp", "Gaze point X", "Gaze point Y", "Pupil diameter left",
                    "Pupil diameter right", "Eye movement type")
_EMER_SAMPLES, _EMER_PARTICIPANTS, _EMER_MISMATCHES = 14, 7, 3
_EMER_EYE_ROWS = 50
# (valence, arousal) centres in [-1, 1]
_EMER_VA = {"happiness": (0.7, 0.5), "sadness": (-0.6, -0.3), "fear": (-0.7, 0.7), "surprise": (0.2, 0.8),
            "disgust": (-0.6, 0.3), "anger": (-0.7, 0.7), "neutral": (0.0, -0.2), "Bored": (-0.2, -0.6)}


@dataclass
class _EmerSample:
    id: str
    participant: str
    fer: str
    er: str
    intensity: int


def _emer_samples(seed: int) -> list[_EmerSample]:
    rnd = _rand(seed, "emer")
    participants = sorted(rnd.sample(range(1, 30), _EMER_PARTICIPANTS))
    fer = [EMER_CLASSES[i % len(EMER_CLASSES)] for i in range(_EMER_SAMPLES)]
    rnd.shuffle(fer)
    er = fer[:]
    for i in rnd.sample(range(_EMER_SAMPLES), _EMER_MISMATCHES):  # felt differs from shown
        er[i] = rnd.choice([c for c in EMER_CLASSES if c != fer[i]])
    intensity = [0 if f == "neutral" else rnd.randint(1, 3) for f in fer]  # FER scale 0..3
    return [_EmerSample(id=f"{i + 1:03d}", participant=f"P{participants[i // 2]:02d}", fer=fer[i], er=er[i],
                        intensity=intensity[i]) for i in range(_EMER_SAMPLES)]


def _emer_label_row(s: _EmerSample, emotion: str, rng: np.random.Generator) -> list[object]:
    v, a = (float(np.clip(c + rng.normal(0, 0.12), -1, 1)) for c in _EMER_VA[emotion])
    return [s.id, emotion, round(v, 3), round(a, 3), s.intensity]


def _emer_eye_rows(rng: np.random.Generator) -> list[list[object]]:
    rows, t = [], int(rng.integers(1000, 5000))
    x, y = rng.normal(960, 120), rng.normal(540, 90)
    for _ in range(_EMER_EYE_ROWS):
        saccade = rng.random() < 0.2
        if saccade:  # a jump in gaze position
            x, y = x + rng.normal(0, 150), y + rng.normal(0, 100)
        x, y = float(np.clip(x + rng.normal(0, 4), 0, 1919)), float(np.clip(y + rng.normal(0, 4), 0, 1079))
        left = float(rng.normal(3.4, 0.15))
        right = left + float(rng.normal(0, 0.05))
        kind = "Saccade" if saccade else "Fixation"
        rows.append([t, round(x), round(y), round(left, 2), round(right, 2), kind])
        t += int(rng.integers(8, 10))  # ~120 Hz
    return rows


def _emer_write_sample(root: Path, s: _EmerSample, seed: int) -> list[Path]:
    rng = _np_rng(seed, f"emer-eye:{s.id}")
    eye, face = root / "eye" / f"{s.id}.xlsx", root / "face" / f"{s.id}.jpg"
    _write_xlsx(eye, {"Sheet1": (EMER_EYE_COLUMNS, _emer_eye_rows(rng))})
    expression = s.fer if s.fer in _PARTS else "neutral"
    _write_bytes(face, _jpeg(draw_face(expression, seed=_seed_int(seed, f"emer:{s.id}"), caption=s.fer)))
    return [eye, face]


def _build_emer(out: Path, seed: int, dirty: bool) -> _Built:
    root, samples = out / "emer", _emer_samples(seed)
    built = _Built(files=[], items=len(samples))
    if dirty:
        samples.append(_EmerSample(id=f"{len(samples) + 1:03d}", participant=samples[0].participant,
                                   fer="Bored", er="Bored", intensity=1))
        built.items += 1
        built.normalize_rejects[Reason.UNKNOWN_LABEL] += 1
    rng = _np_rng(seed, "emer-labels")
    sheets = {"ER": (EMER_LABEL_COLUMNS, [_emer_label_row(s, s.er, rng) for s in samples]),
              "FER": (EMER_LABEL_COLUMNS, [_emer_label_row(s, s.fer, rng) for s in samples])}
    _write_xlsx(root / "new_label.xlsx", sheets)
    _write_csv(root / "participants.csv", ("ID", "participant"), [(s.id, s.participant) for s in samples])
    built.files = [root / "new_label.xlsx", root / "participants.csv"]
    for s in samples:
        built.files += _emer_write_sample(root, s, seed)
    return built


# --------------------------------------------------------------------------- manifest

SOURCES: dict[str, Callable[[Path, int, bool], _Built]] = {
    "kaggle_physio": _build_kaggle,
    "emonet_hq": _build_emonet_hq,
    "emonet_binary": _build_emonet_binary,
    "emonet_big": _build_emonet_big,
    "viri": _build_viri,
    "nvie": _build_nvie,
    "emer": _build_emer,
}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _source_entry(out: Path, built: _Built) -> dict:
    files = sorted(p.relative_to(out).as_posix() for p in built.files)
    checksums = {f: {"size": (out / f).stat().st_size, "sha256": sha256_file(out / f)} for f in files}
    return {"files": files, "checksums": checksums, "items": built.items, "expected": built.expected()}


def _checksums_tsv(manifest: dict) -> str:
    lines = ["source\tfilename\tsize\tsha256"]
    for source, entry in manifest.items():
        for rel, c in entry["checksums"].items():
            lines.append(f"{source}\t{rel.split('/', 1)[1]}\t{c['size']}\t{c['sha256']}")
    return "\n".join(lines) + "\n"


def _prune_stale(out: Path, manifest: dict) -> None:
    """Delete files a previous build left in our source folders (e.g. dirty extras), so a
    rebuild in place serves exactly what the manifest lists."""
    written = {out / f for entry in manifest.values() for f in entry["files"]}
    for name in manifest:
        for path in sorted((out / name).rglob("*")):
            if path.is_file() and path not in written:
                path.unlink()


def build_samples(out: Path, *, dirty: bool = False, seed: int = 0) -> dict:
    """Write miniature copies of every source under `out`; return (and write) the manifest.

    manifest[source] = {files: [paths relative to out], checksums: {path: {size, sha256}},
    items: N, expected: {records, prepare_rejects: {reason: n}, normalize_rejects: {reason: n}}}.
    checksums.tsv lists every downloadable file with its name relative to its source folder.
    Files in out/<source>/ that this build did not write are deleted.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest = {name: _source_entry(out, build(out, seed, dirty)) for name, build in SOURCES.items()}
    _prune_stale(out, manifest)
    (out / "checksums.tsv").write_text(_checksums_tsv(manifest), encoding="utf-8")
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    (out / "manifest.json").write_text(text, encoding="utf-8")
    return manifest
