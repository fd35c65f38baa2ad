"""What the three EmoNet-Face recipes (emonet_hq, emonet_binary, emonet_big) share.

Not a recipe (no INFO). It holds:
- download: a snapshot of the Hub dataset repo at a pinned commit (huggingface_hub, which
  honours HF_ENDPOINT and HF_TOKEN), plus the annotation CSV hq and binary keep on GitHub;
- the Parquet reader: finds data/*.parquet, detects each file's layout (the schema varies
  between repos and revisions) and streams rows in small batches, never a whole shard;
- the pieces every record needs: id from the image's file stem, demographics, the tie rule.
"""

from __future__ import annotations

import ast
import csv
import json
import math
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from huggingface_hub import snapshot_download
from pydantic import Field

from curator.config import Download, SourceParams
from curator.errors import CuratorError, SchemaError
from curator.io.secrets import first_line, scrub
from curator.reasons import Reason
from curator.record.schema import empty_record
from curator.record.taxonomy import taxonomy
from curator.sources.fetch import copy_manual, download_files
from curator.sources.recipe import Reject, SourceInfo

LICENSE = "CC-BY-4.0"
INTENSITY_MAX = 7  # hq experts and the big VLM rate each category 0-7
# LAION-AI/emonet-face: data/ last changed in this commit; annotation URLs are pinned to it, not to main
GITHUB_DATA = "https://raw.githubusercontent.com/LAION-AI/emonet-face/a788945dd78253a9a5ef8f36e72743c6d975d473/data"
IMAGE_COLUMNS = ("image", "path")  # the HF Image struct {bytes, path} goes by either name
MAX_LITERAL_CHARS = 1_000_000  # a longer annotation cell is refused before it is parsed
_BATCH_ROWS = 64  # images per Arrow batch: a few MB, whatever the shard size
_SHA = re.compile(r"[0-9a-f]{40}")


def source_info(name: str, title: str, size: str, repo: str, *, enabled_by_default: bool = False) -> SourceInfo:
    """INFO for one EmoNet-Face repo: the licence, citation and needs are the same for all three."""
    return SourceInfo(
        name=name,
        title=title,
        license=LICENSE,
        redistributable="yes",
        size=size,
        needs="nothing: public on the Hub; pin a revision",
        homepage=f"https://huggingface.co/datasets/{repo}",
        citation="LAION, EmoNet-Face: An Expert-Annotated Benchmark for Synthetic Emotion Recognition, "
        "NeurIPS 2025 Datasets & Benchmarks, arXiv:2505.20033",
        enabled_by_default=enabled_by_default,
        attribution=f"EmoNet-Face ({repo}) by LAION, CC BY 4.0; prohibited uses: no emotion inference in "
        "workplaces or education, no biometric categorisation of real people, no manipulation",
    )


# --------------------------------------------------------------------------- download


class HubParams(SourceParams):
    """Where one EmoNet-Face source lives: its Hub repo at a pinned commit (and the CSV on GitHub)."""

    repo: str = Field(description="Hub dataset repo")
    revision: str | None = Field(None, description="pin the Hub commit sha (40 hex) you build from")


class AnnotatedHubParams(HubParams):
    annotations_url: str = Field(description="the annotation CSV on LAION's GitHub, pinned to a commit")


@dataclass(frozen=True)
class Hub:
    """One EmoNet-Face source's name and its params."""

    source: str
    conf: HubParams

    @property
    def repo(self) -> str:
        return self.conf.repo

    def annotations(self) -> str | None:
        return getattr(self.conf, "annotations_url", None)


def download(hub: Hub, fetch: Download, out: Path, from_: str | None = None) -> Path:
    """Fetch the Hub snapshot (or copy a manual download from `from_`) and the annotation CSV into `out`."""
    repo = hub.repo
    revision = None if from_ else pinned_revision(hub, repo, hub.conf.revision)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if from_:
        _copy_manual(hub, from_, out)
    url = hub.annotations()
    # the CSV first: small and checksummed, it fails fast before a multi-GB snapshot; a manual
    # download that brought it along needs nothing more
    if url and not (from_ and find_named(out, file_name(url))):
        download_files(hub.source, [url], out, fetch)
    if revision:
        snapshot(hub, repo, revision, out)
    return out


def file_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]


