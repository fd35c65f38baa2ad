"""The per-record work of the augment stage, as shipped to pool or Ray workers.

Kept apart from the stage driver so a worker imports only the augmentation stack (albumentations,
OpenCV, Pillow) and not `datasets`, which the driver's schema code needs: ~230 MiB and ~2 s less per
worker process.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curator.augment import Augmented, Policy, augment_copies, record_seed
from curator.errors import CuratorError


@dataclass(frozen=True)
class Outcome:
    """What a worker sends back: the children only (the driver still holds the parent), or why not."""

    children: list[dict[str, Any]]
    error: str | None = None


def augment_record(record: dict[str, Any], *, policy: Policy, copies: int, seed: int, quality: int) -> Outcome:
    """`copies` augmented children of one record; bad input is an Outcome with an error, not an exception."""
    infrared = record["infrared"]["bytes"] if record.get("infrared") else None
    seeds = [record_seed(seed, record["id"], copy) for copy in range(copies)]
    try:
        results = augment_copies(record["image"]["bytes"], infrared, policy, seeds=seeds, jpeg_quality=quality)
    except CuratorError as exc:
        return Outcome([], str(exc))
    return Outcome([child_row(record, copy, result) for copy, result in enumerate(results)])


def child_row(parent: dict[str, Any], copy: int, result: Augmented) -> dict[str, Any]:
    """The parent's row with the augmented images, a derived id and the transform that made them."""
    child = dict(parent)
    child["id"] = f"{parent['id']}#aug{copy}"
    for column, data in (("image", result.image), ("infrared", result.infrared)):
        if parent.get(column) is not None and data is not None:
            stem = Path(parent[column].get("path") or parent["id"].replace("/", "_")).stem
            child[column] = {"bytes": data, "path": f"{stem}_aug{copy}.jpg"}
    child["hashes"] = None  # fingerprints describe the original bytes, not these
    child["augmented_from"] = parent["id"]
    child["transform"] = json.dumps(result.transform, sort_keys=True)
    return child
