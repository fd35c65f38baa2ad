"""The per-record work of the augment stage, as shipped to pool or Ray workers.

Kept apart from the stage driver so a worker imports only the augmentation stack (albumentations,
OpenCV, Pillow) and not `datasets`, which the driver's schema code needs: ~230 MiB and ~2 s less per
worker process. Workers see only a record's id and image bytes, and send back only the new bytes:
the driver builds the child rows from the parent rows it still holds, column by column.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from curator.errors import CuratorError
from curator.reasons import Reason
from curator.stages.augment.policy import Policy
from curator.stages.augment.worker import UndecodableImage, augment_copies, record_seed


@dataclass(frozen=True)
class Parent:
    """What a worker needs of a train record."""

    id: str
    image: bytes
    infrared: bytes | None


@dataclass(frozen=True)
class Copies:
    """A parent's augmented copies, in copy order, or why there are none."""

    images: list[bytes]
    infrared: list[bytes | None]
    transforms: list[str]  # canonical JSON of each copy's transform record
    error: str | None = None
    reason: Reason | None = None  # why there are none: the parent does not decode, or augmenting it failed


def augment_parent(parent: Parent, *, policy: Policy, copies: int, seed: int, quality: int) -> Copies:
    """`copies` augmented versions of one record; bad input gives an error, not an exception."""
    seeds = [record_seed(seed, parent.id, copy) for copy in range(copies)]
    try:
        results = augment_copies(parent.image, parent.infrared, policy, seeds=seeds, jpeg_quality=quality)
    except UndecodableImage as exc:
        return Copies([], [], [], str(exc), Reason.CORRUPT_IMAGE)
    except CuratorError as exc:
        return Copies([], [], [], str(exc), Reason.AUGMENT_FAILED)
    except Exception as exc:  # a transform failing on an odd image (e.g. 1-4 px) must not stop the stage
        return Copies([], [], [], f"{type(exc).__name__}: {exc}", Reason.AUGMENT_FAILED)
    return Copies([r.image for r in results], [r.infrared for r in results],
                  [json.dumps(r.transform, sort_keys=True) for r in results])
