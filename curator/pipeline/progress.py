"""Progress and logging: rich bars on a TTY, plain log lines otherwise (CI, DVC logs)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from curator.io.secrets import RedactingFormatter

T = TypeVar("T")
log = logging.getLogger("curator")
_quiet = False


def setup_logging(verbosity: int = 0) -> None:
    """verbosity: -1 quiet (warnings only), 0 info, 1 debug."""
    global _quiet
    _quiet = verbosity < 0
    level = logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(levelname).1s %(name)s: %(message)s"))  # no URL password
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def _interactive() -> bool:
    return not _quiet and sys.stderr.isatty()


def track(items: Iterable[T], *, total: int | None = None, desc: str = "working", unit: str = "rec") -> Iterator[T]:
    """Iterate with a progress bar on a TTY, or an info line every ~10 s otherwise."""
    if _interactive():
        from rich.progress import track as rich_track

        yield from rich_track(items, total=total, description=desc, console=None, transient=True)
        return
    start = last = time.monotonic()
    for done, item in enumerate(items, start=1):
        yield item
        now = time.monotonic()
        if now - last >= 10:
            of = f"/{total}" if total else ""
            log.info("%s: %d%s %s (%.0f/s)", desc, done, of, unit, done / (now - start))
            last = now
