"""The checksums registry: one TSV line per downloaded file, like TFDS's `checksums.tsv`.

    source  filename  size  sha256

The registry is committed with the code, so a download is verified against what the
maintainers saw, and a changed upstream file fails loudly instead of slipping through.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from curator.errors import CuratorError
from curator.io.atomic import atomic_write_text, file_lock

HEADER = ("source", "filename", "size", "sha256")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Checksum:
    size: int
    sha256: str

    def __post_init__(self) -> None:
        if self.size < 0 or not _SHA256.fullmatch(self.sha256):
            raise CuratorError(f"invalid checksum: size={self.size} sha256={self.sha256!r}")


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks (bounded memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def load_registry(path: Path) -> dict[tuple[str, str], Checksum]:
    """Read the registry; a missing file is an empty registry."""
    path = Path(path)
    if not path.exists():
        return {}
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or tuple(lines[0].split("\t")) != HEADER:
        raise CuratorError(f"{path}: first line must be the header {chr(9).join(HEADER)!r}")
    registry: dict[tuple[str, str], Checksum] = {}
    for number, line in enumerate(lines[1:], start=2):
        if line.strip():
            source, filename, checksum = _parse_line(path, number, line)
            registry[(source, filename)] = checksum
    return registry


def _parse_line(path: Path, number: int, line: str) -> tuple[str, str, Checksum]:
    fields = line.split("\t")
    if len(fields) != len(HEADER) or not fields[2].isdigit():
        raise CuratorError(f"{path}:{number}: expected 'source<TAB>filename<TAB>size<TAB>sha256'")
    try:
        return fields[0], fields[1], Checksum(int(fields[2]), fields[3])
    except CuratorError as e:
        raise CuratorError(f"{path}:{number}: {e}") from None


def record(path: Path, source: str, filename: str, size: int, sha256: str) -> None:
    """Add or update one entry; the file is rewritten sorted, atomically, under a lock."""
    path = Path(path)
    if any(c in value for value in (source, filename) for c in "\t\r\n"):
        raise CuratorError(f"source and filename must not contain tabs or newlines: {source!r} {filename!r}")
    checksum = Checksum(size, sha256)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        registry = load_registry(path)
        registry[(source, filename)] = checksum
        _write(path, registry)


def _write(path: Path, registry: dict[tuple[str, str], Checksum]) -> None:
    rows = ["\t".join(HEADER)]
    rows += [f"{s}\t{f}\t{c.size}\t{c.sha256}" for (s, f), c in sorted(registry.items())]
    atomic_write_text(path, "\n".join(rows) + "\n")


def _locked(path: Path) -> contextlib.AbstractContextManager[None]:
    """One writer at a time across processes (waits for the other to finish)."""
    return file_lock(path.with_name(path.name + ".lock"))
