"""The pair code: a 10-bit barcode along a face's bottom edge that survives JPEG.

A visible image and its IR twin carry the same code, so a test can check that a recipe paired
them by content, not by file name or list position. Layout: 14 equal cells, white = 1:
[black ref, white ref, 10 data bits (MSB first), even parity, black end].
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

CODE_BITS = 10
_CODE_CELLS = 14

def _strip_top(height: int) -> int:
    return height - max(8, height // 8)


def _cell_x(i: int, width: int) -> tuple[int, int]:
    return round(i * width / _CODE_CELLS), round((i + 1) * width / _CODE_CELLS) - 1


def _code_cells(code: int) -> list[int]:
    bits = [(code >> (CODE_BITS - 1 - i)) & 1 for i in range(CODE_BITS)]
    return [0, 1, *bits, sum(bits) % 2, 0]


def draw_code_strip(img: Image.Image, code: int) -> None:
    """Paint `code` over the bottom strip, which draw_face keeps clear of the face."""
    if not 0 <= code < 2**CODE_BITS:
        raise ValueError(f"pair_code must be in 0..{2**CODE_BITS - 1}, got {code}")
    draw = ImageDraw.Draw(img)
    top = _strip_top(img.height)
    for i, bit in enumerate(_code_cells(code)):
        x0, x1 = _cell_x(i, img.width)
        value = 255 if bit else 0
        draw.rectangle((x0, top, x1, img.height - 1), fill=value if img.mode == "L" else (value,) * 3)


def read_pair_code(img: Image.Image) -> int:
    """Decode the pair code drawn by draw_face; ValueError when there is none."""
    grey = np.asarray(img.convert("L"), dtype=np.float64)
    h, w = grey.shape
    top = _strip_top(h)
    band = grey[top + (h - top) // 4: h - (h - top) // 4]
    means = []
    for i in range(_CODE_CELLS):
        x0, x1 = _cell_x(i, w)
        pad = (x1 - x0) // 4  # sample the cell centre only: JPEG blurs the edges
        means.append(float(band[:, x0 + pad: x1 - pad + 1].mean()))
    black, white = means[0], means[1]
    if white - black < 80:
        raise ValueError("no pair code found: reference cells lack contrast")
    cells = [int(m > (black + white) / 2) for m in means]
    bits, parity, end = cells[2:2 + CODE_BITS], cells[2 + CODE_BITS], cells[-1]
    if end != 0 or sum(bits) % 2 != parity:
        raise ValueError("no valid pair code found: parity or end marker mismatch")
    return int("".join(map(str, bits)), 2)

