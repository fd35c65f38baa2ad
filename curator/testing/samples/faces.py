"""Cartoon faces whose expression is visible at a glance, in visible light or thermal IR."""

from __future__ import annotations

import random
from typing import NamedTuple

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from curator.testing.samples.paircode import draw_code_strip
from curator.testing.samples.seeds import seed_int

RGB = tuple[int, int, int]

EXPRESSIONS = ("neutral", "happiness", "sadness", "anger", "fear", "surprise", "disgust", "contempt")


class _Palette(NamedTuple):
    background: RGB
    skin: RGB
    line: RGB
    eye_white: RGB
    pupil: RGB
    mouth: RGB
    cheek: RGB
    text: RGB


class _Geometry(NamedTuple):
    size: int
    cx: float
    cy: float
    rx: float
    ry: float
    width: int
    scene: tuple[tuple[str, tuple[float, float, float, float], int], ...]  # (shape, box, brightness)


_SKIN_TONES = ((255, 219, 172), (241, 194, 167), (234, 192, 134), (224, 172, 105), (198, 134, 66),
               (141, 85, 36))


def _grey(v: int) -> RGB:
    return (v, v, v)


# Thermal look: skin warm (bright), eyes and mouth warmest, brows/hair cool, room dark.
_IR_PALETTE = _Palette(background=_grey(25), skin=_grey(185), line=_grey(105), eye_white=_grey(235),
                       pupil=_grey(250), mouth=_grey(245), cheek=_grey(210), text=_grey(255))

# Brow (inner_dy, outer_dy) in units of ry/16; negative = raised.
_BROWS = {"flat": (0, 0), "inner_up": (-2.5, 1.0), "v": (2.5, -1.5), "high": (-3.0, -3.0),
          "inner_up_high": (-4.0, -1.5), "lowered": (1.5, 0.5)}

# expression -> (brow style, eye style, mouth style)
_PARTS = {
    "neutral": ("flat", "normal", "straight"),
    "happiness": ("flat", "normal", "smile"),
    "sadness": ("inner_up", "normal", "frown"),
    "anger": ("v", "narrow", "tight"),
    "fear": ("inner_up_high", "wide", "stretched"),
    "surprise": ("high", "wide", "o"),
    "disgust": ("lowered", "narrow", "wavy"),
    "contempt": ("flat", "normal", "smirk"),
}


