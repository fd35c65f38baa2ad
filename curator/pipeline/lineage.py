"""lineage.json: what a stage output is, and what it was built from.

Every stage output carries one small manifest beside its metrics.json (publish: inside its
`.curator/` bookkeeping folder, which push never uploads):

    {"kind": "split", "stage": "split", "schema": "…", "taxonomy": "…",
     "params": {…the params that shaped it…},
     "inputs": [{"kind": "normalized", "fingerprint": "…", "taxonomy": "…"}],
     "shards": [{"path": "train/part-00000.parquet", "bytes": 81234, "rows": 512}, …]}

and every stage reads its inputs' manifests before it reads a row: a folder of the wrong kind
(`split --in data/prepared/viri`), one written with another record schema, labelled with another
taxonomy, or augmented from another split is refused with one line naming what was expected and
the command that makes it. A folder without a manifest (not a stage output, or one made by an
older curator) is refused the same way.

The manifest also lists the Parquet shards the stage wrote (relative path, size, rows), and a
folder whose shards are not those is refused, naming what differs: a shard deleted (a split with
no test shards, an emptied folder), one copied in from another build, or one replaced by another
of the same name. Names and sizes only (one stat per shard): no byte is hashed or read.

Manifests are read through one checked loader (`load`): a hand-edited file that is not JSON, not
UTF-8, too large, too deeply nested, or holds a value of the wrong type is one line naming what,
never an internal error.

A fingerprint is cheap and stable: a digest of the folder's own manifest plus its shards' names
and sizes, never of every byte. Since each manifest holds its inputs' fingerprints, a change
anywhere upstream changes every fingerprint after it.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from curator.errors import CuratorError
from curator.io.secrets import redact_values
from curator.pipeline.stages import STAGES

LINEAGE = "lineage.json"
FORMAT = 2  # of the manifest itself; 2: it lists the folder's shards
SHARDS = "*.parquet"  # what a manifest lists (and a fingerprint covers)
# A manifest is a few kB; a published build of thousands of shards lists ~100 bytes each. Anything far
# beyond is not a manifest: refused before it is read into memory.
MAX_MANIFEST_BYTES = 16 * 2**20
MAX_DEPTH = 32  # params are a few levels deep; json itself gives up (RecursionError) near 1000

# derived from the table of stages (curator.pipeline.stages)
MAKES = {s.makes: s.command for s in STAGES}  # kind of output -> the command that makes it (named in refusals)
KIND_OF_STAGE = {s.name: s.makes for s in STAGES}
META_SUBDIR = {s.makes: s.meta for s in STAGES if s.meta}  # where the manifest sits inside a folder of that kind
LABELLED = frozenset(s.makes for s in STAGES if s.labelled)  # hold taxonomy class indices


class LineageError(CuratorError):
    """An input is not what the stage needs: wrong kind, stale schema or taxonomy, another split."""


class ManifestError(LineageError):
    """A lineage.json that cannot be read as a manifest (hand-edited, truncated, not JSON)."""

    def __init__(self, message: str, what: str) -> None:
        super().__init__(message)
        self.what = what  # the problem alone, for callers that phrase their own line


# --- the shape of a manifest: what `load` accepts (strict: no "3" for 3, no 1 for true) ----------------


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")


class _InputEntry(_Strict):
    kind: str
    fingerprint: str
    taxonomy: str | None = None


class _Shard(_Strict):
    model_config = ConfigDict(strict=True, extra="forbid")
    path: str
    bytes: int = Field(ge=0)
    rows: int = Field(ge=0)


class _Manifest(_Strict):
    format: int
    kind: str
    stage: str | None = None
    source: str | None = None
    schema_: str = Field(alias="schema")
    taxonomy: str | None = None
    params: dict[str, Any]
    inputs: list[_InputEntry]
    shards: list[_Shard]


def load(path: Path, *, rerun: str, current: bool = True) -> dict[str, Any]:
    """The manifest at `path` as a dict, checked: at most MAX_MANIFEST_BYTES of UTF-8 JSON, an object
    nested at most MAX_DEPTH deep whose `kind` is a string; and, when `current`, of this curator's
    FORMAT with every field of the right type. Anything else is a ManifestError of one line that
    ends with `rerun` (the command that rewrites it)."""
    manifest = _parse(Path(path), rerun)
    if current:
        _check_current(manifest, Path(path), rerun)
    return manifest


def _refusal(path: Path, rerun: str, what: str) -> ManifestError:
    return ManifestError(f"{path} is not a readable manifest: {what}; re-run `{rerun}`", what)


def _parse(path: Path, rerun: str) -> dict[str, Any]:
    """A JSON object of bounded size and depth whose `kind` is a string (what any format has)."""
    def refuse(what: str) -> ManifestError:
        return _refusal(path, rerun, what)

    try:
        with open(path, "rb") as f:
            data = f.read(MAX_MANIFEST_BYTES + 1)
    except OSError as exc:
        raise refuse(exc.strerror or type(exc).__name__) from None
    if len(data) > MAX_MANIFEST_BYTES:
        raise refuse(f"larger than {MAX_MANIFEST_BYTES // 2**20} MiB")
    try:
        manifest = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise refuse(f"byte {exc.start} is not UTF-8") from None
    except RecursionError:
        raise refuse(f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # json.JSONDecodeError
        raise refuse(f"not JSON ({str(exc).splitlines()[0][:120]})") from None
    if not isinstance(manifest, dict):
        raise refuse(f"a JSON {_json_type(manifest)}, not an object")
    if _depth(manifest) > MAX_DEPTH:
        raise refuse(f"nested deeper than {MAX_DEPTH} levels")
    if not isinstance(manifest.get("kind"), str):
        raise refuse("`kind` is " + ("missing" if "kind" not in manifest else f"a {_json_type(manifest['kind'])}, "
                                     "not a string"))
    return manifest


def _older(manifest: dict[str, Any]) -> str | None:
    """What says a manifest is of another format than this curator's (None: it is this one's)."""
    found = manifest.get("format")
    if found == FORMAT:
        return None
    return f"{LINEAGE} format {_short(found)}; this curator reads {FORMAT}"


def _check_current(manifest: dict[str, Any], path: Path, rerun: str) -> None:
    """This curator's format, every field of the right type."""
    older = _older(manifest)
    if older:
        raise ManifestError(f"{path} was written by another curator version ({older}): re-run `{rerun}`", older)
    try:
        _Manifest.model_validate(manifest)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".")
        raise _refusal(path, rerun, f"`{_short(where or '(top level)', quote=False)}`: {first['msg']}") from None


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "list", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _short(value: Any, *, quote: bool = True) -> str:
    """A hand-edited value, as a message shows it: one line, at most 40 characters."""
    text = " ".join((repr(value) if quote else str(value)).split())
    return text if len(text) <= 40 else text[:37] + "..."


