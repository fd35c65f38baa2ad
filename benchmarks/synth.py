"""Synthetic face JPEGs in an `imagefolder` layout: <root>/<Label>/s<subject>_<k>.jpg.

Each image gets its own low-frequency background, face placement, skin tone, expression and
sensor noise, so JPEG sizes are realistic (noise defeats the encoder like real skin texture does)
and no two images are near-duplicates by dHash (which would merge split groups). Labels are VIRI's
class names, so the benchmark can run the real normalize stage with the shipped label map.
"""

from __future__ import annotations

import io
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

LABELS = ("Angry", "Happy", "Neutral", "Sad", "Surprise")
PER_SUBJECT = 4  # images per subject: split groups of several records, as in real face sets
JPEG_QUALITY = 90


def face_jpeg(index: int, size: int) -> bytes:
    rng = np.random.default_rng([index, size])
    background = Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)).resize(
        (size, size), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(background)
    cx, cy = size * rng.uniform(0.4, 0.6, 2)
    rx, ry = size * rng.uniform(0.22, 0.3), size * rng.uniform(0.3, 0.38)
    skin = tuple(int(v) for v in rng.integers((120, 80, 60), (250, 200, 170)))
    draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=skin)
    eye = max(2.0, rx * 0.12)
    for side in (-1, 1):
        ex, ey = cx + side * rx * 0.4, cy - ry * 0.2
        draw.ellipse((ex - eye, ey - eye * 0.6, ex + eye, ey + eye * 0.6), fill=(30, 30, 30))
        draw.line((ex - eye * 1.5, ey - eye * 2, ex + eye * 1.5, ey - eye * 2 + side * eye * 0.8 * (index % 3 - 1)),
                  fill=(60, 40, 30), width=max(1, size // 100))
    mouth = (cx - rx * 0.45, cy + ry * 0.3, cx + rx * 0.45, cy + ry * 0.6)
    label = LABELS[(index // PER_SUBJECT) % len(LABELS)]
    if label == "Surprise":
        draw.ellipse((cx - rx * 0.15, cy + ry * 0.35, cx + rx * 0.15, cy + ry * 0.6), fill=(90, 20, 20))
    else:
        start, end = (20, 160) if label == "Happy" else (200, 340) if label in ("Sad", "Angry") else (80, 100)
        draw.arc(mouth, start, end, fill=(120, 30, 30), width=max(1, size // 60))
    pixels = np.asarray(background, dtype=np.int16) + rng.normal(0, 6, (size, size, 3)).astype(np.int16)
    buf = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()


def image_path(root: Path, index: int) -> Path:
    label = LABELS[(index // PER_SUBJECT) % len(LABELS)]
    return root / label / f"s{index // PER_SUBJECT:06d}_{index % PER_SUBJECT}.jpg"


def _write(args: tuple[Path, int, int]) -> int:
    root, index, size = args
    data = face_jpeg(index, size)
    image_path(root, index).write_bytes(data)
    return len(data)


def generate(root: Path, n: int, size: int, workers: int = 1) -> dict[str, float]:
    """Write n images of size x size px under root (reused if already complete); returns sizes."""
    root = Path(root)
    done = root / ".complete"
    if done.is_file() and done.read_text() == f"{n} {size}":
        sizes = [p.stat().st_size for p in all_images(root)]
    else:
        for label in LABELS:
            (root / label).mkdir(parents=True, exist_ok=True)
        jobs = [(root, i, size) for i in range(n)]
        with Pool(max(1, workers)) as pool:
            sizes = pool.map(_write, jobs, chunksize=64)
        done.write_text(f"{n} {size}")
    return {"images": len(sizes), "mean_bytes": sum(sizes) / max(1, len(sizes)), "total_bytes": sum(sizes)}


def all_images(root: Path) -> list[Path]:
    """Every image, in a fixed order (the order every loop and stage reads them in)."""
    return sorted(Path(root).glob("*/*.jpg"))
