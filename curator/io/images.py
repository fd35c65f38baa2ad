"""Safe image validation: decode once, with a pixel cap, and turn every failure into a reason.

Nothing here raises for bad input: callers get an ImageCheck and turn a failure into a
reject. The decoded image is handed back so hashing/augmenting need not decode again.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from curator.reasons import Reason

DEFAULT_MAX_PIXELS = 50_000_000  # ~7000x7000: far above any face image, far below a bomb


@dataclass(frozen=True)
class ImageCheck:
    ok: bool
    reason: Reason | None = None
    detail: str = ""
    format: str | None = None
    width: int = 0
    height: int = 0
    mode: str | None = None
    image: Image.Image | None = None  # the decoded image, when asked for


def _fail(reason: Reason, detail: str) -> ImageCheck:
    return ImageCheck(ok=False, reason=reason, detail=detail)


def dhash(img: Image.Image) -> str:
    """64-bit difference hash (hex): near-identical images differ in only a few bits."""
    small = img.convert("L").resize((9, 8), Image.Resampling.BILINEAR)
    pixels = small.tobytes()
    bits = 0
    for row in range(8):
        for col in range(8):
            bits = (bits << 1) | (pixels[row * 9 + col] > pixels[row * 9 + col + 1])
    return f"{bits:016x}"


def _decode_failure(exc: Exception) -> ImageCheck:
    """Pillow signals a cut file only through its message ("image file is truncated", "Truncated File Read")."""
    text = f"{type(exc).__name__}: {exc}"
    return _fail(Reason.TRUNCATED_IMAGE if "truncat" in text.lower() else Reason.CORRUPT_IMAGE, text)


def check_image(data: bytes | None, *, max_pixels: int = DEFAULT_MAX_PIXELS, keep: bool = False) -> ImageCheck:
    """Decode `data` fully (so truncation is caught) unless it is over `max_pixels`."""
    if not data:
        return _fail(Reason.EMPTY_FILE, "zero bytes")
    with warnings.catch_warnings():
        # our own cap below is the policy; Pillow's bomb warning would only add noise
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as exc:
            return _fail(Reason.TOO_MANY_PIXELS, str(exc))
        except UnidentifiedImageError:
            return _fail(Reason.NOT_AN_IMAGE, f"not a recognised image format ({len(data)} bytes)")
        except Exception as exc:  # a header so broken (or cut) that Pillow cannot even start
            return _decode_failure(exc)
        width, height = img.size
        if width * height > max_pixels:
            return _fail(Reason.TOO_MANY_PIXELS, f"{width}x{height} exceeds the cap of {max_pixels} pixels")
        if width == 0 or height == 0:
            return _fail(Reason.CORRUPT_IMAGE, f"degenerate size {width}x{height}")
        try:
            img.load()
        except Exception as exc:  # decoders raise a zoo of types on hostile data
            return _decode_failure(exc)
    return ImageCheck(
        ok=True, format=img.format, width=width, height=height, mode=img.mode, image=img if keep else None
    )
