"""The Hub Parquet shards of emonet_hq and emonet_binary, read with pyarrow in small batches.

Each file's layout is detected from its schema (it varies between repos and revisions): which
column is the HF Image struct, which label column the recipe reads, the ClassLabel names of
integer columns (from the file's `huggingface` schema metadata), and the optional extras —
a prompt and the demographics, stored as one `demographics` column (struct or stringified
dict) or as separate `ethnicity` / `gender` / `age` columns, possibly integer ClassLabels.
The extras' names on the real hq repo are unverified, so they are looked up by plausible
spellings and never required.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from curator.errors import CuratorError, SchemaError
from curator.lazy import lazy
from curator.reasons import Reason
from curator.sources.emonet import DEMOGRAPHICS, hidden
from curator.sources.recipe import NotRead, Reject

pa = lazy("pyarrow")  # recipes import this module for their Params: pyarrow loads when a shard is read
pq = lazy("pyarrow.parquet")

IMAGE_COLUMNS = ("image", "path")  # the HF Image struct {bytes, path} goes by either name
PROMPT_COLUMNS = ("prompt", "Prompt")
_BATCH_ROWS = 64  # images per Arrow batch: a few MB, whatever the shard size


@dataclass(frozen=True)
class Layout:
    """How one Parquet file stores what we need."""

    file: Path
    image: str  # the Image struct column: "image" or "path"
    label: str | None  # the label column this recipe reads, if any
    prompt: str | None
    demographics: str | None  # one column holding all three
    demographic_columns: dict[str, str] = field(default_factory=dict)  # ethnicity/gender/age -> column
    class_names: dict[str, tuple[str, ...]] = field(default_factory=dict)  # integer ClassLabel column -> names
    extras: dict[str, str] = field(default_factory=dict)  # a recipe's own roles (e.g. "provided") -> column
    names: tuple[str, ...] = ()  # every column of the file, in schema order

    def columns(self) -> list[str]:
        wanted = [self.image, self.label, self.prompt, self.demographics, *self.demographic_columns.values(),
                  *self.extras.values()]
        return [c for c in dict.fromkeys(wanted) if c]

    def unread(self) -> list[str]:
        """The file's columns this layout does not read, in schema order."""
        read = set(self.columns())
        return [c for c in self.names if c not in read]

    def describe(self) -> str:
        extras = [c for c in (self.prompt, self.demographics, *self.demographic_columns.values()) if c]
        coded = [f"{c} (ClassLabel)" if c in self.class_names else c for c in extras]
        own = [f"{c} (as {role})" for role, c in self.extras.items()]
        return f"image `{self.image}`, label `{self.label}`" + (f", extras {', '.join(coded + own)}"
                                                               if coded or own else "")


def parquet_files(source: str, raw: Path) -> list[Path]:
    """The repo's Parquet shards under `raw`, in name order (huggingface_hub's .cache left out)."""
    raw = Path(raw)
    files = [raw] if raw.is_file() else sorted(p for p in raw.rglob("*.parquet") if not hidden(p, raw))
    if not files:
        raise CuratorError(f"{source}: no *.parquet under {raw}; run `curator download {source}` first")
    return files


def _is_image_struct(kind: pa.DataType) -> bool:
    return pa.types.is_struct(kind) and kind.get_field_index("bytes") >= 0 and kind.get_field_index("path") >= 0


def _hf_features(schema: pa.Schema) -> dict[str, Any]:
    try:
        return json.loads((schema.metadata or {})[b"huggingface"])["info"]["features"]
    except (KeyError, TypeError, ValueError):
        return {}


def _class_names(where: str, schema: pa.Schema, column: str, *, required: bool) -> tuple[str, ...] | None:
    """ClassLabel names of an integer column, from the file's `huggingface` schema metadata."""
    kind = schema.field(column).type
    if not pa.types.is_integer(kind):
        if required and not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            raise SchemaError(f"{where}: column {column!r} is {kind}, expected an integer ClassLabel or a string")
        return None
    names = (_hf_features(schema).get(column) or {}).get("names")
    if names is None and required:
        raise SchemaError(f"{where}: {column!r} is an integer column but the file's huggingface schema "
                          "metadata gives no ClassLabel names for it")
    return None if names is None else tuple(str(n) for n in names)


def _pick(schema: pa.Schema, names: tuple[str, ...]) -> str | None:
    return next((c for c in names if c in schema.names), None)


