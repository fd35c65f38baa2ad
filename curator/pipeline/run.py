"""What every stage shares: an atomic output dir, shard writers, rejects, and the accounting.

    with StageRun("split", out, inputs=[Input(normalized, "normalized")], params={...}) as run:
        run.count_input()
        run.reject(id=..., reason=Reason.UNPAIRED, detail=...)   # or
        writer = run.writer(); writer.write_rows([...])          # kept

Before anything is read it checks the stage's contract (curator.pipeline.lineage): the output is
not an input, nor inside or around one; each input is the kind of output the stage needs, with
the current schema and taxonomy and the very shards its manifest lists (which `shards` then gives
the stage to read); and it holds every input (a shared lock) so that no other run replaces one
mid-read. On a clean exit it checks inputs == kept + rejected (a mismatch is a bug: nothing is
published), writes lineage.json (listing the shards written) and metrics.json, and swaps the
directory into place. On any exception the previous output is left untouched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa

from curator.errors import CuratorError
from curator.io.atomic import atomic_dir, atomic_write_json, reading
from curator.io.parquet import ShardWriter
from curator.io.paths import check_paths
from curator.io.rejects import RejectsWriter
from curator.pipeline import lineage
from curator.pipeline.lineage import Input
from curator.pipeline.progress import log
from curator.reasons import Reason, is_exclusion
from curator.record.schema import arrow_schema


class AccountingError(CuratorError):
    """inputs != kept + rejected: a record went missing or was counted twice."""


class Ledger:
    """A stage's accounting kept away from its StageRun (in a Ray task), then applied to it in order.

    It has the StageRun methods a write loop calls (count_input, reject, metrics, kept_extra).
    """

    def __init__(self) -> None:
        self.inputs = 0
        self.kept_extra = 0
        self.metrics: dict[str, Any] = {}
        self.rejects: list[dict[str, Any]] = []

    def count_input(self, n: int = 1) -> None:
        self.inputs += n

    def reject(
        self, *, id: str | None, reason: Reason, detail: str, path: str | None = None, source: str | None = None
    ) -> None:
        self.rejects.append({"id": id, "reason": str(reason), "detail": detail, "path": path, "source": source})

    def apply(self, run: StageRun) -> None:
        """Add this ledger to `run`: counts, metrics (numbers add up), and the rejects in their order."""
        run.count_input(self.inputs)
        run.kept_extra += self.kept_extra
        for key, value in self.metrics.items():
            before = run.metrics.get(key)
            run.metrics[key] = before + value if isinstance(before, int) and isinstance(value, int) else value
        for reject in self.rejects:
            run.reject(**reject)


class StageRun:
    def __init__(
        self, stage: str, out: Path, *, source: str | None = None, metrics_copy: Path | None = None,
        inputs: Sequence[Input] = (), params: dict[str, Any] | None = None,
    ):
        self.stage = stage
        self.kind = lineage.KIND_OF_STAGE.get(stage, stage)
        # where metrics.json/rejects.jsonl/lineage.json go inside the output
        self.meta_subdir = lineage.META_SUBDIR.get(self.kind, "")
        self.out = Path(out)
        self.source = source
        self.metrics_copy = Path(metrics_copy) if metrics_copy is not None else None
        self.folders = list(inputs)  # what the stage reads (its contract)
        self.params = params or {}
        self.manifests: dict[Path, dict[str, Any]] = {}  # each input's lineage.json, once checked
        self.inputs = 0
        self.kept_extra = 0  # kept records not written through a counted writer
        self.metrics: dict[str, Any] = {}
        self._writers: list[tuple[ShardWriter, bool, dict[str, Any]]] = []
        self._stack = contextlib.ExitStack()
        self._summary: dict[str, Any] = {}  # the metrics, once the stage has finished

    def __enter__(self) -> StageRun:
        check_paths(self.out, [i.path for i in self.folders], metrics_copy=self.metrics_copy)
        try:
            for inp in self.folders:
                self._stack.enter_context(reading(inp.path))  # first: the manifest read stays true
                if inp.kind != "raw":  # a download has no manifest; the lock keeps a re-download out
                    self.manifests[inp.path] = lineage.read(inp.path, inp.kind, role=inp.role)
            replaceable = partial(lineage.check_replaceable, self.out, self.kind)  # named as the user gave it
            self.dir = self._stack.enter_context(atomic_dir(self.out, check=lambda _target: replaceable()))
        except BaseException:
            self._stack.close()
            raise
        self.rejects = RejectsWriter(self.dir / self.meta_subdir / "rejects.jsonl")
        return self

    def manifest(self, path: Path) -> dict[str, Any]:
        """The checked lineage.json of one of the stage's inputs."""
        return self.manifests[path]

    def shards(self, path: Path, under: str = "") -> list[Path]:
        """The shards of input `path` (those under its subfolder `under`, e.g. train), as its checked
        manifest lists them: what a stage reads is what was checked."""
        prefix = f"{under.strip('/')}/" if under else ""
        return [Path(path, s["path"]) for s in self.manifests[path]["shards"] if s["path"].startswith(prefix)]

    def writer(
        self, subdir: str = "", *, schema: pa.Schema | None = None, counts: bool = True,
        close_kwargs: dict[str, Any] | None = None, **kwargs: Any,
    ) -> ShardWriter:
        """A shard writer under the output dir; rows written to a `counts` writer are "kept"."""
        w = ShardWriter(self.dir / subdir, schema or arrow_schema(), **kwargs)
        self._writers.append((w, counts, close_kwargs or {}))
        return w

    def count_input(self, n: int = 1) -> None:
        self.inputs += n

    def reject(
        self, *, id: str | None, reason: Reason, detail: str, path: str | None = None, source: str | None = None
    ) -> None:
        self.rejects.add(id=id, source=source or self.source or "", reason=reason, detail=detail, path=path)

    @property
    def kept(self) -> int:
        return self.kept_extra + sum(w.rows for w, counts, _ in self._writers if counts)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            try:
                self._finish()
            except BaseException as err:  # not committed: atomic_dir discards the temp dir
                self.rejects.close()
                self._stack.__exit__(type(err), err, err.__traceback__)
                raise
        self.rejects.close()
        self._stack.__exit__(exc_type, exc, tb)  # moves the finished output into place
        if exc_type is None and self.metrics_copy:
            # only now: a kill before this leaves an old copy beside new output (DVC then re-runs the
            # stage), never a copy describing output that is not there
            atomic_write_json(self.metrics_copy, self._summary)

    def _finish(self) -> None:
        for w, _, close_kwargs in self._writers:
            w.close(**close_kwargs)
        rejected = self.rejects.total
        summary = {
            "stage": self.stage,
            **({"source": self.source} if self.source else {}),
            "inputs": self.inputs,
            "kept": self.kept,
            "rejected": rejected,
            # of those, left out on purpose (a property of the reason code): not a problem to fix
            "excluded": sum(n for code, n in self.rejects.by_reason.items() if is_exclusion(code)),
            "rejected_by_reason": dict(sorted(self.rejects.by_reason.items())),
            **self.metrics,
        }
        if self.inputs != self.kept + rejected:
            raise AccountingError(
                f"{self.stage}: inputs ({self.inputs}) != kept ({self.kept}) + rejected ({rejected});"
                " output not written"
            )
        inputs = [lineage.input_entry(i, self.manifests.get(i.path)) for i in self.folders]
        extra = {"source": self.source} if self.source else {}
        # the shards as written (all closed by now); a Ray task's writer is not ours: its footer says
        rows = {p.relative_to(self.dir).as_posix(): n for w, _, _ in self._writers
                for p, n in zip(w.paths, w.shard_rows, strict=True)}
        shards = lineage.shard_entries(self.dir, rows)
        atomic_write_json(self.dir / self.meta_subdir / lineage.LINEAGE,
                          lineage.build(self.kind, self.params, inputs, shards, stage=self.stage, **extra))
        atomic_write_json(self.dir / self.meta_subdir / "metrics.json", summary)
        self._summary = summary
        log.info(
            "%s%s: %d in, %d kept, %d rejected %s", self.stage, f" {self.source}" if self.source else "",
            self.inputs, self.kept, rejected, dict(self.rejects.by_reason) or "",
        )
