"""lineage.json: what a stage output is, and what it was built from.

Every stage output carries one small manifest beside its metrics.json (publish: inside its
`.curator/` bookkeeping folder, which push never uploads):

    {"kind": "split", "stage": "split", "schema": "…", "taxonomy": "…",
     "params": {…the params that shaped it…},
     "inputs": [{"kind": "normalized", "fingerprint": "…", "taxonomy": "…"}]}

and every stage reads its inputs' manifests before it reads a row: a folder of the wrong kind
(`split --in data/prepared/viri`), one written with another record schema, labelled with another
taxonomy, or augmented from another split is refused with one line naming what was expected and
the command that makes it. A folder without a manifest (not a stage output, or one made by an
older curator) is refused the same way.

A fingerprint is cheap and stable: a digest of the folder's own manifest plus its shards' names
and sizes, never of every byte. Since each manifest holds its inputs' fingerprints, a change
anywhere upstream changes every fingerprint after it.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from curator.errors import CuratorError
from curator.pipeline.stages import STAGES

LINEAGE = "lineage.json"
FORMAT = 1  # of the manifest itself

# derived from the table of stages (curator.pipeline.stages)
MAKES = {s.makes: s.command for s in STAGES}  # kind of output -> the command that makes it (named in refusals)
KIND_OF_STAGE = {s.name: s.makes for s in STAGES}
META_SUBDIR = {s.makes: s.meta for s in STAGES if s.meta}  # where the manifest sits inside a folder of that kind
LABELLED = frozenset(s.makes for s in STAGES if s.labelled)  # hold taxonomy class indices


class LineageError(CuratorError):
    """An input is not what the stage needs: wrong kind, stale schema or taxonomy, another split."""


def _digest(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # surrogateescape: a raw file's name that is not UTF-8 is fingerprinted by its bytes (any other text as UTF-8)
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:16]


@cache
def schema_fingerprint() -> str:
    """The record schema as stages write it: every column's name and Arrow type (record.yaml, physio.yaml)."""
    from curator.record.schema import arrow_schema

    return _digest([[f.name, str(f.type)] for f in arrow_schema()])


@cache
def taxonomy_fingerprint() -> str:
    """What a label index means: the class names of every taxonomy level, in order.

    Only the order of names is fingerprinted: reordering or renaming a class changes what the
    stored indices say; a comment or a fine_to_basic edit does not.
    """
    from curator.record.taxonomy import taxonomy

    tax = taxonomy()
    return taxonomy_digest(basic=tax.basic, fine=tax.fine, family=tax.family)


def taxonomy_digest(*, basic: Iterable[str], fine: Iterable[str], family: Iterable[str]) -> str:
    """The fingerprint of these class lists (validate computes it from a card's ClassLabel names)."""
    return _digest({"basic": list(basic), "fine": list(fine), "family": list(family)})


def manifest_path(folder: Path, kind: str | None = None) -> Path:
    """Where a folder of `kind` keeps its manifest (any kind: wherever one is)."""
    folder = Path(folder)
    if kind is not None:
        return folder / META_SUBDIR.get(kind, "") / LINEAGE
    for sub in ("", *META_SUBDIR.values()):
        if (folder / sub / LINEAGE).is_file():
            return folder / sub / LINEAGE
    return folder / LINEAGE


def _shard_listing(folder: Path, pattern: str) -> list[tuple[str, int]]:
    """(relative posix path, size) of every file matching `pattern` under `folder`, hidden parts left out.

    os.walk rather than Path.rglob: a raw folder of 100k images took seconds of pathlib objects."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        rel = os.path.relpath(root, folder)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        for name in files:
            path = os.path.join(root, name)
            if not name.startswith(".") and fnmatch.fnmatchcase(name, pattern) and os.path.isfile(path):
                found.append((prefix + name, os.stat(path).st_size))
    return sorted(found)


def fingerprint(folder: Path) -> str:
    """A stage output's fingerprint: its manifest's bytes plus its shards' names and sizes."""
    folder = Path(folder)
    manifest = manifest_path(folder)
    h = hashlib.sha256(manifest.read_bytes() if manifest.is_file() else b"")
    h.update(json.dumps(_shard_listing(folder, "*.parquet")).encode())
    return h.hexdigest()[:16]


def raw_fingerprint(location: Path) -> str:
    """A raw folder's (or file's) fingerprint: every file's relative path and size."""
    location = Path(location)
    if location.is_file():
        return _digest([[location.name, location.stat().st_size]])
    return _digest(_shard_listing(location, "*"))


