"""Per-record augmentation of visible (+ optional infrared) face images.

The policy is two serialized albumentations 2.0.8 pipelines (the `A.to_dict` format):
`geometric` runs ONCE on the visible and IR images together, so both get the same spatial draw;
`photometric` runs on the visible image only, so IR intensities are never altered.

Every draw comes from a per-record seed (see `record_seed`), so the same seed yields the same output
bytes in any process and with any worker count; `replay` re-derives a recorded augmentation.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import random
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Importing albumentations otherwise asks PyPI for a newer release (a network call of up to 2 s per
# process, every worker included). setdefault keeps an explicit user choice.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from curator.lazy import hidden

# albumentations imports huggingface_hub (~0.15 s, with httpx and asyncio) for its optional Hub
# mixin (Compose.save_pretrained/from_pretrained), which curator never calls; without the package it
# defines the same transforms. A process that has huggingface_hub already keeps it as it is.
with hidden("huggingface_hub"):
    import albumentations as A
import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from curator.errors import CuratorError, SchemaError
from curator.stages.augment.policy import Policy, jsonable

IR_TARGET = "infrared"
"""Name of the additional albumentations target that carries the IR image through `geometric`."""

JPEG_SUBSAMPLING = "4:4:4"
"""Pinned so output bytes never depend on Pillow's quality-dependent default; 4:4:4 keeps colour edges
sharp on the tiny (48 px) faces common in emotion datasets."""

SEED_BITS = 32
"""Seeds fit in 32 bits: safe for numpy/torch legacy seeding and for JSON readers that use doubles."""

_IR_TO_L = frozenset({"1", "LA", "La"})
_IR_TO_RGB = frozenset({"P", "PA", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"})
@dataclass
class Augmented:
    """JPEG bytes of the augmented pair and the JSON-serialisable record needed to replay it."""

    image: bytes
    infrared: bytes | None
    transform: dict[str, Any]


# ---------------------------------------------------------------- seeds


def record_seed(base_seed: int, record_id: str, copy_index: int) -> int:
    """A stable per-(record, copy) seed: sha256-based, so identical in every process and worker."""
    if not isinstance(base_seed, int) or not isinstance(copy_index, int) or copy_index < 0:
        raise ValueError("base_seed must be an int and copy_index a non-negative int")
    return _hash_seed(["record", base_seed, str(record_id), copy_index])


def _sub_seed(seed: int, part: str) -> int:
    # Separate streams: editing one part of the policy must not shift the other part's draws.
    return _hash_seed([part, seed])


def _hash_seed(parts: list[Any]) -> int:
    digest = hashlib.sha256(json.dumps(parts, separators=(",", ":")).encode()).digest()
    return int.from_bytes(digest[: SEED_BITS // 8], "big")


def _seed_compose(compose: A.Compose, seed: int) -> None:
    # Not Compose.set_random_seed: in 2.0.8 it gives every child its OWN generator seeded with the same
    # value, so all children draw the same first number and their p-coin flips coincide. One shared
    # stream (which set_random_state propagates) keeps the transforms independent.
    compose.set_random_state(np.random.default_rng(seed), random.Random(seed))


# ---------------------------------------------------------------- augmentation


def augment_one(
    image: bytes,
    infrared: bytes | None,
    policy: Policy,
    *,
    seed: int,
    jpeg_quality: int = 90,
) -> Augmented:
    """Augment one record: geometric on visible+IR together, photometric on visible only, JPEG out.

    Pins OpenCV to one thread in the calling process (see `_pin_cv2_threads`).
    """
    return augment_copies(image, infrared, policy, seeds=[seed], jpeg_quality=jpeg_quality)[0]


def augment_copies(
    image: bytes,
    infrared: bytes | None,
    policy: Policy,
    *,
    seeds: Sequence[int],
    jpeg_quality: int = 90,
) -> list[Augmented]:
    """One augmented copy per seed; the inputs are decoded once. Copy i equals `augment_one(seed=seeds[i])`."""
    for seed in seeds:
        _check_seed(seed)
    _check_quality(jpeg_quality)
    _pin_cv2_threads()
    visible = _decode_visible(image)
    ir, ir_resized = _decode_infrared(infrared, size=(visible.shape[1], visible.shape[0]))
    return [_augment_arrays(visible, ir, ir_resized, policy, seed, jpeg_quality) for seed in seeds]


def _augment_arrays(
    visible: np.ndarray, ir: np.ndarray | None, ir_resized: dict | None, policy: Policy, seed: int, jpeg_quality: int
) -> Augmented:
    geo_seed, photo_seed = _sub_seed(seed, "geometric"), _sub_seed(seed, "photometric")
    visible, ir, geo_applied = _apply_geometric(policy, visible, ir, geo_seed)
    visible, photo_applied = _apply_photometric(policy, visible, photo_seed)
    transform = {
        "seed": seed,
        "policy_sha256": policy.fingerprint,
        "albumentations_version": A.__version__,
        "jpeg_quality": jpeg_quality,
        "jpeg_subsampling": JPEG_SUBSAMPLING,
        "infrared_resized": ir_resized,
        "geometric": {"seed": geo_seed, "applied": geo_applied},
        "photometric": {"seed": photo_seed, "applied": photo_applied},
    }
    return Augmented(
        image=_encode_jpeg(visible, jpeg_quality),
        infrared=None if ir is None else _encode_jpeg(ir, jpeg_quality),
        transform=transform,
    )


def replay(image: bytes, infrared: bytes | None, transform: dict[str, Any], policy: Policy) -> Augmented:
    """Re-apply a recorded augmentation; gives the same bytes as the `augment_one` call that recorded it.

    The record's seed re-derives the exact draws; the policy must be the one recorded (checked by
    fingerprint). Exact bytes also need the same albumentations/OpenCV/Pillow builds: a different
    albumentations version only warns, since its draws may differ.
    """
    _check_replayable(transform, policy)
    return augment_one(
        image, infrared, policy, seed=transform["seed"], jpeg_quality=transform["jpeg_quality"]
    )


def _check_replayable(transform: dict[str, Any], policy: Policy) -> None:
    missing = {"seed", "jpeg_quality", "policy_sha256"} - transform.keys()
    if missing:
        raise CuratorError(f"transform record lacks {sorted(missing)}; was it made by augment_one?")
    if transform["policy_sha256"] != policy.fingerprint:
        raise CuratorError("transform was recorded under a different augmentation policy")
    recorded = transform.get("albumentations_version")
    if recorded != A.__version__:
        warnings.warn(
            f"transform recorded with albumentations {recorded}, replaying with {A.__version__}: "
            "output may differ",
            RuntimeWarning,
            stacklevel=3,
        )


def _apply_geometric(
    policy: Policy, visible: np.ndarray, ir: np.ndarray | None, seed: int
) -> tuple[np.ndarray, np.ndarray | None, list[dict[str, Any]]]:
    compose = _runtime_compose(policy, "geometric")
    _seed_compose(compose, seed)
    # ONE call with IR as an additional "image" target: both images get the same sampled params.
    # Copies, because a transform may write into its input and the caller reuses the arrays per copy.
    targets = {"image": visible.copy()} if ir is None else {"image": visible.copy(), IR_TARGET: ir.copy()}
    out = compose(**targets)
    return out["image"], out.get(IR_TARGET), _applied_record(out)


def _apply_photometric(policy: Policy, visible: np.ndarray, seed: int) -> tuple[np.ndarray, list[dict[str, Any]]]:
    compose = _runtime_compose(policy, "photometric")
    _seed_compose(compose, seed)
    out = compose(image=visible)  # IR is deliberately never passed here
    return out["image"], _applied_record(out)


_COMPOSES = threading.local()
"""Composes built once per thread and policy part: building one from its dict costs ~4 ms, more than
augmenting a small face. Reuse is safe because `_seed_compose` resets every random stream before each
call, so a call's output depends only on its seed and input (tested byte-identical to a fresh build).
Per thread, because a seeded Compose is stateful between its seeding and its call."""


def _runtime_compose(policy: Policy, part: str) -> A.Compose:
    cache: dict[tuple[str, str], A.Compose] = _COMPOSES.__dict__.setdefault("by_key", {})
    key = (policy.fingerprint, part)
    compose = cache.get(key)
    if compose is None:
        spec = copy.deepcopy(getattr(policy, part))
        body = spec["transform"]
        body["save_applied_params"] = True
        if part == "geometric":  # the IR image rides along as a second "image" target
            body["additional_targets"] = {**(body.get("additional_targets") or {}), IR_TARGET: "image"}
        compose = cache[key] = A.from_dict(spec)
    return compose


def _applied_record(out: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": name, "params": jsonable(params)} for name, params in out.get("applied_transforms", [])]


def _pin_cv2_threads() -> None:
    # Warps/remaps split rows across OpenCV's pool; one thread rules out any schedule-dependent result
    # and avoids oversubscribing cores when the stage already runs one process per core.
    if cv2.getNumThreads() != 1:
        cv2.setNumThreads(1)


def _check_seed(seed: int) -> None:
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")


def _check_quality(quality: int) -> None:
    if not isinstance(quality, int) or not 1 <= quality <= 100:
        raise ValueError(f"jpeg_quality must be an int in 1..100, got {quality!r}")


# ---------------------------------------------------------------- image codecs


class UndecodableImage(SchemaError):
    """A parent image that does not decode (as opposed to a transform that fails on a good one)."""


def open_image(data: bytes, what: str) -> Image.Image:
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise UndecodableImage(f"{what} image could not be decoded: {exc}") from exc
    return img


def _decode_visible(data: bytes) -> np.ndarray:
    return np.array(open_image(data, "visible").convert("RGB"))


def _decode_infrared(data: bytes | None, size: tuple[int, int]) -> tuple[np.ndarray | None, dict | None]:
    """IR keeps its own 8-bit mode (L or RGB); resized to the visible size if needed (and recorded)."""
    if data is None:
        return None, None
    img = _ir_to_8bit(open_image(data, "infrared"))
    resized = None
    if img.size != size:
        resized = {"from": list(img.size), "to": list(size), "resample": "pillow-bilinear"}
        img = img.resize(size, Image.Resampling.BILINEAR)
    return np.array(img), resized


def _ir_to_8bit(img: Image.Image) -> Image.Image:
    if img.mode in ("L", "RGB"):
        return img
    if img.mode in _IR_TO_L:
        return img.convert("L")
    if img.mode in _IR_TO_RGB:
        return img.convert("RGB")
    # 16-bit / float thermal data needs a radiometric mapping we cannot guess; JPEG is 8-bit only.
    raise SchemaError(f"infrared image mode {img.mode!r} is not 8-bit; normalise it to L or RGB first")


def _encode_jpeg(pixels: np.ndarray, quality: int) -> bytes:
    # Every option pinned (no optimize/progressive/EXIF/ICC) so the bytes depend only on the pixels.
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8)).save(
        buf, format="JPEG", quality=quality, subsampling=JPEG_SUBSAMPLING, optimize=False, progressive=False
    )
    return buf.getvalue()


