"""The fast paths of prepare give what the slow ones gave: the record check's quick accept never
passes a value Arrow refuses, and a JPEG decoded at the dHash's scale (libjpeg DCT scaling) is
fingerprinted like the full decode, and rejected like it when cut."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from curator.io.images import check_image, dhash, fingerprint_factor
from curator.reasons import Reason
from curator.record.record import _field_checks, record_problem
from curator.record.schema import arrow_schema

VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True), st.text(max_size=5),
    st.binary(max_size=5), st.lists(st.integers(0, 3), max_size=3),
    st.dictionaries(st.sampled_from(["bytes", "path", "age", "x"]),
                    st.one_of(st.none(), st.text(max_size=3), st.binary(max_size=3), st.integers(0, 3)), max_size=3),
)


@given(st.data())
@settings(max_examples=300, deadline=None)
def test_quick_accept_is_a_subset_of_what_arrow_stores(data):
    for field, fits, _ in _field_checks():
        value = data.draw(VALUES)
        if value is not None and fits is not None and fits(value):
            pa.array([value], type=field.type)  # raises if the quick check let through a bad value


@given(st.dictionaries(st.sampled_from(arrow_schema().names), VALUES, max_size=6))
@settings(max_examples=300, deadline=None)
def test_record_problem_agrees_with_arrow(row):
    """A row record_problem accepts converts; one it refuses names a reason (no exception escapes)."""
    problem = record_problem(row)
    if problem is None:
        pa.Table.from_pylist([row], schema=arrow_schema())
    else:
        assert isinstance(problem, str) and problem


def _jpeg(seed: int, size: int, quality: int = 90) -> bytes:
    rng = np.random.default_rng(seed)
    base = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).resize((size, size), Image.BICUBIC)
    pixels = np.clip(np.asarray(base, np.int16) + rng.normal(0, 4, (size, size, 3)), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def test_small_decode_fingerprints_like_the_full_decode():
    for size in (40, 100, 300, 700):
        k = fingerprint_factor(size, size)
        for seed in range(12):
            data = _jpeg(seed, size)
            small, full = check_image(data, keep=True, small=True), check_image(data, keep=True)
            assert small.ok and (small.width, small.height, small.mode) == (full.width, full.height, full.mode)
            assert small.image.size == (-(-size // k),) * 2  # decoded at 1/k only
            near = int(dhash(small.image, (small.width, small.height)), 16) ^ int(dhash(full.image), 16)
            assert near.bit_count() <= 3  # within dedup's default max_distance
    png = io.BytesIO()
    Image.open(io.BytesIO(_jpeg(1, 300))).save(png, "PNG")
    png_check = check_image(png.getvalue(), keep=True, small=True)
    assert png_check.image.size == (300, 300)  # other formats are decoded in full


def test_small_decode_still_rejects_a_cut_or_corrupt_jpeg():
    data = _jpeg(3, 700)
    for cut in (len(data) // 3, len(data) - 100):
        assert check_image(data[:cut], small=True).reason == Reason.TRUNCATED_IMAGE
    broken = bytearray(data)
    broken[len(data) // 2: len(data) // 2 + 400] = bytes(400)
    full, small = check_image(bytes(broken)), check_image(bytes(broken), small=True)
    assert (small.ok, small.reason) == (full.ok, full.reason)
