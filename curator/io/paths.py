"""Where a command may write: never over, inside or around what it reads, nor where a file stands.

Kept apart from curator.pipeline.lineage (which re-exports these) so that `curator download`, which
needs only this, does not depend on the stage contracts.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from curator.errors import CuratorError


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def check_paths(out: Path, inputs: Iterable[Path], *, metrics_copy: Path | None = None,
                what: str = "the input") -> None:
    """Refuse an output that is, is inside, or contains one of the inputs, an output that is an
    existing file, and a --metrics copy that is a folder or lies inside the output."""
    out = Path(out)
    real_out = _real(out)
    for inp in inputs:
        real_in = _real(inp)
        if _within(real_out, real_in) or _within(real_in, real_out):
            how = "is" if real_out == real_in else "is inside" if _within(real_out, real_in) else "contains"
            raise CuratorError(f"--out {out} {how} {what} {inp}: a stage never writes over what it reads; "
                               "choose another --out")
    if out.exists() and not out.is_dir():
        raise CuratorError(f"--out {out} is an existing file, not a folder; choose another --out")
    if metrics_copy is not None:
        metrics_copy = Path(metrics_copy)
        if metrics_copy.is_dir():
            raise CuratorError(f"--metrics {metrics_copy} is a folder; give the path of a JSON file")
        if _within(_real(metrics_copy), real_out):
            raise CuratorError(f"--metrics {metrics_copy} is inside the output {out}; give a path outside it")


def check_report_out(out: Path, reads: Iterable[Path]) -> None:
    """The report writes index.html, plots/ and figures/ into `out`: never into a folder it reads
    (that would add files to a stage output), nor where a file stands."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise CuratorError(f"--out {out} is an existing file, not a folder; choose another --out")
    for folder in reads:
        if _within(_real(out), _real(folder)):
            raise CuratorError(f"--out {out} is inside {folder}, which the report reads; choose another --out")