def _depth(value: Any) -> int:
    """How deeply `value` nests lists and objects (iteratively: a hand-edited file must not recurse)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                return deepest
            todo.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


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


def shard_listing(folder: Path, pattern: str = SHARDS) -> list[tuple[str, int]]:
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
    h = hashlib.sha256()
    if manifest.is_file():  # streamed: a hand-edited manifest of any size costs no memory
        with open(manifest, "rb") as f:
            for block in iter(lambda: f.read(2**20), b""):
                h.update(block)
    h.update(json.dumps(shard_listing(folder)).encode())
    return h.hexdigest()[:16]


def raw_fingerprint(location: Path) -> str:
    """A raw folder's (or file's) fingerprint: every file's relative path and size."""
    location = Path(location)
    if location.is_file():
        return _digest([[location.name, location.stat().st_size]])
    return _digest(shard_listing(location, "*"))


def read(folder: Path, expected: str, *, role: str) -> dict[str, Any]:
    """The manifest of `folder`, checked: `expected` kind, the current record schema, for labelled
    data the current taxonomy, and the folder's shards the ones it lists. `role` names the folder in
    messages (`--in`, `--augmented`)."""
    folder = Path(folder)
    path = manifest_path(folder)
    rerun = MAKES[expected]
    if not path.is_file():
        raise LineageError(_no_manifest(folder, expected, role))
    manifest = _parse(path, rerun)
    kind = manifest["kind"]
    if kind != expected:
        made_by = MAKES.get(kind, "an unknown command")
        raise LineageError(f"{role} {folder} holds {_short(kind) if kind not in MAKES else kind} data "
                           f"(made by `{made_by}`), not {expected}: expected the output of `{rerun}`")
    older = _older(manifest)
    if older:
        raise LineageError(f"{role} {folder} was made by another curator version ({older}): re-run `{rerun}`")
    _check_current(manifest, path, rerun)  # of the right kind and format: every field must be of its type
    if manifest["schema"] != schema_fingerprint():
        raise LineageError(f"{role} {folder} was written with another record schema (schemas/record.yaml or "
                           "physio.yaml changed since); re-run the pipeline from `curator prepare SRC` on")
    if expected in LABELLED and manifest.get("taxonomy") != taxonomy_fingerprint():
        raise LineageError(f"{role} {folder} was labelled with another taxonomy (schemas/taxonomy.yaml changed "
                           "since normalize ran): its class indices would name the wrong classes; "
                           "re-run `curator normalize` and every stage after it")
    differs = listing_differences(manifest["shards"], shard_listing(folder))
    if differs:
        raise LineageError(f"{role} {folder} does not hold the shards its {LINEAGE} lists: {differs}; "
                           f"restore them, or re-run `{rerun}`")
    return manifest


