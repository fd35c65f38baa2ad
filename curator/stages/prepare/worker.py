"""prepare's per-record image work: decode, normalize and fingerprint, in a worker process.

Pool and Ray workers import this module, so it must not import `datasets`, curator.record.schema or
curator.pipeline.run (`datasets` alone costs ~230 MiB and ~2 s per worker). The driver
(curator.stages.prepare.stage) sends only a record's image bytes and gets back small results: hashes,
the first bad image, and new bytes only for an image it re-encoded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from curator.io.images import check_image, dhash, upright_8bit
from curator.reasons import Reason
from curator.record.schema import image_columns

IMAGE_COLUMNS = image_columns()


@dataclass(frozen=True)
class Fixed:
    """An image whose stored pixels were not what a viewer shows, re-encoded upright and 8-bit."""

    column: str
    data: bytes  # the PNG that replaces the original bytes
    changes: tuple[str, ...]  # "exif_orientation", "high_bit_depth"
    was: str  # the original's "FORMAT MODE WxH", for normalized.jsonl


@dataclass(frozen=True)
class Bad:
    """The first image of a record that failed to decode: the whole record is rejected."""

    column: str
    reason: Reason
    detail: str


@dataclass(frozen=True)
class Checked:
    hashes: dict[str, str] | None = None  # sha256 + dHash per image column, as in the record's `hashes`
    bad: Bad | None = None
    fixed: tuple[Fixed, ...] = ()


def check_images(images: dict[str, bytes | None] | None, max_pixels: int) -> Checked | None:
    """Decode each image once (a JPEG at the dHash's scale): the first bad one ends the check, else
    fingerprint it (sha256 + dHash).

    An image whose stored pixels are not what a viewer shows (EXIF-rotated, 16-bit) is replaced by
    its upright 8-bit PNG (curator.io.images.upright_8bit) before it is fingerprinted: every reader
    of the published bytes, and augment and dedup, then see the same picture.

    `images` maps the record's image columns that are present to their bytes, in IMAGE_COLUMNS
    order (the order of the hash keys); None (nothing to check) gives None, so that every recipe
    item still flows through the executor in order.
    """
    if images is None:
        return None
    hashes: dict[str, str] = {}
    fixed: list[Fixed] = []
    for column, data in images.items():
        # a JPEG is decoded at the dHash's scale only (libjpeg's DCT scaling): the check and the
        # fingerprint need no more, and sha256 is taken over the bytes
        check = check_image(data, max_pixels=max_pixels, keep=True, small=True)
        if not check.ok:
            return Checked(bad=Bad(column, check.reason, check.detail))
        image, size = check.image, (check.width, check.height)
        upright = upright_8bit(image)
        if upright is not None:
            fixed.append(Fixed(column, upright.data, upright.changes,
                               f"{check.format} {check.mode} {check.width}x{check.height}"))
            data, image, size = upright.data, upright.image, upright.image.size
        hashes[f"{column}_sha256"] = hashlib.sha256(data).hexdigest()
        hashes[f"{column}_dhash"] = dhash(image, size)
    return Checked(hashes or None, fixed=tuple(fixed))
