"""Archive formats: how zip, 7z and tar are recognised, by name and by magic bytes, and what a
reader of one yields (Member, Reader).

Reading them member by member is curator.io.archive_readers and, for 7z, curator.io.archive_7z
(it needs py7zr, this module does not).
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

# Nested archives are recognised by name; magic alone would also explode .xlsx, .docx, .npz...
ARCHIVE_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tbz2", ".txz", ".tar", ".zip", ".7z")
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # an archive, an empty archive
SEVEN_ZIP_MAGIC = b"7z\xbc\xaf\x27\x1c"


@dataclass(frozen=True)
class Member:
    name: str  # as stored in the archive
    kind: str  # "file", "dir", "symlink", "hardlink" or "special"
    size: int  # declared uncompressed size
    encrypted: bool = False


class Reader(Protocol):
    def members(self) -> Iterator[Member]: ...
    def extract(self, writer: Any) -> None: ...
    def close(self) -> None: ...


def archive_suffix(name: str) -> str:
    """The archive extension of a file or member name ("" if none, or if nothing would remain of it)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return next((s for s in ARCHIVE_SUFFIXES if base.endswith(s) and len(base) > len(s)), "")


def archive_format(path: Path) -> str | None:
    """"zip", "7z" or "tar" by the file's magic bytes, not its name; None for anything else."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head[:4] in ZIP_MAGIC:
        return "zip"
    if head[:6] == SEVEN_ZIP_MAGIC:
        return "7z"
    return "tar" if tarfile.is_tarfile(path) else None
