"""The 7z reader (see curator.io.archive_readers), apart so that py7zr loads only for a 7z archive."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import py7zr
from py7zr.io import Py7zIO, WriterFactory
from py7zr.properties import CompressionMethod

from curator.io.archive_formats import Member

_7Z_CRYPTO = frozenset({CompressionMethod.CRYPT_AES256_SHA256, CompressionMethod.CRYPT_RAR29AES})


class SevenZipReader:
    def __init__(self, path: Path) -> None:
        # A file object (not a path) makes py7zr decompress in this thread, so our
        # exceptions from Any.write propagate instead of dying in a worker.
        self.fp = open(path, "rb")  # noqa: SIM115 - closed by close()
        try:
            self.z = py7zr.SevenZipFile(self.fp)
        except BaseException:
            self.fp.close()
            raise

    def members(self) -> Iterator[Member]:
        for f in self.z.files:
            yield Member(f.filename, _7z_kind(f), f.uncompressed or 0, _7z_encrypted(f))

    def extract(self, writer: Any) -> None:
        for f in self.z.files:
            if f.is_directory:
                writer.directory(f.filename)
        sizes = {writer.relpath(f.filename): f.uncompressed or 0 for f in self.z.files}
        self.z.extractall(path=writer.root, factory=SevenZipFactory(writer, sizes))

    def close(self) -> None:
        self.z.close()
        self.fp.close()


class SevenZipFactory(WriterFactory):
    """py7zr hands us each member's output path under `root`; we give it a counting file."""

    def __init__(self, writer: Any, sizes: dict[PurePosixPath, int]) -> None:
        self.writer = writer
        self.sizes = sizes

    def create(self, filename: str) -> Py7zIO:
        # py7zr joins relative roots onto the cwd, so compare absolute paths.
        rel = PurePosixPath(Path(filename).relative_to(self.writer.root.absolute()))
        return self.writer.file(rel.as_posix(), self.sizes.get(rel, 0))


def _7z_kind(f: py7zr.py7zr.ArchiveFile) -> str:
    if f.is_symlink or f.is_junction:
        return "symlink"
    if f.is_directory:
        return "dir"
    return "special" if f.is_socket else "file"


def _7z_encrypted(f: py7zr.py7zr.ArchiveFile) -> bool:
    folder = f.folder
    return folder is not None and any(c.get("method") in _7Z_CRYPTO for c in folder.coders)
