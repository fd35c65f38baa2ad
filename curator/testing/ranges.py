"""HTTP Range requests, as both loopback servers (the file server and the Hub stand-in) answer them."""

from __future__ import annotations

import re

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class Unsatisfiable(Exception):
    """The range starts past the end: answer 416 with `Content-Range: bytes */<size>`."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The half-open [start, end) that a single `Range: bytes=a-b` (or `bytes=-n`, the last n bytes)
    asks of `size` bytes; None when there is no usable Range header (serve everything, 200)."""
    match = _RANGE.fullmatch((header or "").strip())
    if not match or not any(match.groups()):
        return None
    first, last = match.groups()
    if first:
        start = int(first)
        end = min(int(last) + 1, size) if last else size
    else:  # suffix range
        start, end = max(size - int(last), 0), size
    if start >= size or start >= end:
        raise Unsatisfiable(f"bytes */{size}")
    return start, end
