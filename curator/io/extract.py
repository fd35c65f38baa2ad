"""Safe archive extraction: zip, 7z and tar(.gz/.bz2/.xz), nested archives included.

Every member is checked before a byte is written: no `..`, absolute paths, drive letters,
links, special files or encrypted members; caps on member count, total size and compression
ratio. Sizes in headers can lie, so the same caps are enforced again on the bytes actually
written. Extraction happens in a temp dir beside `target` that is swapped in at the end, so a
refused archive leaves nothing behind. File modes and owners from the archive are not applied.
"""

from __future__ import annotations

import contextlib
import lzma
import re
import sys
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from curator.errors import ExtractionError
from curator.io.archive_formats import Member, archive_suffix
from curator.io.archive_readers import open_reader
from curator.io.atomic import atomic_dir

_CHUNK = 1024 * 1024
# Below this many bytes the ratio is not checked: tiny, very compressible files are harmless.
_RATIO_GRACE = 1024 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")
_CORRUPT = (
    zipfile.BadZipFile,
    tarfile.TarError,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    NotImplementedError,  # zipfile: a compression method it cannot read
)


def _7z_error(name: str) -> type[BaseException]:
    """One of py7zr's exception classes, once a 7z reader has loaded py7zr; before that, none of
    them can be raised, and a class never raised stands in (py7zr loads only for a 7z archive)."""
    errors = sys.modules.get("py7zr.exceptions")
    return getattr(errors, name) if errors is not None else _NeverRaised


class _NeverRaised(Exception):
    pass


def _corrupt() -> tuple[type[BaseException], ...]:
    return (*_CORRUPT, _7z_error("ArchiveError"))


def extract(
    archive: Path,
    target: Path,
    *,
    max_members: int = 100_000,
    max_total_bytes: int = 20 * 2**30,
    max_ratio: float = 200.0,
    nested: bool = True,
    max_depth: int = 3,
) -> list[Path]:
    """Extract `archive` into `target` (replacing it) and return the extracted files, sorted.

    Raises ExtractionError naming the archive and the offending member when anything is
    refused; `target` is then left as it was.
    """
    archive, target = Path(archive), Path(target)
    if not archive.is_file():
        raise ExtractionError(f"{archive}: no such archive")
    limits = _Limits(max_members, max_total_bytes, max_ratio, nested, max_depth)
    with atomic_dir(target) as tmp:
        _extract_into(archive, tmp, str(archive), 0, limits, _Budget())
    return sorted(p for p in target.rglob("*") if p.is_file() and not p.is_symlink())


@dataclass(frozen=True)
class _Limits:
    max_members: int
    max_total_bytes: int
    max_ratio: float
    nested: bool
    max_depth: int


@dataclass
class _Budget:
    """What all archives of one extract() call (nested ones included) have used so far."""

    members: int = 0
    bytes: int = 0


# --- one archive ----------------------------------------------------------------------------


def _extract_into(archive: Path, dest: Path, label: str, depth: int, limits: _Limits, budget: _Budget) -> None:
    """Check, then write one archive's members under `dest`; then recurse into nested ones."""
    writer = _Writer(dest, label, archive.stat().st_size, limits, budget)
    try:
        with contextlib.closing(open_reader(archive, label)) as reader:
            members = _check_members(reader.members(), writer)
            reader.extract(writer)
    except _corrupt() as e:
        raise _refuse(label, writer.current, f"corrupt or unsupported archive ({e})") from None
    except _7z_error("PasswordRequired"):  # 7z with encrypted headers: no names to show
        raise _refuse(label, writer.current, "encrypted archive (password required)") from None
    finally:
        writer.close()
    for member in members:
        if member.kind == "file" and archive_suffix(member.name):
            _extract_nested(member.name, dest, label, depth, limits, budget)


def _extract_nested(name: str, dest: Path, label: str, depth: int, limits: _Limits, budget: _Budget) -> None:
    """Replace the nested archive `name` (already written) by a folder of its contents."""
    if not limits.nested:
        raise _refuse(label, name, "nested archive (nested extraction is off)")
    if depth + 1 > limits.max_depth:
        raise _refuse(label, name, f"nested archive deeper than max_depth={limits.max_depth}")
    inner = dest / _safe_relpath(label, name)
    folder = inner.with_name(inner.name[: -len(archive_suffix(name))])
    if folder.exists() or folder.is_symlink():
        raise _refuse(label, name, f"nested archive's folder {folder.name!r} already exists")
    folder.mkdir()
    _extract_into(inner, folder, f"{name} (in {label})", depth + 1, limits, budget)
    inner.unlink()


