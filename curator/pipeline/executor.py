"""One small interface for the per-record work (validate, hash, augment, encode).

`ordered_map(fn, items)` returns results in input order whatever the worker count or engine, so
stage output bytes never depend on scheduling. Two engines implement it:

- `LocalExecutor`: a process pool on this machine (the default);
- `RayExecutor`: Ray tasks on a local Ray instance or a cluster (`--executor ray`, extra `[ray]`).

Both stream: at most `window` items are in flight, so memory stays flat on any dataset size.
`fn` and the items must be picklable (module-level functions, plain data).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from functools import partial
from itertools import islice
from typing import Any, Protocol, TypeVar

from curator.errors import CuratorError
from curator.pipeline import interrupts
from curator.pipeline.lifetime import end_with_parent

T = TypeVar("T")
R = TypeVar("R")

EXECUTORS = ("local", "ray")


class Executor(Protocol):
    workers: int

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...

    def ordered_map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]: ...


def make_executor(kind: str = "local", workers: int = 1, *, address: str | None = None,
                  window: int = 256) -> Executor:
    """The executor named `kind`; `address` is the Ray cluster (else $RAY_ADDRESS, else a local instance)."""
    if kind == "local":
        return LocalExecutor(workers, window=window)
    if kind == "ray":
        return RayExecutor(workers, address=address, window=window)
    raise CuratorError(f"unknown executor {kind!r}; choose one of {', '.join(EXECUTORS)}")


def _chunk_size(window: int, workers: int) -> int:
    return max(1, window // (workers * 8))  # 8 chunks per worker: a short tail, few IPC trips


def _run_chunk(fn: Callable[[T], R], chunk: list[T]) -> list[R]:
    return [fn(item) for item in chunk]


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _sliding(submit: Callable[[list[T]], Any], collect: Callable[[Any], list[R]], items: Iterable[T],
             chunk: int, in_flight: int) -> Iterator[R]:
    """Keep `in_flight` chunks submitted, yield their results in submission order.

    A sliding window (not submit-a-window-then-drain) keeps every worker busy across boundaries:
    a new chunk goes out as soon as the oldest one is consumed.
    """
    pending: deque[Any] = deque()
    for part in _chunks(items, chunk):
        pending.append(submit(part))
        if len(pending) >= in_flight:
            yield from collect(pending.popleft())
    while pending:
        yield from collect(pending.popleft())


ORPHAN_POLL_SECONDS = 1.0


def _die_with_parent(parent: int) -> None:
    """Pool worker initializer: end this worker when the process that started it ends, whatever ends
    it (SIGTERM from `kill` or `timeout`, SIGKILL from the OOM killer). An orphaned worker would
    hold ~200 MB forever.

    On Linux the kernel does it (prctl PR_SET_PDEATHSIG); elsewhere a daemon thread notices that
    the parent changed. The parent handles Ctrl-C for the whole pool: a worker ignores SIGINT, so a
    terminal's Ctrl-C (sent to every process of the group) prints one line, not one per worker.
    The worker was forked with both signals blocked (`LocalExecutor._submit`), so none reaches it
    before these handlers are set: it would run the CLI's handler, forked along, and print a traceback.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the CLI's handler (forked along): terminate() ends it
    interrupts.unblock_in_child()
    if not end_with_parent(signal.SIGKILL):
        _watch_parent(parent)
    if os.getppid() != parent:  # the parent died before the kernel was told to watch it
        os._exit(1)


def _watch_parent(parent: int) -> None:
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="curator-orphan-watch", daemon=True).start()


def max_local_workers() -> int:
    """More processes than 4 per CPU only cost memory (the output is the same for any count), and
    `workers: 100000` in params would fork that many at once: the pool is capped here."""
    return 4 * (os.cpu_count() or 1)