def find_named(raw: Path, name: str) -> list[Path]:
    """Files called `name` under `raw`, outside hidden folders (huggingface_hub's .cache)."""
    raw = Path(raw)
    return sorted(p for p in raw.rglob(name) if p.is_file() and not _hidden(p, raw))


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def annotation_csv(hub: Hub, raw: Path) -> Path:
    """The annotation CSV in the raw folder (exactly one), or a CuratorError saying how to get it."""
    url = hub.annotations() or ""
    name = file_name(url)
    found = [Path(raw)] if Path(raw).is_file() and Path(raw).name == name else find_named(raw, name)
    if len(found) != 1:
        what = "none" if not found else ", ".join(str(p) for p in found)
        raise CuratorError(f"{hub.source}: expected one {name} under {raw}, found {what}; "
                           f"run `curator download {hub.source}` (it fetches {url})")
    return found[0]


def _copy_manual(hub: Hub, from_: str, out: Path) -> None:
    if "://" in from_:
        raise CuratorError(f"{hub.source}: --from takes a folder holding a manual download of {hub.repo} "
                           "(data/*.parquet); the Hub snapshot itself is fetched by its pinned revision")
    copy_manual(hub.source, Path(from_), out, patterns=("*.parquet", "*.csv", "*.md"))


def pinned_revision(hub: Hub, repo: str, revision: Any) -> str:
    """The commit sha from params; a branch name or nothing is refused (downloads must be reproducible)."""
    where = f"sources.{hub.source}.revision in params.yaml"
    if not revision:
        raise CuratorError(f"{hub.source}: pin a revision: set {where} to a commit sha of {repo} "
                           f"(see https://huggingface.co/datasets/{repo}/commits/main)")
    if not _SHA.fullmatch(str(revision)):
        raise CuratorError(f"{hub.source}: {where} is {revision!r}, not a 40-hex commit sha; pin a commit of {repo}")
    return str(revision)


def snapshot(hub: Hub, repo: str, revision: str, out: Path) -> Path:
    """snapshot_download of the dataset repo at its pinned revision into `out`."""
    try:
        snapshot_download(repo_id=repo, repo_type="dataset", revision=revision, local_dir=out)
    except Exception as exc:  # the client raises many types; keep one line, never a traceback or token
        hint = _HINTS.get(type(exc).__name__, "").format(source=hub.source)
        raise CuratorError(f"{hub.source}: could not download {repo}@{revision[:12]}: {one_line(exc)}{hint}") from None
    return out


_HINTS = {  # what to check for the client's commonest failures
    "RepositoryNotFoundError": " (check sources.{source}.repo, and HF_TOKEN for a private repo)",
    "RevisionNotFoundError": " (check sources.{source}.revision: a commit sha of that repo)",
    "GatedRepoError": " (accept the repo's terms on the Hub and set HF_TOKEN)",
}


def one_line(exc: BaseException) -> str:
    """The exception's first line, with anything that looks like a Hub token masked."""
    return scrub(first_line(exc), os.environ.get("HF_TOKEN"))


# --------------------------------------------------------------------------- Parquet layout


@dataclass(frozen=True)
class Layout:
    """How one Parquet file stores what we need: which columns, and the ClassLabel names."""

    file: Path
    image: str  # the Image struct column: "image" or "path"
    label: str | None  # the label column this recipe reads ("emotion" or "annotations"), if any
    class_names: tuple[str, ...] | None  # ClassLabel names of an integer `emotion` column

    def columns(self, schema: pa.Schema) -> list[str]:
        wanted = [self.image, "prompt", "demographics", *([self.label] if self.label else [])]
        return [c for c in wanted if c in schema.names]


def parquet_files(source: str, raw: Path) -> list[Path]:
    """The repo's Parquet shards under `raw`, in name order (huggingface_hub's .cache left out)."""
    raw = Path(raw)
    files = [raw] if raw.is_file() else sorted(p for p in raw.rglob("*.parquet") if not _hidden(p, raw))
    if not files:
        raise CuratorError(f"{source}: no *.parquet under {raw}; run `curator download {source}` first")
    return files


def _is_image_struct(field: pa.Field) -> bool:
    kind = field.type
    return pa.types.is_struct(kind) and kind.get_field_index("bytes") >= 0 and kind.get_field_index("path") >= 0


