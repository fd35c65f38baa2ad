"""One small interface for the per-record work (validate, hash, augment, encode).

`ordered_map(fn, items)` returns results in input order whatever the worker count, so stage
output bytes never depend on scheduling. The local process pool is the default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from itertools import islice
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


class LocalExecutor:
    """A process pool (or, with workers <= 1, a plain loop: easier to debug and profile)."""

    def __init__(self, workers: int = 1, *, window: int = 256):
        self.workers = max(1, int(workers))
        self.window = window  # items in flight: bounds memory on a stream of images
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> LocalExecutor:
        if self.workers > 1:
            self._pool = ProcessPoolExecutor(max_workers=self.workers)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def ordered_map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        if self._pool is None:
            yield from map(fn, items)
            return
        iterator = iter(items)
        chunk = max(1, self.window // (self.workers * 4))
        while batch := list(islice(iterator, self.window)):
            yield from self._pool.map(fn, batch, chunksize=chunk)
