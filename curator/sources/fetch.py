"""Helpers recipes share: fetch a list of files verified against the checksum registry,
copy a manual download in, and unpack archives safely into a scratch folder."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from curator.config import Download
from curator.errors import CuratorError
from curator.io.download import download_with_registry

DEFAULT_REGISTRY = Path(__file__).with_name("checksums.tsv")


def registry_path(conf: Download) -> Path:
    """The checksums registry: params `download.checksums`, else the one shipped in the repo."""
    return Path(conf.checksums) if conf.checksums else DEFAULT_REGISTRY


def download_files(source: str, urls: list[str], out: Path, conf: Download) -> list[Path]:
    """Download each URL into `out/<its file name>`, verified against the registry.

    params `download.record_checksums: true` (or `curator download --record-checksums`) trusts
    and records files the registry does not know yet.
    """
    paths = []
    for url in urls:
        name = url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
        paths.append(download_with_registry(
            url, Path(out) / name, source, name, registry_path(conf),
            record_new=conf.record_checksums, timeout=conf.timeout, retries=conf.retries,
        ))
    return paths


def copy_manual(source: str, src: Path, out: Path, patterns: tuple[str, ...] = ("*",)) -> list[Path]:
    """Copy a user-supplied download (a folder or one file) into `out`, keeping relative paths."""
    src = Path(src)
    if not src.exists():
        raise CuratorError(f"{source}: --from {src} does not exist")
    files = [src] if src.is_file() else sorted(p for pat in patterns for p in src.rglob(pat) if p.is_file())
    if not files:
        raise CuratorError(f"{source}: nothing matching {', '.join(patterns)} in {src}")
    copied = []
    for f in files:
        dest = Path(out) / (f.name if src.is_file() else f.relative_to(src))
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dest)
        copied.append(dest)
    return copied


@contextmanager
def unpacked(archives: list[Path]) -> Iterator[dict[Path, list[Path]]]:
    """Safely extract each archive into a scratch folder; yields archive -> its files.

    The scratch folder is removed afterwards, so prepare never leaves extracted copies behind.
    """
    from curator.io.extract import extract  # py7zr: only for recipes that unpack archives

    with tempfile.TemporaryDirectory(prefix="curator-unpack-") as scratch:
        out = {}
        for archive in archives:
            out[archive] = extract(archive, Path(scratch) / archive.name.replace(".", "_"))
        yield out