def detect_layout(source: str, file: Path, labels: tuple[str, ...] = (), coded: tuple[str, ...] = (),
                  extras: dict[str, tuple[str, ...]] | None = None) -> Layout:
    """Detect which known variant `file` is; `labels` lists the label columns the recipe can read,
    preferred first (empty: it needs none); `coded` those that must be integer ClassLabels or text;
    `extras` the optional columns a recipe reads under its own roles (role -> spellings, preferred first).
    Anything else is a one-line SchemaError."""
    try:
        schema = pq.read_schema(file)
    except (pa.ArrowInvalid, OSError) as exc:
        raise unreadable(source, file, exc) from None
    image = next((c for c in IMAGE_COLUMNS if c in schema.names and _is_image_struct(schema.field(c).type)), None)
    label = _pick(schema, labels)
    if image is None or (labels and label is None):
        expected = "an Image struct column (image or path: {bytes, path})"
        if labels:
            expected += f" and a label column ({' or '.join(labels)})"
        found = ", ".join(f"{f.name} ({f.type})" for f in schema)
        raise SchemaError(f"{source}: {file.name}: unknown Parquet layout: expected {expected}; found {found}")
    where = f"{source}: {file.name}"
    demographics = _pick(schema, ("demographics", "Demographics"))
    split = {} if demographics else {k: c for k in DEMOGRAPHICS if (c := _pick(schema, (k, k.capitalize())))}
    names: dict[str, tuple[str, ...]] = {}
    for column in ([label] if label in coded else []) + list(split.values()):
        found_names = _class_names(where, schema, column, required=column == label)
        if found_names is not None:
            names[column] = found_names
    found = {role: c for role, spellings in (extras or {}).items() if (c := _pick(schema, spellings))}
    return Layout(file, image, label, _pick(schema, PROMPT_COLUMNS), demographics, split, names, found,
                  tuple(schema.names))


def not_read(layouts: tuple[Layout, ...] | list[Layout], why: dict[str, str], default: str) -> list[NotRead]:
    """One NotRead per column a file holds and its layout does not read (so a column in 2 shards counts 2):
    `why` says why for the columns the recipe knows of, `default` for the others."""
    return [NotRead(f"Parquet column {c!r}", why.get(c, default)) for layout in layouts for c in layout.unread()]


def unreadable(source: str, file: Path, exc: Exception) -> SchemaError:
    return SchemaError(f"{source}: {file.name}: not readable as Parquet ({exc})")


@dataclass(frozen=True)
class Row:
    """One Parquet row, in the same shape whatever the layout."""

    stem: str | None  # the image's file name without extension; None when the file has none
    image: dict[str, Any]  # {bytes, path}
    where: str  # "<file> row <n>", for reject details
    prompt: str | None
    demographics: Any  # a struct (dict), a stringified dict, or a dict built from separate columns
    label: Any  # the ClassLabel name or the raw cell; None without a label column
    extras: dict[str, Any] = field(default_factory=dict)  # the layout's extras by role, as the cells hold them


def image_stem(path: Any) -> str | None:
    """'00042.png' -> '00042'; also for 'images/00042.png' and Windows separators."""
    if not isinstance(path, str) or not path.strip():
        return None
    return PurePosixPath(path.strip().replace("\\", "/")).stem or None


def read_rows(source: str, raw: Path, labels: tuple[str, ...] = (), coded: tuple[str, ...] = (), *,
              images: bool = True, extras: dict[str, tuple[str, ...]] | None = None) -> Iterator[Row | Reject]:
    """Every row of every shard, streamed `_BATCH_ROWS` at a time (images=False: without the image
    column, so a row's image is {bytes: None, path: None})."""
    for file in parquet_files(source, raw):
        layout = detect_layout(source, file, labels, coded, extras)
        columns = [c for c in layout.columns() if images or c != layout.image]
        try:
            index = 0
            for batch in pq.ParquetFile(file).iter_batches(batch_size=_BATCH_ROWS, columns=columns):
                for values in batch.to_pylist():
                    yield _row(source, layout, values, f"{file.name} row {index}")
                    index += 1
        except (pa.ArrowInvalid, OSError) as exc:  # a shard cut short or damaged after its footer was read
            raise unreadable(source, file, exc) from None


@dataclass(frozen=True)
class RowPlan:
    """How a Parquet-fed recipe turns rows into items, in pieces Ray Data can run where the data is.

    `item(row)` gives one row's item (a record or a Reject) and a small JSON-able note; `finish(notes)`
    gets every row's note in input order (None for a row `read_rows` rejected itself) and returns the
    items the recipe yields after the rows. The recipe's own prepare() is read_rows + item + finish, so
    both engines make the same items.
    """

    source: str
    files: tuple[Path, ...]
    layouts: tuple[Layout, ...]  # one per file
    item: Callable[[Row], tuple[dict[str, Any] | Reject, Any]]
    finish: Callable[[list[Any]], list[Reject]]

    def units(self) -> list[dict[str, Any]]:
        """One unit per row group (from the footers)."""
        from curator.io.parquet import row_group_units

        return row_group_units(list(self.files))

    def unit_items(self, unit: dict[str, Any]) -> Iterator[tuple[dict[str, Any] | Reject, Any]]:
        layout = self.layouts[unit["file"]]
        for read in row_group_rows(self.source, layout, unit["row_group"], unit["first_row"]):
            yield (read, None) if isinstance(read, Reject) else self.item(read)


