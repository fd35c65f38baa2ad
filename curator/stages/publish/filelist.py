"""What a published folder's bytes are: `.curator/SHA256SUMS`, each published file's sha256.

The list is in the format `sha256sum` writes (`<hex>  <path>`, one file a line, paths relative to the
folder), so anyone can check a folder without curator: `cd <folder> && sha256sum -c .curator/SHA256SUMS`.
It sits in the bookkeeping folder beside lineage.json, which push never uploads: on the Hub the same
hashes travel in croissant.json's FileObjects (and the Hub keeps its own per-file sha256).

Two files cannot be listed: README.md (the card) and croissant.json name the repo, which `curator push`
fills in when it uploads, and croissant.json would have to contain its own hash. Everything else publish
writes is listed: shards, LICENSE.md, taxonomy.yaml, standardization.json, augment.yaml.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

from curator.io.atomic import atomic_write_text
from curator.io.checksums import sha256_file
from curator.io.paths import entry_kind, lstat_tree
from curator.pipeline.stages import META_FOLDER

SUMS = f"{META_FOLDER}/SHA256SUMS"  # relative to the published folder
CARD = "README.md"
CROISSANT = "croissant.json"
UNLISTED = (CARD, CROISSANT)  # they name the repo push fills in; croissant.json cannot hold its own hash
_LINE = re.compile(r"([0-9a-f]{64}) [ *]([^\x00-\x1f\x7f]{1,1024})")  # sha256sum's text/binary markers


class SumsError(ValueError):
    """SHA256SUMS is missing or does not parse: the message says which and where."""


def sums_path(folder: Path) -> Path:
    return Path(folder) / SUMS


def walk(folder: Path) -> tuple[list[str], dict[str, str]]:
    """The regular files under `folder` (relative POSIX paths, sorted) and every other entry that is not
    a folder (path -> what it is). Links are never followed and nothing is opened."""
    files, odd = [], {}
    for rel, info in lstat_tree(folder):
        if isinstance(info, OSError):  # a folder without read permission
            odd[rel] = f"a folder that cannot be listed ({info.strerror})"
        elif stat.S_ISREG(info.st_mode):
            files.append(rel)
        elif not stat.S_ISDIR(info.st_mode):
            odd[rel] = entry_kind(info.st_mode)
    return sorted(files), odd


def listed(paths: list[str]) -> list[str]:
    """The paths SHA256SUMS lists: not the bookkeeping folder, not the card nor croissant.json."""
    return [p for p in paths if p not in UNLISTED and not p.startswith(f"{META_FOLDER}/")]


def hash_published(folder: Path) -> dict[str, str]:
    """path -> sha256 of every file of a folder publish is writing (card and Croissant excepted), each
    read once, in chunks: shards can be gigabytes."""
    files, _ = walk(folder)
    return {path: sha256_file(Path(folder) / path) for path in listed(files)}


def write_sums(folder: Path, sums: dict[str, str]) -> Path:
    path = sums_path(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "".join(f"{digest}  {name}\n" for name, digest in sorted(sums.items())))
    return path


def read_sums(folder: Path) -> dict[str, str]:
    """path -> sha256 as SHA256SUMS lists them; SumsError (one line) when it is missing or malformed."""
    path, where = sums_path(folder), SUMS
    if not path.is_file():
        raise SumsError(f"{where} is missing: not made by `curator publish`, or by an older version; re-run it")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SumsError(f"{where}: not UTF-8 text (byte {exc.start}); re-run `curator publish`") from None
    sums: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        found = _LINE.fullmatch(line)
        if found is None:
            raise SumsError(f"{where}:{number}: not `<sha256>  <path>` (a path of printable characters); "
                            "re-run `curator publish`")
        digest, name = found.groups()
        if name in sums:
            raise SumsError(f"{where}:{number}: {name!r} is listed twice")
        sums[name] = digest
    return sums