def _geometry(size: int, rnd: random.Random) -> _Geometry:
    # The face stays above the bottom eighth, which the pair-code strip occupies. Position, scale
    # and a random "room" behind the face vary per seed, so distinct samples are not near
    # duplicates to a perceptual hash (the dedup stage would rightly merge them otherwise).
    jitter = size * 0.06
    scene = []
    for _ in range(rnd.randint(3, 6)):
        x, y = rnd.uniform(-0.1, 0.9) * size, rnd.uniform(-0.1, 0.8) * size
        w, h = rnd.uniform(0.1, 0.5) * size, rnd.uniform(0.1, 0.5) * size
        scene.append((rnd.choice(("ellipse", "rectangle")), (x, y, x + w, y + h), rnd.randint(0, 255)))
    return _Geometry(size=size, cx=size / 2 + rnd.uniform(-jitter, jitter),
                     cy=size * 0.48 + rnd.uniform(-jitter / 2, jitter / 2), rx=size * rnd.uniform(0.24, 0.32),
                     ry=size * rnd.uniform(0.27, 0.33), width=max(1, size // 40), scene=tuple(scene))


def _draw_scene(draw: ImageDraw.ImageDraw, g: _Geometry, modality: str, background: RGB) -> None:
    """Background objects: tinted by the room colour in visible light, cool greys in IR."""
    for shape, box, v in g.scene:
        if modality == "ir":
            fill: RGB = _grey(10 + v // 3)
        else:
            fill = tuple(max(0, min(255, c + v - 128)) for c in background)  # type: ignore[assignment]
        getattr(draw, shape)(box, fill=fill)


def _visible_palette(rnd: random.Random) -> _Palette:
    skin = rnd.choice(_SKIN_TONES)
    hue = [rnd.randint(150, 235) for _ in range(3)]
    return _Palette(background=(hue[0], hue[1], hue[2]), skin=skin, line=(40, 25, 20),
                    eye_white=(250, 250, 250), pupil=(30, 30, 40), mouth=(120, 30, 40),
                    cheek=(235, 120, 120), text=(10, 10, 10))


def _draw_head(draw: ImageDraw.ImageDraw, g: _Geometry, p: _Palette) -> None:
    draw.ellipse((g.cx - g.rx, g.cy - g.ry, g.cx + g.rx, g.cy + g.ry), fill=p.skin, outline=p.line,
                 width=g.width)
    nose = [(g.cx, g.cy - 0.05 * g.ry), (g.cx - 0.08 * g.rx, g.cy + 0.22 * g.ry),
            (g.cx + 0.04 * g.rx, g.cy + 0.24 * g.ry)]
    draw.line(nose, fill=p.line, width=g.width)


def _draw_brows(draw: ImageDraw.ImageDraw, g: _Geometry, p: _Palette, style: str) -> None:
    inner_dy, outer_dy = (d * g.ry / 16 for d in _BROWS[style])
    y = g.cy - 0.38 * g.ry
    for side in (-1, 1):
        outer = (g.cx + side * 0.62 * g.rx, y + outer_dy)
        inner = (g.cx + side * 0.18 * g.rx, y + inner_dy)
        draw.line([outer, inner], fill=p.line, width=g.width + 1)


def _draw_eyes(draw: ImageDraw.ImageDraw, g: _Geometry, p: _Palette, style: str) -> None:
    r = g.rx * (0.15 if style == "wide" else 0.10)
    rh = r * (0.45 if style == "narrow" else 1.0)
    y = g.cy - 0.15 * g.ry
    for side in (-1, 1):
        x = g.cx + side * 0.4 * g.rx
        draw.ellipse((x - r, y - rh, x + r, y + rh), fill=p.eye_white, outline=p.line, width=1)
        pr = min(r * 0.5, rh)
        draw.ellipse((x - pr, y - pr, x + pr, y + pr), fill=p.pupil)


def _draw_mouth(draw: ImageDraw.ImageDraw, g: _Geometry, p: _Palette, style: str) -> None:
    x, y, w = g.cx, g.cy + 0.5 * g.ry, 0.38 * g.rx
    lw = g.width
    if style == "straight":
        draw.line([(x - w, y), (x + w, y)], fill=p.line, width=lw)
    elif style == "smile":
        draw.chord((x - w, y - 0.5 * w, x + w, y + 0.6 * w), 0, 180, fill=p.mouth, outline=p.line, width=lw)
    elif style == "frown":
        draw.arc((x - w, y, x + w, y + 0.9 * w), 200, 340, fill=p.line, width=lw + 1)
    elif style == "tight":
        draw.line([(x - w, y + 0.25 * w), (x - 0.7 * w, y), (x + 0.7 * w, y), (x + w, y + 0.25 * w)],
                  fill=p.line, width=lw + 1)
    elif style == "stretched":
        draw.ellipse((x - w, y - 0.2 * w, x + w, y + 0.3 * w), fill=p.mouth, outline=p.line, width=lw)
    elif style == "o":
        draw.ellipse((x - 0.3 * w, y - 0.4 * w, x + 0.3 * w, y + 0.4 * w), fill=p.mouth, outline=p.line,
                     width=lw)
    elif style == "wavy":
        pts = [(x - w + i * w / 3, y - (0.2 * w if i % 2 else 0)) for i in range(7)]
        draw.line(pts, fill=p.line, width=lw)
    elif style == "smirk":
        draw.line([(x - 0.8 * w, y), (x + 0.2 * w, y), (x + w, y - 0.4 * w)], fill=p.line, width=lw)


def _draw_extras(draw: ImageDraw.ImageDraw, g: _Geometry, p: _Palette, expression: str) -> None:
    if expression == "happiness":
        r = 0.12 * g.rx
        for side in (-1, 1):
            x, y = g.cx + side * 0.58 * g.rx, g.cy + 0.22 * g.ry
            draw.ellipse((x - r, y - r, x + r, y + r), fill=p.cheek)
    elif expression == "disgust":
        # Wrinkled nose: short diagonal creases either side of the bridge.
        for side in (-1, 1):
            x0, y0 = g.cx + side * 0.08 * g.rx, g.cy - 0.02 * g.ry
            draw.line([(x0, y0), (x0 + side * 0.12 * g.rx, y0 + 0.08 * g.ry)], fill=p.line, width=1)
            draw.line([(x0, y0 + 0.08 * g.ry), (x0 + side * 0.12 * g.rx, y0 + 0.16 * g.ry)], fill=p.line,
                      width=1)


def _font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=px)
    except (TypeError, OSError):  # Pillow built without FreeType
        return ImageFont.load_default()


def _draw_caption(img: Image.Image, caption: str, p: _Palette) -> None:
    draw = ImageDraw.Draw(img)
    fill: int | RGB = p.text[0] if img.mode == "L" else p.text
    draw.text((2, 1), caption, fill=fill, font=_font(max(8, img.width // 11)))


def draw_face(expression: str, size: int = 128, *, modality: str = "visible", pair_code: int | None = None,
              seed: int = 0, caption: str | None = None) -> Image.Image:
    """A cartoon face whose expression is visible at a glance (RGB, or L for modality='ir').

    The same seed gives the same geometry in both modalities, so a visible/IR pair matches.
    """
    if expression not in _PARTS:
        raise ValueError(f"unknown expression {expression!r}; expected one of {EXPRESSIONS}")
    if modality not in ("visible", "ir"):
        raise ValueError(f"modality must be 'visible' or 'ir', got {modality!r}")
    rnd = random.Random(seed_int(seed, "face"))
    g = _geometry(size, rnd)  # drawn first so both modalities consume the same randomness
    p = _visible_palette(rnd) if modality == "visible" else _IR_PALETTE
    img = Image.new("RGB", (size, size), p.background)
    draw = ImageDraw.Draw(img)
    brows, eyes, mouth = _PARTS[expression]
    _draw_scene(draw, g, modality, p.background)
    _draw_head(draw, g, p)
    _draw_extras(draw, g, p, expression)
    _draw_brows(draw, g, p, brows)
    _draw_eyes(draw, g, p, eyes)
    _draw_mouth(draw, g, p, mouth)
    if modality == "ir":
        img = img.convert("L").filter(ImageFilter.GaussianBlur(max(1, size // 80)))
    if caption:
        _draw_caption(img, caption, p)
    if pair_code is not None:
        draw_code_strip(img, pair_code)
    return img

