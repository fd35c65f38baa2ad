"""EMER sample: the layout the authors' loader reads, with the shapes of a real delivery (README.md).

    new_label.xlsx                 one sheet: ID, Emotion (integer code), Valence, Arousal, Intensity
    face/set1..set5/<ID>/0001.jpg  several frames per sample; the set folder is the fold
    eye/<ID>.xlsx                  one all-numeric sheet of 39 Tobii Pro Lab columns; no set folders
    fixation/<ID>/0001.jpg         eye fixation maps (the README's third subset): excluded by the recipe

Invented for want of evidence (UNVERIFIED): frame and fixation file names, the fixation folder's name
and shape, the sheet names, and 37 of the 39 eye column names (Tobii Pro Lab export names; only the
gaze pair is evidenced). Some sheets use Tobii's microsecond clocks (`Recording timestamp [μs]`,
`Eyetracker timestamp [μs]` in place of `Computer timestamp [ms]`), as Pro Lab can export them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from curator.reasons import Reason
from curator.testing.samples.built import Built, Served
from curator.testing.samples.faces import draw_face
from curator.testing.samples.seeds import np_rng, rand, seed_int
from curator.testing.samples.writers import jpeg, write_bytes, xlsx_bytes

# The sample's own code order (the real one is unpublished): the README's order of the 7 classes.
EMER_CODES = ("happiness", "sadness", "fear", "surprise", "disgust", "anger", "neutral")
EMER_LABEL_KIND = "expressed"
LABEL_COLUMNS = ("ID", "Emotion", "Valence", "Arousal", "Intensity")
# stimulus words as in `3_film_happy Happy`, one per code
_STIMULI = ("happy", "sad", "fear", "surprise", "disgust", "angry", "neutral")
_PARTICIPANTS = (3, 12, 27, 41, 58, 76, 104)
_SAMPLES, _EYE_ROWS = 15, 40
DACS_PX = " [DACS px]"
_VA = {"happiness": (0.7, 0.5), "sadness": (-0.6, -0.3), "fear": (-0.7, 0.7), "surprise": (0.2, 0.8),
       "disgust": (-0.6, 0.3), "anger": (-0.7, 0.7), "neutral": (0.0, -0.2)}


# The 39 columns of an eye sheet (the authors' LSTM takes 39). Only the gaze pair is evidenced; the rest are
# Tobii Pro Lab export names, UNVERIFIED for EMER. Spelled here without " [DACS px]".
EYE_COLUMNS = (
    "Recording timestamp [ms]", "Computer timestamp [ms]", "Recording duration [ms]", "Recording resolution width",
    "Recording resolution height", "Gaze point X", "Gaze point Y", "Gaze point left X", "Gaze point left Y",
    "Gaze point right X", "Gaze point right Y", "Gaze direction left X [DACS norm]",
    "Gaze direction left Y [DACS norm]", "Gaze direction left Z [DACS norm]", "Gaze direction right X [DACS norm]",
    "Gaze direction right Y [DACS norm]", "Gaze direction right Z [DACS norm]", "Pupil diameter left [mm]",
    "Pupil diameter right [mm]", "Validity left", "Validity right", "Eye position left X [DACS mm]",
    "Eye position left Y [DACS mm]", "Eye position left Z [DACS mm]", "Eye position right X [DACS mm]",
    "Eye position right Y [DACS mm]", "Eye position right Z [DACS mm]", "Gaze point left X [DACS mm]",
    "Gaze point left Y [DACS mm]", "Gaze point right X [DACS mm]", "Gaze point right Y [DACS mm]",
    "Gaze point X [MCS norm]", "Gaze point Y [MCS norm]", "Gaze event duration [ms]", "Eye movement type index",
    "Fixation point X", "Fixation point Y", "Fixation point X [MCS norm]", "Fixation point Y [MCS norm]",
)
_PX = {"Gaze point X", "Gaze point Y", "Gaze point left X", "Gaze point left Y", "Gaze point right X",
       "Gaze point right Y", "Fixation point X", "Fixation point Y"}


# Tobii Pro Lab's microsecond clocks, for the sheets exported that way (`microseconds`)
MICROSECONDS = {"Recording timestamp [ms]": "Recording timestamp [μs]",
                "Computer timestamp [ms]": "Eyetracker timestamp [μs]"}


def eye_columns(dacs: bool, microseconds: bool = False) -> list[str]:
    """An eye sheet's headers: " [DACS px]" on the pixel columns when `dacs` (the X3-120 style, says a
    third-party tool), without it otherwise; the authors' loader accepts both for the gaze pair. With
    `microseconds`, the recording clock in μs and the eye tracker's own clock in place of the computer's."""
    cols = [c + DACS_PX if dacs and c in _PX else c for c in EYE_COLUMNS]
    return [MICROSECONDS.get(c, c) for c in cols] if microseconds else cols


@dataclass(frozen=True)
class _Sample:
    id: str
    participant: int
    fold: str
    stimulus: int  # index into EMER_CODES
    frames: int
    dacs: bool
    microseconds: bool = False


def _samples() -> list[_Sample]:
    out = []
    for j in range(_SAMPLES):
        i = j // 2 if j < 2 * len(_PARTICIPANTS) else 0  # two samples each, a third for the first
        p, stim = _PARTICIPANTS[i], (j + j // 7) % len(_STIMULI)  # distinct stimuli per participant
        out.append(_Sample(f"{p}_film_{_STIMULI[stim]} {_STIMULI[stim].title()}", p, f"set{i % 5 + 1}", stim,
                           8 + j % 3, dacs=i % 2 == 0, microseconds=j % 5 == 4))
    return out


def _label_row(s: _Sample, code: int, seed: int, cell_id: object = None) -> list[object]:
    rng = np_rng(seed, f"emer-label:{s.id}")
    emotion = EMER_CODES[code] if code < len(EMER_CODES) else "neutral"
    v, a = (round(float(np.clip(c + rng.normal(0, 0.12), -1, 1)), 2) for c in _VA[emotion])
    intensity = 0.0 if emotion == "neutral" else round(float(rng.uniform(0.5, 3.0)), 2)
    return [s.id if cell_id is None else cell_id, code, v, a, intensity]


def _eye_value(column: str, k: int, base: dict, rng: np.random.Generator) -> float | int | None:
    """Cell k of one column: plausible values of the export the names describe."""
    c, words = column.removesuffix(DACS_PX), column.split()
    if c.startswith(("Recording timestamp", "Computer timestamp", "Eyetracker timestamp")):
        ms = base["t0"] + (0 if c.startswith("Recording") else 10**9) + k * 8  # ~120 Hz
        return int(ms * 1000 + (k % 7 if c.startswith("Eyetracker") else 0)) if c.endswith("[μs]") else int(ms)
    if c.startswith("Recording duration"):
        return _EYE_ROWS * 8
    if c.startswith("Recording resolution"):
        return 1920 if c.endswith("width") else 1080
    if c.startswith("Pupil diameter"):
        return None if k in base["blink"] else round(float(rng.normal(3.4, 0.15)), 2)  # blank while blinking
    if c.startswith("Validity"):
        return 0 if k in base["blink"] else 1
    if c.startswith("Eye position"):
        return round(float(rng.normal({"X": 30.0, "Y": 5.0, "Z": 600.0}[words[3]], 2)), 1)
    if c.startswith("Gaze direction"):
        return round(float(rng.normal(0, 0.1)) - (0.98 if words[3] == "Z" else 0), 4)
    if c.startswith("Eye movement type index"):
        return int(base["event"][k])
    if c.startswith("Gaze event duration"):
        return int(8 * (1 + k % 12))
    value = float(base["x"][k] if " X" in c else base["y"][k])
    if c.endswith("[MCS norm]"):
        return round(value / (1920 if " X" in c else 1080), 4)
    if c.endswith("[DACS mm]"):
        return round(value * 0.265, 1)
    one_eye = " left " in c or " right " in c  # each eye's gaze scatters around the combined point
    return round(value + (float(rng.normal(0, 3)) if one_eye else 0.0))


def _eye_rows(seed: int, s: _Sample) -> list[list[object]]:
    rng = np_rng(seed, f"emer-eye:{s.id}")
    jumps = rng.random(_EYE_ROWS) < 0.15  # saccades: the gaze moves, a new event starts
    base = {"t0": float(rng.integers(1000, 5000)), "blink": set(rng.choice(_EYE_ROWS, 2, replace=False).tolist()),
            "x": np.clip(960 + np.cumsum(rng.normal(0, 4, _EYE_ROWS) + jumps * rng.normal(0, 150, _EYE_ROWS)), 0, 1919),
            "y": np.clip(540 + np.cumsum(rng.normal(0, 4, _EYE_ROWS) + jumps * rng.normal(0, 100, _EYE_ROWS)), 0, 1079),
            "event": 1 + np.cumsum(jumps)}
    return [[_eye_value(c, k, base, rng) for c in eye_columns(s.dacs, s.microseconds)] for k in range(_EYE_ROWS)]


def _write_sample(root: Path, s: _Sample, seed: int, *, eye: bool = True) -> list[Path]:
    folder = root / "face" / s.fold / s.id
    expression, look = EMER_CODES[s.stimulus], seed_int(seed, f"emer:{s.id}")
    files = []
    for k in range(1, s.frames + 1):  # neutral onset, then the expression: frames differ over time
        face = draw_face(expression if k > s.frames // 3 else "neutral", 112, seed=look, caption=f"{k}")
        files.append(folder / f"{k:04d}.jpg")
        write_bytes(files[-1], jpeg(face))
    if eye:
        files.append(root / "eye" / f"{s.id}.xlsx")
        write_bytes(files[-1], xlsx_bytes({"Sheet1": (eye_columns(s.dacs, s.microseconds), _eye_rows(seed, s))}))
    return files


FIXATION_FOLDER = "fixation"
_FIXATION_MAPS = 2  # per sample, for the first two samples


def _fixation_maps(root: Path, seed: int, samples: list[_Sample]) -> list[Path]:
    """Heat-map frames (fixation blobs joined by a scan path, as the authors' example figure shows)."""
    files = []
    for s in samples[:2]:
        rng = np_rng(seed, f"emer-fixation:{s.id}")
        for k in range(1, _FIXATION_MAPS + 1):
            img = Image.new("RGB", (160, 120), (40, 30, 30))
            draw = ImageDraw.Draw(img)
            points = [(int(x), int(y)) for x, y in zip(rng.integers(20, 140, 3), rng.integers(20, 100, 3), strict=True)]
            draw.line(points, fill=(120, 220, 120), width=2)
            for x, y in points:
                for r, colour in ((14, (40, 160, 80)), (9, (230, 200, 40)), (4, (220, 40, 30))):
                    draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
            files.append(root / FIXATION_FOLDER / s.id / f"{k:04d}.jpg")
            write_bytes(files[-1], jpeg(img))
    return files


def build(out: Path, seed: int, dirty: bool) -> Built:
    root, samples = out / "emer", _samples()
    rnd = rand(seed, "emer")
    # the label sometimes differs from the stimulus (a film does not always move its viewer)
    codes = [s.stimulus if rnd.random() < 0.8 else rnd.randrange(len(EMER_CODES)) for s in samples]
    rows = [_label_row(s, c, seed) for s, c in zip(samples, codes, strict=True)]
    built = Built(files=[], items=len(samples))
    for s in samples:
        built.files += _write_sample(root, s, seed)
    fixations = _fixation_maps(root, seed, samples)
    built.files += fixations
    built.add_bad(prepare=[Reason.UNSUPPORTED_MODALITY] * len(fixations))  # excluded, each counted
    if dirty:
        built.files += _dirty(root, seed, rows, built)
    write_bytes(root / "new_label.xlsx", xlsx_bytes({"Sheet1": (LABEL_COLUMNS, rows)}))
    built.files.append(root / "new_label.xlsx")
    return built


def _dirty(root: Path, seed: int, rows: list[list[object]], built: Built) -> list[Path]:
    """Four extras: an ID typed as a number (kept: 16 means folder 016), a sample without its eye file,
    a Windows thumbnail cache in a frame folder, and an Emotion code past the last class."""
    numeric = _Sample("016", 16, "set3", 3, 8, dacs=True)
    no_eye = _Sample("104_film_fear Fear", 104, "set2", 2, 8, dacs=False)
    unknown = _Sample("76_film_neutral Neutral", 76, "set1", 6, 8, dacs=False)
    files = _write_sample(root, numeric, seed) + _write_sample(root, no_eye, seed, eye=False)
    files += _write_sample(root, unknown, seed)
    rows += [_label_row(numeric, 3, seed, cell_id=16), _label_row(no_eye, 2, seed),
             _label_row(unknown, len(EMER_CODES), seed)]
    stray = root / "face" / "set1" / _samples()[0].id / "Thumbs.db"
    write_bytes(stray, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))  # an OLE2 header, as Windows writes
    built.items += 1  # the numeric ID: kept
    built.add_bad(prepare=[Reason.MISSING_EYE_DATA, Reason.STRAY_FILE, Reason.UNKNOWN_LABEL])
    return [*files, stray]


def sample_params() -> dict:
    """What the sample's params must say: its code order and label kind (the real ones are unpublished)."""
    return {"emotion_codes": list(EMER_CODES), "label_kind": EMER_LABEL_KIND}


def demo_params(served: Served) -> dict:
    """params.yaml sources.emer pointing at the served samples."""
    return {"from": str(served.samples / "emer"), **sample_params()}  # EMER is manual-only, as for real
