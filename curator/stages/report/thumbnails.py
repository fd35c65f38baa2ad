"""Thumbnails for the report: records' images, rejected files as far as they decode, side-by-side strips."""

from __future__ import annotations

import base64
import html
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageFile, UnidentifiedImageError

THUMB = 160


def thumb_uri(data: bytes, size: int = THUMB, *, partial: bool = False) -> str | None:
    """A JPEG data URI of the image shrunk to fit `size`; None when it does not decode.

    `partial`: draw what a truncated file holds (a rejected image is shown as far as it goes).
    """
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = partial
    try:
        img = Image.open(io.BytesIO(data))
        img.thumbnail((size, size))
        img = img.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def figure(uri: str, caption: str, alt: str | None = None) -> str:
    cap = html.escape(caption)
    return f'<figure><img alt="{html.escape(alt or caption)}" src="{uri}"><figcaption>{cap}</figcaption></figure>'


def strip(items: Sequence[tuple[str, str]], title: str = "") -> str:
    """Figures side by side (wrapping on a narrow screen), optionally under a one-line title."""
    head = f"<div class='strip-title'>{html.escape(title)}</div>" if title else ""
    return f"<div class='strip'>{head}<div class='row'>{''.join(figure(u, c) for u, c in items)}</div></div>"


def raw_file(raw: Path, path: str | None) -> bytes | None:
    """The bytes a reject's `path` names under the source's raw folder, also inside a .zip; None if gone."""
    if not path:
        return None
    target = raw / path
    if target.is_file():
        return target.read_bytes()
    if ".zip/" in path:  # archive members are named "<archive>.zip/<member>" by the recipes
        archive, member = path.split(".zip/", 1)
        zpath = raw / f"{archive}.zip"
        if zpath.is_file():
            try:
                with zipfile.ZipFile(zpath) as zf:
                    return zf.read(member)
            except (KeyError, zipfile.BadZipFile):
                return None
    return None
