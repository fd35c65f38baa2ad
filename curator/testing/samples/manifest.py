"""build_samples: run every source's builder, then write manifest.json and checksums.tsv."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from curator.io.checksums import sha256_file
from curator.sources import all_recipes, recipe_samples
from curator.testing.samples.built import Built


def builders() -> dict[str, Callable[[Path, int, bool], Built]]:
    """Every recipe's sample builder (curator/sources/<name>/samples.py), by source name."""
    return {name: recipe_samples(name).build for name in all_recipes()}


def _source_entry(out: Path, built: Built) -> dict:
    files = sorted(p.relative_to(out).as_posix() for p in built.files)
    checksums = {f: {"size": (out / f).stat().st_size, "sha256": sha256_file(out / f)} for f in files}
    return {"files": files, "checksums": checksums, "items": built.items, "expected": built.expected()}


def _checksums_tsv(manifest: dict) -> str:
    lines = ["source\tfilename\tsize\tsha256"]
    for source, entry in manifest.items():
        for rel, c in entry["checksums"].items():
            lines.append(f"{source}\t{rel.split('/', 1)[1]}\t{c['size']}\t{c['sha256']}")
    return "\n".join(lines) + "\n"


def _prune_stale(out: Path, manifest: dict) -> None:
    """Delete files a previous build left in our source folders (e.g. dirty extras), so a
    rebuild in place serves exactly what the manifest lists."""
    written = {out / f for entry in manifest.values() for f in entry["files"]}
    for name in manifest:
        for path in sorted((out / name).rglob("*")):
            if path.is_file() and path not in written:
                path.unlink()


def build_samples(out: Path, *, dirty: bool = False, seed: int = 0) -> dict:
    """Write miniature copies of every source under `out`; return (and write) the manifest.

    manifest[source] = {files: [paths relative to out], checksums: {path: {size, sha256}},
    items: N, expected: {records, prepare_rejects: {reason: n}, normalize_rejects: {reason: n}}}.
    checksums.tsv lists every downloadable file with its name relative to its source folder.
    Files in out/<source>/ that this build did not write are deleted.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest = {name: _source_entry(out, build(out, seed, dirty)) for name, build in builders().items()}
    _prune_stale(out, manifest)
    (out / "checksums.tsv").write_text(_checksums_tsv(manifest), encoding="utf-8")
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    (out / "manifest.json").write_text(text, encoding="utf-8")
    return manifest
