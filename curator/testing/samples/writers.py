"""Byte-for-byte reproducible encoders: images, CSV, zip, 7z, xlsx and Parquet.

Every container format stamps times somewhere; each encoder here pins them to one fixed
instant, so the same rows always give the same bytes. Only write_bytes touches the disk.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

if TYPE_CHECKING:
    import datasets

Members = Sequence[tuple[str, bytes]]  # archive member name -> content, in stored order
Table = tuple[Sequence[str], Sequence[Sequence[object]]]  # header, rows

_FIXED_DATETIME = dt.datetime(2024, 1, 1, 0, 0, 0)
_JPEG_QUALITY = 90


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _image_bytes(img: Image.Image, **save: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, **save)
    return buf.getvalue()


def jpeg(img: Image.Image) -> bytes:
    return _image_bytes(img, format="JPEG", quality=_JPEG_QUALITY)


def png(img: Image.Image) -> bytes:
    return _image_bytes(img, format="PNG")


def csv_bytes(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _zip_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_FIXED_DATETIME.timetuple()[:6])
    info.create_system = 3  # fixed, not the build host's OS
    info.external_attr = (0o40755 if name.endswith("/") else 0o100644) << 16
    info.compress_type = zipfile.ZIP_STORED if name.endswith("/") else zipfile.ZIP_DEFLATED
    return info


def zip_bytes(members: Members) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members:
            zf.writestr(_zip_info(name), data)
    return buf.getvalue()


def sevenzip_bytes(members: Members) -> bytes:
    import py7zr
    from py7zr.helpers import ArchiveTimestamp

    fixed = ArchiveTimestamp.from_datetime(_FIXED_DATETIME.replace(tzinfo=dt.timezone.utc).timestamp())
    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w") as archive:
        for name, data in members:
            archive.writestr(data, name)
        # py7zr stamps members with the current time; only lastwritetime reaches the header.
        for info in archive.header.files_info.files:
            info["lastwritetime"] = info["creationtime"] = info["lastaccesstime"] = fixed
    return buf.getvalue()


def xlsx_bytes(sheets: dict[str, Table]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook()
    wb.remove(wb.active)
    for title, (header, rows) in sheets.items():
        ws = wb.create_sheet(title)
        ws.append(list(header))
        for row in rows:
            ws.append(list(row))
    wb.properties.created = wb.properties.modified = _FIXED_DATETIME
    raw = io.BytesIO()
    # ExcelWriter, unlike save_workbook, leaves `modified` alone; its zip still carries
    # wall-clock member times, so re-pack with fixed ones.
    ExcelWriter(wb, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED)).save()
    with zipfile.ZipFile(raw) as zf:
        return zip_bytes([(n, zf.read(n)) for n in zf.namelist()])


def parquet_bytes(rows: list[dict], features: datasets.Features) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # Features.arrow_schema carries the 'huggingface' metadata the Hub's own files have.
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=features.arrow_schema), buf)
    return buf.getvalue()
