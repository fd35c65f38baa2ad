"""The recipe contract: what a source folder `curator/sources/<name>/` holds and defines.

A folder holds everything about one source (TFDS-style):

    __init__.py      the recipe (the `Recipe` protocol below)
    source.yaml      its facts as data (`SourceInfo`): title, licence, citation, what `label` means...
    labels.yaml      its label map: the source's own labels -> the taxonomy, one reason per entry
    checksums.tsv    the files the maintainers have verified (optional)
    samples.py       its miniature in the real format, and how the demo points params at it
    README.md        what is known of the real format and where that knowledge comes from

`tests/sources/test_recipes.py` checks every folder against this contract.

A recipe whose counts are not items (how its labels were decided, say) hands them to the stage's
metrics.json with report_metrics(key, value); the prepare stage collects them (collect_metrics).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from curator.config import Download, SourceParams
from curator.errors import SchemaError
from curator.reasons import Reason
from curator.record.schema import safe_load
from curator.sources import FACTS_FILE


@dataclass(frozen=True)
class SourceInfo:
    name: str
    title: str
    license: str
    redistributable: str  # "yes", "opt-in" (only if params allow it), "no"
    size: str
    needs: str  # what a user must supply: nothing, credentials, a signed licence...
    homepage: str
    citation: str
    attribution: str = ""
    # What a user of the published data must know (the README's source table and the card show these):
    label_meaning: str = ""  # what `label` says about a record of this source
    grouping: str = ""  # what a record's group_id is (a subject, a pair, an image)
    unverified: str = ""  # which parts of the format were inferred, not seen in real files
    enabled_by_default: bool = False  # in params.yaml's default sources.enabled

    @classmethod
    def read(cls, recipe_file: str | Path) -> SourceInfo:
        """The facts in source.yaml beside a recipe's `__init__.py` (pass its `__file__`)."""
        path = Path(recipe_file).parent / FACTS_FILE
        with open(path, encoding="utf-8") as fh:
            raw = safe_load(fh)
        names = {f.name for f in fields(cls)}
        if not isinstance(raw, dict) or not names >= set(raw) or raw.get("name") != path.parent.name:
            raise SchemaError(f"{path}: expected a mapping of {sorted(names)} whose name is {path.parent.name!r}")
        return cls(**raw)


@dataclass(frozen=True)
class Reject:
    id: str | None
    reason: Reason
    detail: str
    path: str | None = None


@dataclass(frozen=True)
class NotRead:
    """Something in a delivery a recipe saw and did not read: a column, a field or a folder the evidence
    does not cover. Never a record and never a reject (it is not an input sample): prepare counts each
    (what, why) under metrics `not_read`, `curator inspect` lists them, the card says what was not read."""

    what: str  # e.g. "column 'Pupil diameter left [mm]'", "folder Vis/models (12 files)"
    why: str  # e.g. "not in the evidenced format: kept under physio_extra" / "plots beside the data"


# what the prepare stage drives: a recipe's prepare() with its Params bound
PrepareFn = Callable[[Path], Iterator["dict[str, Any] | Reject | NotRead"]]


@runtime_checkable
class Recipe(Protocol):
    """What every recipe module defines. Optional: `storage_plan(raw, conf)` (the raw data is Parquet or
    WebDataset that Ray Data reads from storage; see curator/pipeline/raydata.py)."""

    INFO: SourceInfo
    Params: type[SourceParams]  # its own keys under params.yaml `sources.<name>`

    def download(self, conf: Any, fetch: Download, out: Path, from_: str | None = None) -> Path:
        """Fetch the raw files into `out` (from `from_`, a folder/file/URL a user supplied, if given)."""

    def layout(self, raw: Path, conf: Any) -> str:
        """One line for `curator inspect`: which layout was found, in the source's own terms."""

    def prepare(self, raw: Path, conf: Any = None) -> Iterator[Any]:
        """One item per input sample: a unified record (curator.record.record.empty_record() filled
        in) or a Reject. The prepare stage checks images, ids and required fields centrally, and hands
        `raw` over without what no recipe may read (links leaving it, names that are not UTF-8, FIFOs:
        curator.io.paths.delivery), each already a reject."""


@runtime_checkable
class Samples(Protocol):
    """A recipe's `samples.py`: its miniature in the real format (offline tests and `curator demo`)."""

    def build(self, out: Path, seed: int, dirty: bool) -> Any:
        """Write the miniature under `out`; `dirty` adds the bad items its tests expect rejected."""

    def demo_params(self, served: Any) -> dict:
        """params.yaml `sources.<name>` that point the recipe at the served miniature."""


_SINKS: list[dict[str, Any]] = []  # the running prepare's metrics (one stage per process: a plain stack)


def report_metrics(key: str, value: Any) -> None:
    """Put `value` (JSON-able) under `key` in the running prepare stage's metrics; nothing outside one."""
    if _SINKS:
        _SINKS[-1][key] = value


@contextmanager
def collect_metrics(metrics: dict[str, Any]) -> Iterator[None]:
    """While open, report_metrics writes into `metrics` (the stage's own dict)."""
    _SINKS.append(metrics)
    try:
        yield
    finally:
        _SINKS.pop()
