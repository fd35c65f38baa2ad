"""Archive readers, one per format: list members and stream each file to the writer they are handed.

What is safe to write is decided elsewhere (curator.io.extract checks every member and caps every
byte); a reader here only reads.
"""

from __future__ import annotations

import stat
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from curator.errors import ExtractionError
from curator.io.archive_formats import Member, Reader, archive_format

_CHUNK = 1024 * 1024


def open_reader(archive: Path, label: str) -> Reader:
    """The reader for `archive`, picked by magic bytes."""
    kind = archive_format(archive)
    if kind is None:
        raise ExtractionError(f"refused {label}: not a zip, 7z or tar archive")
    if kind == "7z":  # py7zr (~0.04 s to import, with its crypto and codecs) only for a 7z archive
        from curator.io.archive_7z import SevenZipReader

        return SevenZipReader(archive)
    return {"zip": _ZipReader, "tar": _TarReader}[kind](archive)


def _copy(src: BinaryIO, out: Any) -> None:
    with out:
        while chunk := src.read(_CHUNK):
            out.write(chunk)
class _ZipReader:
    def __init__(self, path: Path) -> None:
        self.zf = zipfile.ZipFile(path)

    def members(self) -> Iterator[Member]:
        for info in self.zf.infolist():
            encrypted = bool(info.flag_bits & 0x1)
            yield Member(info.filename, _zip_kind(info), info.file_size, encrypted)

    def extract(self, writer: Any) -> None:
        for info in self.zf.infolist():
            if info.is_dir():
                writer.directory(info.filename)
                continue
            out = writer.file(info.filename, info.file_size)
            with self.zf.open(info) as src:
                _copy(src, out)

    def close(self) -> None:
        self.zf.close()


def _zip_kind(info: zipfile.ZipInfo) -> str:
    """Unix zips keep the file type in the high 16 bits of external_attr."""
    fmt = stat.S_IFMT(info.external_attr >> 16)
    if fmt == stat.S_IFLNK:
        return "symlink"
    if fmt not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "special"
    return "dir" if info.is_dir() else "file"


class _TarReader:
    def __init__(self, path: Path) -> None:
        self.tf = tarfile.open(path, "r:*")  # noqa: SIM115 - closed by close()

    def members(self) -> Iterator[Member]:
        for info in self.tf:  # lazily, so a member-count bomb is stopped early
            yield Member(info.name, _tar_kind(info), info.size if info.isreg() else 0)

    def extract(self, writer: Any) -> None:
        for info in self.tf.getmembers():
            if info.isdir():
                writer.directory(info.name)
                continue
            out = writer.file(info.name, info.size)
            src = self.tf.extractfile(info)
            assert src is not None  # regular file: checked in members()
            with src:
                _copy(src, out)

    def close(self) -> None:
        self.tf.close()


def _tar_kind(info: tarfile.TarInfo) -> str:
    if info.issym():
        return "symlink"
    if info.islnk():
        return "hardlink"
    if info.isdir():
        return "dir"
    return "file" if info.isreg() else "special"