def _class_names(where: str, schema: pa.Schema, column: str) -> tuple[str, ...] | None:
    """ClassLabel names of an integer column, from the file's `huggingface` schema metadata."""
    kind = schema.field(column).type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return None  # the label text itself
    if not pa.types.is_integer(kind):
        raise SchemaError(f"{where}: column {column!r} is {kind}, expected an integer ClassLabel or a string")
    try:
        meta = json.loads((schema.metadata or {})[b"huggingface"])
        names = meta["info"]["features"][column]["names"]
    except (KeyError, TypeError, ValueError):
        raise SchemaError(f"{where}: {column!r} is an integer column but the file's huggingface schema "
                          "metadata gives no ClassLabel names for it") from None
    return tuple(str(n) for n in names)


def detect_layout(source: str, file: Path, labels: tuple[str, ...] = ()) -> Layout:
    """Detect which known variant `file` is; `labels` lists the label columns the recipe can
    read, preferred first (empty: it needs none). Anything else is a one-line SchemaError."""
    try:
        schema = pq.read_schema(file)
    except (pa.ArrowInvalid, OSError) as exc:
        raise _unreadable(source, file, exc) from None
    image = next((c for c in IMAGE_COLUMNS if c in schema.names and _is_image_struct(schema.field(c))), None)
    label = next((c for c in labels if c in schema.names), None)
    if image is None or (labels and label is None):
        expected = "an Image struct column (image or path: {bytes, path})"
        if labels:
            expected += f" and a label column ({' or '.join(labels)})"
        found = ", ".join(f"{f.name} ({f.type})" for f in schema)
        raise SchemaError(f"{source}: {file.name}: unknown Parquet layout: expected {expected}; found {found}")
    names = _class_names(f"{source}: {file.name}", schema, label) if label == "emotion" else None
    return Layout(file, image, label, names)


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class Row:
    """One Parquet row, in the same shape whatever the layout."""

    stem: str  # the image's file name without extension: the key ids and joins use
    image: dict[str, Any]  # {bytes, path}
    where: str  # "<file> row <n>", for reject details
    prompt: str | None
    demographics: Any  # a struct (dict) or a stringified dict, as stored
    label: Any  # the ClassLabel name, or the raw annotations cell; None without a label column
    label_column: str | None  # which of the recipe's label columns this file had


def image_stem(path: Any) -> str | None:
    """'00042.png' -> '00042'; also for 'images/00042.png' and Windows separators."""
    if not isinstance(path, str) or not path.strip():
        return None
    return PurePosixPath(path.strip().replace("\\", "/")).stem or None


def read_rows(source: str, raw: Path, labels: tuple[str, ...] = ()) -> Iterator[Row | Reject]:
    """Every row of every shard, streamed `_BATCH_ROWS` at a time."""
    for file in parquet_files(source, raw):
        layout = detect_layout(source, file, labels)
        try:
            parquet = pq.ParquetFile(file)
            index = 0
            for batch in parquet.iter_batches(batch_size=_BATCH_ROWS, columns=layout.columns(parquet.schema_arrow)):
                for values in batch.to_pylist():
                    yield _row(source, layout, values, f"{file.name} row {index}")
                    index += 1
        except (pa.ArrowInvalid, OSError) as exc:  # a shard cut short or damaged after its footer was read
            raise _unreadable(source, file, exc) from None


def _unreadable(source: str, file: Path, exc: Exception) -> SchemaError:
    return SchemaError(f"{source}: {file.name}: not readable as Parquet ({exc})")


def _row(source: str, layout: Layout, values: dict[str, Any], where: str) -> Row | Reject:
    image = values.get(layout.image) or {}
    stem = image_stem(image.get("path"))
    if stem is None:
        return Reject(None, Reason.MISSING_FIELD, f"{where}: the image has no file name, the key of its id")
    label = values.get(layout.label) if layout.label else None
    if layout.class_names is not None and label == -1:
        label = None  # the datasets convention for "no label"
    if layout.class_names is not None and label is not None:
        if not 0 <= label < len(layout.class_names):
            top = len(layout.class_names) - 1
            return Reject(f"{source}/{stem}", Reason.BAD_VALUE,
                          f"{where}: {layout.label}={label} is not a ClassLabel index (0-{top})")
        label = layout.class_names[label]
    prompt = values.get("prompt")
    return Row(stem, {"bytes": image.get("bytes"), "path": image.get("path")}, where,
               None if prompt is None else str(prompt), values.get("demographics"), label, layout.label)


