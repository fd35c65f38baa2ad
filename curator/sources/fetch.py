"""Helpers recipes share: fetch a list of files verified against the checksum registry,
copy a manual download in, and unpack archives safely into a scratch folder."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from curator.config import Download
from curator.errors import CuratorError
from curator.io.atomic import atomic_write_text
from curator.io.checksums import load_registry
from curator.io.paths import check_paths
from curator.io.secrets import redact_url
from curator.resources import packaged_registry, project_registry


def registry_path(conf: Download) -> Path:
    """The project's checksum registry, where new checksums are recorded: params
    `download.checksums`, else ./checksums.tsv (curator.resources: the lookup order)."""
    return project_registry(conf.checksums)


def _registry_for(source: str, name: str, conf: Download) -> Path:
    """The registry that knows (source, name): the project's, else the source folder's; a file neither
    knows is looked up (and, when recording, recorded) in the project's."""
    project = registry_path(conf)
    shipped = packaged_registry(source)
    if (source, name) not in load_registry(project) and (source, name) in load_registry(shipped):
        return shipped
    return project


def url_file_name(url: str) -> str:
    """The file name a URL's path ends with (never a part of its user, host or query)."""
    name = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]  # as written: the registry names it so
    if not name or name in (".", ".."):
        raise CuratorError(f"{redact_url(url)} names no file (its path must end with the file's name)")
    return name


def download_files(source: str, urls: list[str], out: Path, conf: Download) -> list[Path]:
    """Download each URL into `out/<its file name>`, verified against the registry.

    params `download.record_checksums: true` (or `curator download --record-checksums`) trusts
    and records files the registry does not know yet.
    """
    # the HTTP client (http.client, ssl, urllib.request, email) loads here, not with the recipes
    # that import this module: every CLI call imports every recipe
    from curator.io.download import download_with_registry

    paths = []
    for url in urls:
        name = url_file_name(url)
        paths.append(download_with_registry(
            url, Path(out) / name, source, name, _registry_for(source, name, conf),
            record_new=conf.record_checksums, timeout=conf.timeout, retries=conf.retries,
        ))
    return paths


def manual_list(out: Path) -> Path:
    """Beside a manual copy (not in it: raw holds the delivery and nothing else): the files the last
    copy put there, so that the next copy removes the ones the new delivery no longer has, and never
    a file it did not put there."""
    out = Path(os.path.abspath(out))
    return out.parent / f".{out.name}.manual-copy.json"


def copy_manual(source: str, src: Path, out: Path, patterns: tuple[str, ...] = ("*",)) -> list[Path]:
    """Mirror a user-supplied download (a folder or one file) into `out`, keeping relative paths:
    files of the previous copy that the delivery no longer has are removed from `out`."""
    src, out = Path(src), Path(out)
    if not src.exists():
        raise CuratorError(f"{source}: --from {src} does not exist")
    check_paths(out, [src], what="--from")
    root = os.path.realpath(src)
    files = [src] if src.is_file() else sorted(p for pat in patterns for p in src.rglob(pat)
                                               if leaves_delivery(p, root) or p.is_file())
    if not files:
        raise CuratorError(f"{source}: nothing matching {', '.join(patterns)} in {src}")
    names = [f.name if src.is_file() else f.relative_to(src).as_posix() for f in files]
    copied = []
    for f, name in zip(files, names, strict=True):
        dest = out / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        copy_atomic(f, dest, link=src.is_dir() and leaves_delivery(f, root))
        copied.append(dest)
    _remove_gone(out, set(names))
    # ensure_ascii: a name that is not UTF-8 round-trips (as \udcxx), so that the next copy can remove it
    atomic_write_text(manual_list(out), json.dumps({"source": source, "files": names}, indent=2, sort_keys=True)
                      + "\n")
    return copied


def leaves_delivery(path: Path, root: str) -> bool:
    """A link in the delivery to a file or folder outside it: never read here. It is copied as a link, so
    that prepare names it in a reject (outside_delivery) rather than the download dropping it unseen."""
    if not path.is_symlink():
        return False
    target = os.path.realpath(path)
    return target != root and not target.startswith(root + os.sep)


def copy_atomic(src: Path, dest: Path, *, link: bool = False) -> None:
    """A killed copy leaves the previous file or none, never half of one. `link`: copy the link itself, to
    the absolute path it points to."""
    tmp = dest.with_name(f".{dest.name}.copy-{os.getpid()}")
    try:
        if link:
            os.symlink(os.path.realpath(src), tmp)
        else:
            shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _remove_gone(out: Path, delivered: set[str]) -> None:
    """Remove what the previous copy brought that this delivery lacks (and folders left empty)."""
    listing = manual_list(out)
    if not listing.is_file():
        return
    try:
        previous = json.loads(listing.read_text(encoding="utf-8")).get("files", [])
    except (ValueError, AttributeError, UnicodeDecodeError):
        previous = []
    for name in previous:
        if not isinstance(name, str) or name in delivered or ".." in Path(name).parts or Path(name).is_absolute():
            continue  # a hand-edited list never reaches outside `out`
        path = out / name
        path.unlink(missing_ok=True)
        for parent in path.parents:
            if parent == out or not parent.is_relative_to(out):
                break
            with contextlib.suppress(OSError):
                parent.rmdir()  # only when empty


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