def read(folder: Path, expected: str, *, role: str) -> dict[str, Any]:
    """The manifest of `folder`, checked: `expected` kind, the current record schema, and for labelled
    data the current taxonomy. `role` names the folder in messages (`--in`, `--augmented`)."""
    folder = Path(folder)
    path = manifest_path(folder)
    if not path.is_file():
        raise LineageError(
            f"{role} {folder} has no {LINEAGE}: it is not {_a(expected)} output, or an older curator made it; "
            f"expected the output of `{MAKES[expected]}` (re-run it)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        kind = manifest["kind"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise LineageError(f"{path} is not a readable manifest ({type(exc).__name__}); "
                           f"re-run `{MAKES[expected]}`") from None
    if kind != expected:
        made_by = MAKES.get(kind, "an unknown command")
        raise LineageError(f"{role} {folder} holds {kind} data (made by `{made_by}`), not {expected}: "
                           f"expected the output of `{MAKES[expected]}`")
    if manifest.get("schema") != schema_fingerprint():
        raise LineageError(f"{role} {folder} was written with another record schema (schemas/record.yaml or "
                           "physio.yaml changed since); re-run the pipeline from `curator prepare SRC` on")
    if expected in LABELLED and manifest.get("taxonomy") != taxonomy_fingerprint():
        raise LineageError(f"{role} {folder} was labelled with another taxonomy (schemas/taxonomy.yaml changed "
                           "since normalize ran): its class indices would name the wrong classes; "
                           "re-run `curator normalize` and every stage after it")
    return manifest


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


@dataclass(frozen=True)
class Input:
    """One folder a stage reads, and the kind it must be."""

    path: Path
    kind: str
    role: str = "--in"


def input_entry(inp: Input, manifest: dict[str, Any] | None) -> dict[str, Any]:
    """How an output's manifest names one of its inputs."""
    if inp.kind == "raw":
        return {"kind": "raw", "fingerprint": raw_fingerprint(inp.path)}
    entry = {"kind": inp.kind, "fingerprint": fingerprint(inp.path)}
    if manifest is not None and manifest.get("taxonomy") is not None:
        entry["taxonomy"] = manifest["taxonomy"]
    return entry


def build(kind: str, params: dict[str, Any], inputs: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """The manifest of a new output of `kind`."""
    return {
        "format": FORMAT,
        "kind": kind,
        **extra,
        "schema": schema_fingerprint(),
        "taxonomy": taxonomy_fingerprint() if kind in LABELLED else None,
        "params": params,
        "inputs": inputs,
    }


def check_built_from(augmented: Path, manifest: dict[str, Any], split: Path) -> None:
    """Augmented rows are copies of one split's train records: refuse them beside any other split."""
    made_from = [i.get("fingerprint") for i in manifest.get("inputs", []) if i.get("kind") == "split"]
    if made_from != [fingerprint(split)]:
        raise LineageError(
            f"--augmented {augmented} was made from another split than {split} (split ran again since "
            f"augment): its rows would copy validation/test images into train; re-run `curator augment`")


# --- what a stage may replace (where it may write: curator.io.paths) ------------------------------


def check_replaceable(target: Path, kind: str) -> None:
    """An existing folder is replaced only when it is a previous output of the same kind (or empty):
    `augment --out data/split` must not wipe the split, nor `--out .` the project."""
    if not target.is_dir() or not any(target.iterdir()):
        return
    path = manifest_path(target, kind)
    found = None
    if path.is_file():
        try:
            found = json.loads(path.read_text(encoding="utf-8")).get("kind")
        except (ValueError, UnicodeDecodeError, AttributeError):
            found = None
    else:  # an output of an older curator: its metrics.json names the stage
        found = _stage_of_metrics(path.with_name("metrics.json"))
    if found != kind:
        what = f"holds {found} data (made by `{MAKES[found]}`)" if found in MAKES else "is not a curator output"
        raise CuratorError(f"--out {target} {what}; it would be replaced by {kind} data: choose another --out "
                           "(or remove that folder first)")


def _stage_of_metrics(path: Path) -> str | None:
    if not path.is_file():
        return None
    try:
        stage = json.loads(path.read_text(encoding="utf-8")).get("stage")
    except (ValueError, UnicodeDecodeError, AttributeError):
        return None
    return KIND_OF_STAGE.get(stage)


def stamp(folder: Path, kind: str, *, source: str | None = None) -> Path:
    """Declare hand-made shards (a test's fixture, data written by other tools) as `kind` output, with
    the current schema and taxonomy and no recorded inputs."""
    from curator.io.atomic import atomic_write_json

    path = manifest_path(folder, kind)
    atomic_write_json(path, build(kind, {"stamped": True}, [], **({"source": source} if source else {})))
    return path
