"""Safe I/O primitives: image validation, atomic outputs, shards, rejects, accounting."""

from __future__ import annotations

import io
import random
import struct
import zlib

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from curator.errors import CuratorError
from curator.io.atomic import atomic_dir, atomic_write_json
from curator.io.images import check_image
from curator.io.parquet import ShardWriter, count_rows, iter_records
from curator.io.rejects import read_rejects
from curator.pipeline.run import AccountingError, StageRun
from curator.reasons import Reason


def _jpeg(size=(64, 48), color=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _bomb_png(side: int = 100_000) -> bytes:
    """A ~60-byte PNG that claims side x side pixels: a decompression bomb's header."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\0"))
        + _png_chunk(b"IEND", b"")
    )


def test_valid_image_passes_with_its_size():
    check = check_image(_jpeg())
    assert check.ok and (check.width, check.height, check.format) == (64, 48, "JPEG")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", Reason.EMPTY_FILE),
        (b"this is not an image", Reason.NOT_AN_IMAGE),
        (_jpeg()[:300], Reason.TRUNCATED_IMAGE),
        (_bomb_png(), Reason.TOO_MANY_PIXELS),
    ],
)
def test_bad_images_become_reasons_not_exceptions(data, reason):
    check = check_image(data)
    assert not check.ok and check.reason == reason and check.detail


def test_pixel_cap_is_a_parameter():
    assert check_image(_jpeg((64, 48)), max_pixels=1000).reason == Reason.TOO_MANY_PIXELS


def test_atomic_dir_keeps_previous_output_on_failure(tmp_path):
    target = tmp_path / "out"
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("first")
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("half-written")
        raise RuntimeError("killed")
    assert (target / "a.txt").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == ["out"]


def test_atomic_dir_refuses_a_concurrent_writer(tmp_path):
    target = tmp_path / "out"
    with atomic_dir(target), pytest.raises(CuratorError, match="another run"), atomic_dir(target):
        pass


def test_atomic_write_json_replaces_whole_file(tmp_path):
    path = tmp_path / "m.json"
    atomic_write_json(path, {"a": 1})
    atomic_write_json(path, {"b": 2})
    assert path.read_text().strip() == '{\n  "b": 2\n}'


def test_shard_writer_caps_shard_size_and_reads_back(tmp_path):
    schema = pa.schema([("id", pa.string()), ("blob", pa.binary())])
    rng = random.Random(0)  # incompressible payloads, like encoded images
    rows = [{"id": f"r{i}", "blob": rng.randbytes(10_000)} for i in range(100)]
    writer = ShardWriter(tmp_path, schema, max_bytes=150_000, group_rows=10)
    writer.write_rows(rows)
    paths = writer.close(numbered_of_total=True)
    assert len(paths) > 1
    assert all(p.stat().st_size <= 150_000 for p in paths)
    assert paths[0].name == f"part-00000-of-{len(paths):05d}.parquet"
    assert count_rows(tmp_path) == 100
    assert [r["id"] for r in iter_records(tmp_path)] == [r["id"] for r in rows]


@pytest.mark.parametrize("batch", [1, 7, 64])
def test_shard_bytes_do_not_depend_on_how_rows_are_batched(tmp_path, batch):
    schema = pa.schema([("id", pa.string()), ("blob", pa.binary())])
    rows = [{"id": f"r{i}", "blob": random.Random(i).randbytes(300)} for i in range(53)]
    with ShardWriter(tmp_path / "all", schema, group_rows=10) as writer:
        writer.write_rows(rows)
    with ShardWriter(tmp_path / "batched", schema, group_rows=10) as writer:
        for start in range(0, len(rows), batch):
            writer.write_rows(rows[start:start + batch])
    one, other = (pq.ParquetFile(tmp_path / d / "part-00000.parquet") for d in ("all", "batched"))
    groups = [one.metadata.row_group(i).num_rows for i in range(one.metadata.num_row_groups)]
    assert groups == [10, 10, 10, 10, 10, 3]
    shard_bytes = [(tmp_path / d / "part-00000.parquet").read_bytes() for d in ("all", "batched")]
    assert shard_bytes[0] == shard_bytes[1]
    assert other.read().to_pylist() == rows


def test_image_bytes_are_stored_plain_and_the_rest_zstd(tmp_path):
    schema = pa.schema([("id", pa.string()), ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())]))])
    with ShardWriter(tmp_path, schema) as writer:
        writer.write_rows([{"id": "a", "image": {"bytes": b"\xff\xd8jpeg", "path": "a.jpg"}}])
    meta = pq.ParquetFile(tmp_path / "part-00000.parquet").metadata.row_group(0)
    codecs = {meta.column(i).path_in_schema: meta.column(i).compression for i in range(meta.num_columns)}
    assert codecs == {"id": "ZSTD", "image.bytes": "UNCOMPRESSED", "image.path": "ZSTD"}
    dictionary = {meta.column(i).path_in_schema: any("DICTIONARY" in e for e in meta.column(i).encodings)
                  for i in range(meta.num_columns)}
    assert dictionary == {"id": True, "image.bytes": False, "image.path": True}


def test_stage_run_writes_rejects_and_checks_accounting(tmp_path):
    with StageRun("demo", tmp_path / "ok", source="s") as run:
        run.count_input(2)
        run.writer().write_rows(
            [{**dict.fromkeys(run.writer().schema.names), "id": "a", "source": "s", "group_id": "a", "license": "MIT"}]
        )
        run.reject(id="b", reason=Reason.BAD_VALUE, detail="x='abc'", path="f.csv:3")
    rejects = read_rejects(tmp_path / "ok" / "rejects.jsonl")
    assert rejects == [{"id": "b", "source": "s", "reason": "bad_value", "detail": "x='abc'", "path": "f.csv:3"}]

    with pytest.raises(AccountingError), StageRun("demo", tmp_path / "bad") as run:
        run.count_input(3)  # three in, nothing kept or rejected: a silent drop
    assert not (tmp_path / "bad").exists()
