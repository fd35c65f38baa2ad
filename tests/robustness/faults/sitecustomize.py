"""Fault injection for tests/robustness, loaded at interpreter start-up when this folder is on
PYTHONPATH (helpers.fault_env). It changes nothing unless one of these variables is set:

CURATOR_FAULT_ENOSPC_DIR, CURATOR_FAULT_ENOSPC_AFTER=N
    once the process has written N bytes to files under the folder, every further write there
    fails with OSError(ENOSPC), as on a full disk.
CURATOR_FAULT_STOP_ON_OPEN=PATTERN
    the first time a file whose name matches PATTERN (fnmatch) is opened for writing, the process
    stops itself (SIGSTOP) before the open, so a test can SIGKILL it at exactly that point.
CURATOR_FAULT_STOP_ON_REPLACE=PATTERN
    the same, just before os.replace(src, ...) of a src whose name matches PATTERN.
CURATOR_FAULT_STOP_AFTER_FORKS=N
    once the process has forked its N-th child (a pool's last worker), it stops itself the next
    time it waits for a pool result (Future.result), so a test can signal it while its workers are
    alive and busy. (Not in the fork hook itself: a signal handler's exception is lost there.)
CURATOR_FAULT_STOP_AT_RESULT=N
    the process stops itself at its N-th wait for a pool result (Future.result).
CURATOR_FAULT_STOP_ON_IMPORT=MODULE
    the process stops itself when it first imports MODULE (the CLI's start-up).
CURATOR_FAULT_STOP_PARENT_ON_RESULT=MARKER
    the first pool worker to send a result back (the one that creates the file MARKER) stops its
    parent (SIGSTOP) first, then sends: with a result larger than a pipe holds, it blocks halfway.
CURATOR_FAULT_STOP_AT_EXIT=1
    the process stops itself in its last atexit callback: the run is over, Python is shutting down.

The CLI under test is the real one; this only decides *where* the real SIGKILL lands.
"""

from __future__ import annotations

import builtins
import errno
import fnmatch
import io
import os
import shutil
import signal
from typing import Any

_FULL_DIR = os.environ.get("CURATOR_FAULT_ENOSPC_DIR")
_STOP_OPEN = os.environ.get("CURATOR_FAULT_STOP_ON_OPEN")
_STOP_REPLACE = os.environ.get("CURATOR_FAULT_STOP_ON_REPLACE")
_STOP_FORKS = int(os.environ.get("CURATOR_FAULT_STOP_AFTER_FORKS", "0"))
_STOP_RESULT = int(os.environ.get("CURATOR_FAULT_STOP_AT_RESULT", "0"))
_STOP_IMPORT = os.environ.get("CURATOR_FAULT_STOP_ON_IMPORT")
_forks = [0]
_results = [0]
_left = [int(os.environ.get("CURATOR_FAULT_ENOSPC_AFTER", "0"))]
_stopped = [False]
_real_open = io.open
_real_replace = os.replace


def _stop_once() -> None:
    if not _stopped[0]:
        _stopped[0] = True
        os.kill(os.getpid(), signal.SIGSTOP)


def _path_of(file: Any) -> str:
    if isinstance(file, int):
        return os.readlink(f"/proc/self/fd/{file}")
    return os.path.realpath(os.fspath(file))


class _FullDisk:
    """A file whose writes draw on the shared budget; past it, ENOSPC."""

    def __init__(self, f: Any) -> None:
        self._f = f

    def write(self, data: Any) -> int:
        n = len(data.encode("utf-8")) if isinstance(data, str) else memoryview(data).nbytes
        if n > _left[0]:
            _left[0] = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        _left[0] -= n
        return self._f.write(data)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)

    def __iter__(self) -> Any:
        return iter(self._f)

    def __enter__(self) -> _FullDisk:
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._f.__exit__(*exc)


def _open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
    writing = any(c in mode for c in "wax+")
    named = not isinstance(file, int)
    if writing and _STOP_OPEN and named and fnmatch.fnmatch(os.path.basename(os.fspath(file)), _STOP_OPEN):
        _stop_once()
    f = _real_open(file, mode, *args, **kwargs)
    # os.fdopen(mkstemp()) (atomic writes): the name is known only once the fd is open
    if writing and _STOP_OPEN and not named and fnmatch.fnmatch(os.path.basename(_path_of(file)), _STOP_OPEN):
        _stop_once()
    if writing and _FULL_DIR:
        root = os.path.realpath(_FULL_DIR)
        if os.path.commonpath([root, _path_of(file)]) == root:
            return _FullDisk(f)
    return f


def _replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
    if _STOP_REPLACE and fnmatch.fnmatch(os.path.basename(os.fspath(src)), _STOP_REPLACE):
        _stop_once()
    _real_replace(src, dst, *args, **kwargs)


if _FULL_DIR or _STOP_OPEN:
    builtins.open = io.open = _open
    shutil._USE_CP_SENDFILE = False  # type: ignore[attr-defined]  # copies must go through write() too
if _STOP_REPLACE:
    os.replace = _replace


def _after_fork() -> None:
    _forks[0] += 1


def _patch_future_result() -> None:
    from concurrent.futures import Future

    real_result = Future.result

    def result(self: Future, timeout: float | None = None) -> Any:
        _results[0] += 1
        if (_STOP_FORKS and _forks[0] >= _STOP_FORKS) or _results[0] == _STOP_RESULT:
            _stop_once()
        return real_result(self, timeout)

    Future.result = result  # type: ignore[method-assign]


if _STOP_FORKS or _STOP_RESULT:
    os.register_at_fork(after_in_parent=_after_fork)
    _patch_future_result()


class _StopOnImport:
    """A meta path finder that finds nothing: it only stops the process at the first import of a module."""

    @staticmethod
    def find_spec(name: str, *args: Any) -> None:
        if name == _STOP_IMPORT:
            _stop_once()


if _STOP_IMPORT:
    import sys

    sys.meta_path.insert(0, _StopOnImport())


if os.environ.get("CURATOR_FAULT_STOP_AT_EXIT"):
    import atexit

    atexit.register(_stop_once)  # registered first, so called last


_STOP_PARENT_MARKER = os.environ.get("CURATOR_FAULT_STOP_PARENT_ON_RESULT")


def _patch_sendback() -> None:
    import concurrent.futures.process as pool_process

    real_sendback = pool_process._sendback_result
    main_pid = os.getpid()

    def sendback(*args: Any, **kwargs: Any) -> Any:
        if os.getpid() != main_pid and _STOP_PARENT_MARKER:
            try:
                os.close(os.open(_STOP_PARENT_MARKER, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                pass  # another worker stopped it already
            else:
                os.kill(os.getppid(), signal.SIGSTOP)
        return real_sendback(*args, **kwargs)

    pool_process._sendback_result = sendback  # type: ignore[attr-defined]


if _STOP_PARENT_MARKER:
    _patch_sendback()