def _no_manifest(folder: Path, expected: str, role: str) -> str:
    """Why a folder without a manifest is refused; a folder of per-source outputs (data/prepared) is
    said to be one, with the flag to pass one of them."""
    inside = []
    try:
        children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))[:1000]
    except OSError:  # not a folder, or one we may not list: the plain refusal below
        children = []
    for child in children:
        try:
            if manifest_path(child).is_file() and load(manifest_path(child), rerun="", current=False)[
                    "kind"] == expected:
                inside.append(child)
        except ManifestError:
            continue
    if inside:
        names = ", ".join(p.name for p in inside[:5]) + (f" and {len(inside) - 5} more" if len(inside) > 5 else "")
        return (f"{role} {folder} holds per-source {expected} outputs ({names}), not one: pass one, "
                f"e.g. {role} {inside[0]}")
    return (f"{role} {folder} has no {LINEAGE}: it is not {_a(expected)} output, or an older curator made it; "
            f"expected the output of `{MAKES[expected]}` (re-run it)")


def listing_differences(listed: list[dict[str, Any]], found: list[tuple[str, int]]) -> str:
    """What differs between the shards a manifest lists and those a folder holds, in one line ('' if
    nothing): missing (every shard of a split folder: that split), foreign, or another size."""
    want = {s["path"]: (s["bytes"], s["rows"]) for s in listed}
    if len(want) < len(listed):  # a hand-edited list: the stage would read that shard twice
        twice = Counter(s["path"] for s in listed)
        return f"{_names(sorted(p for p, n in twice.items() if n > 1))} listed more than once"
    have = dict(found)
    missing = sorted(want.keys() - have.keys())
    foreign = sorted(have.keys() - want.keys())
    resized = sorted(p for p in want.keys() & have.keys() if want[p][0] != have[p])
    parts = []
    if want and not have:
        rows = sum(r for _, r in want.values())
        parts.append(f"it holds none of the {len(want)} listed ({rows} rows): emptied since it was written")
    elif missing:
        whole = sorted({p.split("/")[0] for p in missing if "/" in p}
                       - {p.split("/")[0] for p in have if "/" in p})
        parts.append(f"no {' or '.join(whole)} shards left ({_names(missing)} missing)" if whole
                      else f"{_names(missing)} missing")
    if foreign:
        parts.append(f"{_names(foreign)} not written by it (copied in from elsewhere?)")
    for path in resized[:3]:
        parts.append(f"{path} is {have[path]} bytes, not the {want[path][0]} it was written with (replaced?)")
    if len(resized) > 3:
        parts.append(f"{len(resized) - 3} more of another size")
    return "; ".join(parts)


