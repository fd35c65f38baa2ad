"""Streaming Parquet shards: bounded memory in, size-capped shards out."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from curator.io.limits import DEFAULT_SHARD_BYTES
from curator.record.record import RecordError, unknown_keys

# A row group ends at 32 MiB of Arrow data or 5000 rows, whichever comes first: 2,400 rows of 224 px
# faces, 290 of 1024 px. Few row groups matter: a Parquet writer and reader hold the metadata of
# every row group of a shard (~0.4 MB each with the record's 218 leaf columns), so 500-row groups
# of small images made peak RSS grow with the shard's row count (200k rows of 48 px: +150 MiB);
# 5000 rows keep it flat (+8%). A few tens of MB per group stays well within what the Hub's
# dataset viewer pages through.
DEFAULT_GROUP_ROWS = 5000
DEFAULT_GROUP_BYTES = 32 * 2**20
# Rows per batch, read or written: stages stream their inputs and write their outputs this many
# records per call (the pool and the Ray paths alike, so both write the same row groups).
BATCH_ROWS = 256


class ShardWriter:
    """Write records to `<dir>/<prefix>-NNNNN.parquet`, starting a new shard past `max_bytes`.

    Rows are buffered up to one row group, so memory stays bounded by the group size.
    `close()` can rename the shards to the Hub's `<prefix>-NNNNN-of-NNNNN.parquet` form.
    """

    def __init__(
        self,
        directory: Path,
        schema: pa.Schema,
        *,
        prefix: str = "part",
        max_bytes: int = DEFAULT_SHARD_BYTES,
        group_rows: int = DEFAULT_GROUP_ROWS,
        group_bytes: int = DEFAULT_GROUP_BYTES,
    ):
        self.directory = Path(directory)
        self.schema = schema
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.group_rows = group_rows
        self.group_bytes = group_bytes
        self.paths: list[Path] = []
        self.shard_rows: list[int] = []  # rows of each of `paths` (what lineage.json lists)
        self.rows = 0
        self.nbytes = 0  # uncompressed Arrow bytes written (the card's num_bytes)
        self._buffer: list[pa.Table] = []
        self._buffer_rows = 0
        self._buffer_bytes = 0
        self._file: Any = None
        self._writer: pq.ParquetWriter | None = None
        self._closed = False
        self._options = writer_options(schema)

    def write_rows(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            for row in rows:  # from_pylist would silently drop a key the schema lacks
                problem = unknown_keys(row, self.schema)
                if problem:
                    raise RecordError(f"{row.get('id', 'row')}: {problem}")
            self.write_table(pa.Table.from_pylist(rows, schema=self.schema))

    def write_table(self, table: pa.Table | pa.RecordBatch) -> None:
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        if table.num_rows == 0:
            return
        if table.schema != self.schema:
            table = table.select(self.schema.names).cast(self.schema)
        self._buffer.append(table)
        self._buffer_rows += table.num_rows
        self._buffer_bytes += table.nbytes
        if self._buffer_rows >= self.group_rows or self._buffer_bytes >= self.group_bytes:
            self._flush(final=False)

    def _flush(self, *, final: bool = True) -> None:
        """Write the buffer as row groups; unless `final`, keep a partial last group buffered, so
        row groups are the same whether callers write one row at a time or hundreds."""
        if not self._buffer_rows:
            return
        table = pa.concat_tables(self._buffer)
        # one row group per slice, so a shard can end between groups near the size cap
        per_row = max(table.nbytes / table.num_rows, 1)
        step = max(1, min(self.group_rows, int(self.group_bytes / per_row)))
        end = table.num_rows if final else table.num_rows - table.num_rows % step
        for start in range(0, end, step):
            self._write_group(table.slice(start, min(step, end - start)))
        rest = table.slice(end)
        self._buffer = [rest] if rest.num_rows else []
        self._buffer_rows, self._buffer_bytes = rest.num_rows, rest.nbytes if rest.num_rows else 0

    def _write_group(self, group: pa.Table) -> None:
        if self._writer is not None and self._file.tell() + group.nbytes > self.max_bytes:
            self._close_shard()
        if self._writer is None:
            self._open_shard()
        self._writer.write_table(group, row_group_size=group.num_rows)
        self.shard_rows[-1] += group.num_rows
        self.rows += group.num_rows
        self.nbytes += group.nbytes

    def _open_shard(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{self.prefix}-{len(self.paths):05d}.parquet"
        self._file = open(path, "wb")  # noqa: SIM115 - closed in _close_shard
        self._writer = pq.ParquetWriter(self._file, self.schema, **self._options)
        self.paths.append(path)
        self.shard_rows.append(0)

    def _close_shard(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._file.close()
            self._writer = self._file = None

    def close(self, *, numbered_of_total: bool = False) -> list[Path]:
        if self._closed:
            return self.paths
        self._closed = True
        self._flush()
        self._close_shard()
        if numbered_of_total:
            total = len(self.paths)
            renamed = []
            for i, path in enumerate(self.paths):
                new = path.with_name(f"{self.prefix}-{i:05d}-of-{total:05d}.parquet")
                os.replace(path, new)
                renamed.append(new)
            self.paths = renamed
        return self.paths

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close_shard() if exc[0] else self.close()


def writer_options(schema: pa.Schema) -> dict[str, Any]:
    """Keyword arguments for pq.ParquetWriter (see `_column_options`; worked out once per schema)."""
    compression, dictionary = _column_options(schema)
    # no min/max statistics for the image bytes either: pyarrow keeps those of values under 4 kB (small
    # PNGs), i.e. copies of images in every page header and footer, and nobody filters on image bytes
    return {"compression": dict(compression), "use_dictionary": list(dictionary), "write_statistics": list(dictionary)}


@functools.lru_cache(maxsize=16)  # publish opens a writer per config and split, all with a few schemas
def _column_options(schema: pa.Schema) -> tuple[dict[str, str], tuple[str, ...]]:
    """zstd and dictionary encoding for every leaf column except raw binary ones (the image bytes).

    JPEG/PNG bytes are compressed already: zstd saved 4% of their size at 0.085 ms per row, the
    largest single cost of publishing 224 px faces, and every image is distinct, so a dictionary of
    them only costs hashing. The leaf paths come from pyarrow's own mapping of the schema to Parquet,
    which leaves any column missing from the compression dict uncompressed.
    """
    probe = pa.BufferOutputStream()
    pq.write_table(schema.empty_table(), probe)
    parquet_schema = pq.ParquetFile(pa.BufferReader(probe.getvalue())).schema
    compression, dictionary = {}, []
    for i in range(len(parquet_schema)):
        column = parquet_schema.column(i)
        raw_binary = column.physical_type == "BYTE_ARRAY" and column.logical_type.type == "NONE"
        compression[column.path] = "NONE" if raw_binary else "ZSTD"
        if not raw_binary:
            dictionary.append(column.path)
    return compression, tuple(dictionary)


def shard_paths(location: Path | Iterable[Path]) -> list[Path]:
    """The shards of a directory (sorted, recursive) or an explicit list of files."""
    if isinstance(location, (str, os.PathLike)):
        location = Path(location)
        if location.is_file():
            return [location]
        return sorted(p for p in location.rglob("*.parquet") if not p.name.startswith("."))
    return [Path(p) for p in location]


def iter_batches(
    location: Path | Iterable[Path], *, columns: list[str] | None = None, batch_rows: int = BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """Stream record batches from every shard, reading only `columns` when given."""
    for path in shard_paths(location):
        # pre_buffer off: on by default, it holds far more of a shard than one batch (peak RSS grew
        # +18% instead of +110% from 10k to 100k rows of images, at the same speed).
        pf = pq.ParquetFile(path, pre_buffer=False)
        yield from pf.iter_batches(batch_size=batch_rows, columns=columns)


def iter_records(location: Path | Iterable[Path], *, columns: list[str] | None = None) -> Iterator[dict]:
    for batch in iter_batches(location, columns=columns):
        yield from batch.to_pylist()


def footer_rows(path: Path) -> int:
    """A shard's row count, from its footer alone."""
    return pq.read_metadata(path).num_rows


def count_rows(location: Path | Iterable[Path]) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in shard_paths(location))


def read_columns(location: Path | Iterable[Path], columns: list[str]) -> pa.Table:
    """Read a few small columns of every shard (ids, labels) for whole-dataset decisions."""
    paths = shard_paths(location)
    if not paths:
        return pa.table({c: pa.array([], pa.string()) for c in columns})
    # ParquetFile, not pq.read_table: the same columns of one file, without loading pyarrow.dataset
    # (~0.01 s of every split call) for a path it would only treat as a one-file dataset
    return pa.concat_tables(pq.ParquetFile(p).read(columns=columns) for p in paths)


def row_group_units(files: list[Path]) -> list[dict[str, Any]]:
    """One unit per row group of each file, in input order, from the footers only (`first_row`: its
    first row's index in its file; `offset`: in all the files)."""
    units: list[dict[str, Any]] = []
    offset = 0
    for index, path in enumerate(files):
        meta = pq.ParquetFile(path).metadata
        first = 0
        for group in range(meta.num_row_groups):
            rows = meta.row_group(group).num_rows
            units.append({"unit": len(units), "file": index, "path": str(path), "row_group": group,
                          "first_row": first, "offset": offset, "rows": rows})
            first += rows
            offset += rows
    return units