def image_stems(source: str, raw: Path) -> list[str]:
    """The file stems of every image, reading only the path strings (no image bytes)."""
    stems = []
    for file in parquet_files(source, raw):
        layout = detect_layout(source, file)
        column = pq.ParquetFile(file).read(columns=[f"{layout.image}.path"]).column(layout.image)
        stems += [s for v in column.to_pylist() if (s := image_stem((v or {}).get("path")))]
    return stems


# --------------------------------------------------------------------------- records


def base_record(source: str, row: Row) -> dict[str, Any] | Reject:
    """A record with what every EmoNet-Face row has: id, image, prompt, demographics, licence."""
    rid = f"{source}/{row.stem}"
    try:
        demographics = parse_demographics(row.demographics)
    except ValueError as exc:
        return Reject(rid, Reason.MALFORMED_ANNOTATION, f"{row.where}: demographics {exc}", row.image["path"])
    record = empty_record()
    record.update(id=rid, source=source, group_id=rid,  # each synthetic image is its own group
                  image=row.image, prompt=row.prompt, demographics=demographics,
                  label_kind="expressed", license=LICENSE)
    return record


def literal_dict(text: Any) -> dict[Any, Any]:
    """A stringified Python dict, parsed with ast.literal_eval (never eval); ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"is a {type(text).__name__}, not a string")
    if len(text) > MAX_LITERAL_CHARS:
        raise ValueError(f"is {len(text)} characters long (limit {MAX_LITERAL_CHARS})")
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise ValueError(f"is not a Python literal ({type(exc).__name__}): {short(text)}") from None
    if not isinstance(value, dict):
        raise ValueError(f"is a {type(value).__name__}, not a dict: {short(text)}")
    return value


def parse_demographics(value: Any) -> dict[str, str | None] | None:
    """{ethnicity, gender, age} from a struct or a stringified dict; None stays None."""
    if value is None:
        return None
    data = value if isinstance(value, dict) else literal_dict(value)
    return {k: None if data.get(k) is None else str(data[k]) for k in ("ethnicity", "gender", "age")}


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def short(value: Any, limit: int = 60) -> str:
    """repr() cut to `limit` characters, so a reject detail stays one short line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def top_label(ratings: Mapping[str, float]) -> str | None:
    """The highest-rated name.

    Tie rule: among equal ratings the earliest in taxonomy order wins (names outside the
    taxonomy come after it, in the order given). None when nothing is rated above 0: a face
    no one saw any emotion in gets no label rather than an arbitrary first category.
    """
    order = {name: i for i, name in enumerate(taxonomy().fine)}
    ranked = sorted(
        ((-value, order.get(name, len(order) + pos), name) for pos, (name, value) in enumerate(ratings.items()))
    )
    return ranked[0][2] if ranked and ranked[0][0] < 0 else None


def scores(intensities: Mapping[str, float]) -> list[float]:
    """The 40 taxonomy intensities (0-7, absent = 0) as [0, 1] scores in taxonomy order."""
    return [intensities.get(name, 0.0) / INTENSITY_MAX for name in taxonomy().fine]


def read_grouped_csv(
    path: Path, columns: tuple[str, ...], parse: Callable[[dict[str, Any], str], tuple[str, Any] | Reject],
) -> tuple[dict[str, list[Any]], list[Reject]]:
    """An annotation CSV grouped by image stem (`parse` returns (stem, item) or a Reject per row)."""
    grouped: dict[str, list[Any]] = defaultdict(list)
    malformed: list[Reject] = []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise SchemaError(f"{path.name}: expected columns {', '.join(columns)}; "
                              f"found {', '.join(reader.fieldnames or [])}")
        try:
            for row in reader:
                parsed = parse(row, f"{path.name}:{reader.line_num}")
                if isinstance(parsed, Reject):
                    malformed.append(parsed)
                else:
                    grouped[parsed[0]].append(parsed[1])
        except csv.Error as exc:
            raise CuratorError(f"{path.name}:{reader.line_num}: not readable as CSV ({exc})") from None
    return dict(grouped), malformed