def _names(paths: list[str]) -> str:
    shown = ", ".join(paths[:3])
    return shown + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


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


def build(kind: str, params: dict[str, Any], inputs: list[dict[str, Any]], shards: list[dict[str, Any]],
          **extra: Any) -> dict[str, Any]:
    """The manifest of a new output of `kind`; `shards`: its Parquet files (path, bytes, rows: `shard_entries`)."""
    return {
        "format": FORMAT,
        "kind": kind,
        **extra,
        "schema": schema_fingerprint(),
        "taxonomy": taxonomy_fingerprint() if kind in LABELLED else None,
        "params": redact_values(params),  # a URL's password or token never reaches a manifest
        "inputs": inputs,
        "shards": shards,
    }


def shard_entries(folder: Path, rows: dict[str, int]) -> list[dict[str, Any]]:
    """How a manifest lists the shards of `folder`: relative path, size, and rows (`rows` maps a
    relative path to what its writer wrote; another shard's count is read from its Parquet footer)."""
    from curator.io.parquet import footer_rows

    return [{"path": rel, "bytes": size, "rows": rows[rel] if rel in rows else footer_rows(Path(folder, rel))}
            for rel, size in shard_listing(folder)]


def check_built_from(augmented: Path, manifest: dict[str, Any], split: Path) -> None:
    """Augmented rows are copies of one split's train records: refuse them beside any other split.

    Only fingerprints are recorded, so the message says what is known: the split folder is not the
    one augment read (made again since, or augment read another split folder), never which."""
    made_from = [i["fingerprint"] for i in manifest["inputs"] if i["kind"] == "split"]
    now = fingerprint(split)
    if made_from != [now]:
        recorded = f"a split fingerprinted {made_from[0]}" if len(made_from) == 1 else \
            f"{len(made_from)} split inputs"
        raise LineageError(
            f"--augmented {augmented} was made from another split than {split} (augment read {recorded}; "
            f"{split} is {now}: it was made again since, or augment read another split folder): its rows "
            f"could copy validation/test images into train; re-run `curator augment` on {split}")


# --- what a stage may replace (where it may write: curator.io.paths) ------------------------------


def check_replaceable(target: Path, kind: str) -> None:
    """An existing folder is replaced only when it is a previous output of the same kind (or empty):
    `augment --out data/split` must not wipe the split, nor `--out .` the project."""
    if not target.is_dir() or not any(target.iterdir()):
        return
    path = manifest_path(target, kind)
    found = None
    if path.is_file():  # any format: an older output of the same kind may be replaced
        try:
            found = load(path, rerun=MAKES.get(kind, kind), current=False)["kind"]
        except ManifestError as exc:
            raise CuratorError(f"--out {target} holds a {LINEAGE} that is not a readable manifest ({exc.what}); "
                               f"it would be replaced by {kind} data: choose another --out (or remove that "
                               "folder first)") from None
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
    except (ValueError, UnicodeDecodeError, AttributeError, RecursionError):
        return None
    return KIND_OF_STAGE.get(stage) if isinstance(stage, str) else None


def stamp(folder: Path, kind: str, *, source: str | None = None) -> Path:
    """Declare hand-made shards (a test's fixture, data written by other tools) as `kind` output, with
    the current schema and taxonomy, no recorded inputs, and the shards the folder holds now."""
    from curator.io.atomic import atomic_write_json

    path = manifest_path(folder, kind)
    atomic_write_json(path, build(kind, {"stamped": True}, [], shard_entries(folder, {}),
                                  **({"source": source} if source else {})))
    return path
