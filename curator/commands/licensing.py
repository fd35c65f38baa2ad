"""Which sources of the files push would upload may not go to a public Hub repo.

Decided from the data, never from the card that describes it: every Parquet file among the
uploads (by name, or by content: a renamed shard is still a shard) is opened and its `source`
column read, and each source found gets the one licence rule, `sources.licensing.public_allowed`.
A file whose sources cannot be told (unreadable, no `source` column, empty or non-text values) or
a source no recipe knows is a refusal naming it: what cannot be checked is not uploaded publicly.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curator.commands.push import shown
from curator.config import Config
from curator.errors import CuratorError
from curator.io.secrets import first_line
from curator.sources import all_recipes
from curator.sources.licensing import public_allowed

SOURCE_COLUMN = "source"  # schemas/record.yaml: every record's recipe name (required)
PARQUET_MAGIC = b"PAR1"  # the first (and last) four bytes of every Parquet file
_BATCH_ROWS = 65_536  # one column of names: small batches of it keep memory flat on any shard


class UnknownSources(CuratorError):
    """A file push would upload whose sources cannot be told, or name no known recipe."""


def restricted_sources(folder: Path, paths: Iterable[str], config: Config) -> list[str]:
    """The sources held by the files `paths` (repo paths under `folder`) whose licence forbids a
    public push: "no", or "opt-in" without `sources.<name>.allow_public_push: true` in params."""
    found = shard_sources(folder, paths)
    known = all_recipes()
    for source, path in sorted(found.items()):
        if source not in known:
            raise UnknownSources(f"refusing a public push: {shown(path)} holds records of source {shown(source)},"
                                 f" which no recipe knows (known: {', '.join(known)}); its licence cannot be checked")
    return [source for source in sorted(found) if not public_allowed(source, config.source(source))]


def shard_sources(folder: Path, paths: Iterable[str]) -> dict[str, str]:
    """Every source named by a Parquet file among `paths`, with the first such file (its repo path)."""
    found: dict[str, str] = {}
    for path in paths:
        if _is_parquet(folder / path):
            for source in sorted(_sources_of(folder / path, path)):
                found.setdefault(source, path)
    return found


def _is_parquet(file: Path) -> bool:
    """By name or by its first bytes; a file that cannot be opened counts (then refused as unreadable)."""
    if file.name.endswith(".parquet"):
        return True
    try:
        with file.open("rb") as stream:
            return stream.read(len(PARQUET_MAGIC)) == PARQUET_MAGIC
    except OSError:
        return True


def _sources_of(file: Path, path: str) -> set[str]:
    """The distinct values of the shard's `source` column, read alone and in batches."""

    def refuse(why: str) -> UnknownSources:
        return UnknownSources(f"refusing a public push: {shown(path)} {why}, so its licence cannot be checked;"
                              " --private allows it (or remove that file)")

    try:
        shard = pq.ParquetFile(file)
        if shard.schema_arrow.get_field_index(SOURCE_COLUMN) < 0:  # absent, or given twice
            raise refuse(f"has no single {SOURCE_COLUMN!r} column")
        sources: set[str] = set()
        for batch in shard.iter_batches(batch_size=_BATCH_ROWS, columns=[SOURCE_COLUMN]):
            column = batch.column(0)
            if column.null_count:
                raise refuse(f"has rows with no {SOURCE_COLUMN!r}")
            values = pc.unique(column).to_pylist()
            if not all(isinstance(value, str) for value in values):
                raise refuse(f"has a {SOURCE_COLUMN!r} column that is not text")
            sources.update(values)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise refuse(f"cannot be read as Parquet ({shown(first_line(exc), 120)})") from None
    return sources
