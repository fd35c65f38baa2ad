"""Where a command may write (never over, inside or around what it reads, nor where a file stands), and
what a recipe may read of a delivery (nothing outside it, no name that no output can hold).

Kept apart from curator.pipeline.lineage (which re-exports these) so that `curator download`, which
needs only this, does not depend on the stage contracts.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Annotated

from pydantic import AfterValidator

from curator.errors import CuratorError
from curator.reasons import Reason


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


# --- what a folder holds, links never followed (push and validate read published folders so) -----------

ENTRY_KINDS = {stat.S_IFLNK: "a symbolic link", stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket",
               stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device"}


def entry_kind(mode: int) -> str:
    """What an entry that is not a regular file or a folder is, as a message says it."""
    return ENTRY_KINDS.get(stat.S_IFMT(mode), "not a regular file")


def lstat_tree(folder: Path) -> Iterator[tuple[str, os.stat_result | OSError]]:
    """(posix path relative to `folder`, lstat) of every entry under it, folders included; links are
    never followed and nothing is opened. A folder that cannot be listed comes as (its path, the
    OSError), "." for `folder` itself."""
    pending = [""]
    while pending:
        prefix = pending.pop()
        try:
            with os.scandir(Path(folder) / prefix) as entries:
                found = [(prefix + entry.name, entry.stat(follow_symlinks=False)) for entry in entries]
        except OSError as exc:
            yield prefix.rstrip("/") or ".", exc
            continue
        for rel, info in found:
            if stat.S_ISDIR(info.st_mode):
                pending.append(f"{rel}/")
            yield rel, info


# --- what a recipe may read of a delivery -------------------------------------------------------------


def shown(name: str) -> str:
    """A file name as text any output can hold: bytes that are not UTF-8 (which Python keeps as lone
    surrogates) escaped as `\\xff`, the rest unchanged."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def decodable(name: str) -> bool:
    """Whether `name` is valid UTF-8 as it came from the file system (no lone surrogates)."""
    if name.isascii():  # the usual case, without an encode
        return True
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class LeftOut:
    """An entry of a delivery that no recipe may read, and why (prepare and inspect make it a reject)."""

    path: str  # relative to the delivery, escaped (shown)
    reason: Reason
    detail: str


@dataclass
class _Scan:
    root: str  # the delivery's real path
    dirs: list[str] = field(default_factory=list)  # relative paths, parents first
    files: list[tuple[str, str]] = field(default_factory=list)  # (relative path, real path it reads)
    dir_links: list[tuple[str, str]] = field(default_factory=list)  # (relative path, relative target)
    left_out: list[LeftOut] = field(default_factory=list)


def _entries(folder: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError as exc:
        raise CuratorError(f"cannot read the folder {shown(folder)} ({exc.strerror})") from None


def _walk(scan: _Scan, top: str) -> None:
    """Every entry under `top`, depth first in name order (a stack, not recursion: folders may nest deep)."""
    stack: list[tuple[str, str]] = [(top, "")]
    while stack:
        folder, rel = stack.pop()
        below = []
        for entry in _entries(folder):
            path = f"{rel}{entry.name}"
            if not decodable(entry.name):
                _undecodable(scan, entry, path)
            elif entry.is_symlink():
                _link(scan, entry, path)
            elif entry.is_dir(follow_symlinks=False):
                scan.dirs.append(path)
                below.append((entry.path, f"{path}/"))
            elif entry.is_file(follow_symlinks=False):
                scan.files.append((path, entry.path))
            else:  # a FIFO would block the reader for ever; a socket or device is no data either
                scan.left_out.append(LeftOut(shown(path), Reason.STRAY_FILE, f"{shown(path)}: not a regular file "
                                             "(a FIFO, socket or device); not read"))
        stack.extend(reversed(below))


def _link(scan: _Scan, entry: os.DirEntry[str], path: str) -> None:
    """A link is followed only when what it points to is inside the delivery."""
    target = os.path.realpath(entry.path)
    if target != scan.root and not target.startswith(scan.root + os.sep):
        what = "folder" if os.path.isdir(target) else "file"
        scan.left_out.append(LeftOut(shown(path), Reason.OUTSIDE_DELIVERY,
                                     f"{shown(path)}: a link to a {what} outside the delivery "
                                     f"({shown(os.readlink(entry.path))}); not followed"))
    elif os.path.isdir(target):
        scan.dir_links.append((path, os.path.relpath(target, scan.root)))
    else:
        scan.files.append((path, target))


def _undecodable(scan: _Scan, entry: os.DirEntry[str], path: str) -> None:
    """One reject per file at or under a name that is not UTF-8 (a folder counts its files)."""
    inside = [path]
    if entry.is_dir(follow_symlinks=False):
        inside = [os.path.join(path, os.path.relpath(os.path.join(top, name), entry.path))
                  for top, _, names in os.walk(entry.path) for name in names]
    for name in sorted(inside):
        what = "its name" if name == path else f"the name of its folder {shown(path)}"
        scan.left_out.append(LeftOut(shown(name), Reason.UNDECODABLE_NAME,
                                     f"{shown(name)}: {what} is not UTF-8; rename it to read it"))


@contextmanager
def delivery(raw: Path) -> Iterator[tuple[Path, list[LeftOut]]]:
    """What a recipe may read of the raw folder `raw`, and what it may not.

    A link is followed only to a file or folder inside `raw`; a name that is not UTF-8 cannot be
    stored in any record or reject; a FIFO blocks its reader. When `raw` holds any of these, the
    recipe reads a scratch view of it (the same folders, every other file linked in) so that no recipe
    can read them whatever way it walks; the view is removed afterwards, and an error naming it names
    `raw` instead. Otherwise (the usual case) the recipe reads `raw` itself.
    """
    raw = Path(raw)
    if not raw.is_dir():
        yield raw, []
        return
    scan = _Scan(os.path.realpath(raw))
    _walk(scan, str(raw))
    if not scan.left_out:
        yield raw, []
        return
    with tempfile.TemporaryDirectory(prefix="curator-delivery-") as scratch:
        view = Path(os.path.realpath(scratch)) / (raw.resolve().name or "raw")
        view.mkdir()
        for rel in scan.dirs:
            (view / rel).mkdir()
        for rel, real in scan.files:
            os.symlink(os.path.realpath(real), view / rel)
        for rel, target in scan.dir_links:
            os.symlink(view / target, view / rel, target_is_directory=True)
        try:
            yield view, scan.left_out
        except CuratorError as exc:  # say where the user's files are, not the scratch view
            exc.args = tuple(a.replace(str(view), str(raw)) if isinstance(a, str) else a for a in exc.args)
            raise


def within_delivery_name(name: str) -> str:
    """A file name a params list gives (an archive, a CSV): a path inside the delivery, never `..` or
    absolute, so that it can neither read outside --from nor write outside --out."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if not name.strip() or "\x00" in name or pure.is_absolute() or PureWindowsPath(name).drive \
            or ".." in pure.parts:
        raise ValueError("must be a file name inside the delivery (no '..', not an absolute path)")
    return name


DeliveryName = Annotated[str, AfterValidator(within_delivery_name)]
