"""Atomic writes: temp name + rename, so a killed process leaves the old output or nothing."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from curator.errors import CuratorError

# A full disk (or quota, or file-size limit) is the user's environment, not a bug: one clear line.
_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def _disk_full(exc: BaseException, what: Path) -> CuratorError | None:
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
        return CuratorError(f"cannot write {what}: {exc.strerror or os.strerror(exc.errno)}; "
                            "its previous content is left as it was (free some space and run again)")
    return None


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would make outputs unreadable to others
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        full = _disk_full(exc, path)
        if full is not None:
            raise full from None
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


@contextlib.contextmanager
def file_lock(path: Path, *, wait: bool = True, what: Path | None = None) -> Iterator[None]:
    """An exclusive lock on `path` across processes. wait=False fails at once, with a clear
    message naming `what` (default: `path` without its suffix), if another process holds it.
    The lock file is left in place on purpose: deleting it would let a third process lock a
    different inode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            target = what or path.with_suffix("")
            raise CuratorError(f"another run is writing {target} (lock {path.name} is held); "
                               "wait for it to finish, then run again") from None
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Build a directory under a temp name and swap it in on success.

    On failure the temp dir is removed and `target` keeps its previous content. Leftover temp
    dirs of killed runs are swept first; the lock keeps two runs from sweeping each other's.
    A full disk is a one-line CuratorError, not a traceback.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # the lock is a hidden file beside the target: name the target itself in the message
    with file_lock(target.parent / f".{target.name}.lock", wait=False, what=target):
        _restore_interrupted_swap(target)
        for stale in target.parent.glob(f".{target.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
        try:
            tmp.mkdir()
            yield tmp
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            full = _disk_full(exc, target)
            if full is not None:
                raise full from None
            raise
        old = target.parent / f".{target.name}.tmp-old-{os.getpid()}"
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)


def _restore_interrupted_swap(target: Path) -> None:
    """Undo a swap cut between its two renames (target -> old, tmp -> target).

    A run killed there leaves no `target` and the previous output under `.<name>.tmp-old-<pid>`;
    the sweep would delete it. Put it back first, so a kill leaves the previous output, never nothing.
    """
    if target.exists() or target.is_symlink():
        return
    olds = sorted(target.parent.glob(f".{target.name}.tmp-old-*"), key=lambda p: p.stat().st_mtime)
    if olds:
        os.replace(olds[-1], target)