def _check_members(members: Iterator[Member], writer: _Writer) -> list[Member]:
    """Refuse the whole archive on the first hostile member; returns the member list."""
    checked: list[Member] = []
    files: set[PurePosixPath] = set()
    declared = 0
    for member in members:
        writer.current = member.name
        writer.count_member()
        rel = _safe_relpath(writer.label, member.name)
        if member.kind not in ("file", "dir"):
            raise _refuse(writer.label, member.name, f"{member.kind} members are not allowed")
        if member.encrypted:
            raise _refuse(writer.label, member.name, "encrypted (password required)")
        if member.kind == "file" and rel in files:
            raise _refuse(writer.label, member.name, "duplicate member")
        files.add(rel)
        declared += member.size
        writer.check_size(declared, "declared size")
        checked.append(member)
    writer.current = None
    return checked


def _safe_relpath(label: str, name: str) -> PurePosixPath:
    """The member's path relative to the target, or ExtractionError if it could escape."""
    if not name or "\x00" in name:
        raise _refuse(label, name, "empty or NUL in name")
    if name.startswith(("/", "\\")):
        raise _refuse(label, name, "absolute path")
    if _DRIVE.match(name):
        raise _refuse(label, name, "Windows drive letter in path")
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        raise _refuse(label, name, "'..' in path")
    return PurePosixPath(*[p for p in parts if p not in ("", ".")])


def _refuse(label: str, member: str | None, reason: str) -> ExtractionError:
    where = f" member {member!r}:" if member is not None else ""
    return ExtractionError(f"refused {label}:{where} {reason}")


# --- writing with caps ----------------------------------------------------------------------


class _Writer:
    """Creates files under `root` and enforces the caps on the bytes really written."""

    def __init__(self, root: Path, label: str, archive_size: int, limits: _Limits, budget: _Budget) -> None:
        self.root = root
        self.label = label
        self.archive_size = max(archive_size, 1)
        self.limits = limits
        self.budget = budget
        self.base = budget.bytes  # written by earlier archives of this extract() call
        self.written = 0  # by this archive (the ratio is per archive)
        self.current: str | None = None  # member being handled, for error messages
        self._open: list[BinaryIO] = []

    def relpath(self, name: str) -> PurePosixPath:
        """Where member `name` goes under `root` (refused if it could escape)."""
        return _safe_relpath(self.label, name)

    def count_member(self) -> None:
        self.budget.members += 1
        if self.budget.members > self.limits.max_members:
            raise _refuse(self.label, self.current, f"more than max_members={self.limits.max_members} members")

    def check_size(self, size: int, what: str) -> None:
        """`size` bytes from this archive: within the total cap and the ratio cap?"""
        if self.base + size > self.limits.max_total_bytes:
            raise _refuse(self.label, self.current, f"{what} exceeds max_total_bytes={self.limits.max_total_bytes}")
        ratio = size / self.archive_size
        if size > _RATIO_GRACE and ratio > self.limits.max_ratio:
            raise _refuse(
                self.label,
                self.current,
                f"{what} is {ratio:.0f}x the archive size (max_ratio={self.limits.max_ratio:g}): a zip bomb?",
            )

    def directory(self, name: str) -> None:
        self.current = name
        self._mkdir(self.root / _safe_relpath(self.label, name))

    def file(self, name: str, declared: int) -> _Output:
        """Open a new file for member `name`; the caller writes to it and closes it."""
        self.current = name
        path = self.root / _safe_relpath(self.label, name)
        self._mkdir(path.parent)
        try:
            f = open(path, "xb")  # noqa: SIM115 - closed by _Output.close() or by close()
        except OSError as e:
            raise _refuse(self.label, name, f"cannot create file ({e.strerror})") from None
        self._open.append(f)
        return _Output(self, f, declared)

    def account(self, n: int) -> None:
        self.written += n
        self.check_size(self.written, "uncompressed data")
        self.budget.bytes = self.base + self.written

    def close(self) -> None:
        for f in self._open:
            f.close()
        self._open.clear()

    def _mkdir(self, path: Path) -> None:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise _refuse(self.label, self.current, f"cannot create directory ({e.strerror})") from None


class _Output:
    """A write-only member file that counts its bytes (with the methods of py7zr's Py7zIO, which the
    7z reader hands it to; py7zr calls them and checks no type)."""

    def __init__(self, writer: _Writer, f: BinaryIO, declared: int) -> None:
        self.writer, self.f, self.declared, self.count = writer, f, declared, 0

    def write(self, s: bytes | bytearray) -> int:
        self.count += len(s)
        if self.count > self.declared:
            raise _refuse(self.writer.label, self.writer.current, "more data than its header declares")
        self.writer.account(len(s))
        return self.f.write(s)

    def read(self, size: int | None = None) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0  # py7zr rewinds finished outputs; ours are write-only

    def flush(self) -> None:
        self.f.flush()

    def size(self) -> int:
        return self.count

    def close(self) -> None:
        self.f.close()

    def __enter__(self) -> _Output:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