@dataclass(frozen=True)
class UnitPlan:
    """A storage plan whose recipe lists its own units (row groups, tars...) and reads one unit's items.

    The same contract as RowPlan's: `unit_items(unit)` yields (item, note) for each item of the unit in
    input order, `finish(notes)` gets every note in input order and returns the closing items. Units are
    small JSON-able dicts with `unit`, their index in input order.
    """

    source: str
    listed: tuple[dict[str, Any], ...]
    items: Callable[[dict[str, Any]], Iterator[tuple[dict[str, Any] | Reject, Any]]]
    finish: Callable[[list[Any]], list[Any]]  # closing Rejects, and NotRead items (counted aside)

    def units(self) -> list[dict[str, Any]]:
        return list(self.listed)

    def unit_items(self, unit: dict[str, Any]) -> Iterator[tuple[dict[str, Any] | Reject, Any]]:
        return self.items(unit)


def plan_items(plan: RowPlan, raw: Path, labels: tuple[str, ...] = (),
               coded: tuple[str, ...] = ()) -> Iterator[dict[str, Any] | Reject]:
    """A recipe's prepare() from its plan: every row's item in order, then what finish adds."""
    notes: list[Any] = []
    for row in read_rows(plan.source, raw, labels, coded):
        item, note = (row, None) if isinstance(row, Reject) else plan.item(row)
        notes.append(note)
        yield item
    yield from plan.finish(notes)


def row_group_rows(source: str, layout: Layout, group: int, first_row: int) -> Iterator[Row | Reject]:
    """The rows of one row group of `layout.file` (the Ray Data unit), as read_rows gives them."""
    file = layout.file
    try:
        table = pq.ParquetFile(file).read_row_group(group, columns=layout.columns())
    except (pa.ArrowInvalid, OSError) as exc:
        raise unreadable(source, file, exc) from None
    for batch in table.to_batches(max_chunksize=_BATCH_ROWS):
        for values in batch.to_pylist():
            yield _row(source, layout, values, f"{file.name} row {first_row}")
            first_row += 1


def _decode(layout: Layout, column: str, value: Any) -> Any:
    """A ClassLabel index as its name (-1, the datasets convention for 'none', as None)."""
    names = layout.class_names.get(column)
    if names is None or value is None:
        return value
    if value == -1:
        return None
    if not 0 <= value < len(names):
        raise ValueError(f"{column}={value} is not a ClassLabel index (0-{len(names) - 1})")
    return names[value]


def _row(source: str, layout: Layout, values: dict[str, Any], where: str) -> Row | Reject:
    image = values.get(layout.image) or {}
    stem = image_stem(image.get("path"))
    try:
        label = _decode(layout, layout.label, values.get(layout.label)) if layout.label else None
        demographics = values.get(layout.demographics) if layout.demographics else None
        if layout.demographic_columns:
            demographics = {k: _decode(layout, c, values.get(c)) for k, c in layout.demographic_columns.items()}
    except ValueError as exc:
        return Reject(f"{source}/{stem}" if stem else None, Reason.BAD_VALUE, f"{where}: {exc}", image.get("path"))
    prompt = values.get(layout.prompt) if layout.prompt else None
    return Row(stem, {"bytes": image.get("bytes"), "path": image.get("path")}, where,
               None if prompt is None else str(prompt), demographics, label,
               {role: values.get(c) for role, c in layout.extras.items()})


def stems_and_labels(source: str, raw: Path, labels: tuple[str, ...] = (),
                     coded: tuple[str, ...] = ()) -> list[tuple[str | None, Any]]:
    """(file stem or None, decoded label) of every row, reading no image bytes."""
    out: list[tuple[str | None, Any]] = []
    for file in parquet_files(source, raw):
        layout = detect_layout(source, file, labels, coded)
        columns = [f"{layout.image}.path", *([layout.label] if layout.label else [])]
        try:
            table = pq.ParquetFile(file).read(columns=columns)
        except (pa.ArrowInvalid, OSError) as exc:
            raise unreadable(source, file, exc) from None
        paths = table.column(layout.image).to_pylist()
        values = table.column(layout.label).to_pylist() if layout.label else [None] * len(paths)
        for path, value in zip(paths, values, strict=True):
            try:
                label = _decode(layout, layout.label, value) if layout.label else None
            except ValueError:
                label = None  # read_rows rejects the row itself
            out.append((image_stem((path or {}).get("path")), label))
    return out


def describe(source: str, raw: Path, labels: tuple[str, ...], coded: tuple[str, ...] = (),
             extras: dict[str, tuple[str, ...]] | None = None) -> str:
    """One line on the shards under `raw`: how many, the layout of the first, and the columns not read."""
    files = parquet_files(source, raw)
    rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    layout = detect_layout(source, files[0], labels, coded, extras)
    unread = sorted({c for f in files for c in detect_layout(source, f, labels, coded, extras).unread()})
    return (f"Hub Parquet: {len(files)} shard(s), {rows} rows; {layout.describe()}"
            + (f"; not read: {', '.join(unread)}" if unread else ""))
