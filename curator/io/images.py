"""Safe image validation: decode once, with a pixel cap, and turn every failure into a reason.

Nothing here raises for bad input: callers get an ImageCheck and turn a failure into a
reject. The decoded image is handed back so hashing/augmenting need not decode again.

`upright_8bit` is the one exception to "original bytes travel untouched": it re-encodes
(losslessly, as PNG) the rare image whose stored pixels are not what a viewer shows, so
every consumer of the published bytes sees the same picture (see its docstring).
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from dataclasses import dataclass

from curator.io.limits import DEFAULT_MAX_PIXELS
from curator.lazy import lazy
from curator.reasons import Reason

# recipes import this module for is_image_name (the registry loads every recipe on each CLI call):
# numpy and Pillow load when an image is first checked
np = lazy("numpy")
Image = lazy("PIL.Image")
ImageOps = lazy("PIL.ImageOps")
ImageCms = lazy("PIL.ImageCms")

MIN_SIDE = 8
"""The smallest width and height prepare keeps. Below 8 px an image has fewer pixels than the 9x8
grid its near-duplicate fingerprint (dHash) samples, augment's crops and resizes fail on it (1-4 px
raise ZeroDivisionError inside albumentations), and it cannot show a face: the smallest common face
dataset, FER2013, stores 48x48. Such an image is rejected as `image_too_small`."""

# File names read as images wherever a source is a tree of files (the image itself is then checked by
# decoding it, whatever its name says).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".jfif", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm",
                  ".pbm", ".pnm", ".tga", ".jp2", ".j2k", ".pcx", ".sgi", ".ico")  # formats Pillow reads


def is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES)




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


FINGERPRINT_SIDE = 32
"""The dHash is taken from the image reduced by the largest factor k in 8, 4, 2 that leaves its short
side at least this long (k = 1 below 64 px): a 9x8 grid needs no more, and libjpeg can decode a JPEG
directly at 1/k of its size (DCT scaling), several times faster than a full decode."""


def fingerprint_factor(width: int, height: int) -> int:
    """The reduction k (8, 4, 2 or 1) the dHash of a width x height image is taken at."""
    return next((k for k in (8, 4, 2) if min(width, height) // k >= FINGERPRINT_SIDE), 1)


def dhash(img: Image.Image, size: tuple[int, int] | None = None) -> str:
    """64-bit difference hash (hex): near-identical images differ in only a few bits.

    The same function of the picture for every format: its luma, reduced k-fold (`fingerprint_factor`,
    a box average), then resized to 9x8 and compared column to column. `img` may be the full image,
    or (with `size`, the full size) a JPEG that check_image(small=True) decoded at 1/k already: libjpeg's
    DCT scaling is the same reduction computed in the frequency domain, equal to the box average up to
    rounding (on 1,400 synthetic faces of 64-1024 px the two differ by 0.1-0.5 bits on average, at
    most 3; see benchmarks/RESULTS.md 2026-12-01).
    """
    width, height = size or img.size
    k = fingerprint_factor(width, height)
    luma = img if img.mode == "L" else img.convert("L")
    if k > 1 and luma.size != (-(-width // k), -(-height // k)):
        luma = luma.reduce(k)
    pixels = luma.resize((9, 8), Image.Resampling.BILINEAR).tobytes()
    bits = 0
    for row in range(8):
        for col in range(8):
            bits = (bits << 1) | (pixels[row * 9 + col] > pixels[row * 9 + col + 1])
    return f"{bits:016x}"


def _decode_failure(exc: Exception) -> ImageCheck:
    """Pillow signals a cut file only through its message ("image file is truncated", "Truncated File Read")."""
    text = f"{type(exc).__name__}: {exc}"
    return _fail(Reason.TRUNCATED_IMAGE if "truncat" in text.lower() else Reason.CORRUPT_IMAGE, text)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_damage(data: bytes) -> ImageCheck | None:
    """Walk a PNG's chunks and check every CRC up to IEND.

    Pillow skips the CRC of image data (IDAT) and stops reading once it has its pixels, so a
    PNG damaged in transit (a bad CRC, a flipped zlib checksum) can still "decode" -- to
    whatever the damaged bytes say. The CRCs are what tells us, so they decide.
    """
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if end > len(data):
            break
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(data[pos + 4 : end - 4]) != crc:
            name = kind.decode("latin-1")
            return _fail(Reason.CORRUPT_IMAGE, f"PNG chunk {name!r} at byte {pos} fails its CRC check")
        if kind == b"IEND":
            return None
        pos = end
    return _fail(Reason.TRUNCATED_IMAGE, f"PNG ends at byte {len(data)} without its IEND chunk")


def check_image(data: bytes | None, *, max_pixels: int = DEFAULT_MAX_PIXELS, keep: bool = False,
                small: bool = False) -> ImageCheck:
    """Decode `data` (so truncation and corruption are caught) unless it is over `max_pixels`.

    `small`: decode a JPEG only at its fingerprint scale (DCT scaling, luma only), enough for the dHash
    and several times faster. libjpeg still reads every entropy-coded segment, so a cut or corrupt file
    fails as in a full decode. Not for a JPEG with an EXIF orientation to apply (upright_8bit needs all
    of its pixels), and other formats are decoded in full. `image` is then the small decode.
    """
    if not data:
        return _fail(Reason.EMPTY_FILE, "zero bytes")
    with warnings.catch_warnings():
        # our own cap below is the policy; Pillow's bomb warning would only add noise
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as exc:
            return _fail(Reason.TOO_MANY_PIXELS, str(exc))
        except Image.UnidentifiedImageError:
            return _fail(Reason.NOT_AN_IMAGE, f"not a recognised image format ({len(data)} bytes)")
        except Exception as exc:  # a header so broken (or cut) that Pillow cannot even start
            return _decode_failure(exc)
        width, height = img.size
        if width * height > max_pixels:
            return _fail(Reason.TOO_MANY_PIXELS, f"{width}x{height} exceeds the cap of {max_pixels} pixels")
        if width == 0 or height == 0:
            return _fail(Reason.CORRUPT_IMAGE, f"degenerate size {width}x{height}")
        if min(width, height) < MIN_SIDE:
            return _fail(Reason.IMAGE_TOO_SMALL, f"{width}x{height} is below the minimum of {MIN_SIDE}x{MIN_SIDE} px")
        mode = img.mode
        try:
            if small and img.format == "JPEG":
                _draft_for_fingerprint(img)
            img.load()
        except Exception as exc:  # decoders raise a zoo of types on hostile data
            return _decode_failure(exc)
    problem = pixel_problem(img)
    if problem is not None:
        return _fail(Reason.UNSUPPORTED_PIXELS, f"{img.format} {mode} {width}x{height}: {problem}")
    if data.startswith(_PNG_SIGNATURE):
        damage = _png_damage(data)
        if damage is not None:
            return damage
    return ImageCheck(ok=True, format=img.format, width=width, height=height, mode=mode, image=img if keep else None)


def _draft_for_fingerprint(img: Image.Image) -> None:
    """Ask libjpeg for the image at 1/k (the dHash's reduction), luma only, unless it must be rotated."""
    width, height = img.size
    k = fingerprint_factor(width, height)
    if k > 1 and img.getexif().get(_ORIENTATION) not in range(2, 9):
        img.draft("L", (width // k, height // k))


# EXIF orientations 2-8 mean "the stored pixels must be flipped/rotated before display".
_ORIENTATION = 0x0112
# Modes whose .convert("RGB") clips instead of scaling (a 16-bit PNG comes out nearly white).
_HIGH_BIT_DEPTH = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})
_FLOAT = "F"
_LAB = "LAB"  # CIE L*a*b*: Pillow's .convert("RGB") refuses it; ImageCms converts it to sRGB
# Modes .convert("RGB") turns into the right picture by itself (checked in tests for each).
_CONVERTIBLE = frozenset({"1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "HSV"})


def pixel_problem(img: Image.Image) -> str | None:
    """Why `img`'s pixels have no agreed 8-bit form, or None (see upright_8bit for the scalings).

    32-bit integers ("I") are read as 16-bit values (Pillow opens 16-bit PNGs and TIFFs so), so a value
    outside 0-65535 has no known range; 32-bit floats ("F") are read as [0, 1] intensities, the common
    convention, so anything else (a temperature map, NaN) has none either: guessing a range per image
    would change what the pixels mean, so such an image is rejected, not stretched.
    """
    if img.mode in _CONVERTIBLE or img.mode == _LAB or (img.mode in _HIGH_BIT_DEPTH and img.mode != "I"):
        return None
    if img.mode == "I":
        low, high = img.getextrema()
        return None if low >= 0 and high <= 65535 else f"32-bit integer pixels span {low}..{high}, beyond 0..65535"
    if img.mode == _FLOAT:
        pixels = np.asarray(img, dtype=np.float64)
        if not np.isfinite(pixels).all():
            return "float pixels that are not finite (NaN or infinity)"
        low, high = float(pixels.min()), float(pixels.max())
        return None if low >= 0.0 and high <= 1.0 else f"float pixels span {low:g}..{high:g}, outside [0, 1]"
    return f"mode {img.mode} has no conversion to RGB"
# Modes PNG stores as they are; any other is converted to RGB(A) when such an image is re-encoded.
_PNG_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA"})


@dataclass(frozen=True)
class Upright:
    data: bytes  # PNG bytes of the corrected image
    image: Image.Image  # the corrected image (what `data` decodes to)
    changes: tuple[str, ...]  # "exif_orientation", "high_bit_depth"


def upright_8bit(img: Image.Image) -> Upright | None:
    """The image re-encoded so that a plain decode gives what a viewer shows, or None if it already does.

    Original bytes are kept whenever `Image.open(bytes).convert("RGB")` already yields the right
    picture: greyscale, palette, CMYK (Pillow converts it correctly) all stay as they are. Two
    cases do not, and are re-encoded losslessly as PNG:
    - an EXIF orientation other than 1: only some readers honour it (`datasets` does, numpy/
      torchvision/Pillow alone do not, nor did augment and dHash here), so the picture would
      be upright for some users and on its side for others. The pixels are rotated, the tag is dropped;
    - 16-bit greyscale: `.convert("RGB")` clips every value above 255 to white. Scaled to 8 bits
      (v * 255 / 65535, what OpenCV and image viewers do); 32-bit integer pixels within 0-65535 too;
    - 32-bit float greyscale in [0, 1] (pixel_problem rejects any other): v * 255, rounded;
    - CIE L*a*b*: converted to sRGB with Pillow's colour management (ImageCms), since `.convert`
      refuses it.
    """
    changes: list[str] = []
    orientation = img.getexif().get(_ORIENTATION)
    if orientation in range(2, 9):  # 1 is upright; anything else (corrupt EXIF) is ignored, as by datasets
        img = ImageOps.exif_transpose(img)
        changes.append("exif_orientation")
    if img.mode in _HIGH_BIT_DEPTH:
        wide = np.clip(np.asarray(img, dtype=np.int64), 0, 65535)
        img = Image.fromarray(((wide * 255 + 32767) // 65535).astype(np.uint8))  # 2-D uint8: mode L
        changes.append("high_bit_depth")
    elif img.mode == _FLOAT:
        unit = np.clip(np.asarray(img, dtype=np.float64), 0.0, 1.0)
        img = Image.fromarray(np.rint(unit * 255).astype(np.uint8))
        changes.append("float_pixels")
    elif img.mode == _LAB:
        to_rgb = ImageCms.buildTransform(ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB")
        img = ImageCms.applyTransform(img, to_rgb)
        changes.append("lab_to_rgb")
    if not changes:
        return None
    # a colour profile only describes the mode it came with: keep it unless the mode changes
    icc = img.info.get("icc_profile") if img.mode in _PNG_MODES else None
    if img.mode not in _PNG_MODES:
        img = img.convert("RGBA" if "A" in img.mode else "RGB")
    buf = io.BytesIO()
    img.save(buf, format="PNG", **({"icc_profile": icc} if icc else {}))
    return Upright(buf.getvalue(), img, tuple(changes))