class LocalExecutor:
    """A process pool (or, with workers <= 1, a plain loop: easier to debug and profile)."""

    def __init__(self, workers: int = 1, *, window: int = 256):
        self.workers = min(max(1, int(workers)), max_local_workers())
        self.window = window  # items in flight: bounds memory on a stream of images
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> LocalExecutor:
        if self.workers > 1:
            self._pool = ProcessPoolExecutor(max_workers=self.workers, initializer=_die_with_parent,
                                             initargs=(os.getpid(),))
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if self._pool is None:
            return
        pool, self._pool = self._pool, None
        with interrupts.deferred():  # a second Ctrl-C must not cut the shutdown in half (it would hang)
            if exc_type is not None:  # interrupted or failed: stop the workers now, not after their chunks
                _kill_workers(pool)
            pool.shutdown(cancel_futures=True)

    def _submit(self, fn: Callable[[list[T]], list[R]], part: list[T]) -> Future:
        # A signal raised inside submit() would leave the pool's bookkeeping half done (a worker
        # forked but not recorded, which exit then waits for forever); the first submit also forks
        # the workers and starts the pool's threads, which so begin with SIGINT/SIGTERM blocked.
        assert self._pool is not None
        with interrupts.deferred(spawning=True):
            return self._pool.submit(_run_chunk, fn, part)

    def ordered_map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        if self._pool is None:
            yield from map(fn, items)
            return
        chunk = _chunk_size(self.window, self.workers)
        yield from _sliding(partial(self._submit, fn), Future.result, items, chunk, max(2, self.window // chunk))


@contextlib.contextmanager
def _sigterm_kept(ray: Any) -> Iterator[None]:
    """ray.init first makes SIGTERM `sys.exit(15)` (ray._private.utils.set_sigterm_handler): a SIGTERM
    while it starts a local Ray's processes then ended the run with 15, no "interrupted" line, and Ray's
    agents left running. In the CLI, its own handler stays: the signal is held until Ray is up, and
    the shutdown then stops a whole Ray. (If Ray moves that hook, the SystemExit is still caught.)"""
    utils = getattr(getattr(ray, "_private", None), "utils", None)
    if not interrupts.installed() or not hasattr(utils, "set_sigterm_handler"):
        yield
        return
    original = utils.set_sigterm_handler
    utils.set_sigterm_handler = lambda handler: None
    try:
        yield
    finally:
        utils.set_sigterm_handler = original


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """End a pool's workers at once, so that its shutdown ends too.

    ProcessPoolExecutor has no public way to (its _processes map and result queue are its own). A
    worker killed while it sends a result leaves half a message in the result pipe: the pool's
    manager thread then waits for the rest, and shutdown() waits for that thread, forever (the
    workers left as zombies, the stage's lock held). This process holds the pipe's write end too;
    closing it gives that read an end of file once the workers are gone, which the pool treats as
    a broken pool and shuts down.
    """
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.kill()  # SIGKILL: a worker forked a moment ago may still have SIGTERM blocked
    results = getattr(pool, "_result_queue", None)
    writer = getattr(results, "_writer", None)
    if writer is not None:
        writer.close()


RAY_CONNECT_TIMEOUT_S = 5.0
_RAY_ADDRESS = re.compile(r"(?:ray://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(?P<port>[0-9]{1,5})")


def check_ray_address(address: str) -> str:
    """`address` if it is `local`, `auto` or HOST:PORT (optionally ray://) with a head that answers on that
    port within RAY_CONNECT_TIMEOUT_S; else a one-line CuratorError. Ray itself retries an unreachable head
    for minutes (and may rewrite a loopback address to the host's), so this is checked first."""
    if address in ("local", "auto"):
        return address
    match = _RAY_ADDRESS.fullmatch(address)
    if match is None or not 0 < int(match["port"]) < 65536:
        raise CuratorError(f"Ray address {address[:80]!r} is not HOST:PORT (or ray://HOST:PORT, local, auto)")
    host = match["host"].strip("[]")
    try:
        with socket.create_connection((host, int(match["port"])), timeout=RAY_CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise CuratorError(f"no Ray cluster answers at {address} ({exc.strerror or type(exc).__name__}, waited at "
                           f"most {RAY_CONNECT_TIMEOUT_S:g} s); start one with `ray start --head` or check "
                           "--ray-address / $RAY_ADDRESS") from None
    return address


@contextlib.contextmanager
def _socket_paths_named() -> Iterator[None]:
    """Ray's sockets live under RAY_TMPDIR (else /tmp); a deep folder makes their paths longer than a
    Unix socket allows, and Ray then fails with an OSError deep in its start-up: say what to change."""
    try:
        yield
    except OSError as exc:
        if "AF_UNIX path length" not in str(exc):
            raise
        where = os.environ.get("RAY_TMPDIR") or tempfile.gettempdir()
        raise CuratorError(f"Ray cannot start a local instance: its socket paths under {where} are longer than "
                           "the 107 bytes a Unix socket allows; set RAY_TMPDIR to a short folder") from None


class RayExecutor:
    """Ray tasks, one per chunk of items, on a local Ray instance or a cluster.

    Plain Ray tasks rather than Ray Data: Ray Data needs a materialised or storage-backed source,
    and one Dataset per window of a streamed input costs ~0.5 s of planning each and idles the
    workers at every boundary (measured slower than a single process here). Tasks stream from the
    driver's iterator with the same sliding window as the process pool, and Ray schedules them on
    every node of the cluster.
    """

    def __init__(self, workers: int = 1, *, address: str | None = None, window: int = 256):
        self.workers = max(1, int(workers))
        self.address = address or os.environ.get("RAY_ADDRESS") or "local"
        self.window = window
        self._started = False
        self._remote: Any = None

    def __enter__(self) -> RayExecutor:
        try:
            import ray
        except ImportError as exc:
            raise CuratorError("--executor ray needs Ray: pip install 'emotion-curator[ray]'") from exc
        if not ray.is_initialized():  # a caller that already joined a cluster keeps its own session
            check_ray_address(self.address)
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage report to the network
            try:
                # not cut in half by a signal: a local Ray half started would be left running
                with interrupts.deferred():
                    self._started = True
                    self._init(ray)
            except SystemExit as exc:
                self.__exit__()
                if exc.code == signal.SIGTERM:  # ray.init's own SIGTERM handler (sys.exit(15)) ran, not ours
                    raise interrupts.Interrupted(signal.SIGTERM) from None
                raise
            except BaseException:
                self.__exit__()
                raise
        self._remote = ray.remote(_run_chunk)
        return self

    def _init(self, ray: Any) -> None:
        local = self.address == "local"
        with _sigterm_kept(ray), _socket_paths_named():
            ray.init(
                address=self.address,
                include_dashboard=False,
                logging_level="WARNING",
                log_to_driver=False,
                # a local instance gets exactly `workers` CPUs; on a cluster, the cluster's resources decide.
                # (Ray 2.60 rewrites a 127.0.0.1 node address to the host's IP and binds its gRPC ports on
                # every interface; its default token authentication is what guards them.)
                **({"num_cpus": self.workers} if local else {}),
            )
        interrupts.reinstall()  # in case a Ray without that hook replaced it anyway

    def __exit__(self, *exc: object) -> None:
        if self._started:
            import ray

            with interrupts.deferred():  # a second signal must not cut Ray's shutdown in half
                ray.shutdown()
            self._started = False

    def _parallelism(self) -> int:
        import ray

        return max(self.workers, int(ray.cluster_resources().get("CPU", 1)))

    def ordered_map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        if self._remote is None:
            raise CuratorError("RayExecutor used outside its `with` block")
        import ray

        slots = self._parallelism()
        chunk = _chunk_size(self.window, self.workers)
        remote_fn = ray.put(fn)  # shipped once, not with every chunk

        def submit(part: list[T]) -> Any:
            return self._remote.remote(remote_fn, part)

        # enough chunks in flight to feed every CPU of the cluster twice over
        yield from _sliding(submit, ray.get, items, chunk, max(2, 2 * slots, self.window // chunk))
