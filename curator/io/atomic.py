"""Atomic writes: temp name + rename, so a killed process leaves the old output or nothing."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from curator.errors import CuratorError
from curator.pipeline import interrupts

# A full disk (or quota, or file-size limit) is the user's environment, not a bug: one clear line.
_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


# So is a folder the user may not write to (or a read-only file system).
_NOT_ALLOWED = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


def _disk_full(exc: BaseException, what: Path) -> CuratorError | None:
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
        return CuratorError(f"cannot write {what}: {exc.strerror or os.strerror(exc.errno)}; "
                            "its previous content is left as it was (free some space and run again)")
    if isinstance(exc, OSError) and exc.errno in _NOT_ALLOWED:
        return CuratorError(f"cannot write {what}: {exc.strerror or os.strerror(exc.errno)} "
                            f"({exc.filename or what}); choose a folder you may write to")
    return None


@contextlib.contextmanager
def _one_line(what: Path) -> Iterator[None]:
    """A full disk or a folder we may not write to, as one line naming `what`."""
    try:
        yield
    except OSError as exc:
        problem = _disk_full(exc, what)
        if problem is not None:
            raise problem from None
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    with _one_line(path):
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
    """Standard JSON only: a NaN or an infinity (which json.dumps would write as `NaN`/`Infinity`,
    unreadable to strict parsers) is refused, naming the file."""
    try:
        text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    except ValueError as exc:
        raise CuratorError(f"cannot write {path}: {exc} (JSON has no NaN or Infinity)") from None
    atomic_write_text(path, text + "\n")


_HELD: set[int] = set()  # file descriptors of the locks this process holds


def _drop_locks_in_child() -> None:
    """A forked child (a pool worker) shares its parent's open lock files, and a flock lasts while any
    process holds one: a worker orphaned by a killed parent would keep the stage locked for good.
    Point the child's copies at /dev/null (the parent keeps its own)."""
    if not _HELD:
        return
    null = os.open(os.devnull, os.O_RDONLY)
    for fd in list(_HELD):
        with contextlib.suppress(OSError):
            os.dup2(null, fd)
    os.close(null)
    _HELD.clear()


os.register_at_fork(after_in_child=_drop_locks_in_child)


def _busy(target: Path, name: str, writer: bool) -> CuratorError:
    verb = "writing" if writer else "reading"
    return CuratorError(f"another run is {verb} {target} (lock {name} is held); wait for it to finish, then run again")


@contextlib.contextmanager
def file_lock(path: Path, *, wait: bool = True, what: Path | None = None, shared: bool = False) -> Iterator[None]:
    """A lock on `path` across processes: exclusive (a writer), or `shared` (a reader: any number of
    readers, no writer). wait=False fails at once, with a clear message naming `what` (default:
    `path` without its suffix), if another process holds it. The lock file is left in place on
    purpose: deleting it would let a third process lock a different inode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    target = what or path.with_suffix("")
    with open(path, "a+") as fh:
        mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        try:
            fcntl.flock(fh.fileno(), mode | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise _busy(target, path.name, shared or _writer_holds(fh.fileno())) from None
        _HELD.add(fh.fileno())
        try:
            yield
        finally:
            _HELD.discard(fh.fileno())
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _writer_holds(fd: int) -> bool:
    """After an exclusive lock failed: True if a writer holds it (a shared lock fails too), False if
    only readers do."""
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(fd, fcntl.LOCK_UN)
    return False


def lock_path(target: Path) -> Path:
    """The hidden lock file beside a stage output (kept outside it, so it survives the swap). Keyed on the
    real path: a run given a symlink to a folder locks the same file as one given the folder itself."""
    target = Path(os.path.realpath(target))
    return target.parent / f".{target.name}.lock"


@contextlib.contextmanager
def reading(folder: Path) -> Iterator[None]:
    """Hold a stage output as an input: no run may replace it while this one reads it (a run writing
    it makes this one fail at once, with the usual "another run is writing" line)."""
    folder = Path(os.path.abspath(folder))
    if not folder.exists():  # nothing to hold: the stage reports the missing input itself
        yield
        return
    try:
        lock = file_lock(lock_path(folder), wait=False, what=folder, shared=True)
        lock.__enter__()
    except OSError as exc:
        if exc.errno not in _NOT_ALLOWED:
            raise
        yield  # a read-only input (a mounted dataset): nothing can replace it under us either
        return
    try:
        yield
    finally:
        lock.__exit__(None, None, None)


def signals_deferred() -> contextlib.AbstractContextManager[None]:
    """SIGINT/SIGTERM wait until the block is done: a swap cut between its two renames would leave
    nothing under the output's name. (Held by the CLI's handler: a mask in the kernel alone lets a
    signal through to any other thread, and Python then runs the handler in this one anyway.)"""
    return interrupts.deferred()


@contextlib.contextmanager
def atomic_dir(target: Path, *, check: Callable[[Path], None] | None = None) -> Iterator[Path]:
    """Build a directory under a temp name and swap it in on success.

    On failure the temp dir is removed and `target` keeps its previous content. Leftover temp
    dirs of killed runs are swept first; the lock keeps two runs from sweeping each other's.
    `check(target)`, under the lock, may refuse to replace what is there. A full disk is a
    one-line CuratorError, not a traceback.
    """
    shown = Path(target)  # as the user named it, in messages
    target = Path(os.path.abspath(target))  # `.` or `x/..` have no name to hide a temp copy under
    if target.exists() and not target.is_dir():
        raise CuratorError(f"{shown} is an existing file, not a folder; choose another output")
    with _one_line(shown):
        target.parent.mkdir(parents=True, exist_ok=True)
        lock = contextlib.ExitStack()
        # the lock is a hidden file beside the target: name the target itself in the message
        lock.enter_context(file_lock(lock_path(target), wait=False, what=shown))
    with lock:
        _restore_interrupted_swap(target)
        if check is not None:
            check(target)
        for stale in target.parent.glob(f".{target.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
        try:
            with _one_line(shown):
                tmp.mkdir()
            yield tmp
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            full = _disk_full(exc, shown)
            if full is not None:
                raise full from None
            raise
        old = target.parent / f".{target.name}.tmp-old-{os.getpid()}"
        with signals_deferred():
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
