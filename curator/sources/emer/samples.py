"""EMER: per-sample face images and eye-tracking sheets, with felt (ER) and shown (FER) labels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curator.reasons import Reason
from curator.testing.samples.built import Built, Served
from curator.testing.samples.faces import EXPRESSIONS, draw_face
from curator.testing.samples.seeds import np_rng, rand, seed_int
from curator.testing.samples.writers import csv_bytes, jpeg, write_bytes, xlsx_bytes

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
    rnd = rand(seed, "emer")
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
    rng = np_rng(seed, f"emer-eye:{s.id}")
    eye, face = root / "eye" / f"{s.id}.xlsx", root / "face" / f"{s.id}.jpg"
    write_bytes(eye, xlsx_bytes({"Sheet1": (EMER_EYE_COLUMNS, _emer_eye_rows(rng))}))
    expression = s.fer if s.fer in EXPRESSIONS else "neutral"
    write_bytes(face, jpeg(draw_face(expression, seed=seed_int(seed, f"emer:{s.id}"), caption=s.fer)))
    return [eye, face]


def build(out: Path, seed: int, dirty: bool) -> Built:
    root, samples = out / "emer", _emer_samples(seed)
    built = Built(files=[], items=len(samples))
    if dirty:
        samples.append(_EmerSample(id=f"{len(samples) + 1:03d}", participant=samples[0].participant,
                                   fer="Bored", er="Bored", intensity=1))
        built.add_bad(normalize=[Reason.UNKNOWN_LABEL])
    rng = np_rng(seed, "emer-labels")
    sheets = {"ER": (EMER_LABEL_COLUMNS, [_emer_label_row(s, s.er, rng) for s in samples]),
              "FER": (EMER_LABEL_COLUMNS, [_emer_label_row(s, s.fer, rng) for s in samples])}
    write_bytes(root / "new_label.xlsx", xlsx_bytes(sheets))
    write_bytes(root / "participants.csv", csv_bytes(("ID", "participant"), [(s.id, s.participant) for s in samples]))
    built.files = [root / "new_label.xlsx", root / "participants.csv"]
    for s in samples:
        built.files += _emer_write_sample(root, s, seed)
    return built


def demo_params(served: Served) -> dict:
    """params.yaml sources.emer pointing at the served samples."""
    return {"from": str(served.samples / "emer")}  # EMER is manual-only, as for real
