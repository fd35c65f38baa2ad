"""Ctrl-C and SIGTERM as an exception raised only where it is safe, and never lost.

The CLI turns SIGINT and SIGTERM into `Interrupted`, so every `with` block unwinds: the temp output
is removed, locks are released, pool workers are stopped, and the previous output stays. An
exception raised at an arbitrary bytecode can cut a library's bookkeeping in half (a process pool's
submit, a swap between its two renames), and one raised inside a `__del__` or an atexit callback is
printed and dropped by Python, so the run would go on and exit 0. Hence:

- `deferred()` marks a region a signal may not cut: the signal is held and raised when the region
  ends (held in Python, not only masked in the kernel: a signal that reaches another thread, such
  as one of OpenBLAS's, is still run by Python in the main thread at once);
- a signal, once received, is remembered (`received`): however the run then ends, it ends
  "interrupted" (the CLI checks it last).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """SIGINT (Ctrl-C) or SIGTERM (kill, timeout, a CI cancel). Not a KeyboardInterrupt: click turns
    that into "Aborted!" and exit 1."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _State:
    armed = False  # raise at once (else only record: during start-up imports, after the run)
    depth = 0  # nesting of deferred() regions
    pending: int | None = None  # a signal held by a deferred() region, raised when it ends
    received: int | None = None  # the first signal of the run


_state = _State()


def ending(signum: int) -> tuple[str, int]:
    """How a run ended by `signum` says so: its one line, and the shell's exit code (130 SIGINT, 143 SIGTERM)."""
    return f"interrupted ({signal.Signals(signum).name})", 128 + signum


def _on_signal(signum: int, frame: Any) -> None:
    if _state.received is None:
        _state.received = signum
    if not _state.armed or _state.depth:
        _state.pending = _state.pending or signum
        return
    raise Interrupted(signum)


def install() -> None:
    """Take over SIGINT and SIGTERM (main thread only), recording them until `arm`. Once per process:
    a second call keeps what the first one recorded."""
    if installed():
        return
    _state.armed, _state.depth, _state.pending, _state.received = False, 0, None, None
    for signum in SIGNALS:
        signal.signal(signum, _on_signal)


def arm() -> None:
    """From now on a signal raises Interrupted (at once, if one came in since `install`)."""
    _state.armed = True
    _raise_pending()


def installed() -> bool:
    """True in the `curator` process (its handlers are these)."""
    return signal.getsignal(signal.SIGINT) is _on_signal


def reinstall() -> None:
    """After a library replaced a handler (ray.init sets SIGTERM to sys.exit), take it back."""
    if installed():
        signal.signal(signal.SIGTERM, _on_signal)


def received() -> int | None:
    """The first SIGINT/SIGTERM this process handled, whatever became of its exception."""
    return _state.received


def _raise_pending() -> None:
    if _state.armed and not _state.depth and _state.pending is not None:
        signum, _state.pending = _state.pending, None
        raise Interrupted(signum)


@contextlib.contextmanager
def deferred(*, spawning: bool = False) -> Iterator[None]:
    """SIGINT/SIGTERM wait until the block is done (then Interrupted is raised).

    `spawning`: the block starts threads or forks processes (a pool's workers), which then begin with
    the signals blocked in the kernel too; a forked worker unblocks them (`unblock_in_child`) once its
    own handlers are set. Never for a block that execs a program: the mask survives exec.
    """
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS) if spawning else None
    _state.depth += 1
    try:
        yield
    finally:
        _state.depth -= 1
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # one blocked in the kernel is handled here
        _raise_pending()


def unblock_in_child() -> None:
    """In a process forked inside `deferred()`: let the signals through again (after setting its handlers)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)


def end_at_once() -> None:
    """After the run (its output in place, its message printed): a signal now, while Python shuts
    down, would be raised in an atexit callback and dropped. End with its exit code at once instead."""

    def now(signum: int, frame: Any) -> None:
        line, code = ending(signum)
        os.write(2, f"{line}\n".encode())
        os._exit(code)

    for signum in SIGNALS:
        signal.signal(signum, now)


def exit_now(code: int) -> None:
    """End the process with `code` right after its atexit callbacks (which run as at a normal exit).
    After them Python turns signal handling off while it tears its modules down (a second or more
    with Ray or Arrow loaded): a signal then ended the process by itself, without the line."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)
