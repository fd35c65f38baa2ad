"""Kaggle "face emotion physio": one CSV of physiological and facial features per sample."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from curator.reasons import Reason
from curator.testing.samples.built import Built, Served
from curator.testing.samples.seeds import np_rng, rand
from curator.testing.samples.writers import csv_bytes, write_bytes

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
    rng, rnd = np_rng(seed, "kaggle"), rand(seed, "kaggle")
    rows = [[*_kaggle_row(c, rng), _messy_label(c, rnd)]
            for c in KAGGLE_CLASSES for _ in range(_KAGGLE_PER_CLASS)]
    rnd.shuffle(rows)
    return rows


def _kaggle_dirty_rows(seed: int) -> list[tuple[int, list[object]]]:
    rng, rnd = np_rng(seed, "kaggle-dirty"), rand(seed, "kaggle-dirty")
    bored = [*_kaggle_row("Neutral", rng), "Bored"]
    bad_hr = [*_kaggle_row("Happy", rng), "Happy"]
    bad_hr[KAGGLE_COLUMNS.index("hr_mean")] = "abc"
    return [(rnd.randrange(100), bored), (rnd.randrange(100), bad_hr)]


def build(out: Path, seed: int, dirty: bool) -> Built:
    rows = _kaggle_rows(seed)
    built = Built(files=[out / "kaggle_physio" / "face_emotion_physio.csv"], items=len(rows))
    if dirty:
        for pos, row in _kaggle_dirty_rows(seed):
            rows.insert(pos, row)
        built.add_bad(prepare=[Reason.BAD_VALUE], normalize=[Reason.UNKNOWN_LABEL])
    write_bytes(built.files[0], csv_bytes(KAGGLE_COLUMNS, rows))
    return built


def demo_params(served: Served) -> dict:
    """params.yaml sources.kaggle_physio pointing at the served samples."""
    return {"from": f"{served.files_url}/kaggle_physio/face_emotion_physio.csv"}
