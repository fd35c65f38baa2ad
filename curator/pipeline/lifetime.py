"""A child process that ends with its parent: no worker, no `dvc repro` and no stage outlives the
run that started it, whatever ended that run (Ctrl-C, SIGTERM, SIGKILL, the OOM killer)."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
END_WITH_PARENT = "CURATOR_END_WITH_PARENT"
"""Set (to "1") in the environment of a command whose `curator` processes must end with their parent:
`curator demo` sets it for `dvc repro`, so every stage dvc starts ends when dvc does."""


def end_with_parent(signum: int = signal.SIGTERM) -> bool:
    """Ask the kernel to send `signum` to this process when its parent ends (Linux; False elsewhere or
    when refused). For a preexec_fn, or early in a process's life."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def maybe_end_with_parent() -> None:
    """At a CLI's start: follow END_WITH_PARENT (SIGTERM, so the stage unwinds and prints "interrupted")."""
    if os.environ.get(END_WITH_PARENT) == "1" and end_with_parent(signal.SIGTERM) and os.getppid() == 1:
        os.kill(os.getpid(), signal.SIGTERM)  # the parent ended before the kernel was told to watch it


def run_ending_with_parent(argv: list[str]) -> None:
    """exec `argv` with the parent-death signal set (it survives exec): what `python -m
    curator.pipeline.lifetime CMD...` does, so a caller with threads needs no preexec_fn."""
    end_with_parent(signal.SIGTERM)
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    run_ending_with_parent(sys.argv[1:])
