"""The before/after grid of augment: one row per record, visible and IR before and after, for the report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from curator.stages.augment.worker import Augmented, open_image

GRID_COLUMNS = ("visible before", "visible after", "IR before", "IR after")
GRID_HEADER_PX = 16
_GRID_BACKGROUND = (32, 32, 32)
_GRID_TEXT = (230, 230, 230)


def before_after_grid(
    pairs: Sequence[tuple[bytes, bytes | None, Augmented]],
    out_png: Path,
    *,
    thumb: int = 128,
) -> Path:
    """Write a PNG: one row per record; columns visible before/after, IR before/after (blank if none).

    Size: width 4 * thumb, height GRID_HEADER_PX + len(pairs) * thumb.
    """
    if not pairs:
        raise ValueError("before_after_grid needs at least one record")
    if thumb < 8:
        raise ValueError(f"thumb must be at least 8 px, got {thumb}")
    width, height = len(GRID_COLUMNS) * thumb, GRID_HEADER_PX + len(pairs) * thumb
    canvas = Image.new("RGB", (width, height), _GRID_BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    _draw_headers(draw, thumb)
    for row, (before, ir_before, augmented) in enumerate(pairs):
        cells = (before, augmented.image, ir_before, augmented.infrared)
        for col, data in enumerate(cells):
            origin = (col * thumb, GRID_HEADER_PX + row * thumb)
            if data is not None:
                _paste_thumb(canvas, data, origin, thumb)
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out_png, format="PNG", compress_level=1)  # a report picture: fast beats 30% smaller
    return out_png


def _draw_headers(draw: ImageDraw.ImageDraw, thumb: int) -> None:
    font = ImageFont.load_default()
    for col, label in enumerate(GRID_COLUMNS):
        draw.text((col * thumb + 3, 2), label, fill=_GRID_TEXT, font=font)


def _paste_thumb(canvas: Image.Image, data: bytes, origin: tuple[int, int], thumb: int) -> None:
    # A 1 px margin on each side leaves a visible gutter between cells.
    img = ImageOps.contain(open_image(data, "grid").convert("RGB"), (thumb - 2, thumb - 2))
    x = origin[0] + (thumb - img.width) // 2
    y = origin[1] + (thumb - img.height) // 2
    canvas.paste(img, (x, y))
