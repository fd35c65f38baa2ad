"""Where Big's files are, and how each layout is streamed (see README.md for the evidence).

Four layouts are detected: `*.parquet` shards, WebDataset `*.tar` shards, an image folder with
`metadata.jsonl`/`metadata.csv` (each read by `datasets.load_dataset(<packaged builder>,
streaming=True)`, images never decoded, JSON fields typed `datasets.Json()` so no key is dropped),
and LAION's own VLM output: `<image>.json` answers beside the images or in a tree mirroring them
(curator.sources.emonet_big.answers). An image folder's images that no metadata row names are listed
here, because `datasets` skips them without a word; every other file under raw is named as NotRead.
"""

from __future__ import annotations

import csv
import json
import tarfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from curator.errors import CuratorError
from curator.lazy import lazy
from curator.reasons import Reason
from curator.sources import emonet
from curator.sources.emonet import parquet
from curator.sources.emonet.strays import strays
from curator.sources.emonet_big import answers
from curator.sources.recipe import NotRead, Reject

pq = lazy("pyarrow.parquet")

METADATA = ("metadata.jsonl", "metadata.csv")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
JSON_FIELDS = ("json", "jsn")
LABELS = ("annotations", "label")  # the column holding the VLM output


@dataclass(frozen=True)
class Found:
    kind: str  # parquet | webdataset | imagefolder | answers
    files: tuple[Path, ...]  # the shards, tars, metadata files, or JSON answers
    root: Path | None = None  # the raw folder (answers: paths are joined relative to it)
    images: tuple[Path, ...] = ()  # answers: every image under raw

    def describe(self) -> str:
        what = {"parquet": "Parquet shard(s)", "webdataset": "WebDataset tar(s)",
                "imagefolder": "image folder(s) with " + "/".join(sorted({f.name for f in self.files})),
                "answers": f"*.json file(s) beside or mirroring {len(self.images)} image(s) (LAION's VLM "
                           "notebook output, joined by relative path or stem)"}
        return f"{self.kind}: {len(self.files)} {what[self.kind]}"

    def read(self) -> list[Path]:
        """The files this layout reads (every other file under raw is named as NotRead)."""
        if self.kind != "imagefolder":
            return [*self.files, *self.images]
        roots = {m.parent for m in self.files}
        return [*self.files, *(p for r in roots for p in r.rglob("*")
                               if p.suffix.lower() in IMAGE_EXTENSIONS and not emonet.hidden(p, r))]


@dataclass(frozen=True)
class Item:
    """One image as any layout gives it."""

    key: str | None  # the id key: file stem, WebDataset key, or None (then the content decides)
    image: dict[str, Any]  # {bytes, path}; bytes None when the file could not be read
    where: str
    prompt: Any
    demographics: Any
    annotations: Any  # the raw VLM output (None: the item has none)
    missing: str | None = None  # why the image is absent, if it is


def _files(raw: Path, pattern: str) -> list[Path]:
    raw = Path(raw)
    if raw.is_file():
        return [raw] if raw.match(pattern) else []
    return sorted(p for p in raw.rglob(pattern) if p.is_file() and not emonet.hidden(p, raw))


EXPECTED = ("*.parquet shards, WebDataset *.tar shards, an image folder with " + " or ".join(METADATA)
            + ", or LAION's VLM answers (<image>.json beside each image, or a *.json tree mirroring the image tree)")


def detect(source: str, raw: Path) -> Found:
    """The one layout under `raw`; CuratorError for none or a mix. LAION's answer files are the layout
    only when none of the three Hub formats is there (then loose *.json files are strays of that one)."""
    found = {"parquet": _files(raw, "*.parquet"), "webdataset": _files(raw, "*.tar"),
             "imagefolder": [p for name in METADATA for p in _files(raw, name)]}
    kinds = [k for k, files in found.items() if files]
    if len(kinds) > 1:
        raise CuratorError(f"{source}: found more than one of ({', '.join(kinds)}) under {raw}: keep one of "
                           f"{EXPECTED}")
    if not kinds:
        jsons, images = _files(raw, "*.json"), _images(raw)
        if jsons and images:
            return Found("answers", tuple(jsons), Path(raw), tuple(images))
        raise CuratorError(f"{source}: no layout under {raw}: found {_inventory(raw)}; expected {EXPECTED}. "
                           f"Run `curator download {source}`, or `--from DIR` for a copy you hold")
    kind = kinds[0]
    if kind == "imagefolder" and len({p.suffix for p in found[kind]}) > 1:
        raise CuratorError(f"{source}: image folders under {raw} mix metadata.jsonl and metadata.csv")
    return Found(kind, tuple(found[kind]), Path(raw))


def _images(raw: Path) -> list[Path]:
    return [p for p in _files(raw, "*") if p.suffix.lower() in IMAGE_EXTENSIONS]


def _inventory(raw: Path) -> str:
    """What is under `raw`, by extension: '12 files (5 *.png, 4 *.json, 3 other)'."""
    raw = Path(raw)
    if not raw.exists():
        return "nothing (it does not exist)"
    files = [raw] if raw.is_file() else [p for p in raw.rglob("*") if p.is_file()]
    if not files:
        return "an empty folder"
    counts = Counter(p.suffix.lower() or "(no extension)" for p in files)
    shown = ", ".join(f"{n} *{ext}" for ext, n in counts.most_common(5))
    more = f", {len(files) - sum(n for _, n in counts.most_common(5))} other" if len(counts) > 5 else ""
    return f"{len(files)} file(s) ({shown}{more})"


def _datasets() -> Any:
    import datasets  # slow to import: only when Big is read

    if not hasattr(datasets, "Json"):
        raise CuratorError("emonet_big needs a datasets release with the Json feature (2026 or later); "
                           f"this one is {datasets.__version__}: pip install -U datasets")
    return datasets


@contextmanager
def _one_line(source: str, found: Found) -> Iterator[None]:
    """Whatever reading `found` raises becomes one CuratorError line naming the layout (datasets,
    pyarrow, tarfile and fsspec raise many types): never a traceback, on either engine."""
    try:
        yield
    except CuratorError:
        raise
    except Exception as exc:
        raise CuratorError(f"{source}: datasets could not read the {found.describe()}: "
                           f"{emonet.one_line(exc)}") from None


def stream(source: str, found: Found) -> Iterator[Item | Reject | NotRead]:
    """Every image of the layout, in file order (answers: also the rejects and NotRead of the join)."""
    reader = {"parquet": _parquet, "webdataset": _webdataset, "imagefolder": _imagefolder,
              "answers": _answers}[found.kind]
    with _one_line(source, found):
        yield from reader(found)


def not_read(found: Found) -> list[NotRead]:
    """Every file under raw this layout does not read, named."""
    return list(strays(found.root, found.read(), f"{found.kind} layout")) if found.root else []


def _answers(found: Found) -> Iterator[Item | Reject | NotRead]:
    """LAION's answer files joined to their images (curator.sources.emonet_big.answers)."""
    raw = Path(found.root or ".")
    joined = list(answers.join(raw, list(found.images), list(found.files)))
    folders = [j.image.parent for j in joined if isinstance(j, answers.Joined) and j.answer is not None]
    base = _common(folders, raw)
    moved: Counter[str] = Counter()
    for item in joined:
        if not isinstance(item, answers.Joined):
            yield item
            continue
        rel = PurePosixPath(item.image.relative_to(raw).as_posix())
        key = PurePosixPath(item.image.relative_to(base).as_posix()).with_suffix("").as_posix()
        if item.answer is None:
            yield _read(Item(key, {"bytes": None, "path": rel.as_posix()}, f"{rel} (no {rel.stem}.json beside it "
                             "or at its relative path in the answer tree)", None, None, None), item.image)
            continue
        where, doc = f"{rel} + {item.answer.relative_to(raw).as_posix()}", answers.load(item.answer)
        if isinstance(doc, answers.Unreadable):
            yield Reject(f"emonet_big/{key}", Reason.MALFORMED_ANNOTATION, f"{where}: the answer {doc.problem}",
                         rel.as_posix())
            continue
        if not answers.is_answer(doc):  # a JSON of the image's name that is something else: no answer for it
            yield NotRead("files *.json", answers.NOT_AN_ANSWER)
            yield Reject(f"emonet_big/{key}", Reason.MISSING_FIELD, f"{where}: no VLM answer (the JSON of its "
                         "name is not one)", rel.as_posix())
            continue
        problem = answers.key_problem(doc, rel, moved)
        if problem:
            yield Reject(f"emonet_big/{key}", Reason.MALFORMED_ANNOTATION, f"{where}: {problem}", rel.as_posix())
            continue
        yield _read(Item(key, {"bytes": None, "path": rel.as_posix()}, where, None, None, doc), item.image)
    answers.log_moved("emonet_big", moved)


def _common(folders: list[Path], raw: Path) -> Path:
    """The deepest folder holding every answered image (ids are paths below it), raw when none."""
    if not folders:
        return raw
    parts = [f.relative_to(raw).parts for f in folders]
    depth = next((i for i, col in enumerate(zip(*parts, strict=False)) if len(set(col)) > 1), min(map(len, parts)))
    return raw.joinpath(*parts[0][:depth])


def _pick(names: Any, wanted: tuple[str, ...]) -> str | None:
    return next((c for c in wanted if c in names), None)


def _parquet(found: Found) -> Iterator[Item]:
    ds = _datasets()
    layout = _parquet_layout(found)
    stream = ds.load_dataset("parquet", data_files={"train": [str(f) for f in found.files]}, split="train",
                             streaming=True).cast_column(layout.image, ds.Image(decode=False))
    for index, row in enumerate(stream):
        yield _parquet_item(layout, row, index)


def _parquet_layout(found: Found) -> parquet.Layout:
    # pyarrow reads each schema first: an unknown layout or a file that is not Parquet is a one-line
    # error naming the file, before datasets sees it; the first file's layout reads them all, as datasets does
    checked = [parquet.detect_layout("emonet_big", f, LABELS) for f in found.files]
    return checked[0]


def _parquet_item(layout: parquet.Layout, row: dict[str, Any], index: int) -> Item:
    """One Parquet row (as `datasets` or pyarrow gives it) as an Item: `index` counts rows over all files."""
    cell = row[layout.image] or {}
    stem = parquet.image_stem(cell.get("path"))
    return Item(stem, {"bytes": cell.get("bytes"), "path": cell.get("path") or None}, f"row {index}",
                row.get(layout.prompt) if layout.prompt else None,
                row.get(layout.demographics) if layout.demographics else None, row[layout.label])


def _tar_fields(files: tuple[Path, ...]) -> set[str]:
    """The field names (`jpg`, `json`, ...) of every member of every tar, from the headers only."""
    fields: set[str] = set()
    for file in files:
        with tarfile.open(file) as tar:
            for member in tar:
                name = PurePosixPath(member.name).name
                if member.isfile() and "." in name:
                    fields.add(name.split(".", 1)[1])
    return fields


def _webdataset(found: Found) -> Iterator[Item]:
    yield from _tars(found.files, _tar_fields(found.files))


def _tars(files: tuple[Path, ...], fields: set[str]) -> Iterator[Item]:
    """The samples of `files` (all the tars, or one: datasets reads each tar on its own), typed by the
    member fields of all the tars."""
    ds = _datasets()
    images = sorted(f for f in fields if f".{f.lower()}" in IMAGE_EXTENSIONS)
    features = {"__key__": ds.Value("string"), "__url__": ds.Value("string"),
                **{f: ds.Image(decode=False) for f in images},
                **{f: ds.Json() for f in fields if f in JSON_FIELDS}}
    if "txt" in fields:
        features["txt"] = ds.Value("string")
    stream = ds.load_dataset("webdataset", data_files={"train": [str(f) for f in files]}, split="train",
                             streaming=True, features=ds.Features(features))
    for sample in stream:
        yield _sample_item(sample, images)


def _sample_item(sample: dict[str, Any], images: list[str]) -> Item:
    present = [sample[f] for f in images if sample.get(f) is not None]
    key, where = sample["__key__"], f"{Path(sample['__url__']).name}:{sample['__key__']}"
    missing = None if len(present) == 1 else "no image member" if not present else "several image members"
    image = present[0] if len(present) == 1 else {"bytes": None, "path": None}
    annotations = next((sample[f] for f in JSON_FIELDS if sample.get(f) is not None), None)
    meta = annotations if isinstance(annotations, dict) else {}
    return Item(key, image, where, sample.get("txt") or meta.get("prompt"), meta.get("demographics"),
                annotations, missing)


def storage_units(source: str, found: Found) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
    """Ray Data units where the data is on storage: a row group of a Parquet shard, or one tar (read by
    the same `datasets` builder as `stream`, so its samples are the same); with what every unit needs
    to read (`unit_items`' context). None for an image folder (its images are read from the driver)."""
    from curator.io.parquet import row_group_units

    with _one_line(source, found):  # a damaged tar or footer: as stream() says it
        if found.kind == "parquet":
            layout = _parquet_layout(found)  # first: a file that is not Parquet is a one-line error naming it
            return row_group_units(list(found.files)), {"layout": layout}
        if found.kind == "webdataset":
            units = [{"unit": index, "path": str(file)} for index, file in enumerate(found.files)]
            return units, {"fields": _tar_fields(found.files)}
    return None


def unit_items(source: str, found: Found, unit: dict[str, Any], context: dict[str, Any]) -> Iterator[Item]:
    """The items of one unit, as `stream` gives them (a Ray Data task)."""
    with _one_line(source, found):
        if found.kind == "webdataset":
            yield from _tars((Path(unit["path"]),), context["fields"])
            return
        layout = context["layout"]
        table = pq.ParquetFile(unit["path"]).read_row_group(unit["row_group"], columns=layout.columns())
        index = unit["offset"]
        for batch in table.to_batches(max_chunksize=256):  # Python rows a batch at a time, not the whole group
            for row in batch.to_pylist():
                yield _parquet_item(layout, row, index)
                index += 1


def _columns(metadata: Path) -> list[str]:
    with open(metadata, encoding="utf-8") as fh:
        if metadata.suffix == ".csv":
            return next(csv.reader(fh), [])
        first = fh.readline()
    try:
        return list(json.loads(first)) if first.strip() else []
    except ValueError:
        raise CuratorError(f"emonet_big: {metadata}: the first line is not a JSON object") from None


def _imagefolder(found: Found) -> Iterator[Item]:
    ds = _datasets()
    columns = _columns(found.files[0])
    if "file_name" not in columns:
        raise CuratorError(f"emonet_big: {found.files[0]}: expected a file_name column; found {', '.join(columns)}")
    features = {"image": ds.Image(decode=False),
                **{c: ds.Value("string") if c == "prompt" else ds.Json() for c in columns if c != "file_name"}}
    roots = sorted({m.parent.resolve() for m in found.files})
    stream = ds.load_dataset("imagefolder", data_files={"train": [f"{r}/**" for r in roots]}, split="train",
                             streaming=True, features=ds.Features(features))
    label = _pick(columns, LABELS)
    named: set[Path] = set()
    for index, row in enumerate(stream):
        path = _located(Path(row["image"]["path"]))
        named.add(path)
        rel = _relative(path, roots)
        yield _read(Item(str(PurePosixPath(rel).with_suffix("")), {"bytes": None, "path": rel}, f"metadata row {index}",
                         row.get("prompt"), row.get("demographics"), row.get(label) if label else None), path)
    for root in roots:  # images no metadata row names: datasets skips them silently
        for path in sorted(p for p in root.rglob("*")
                           if p.suffix.lower() in IMAGE_EXTENSIONS and not emonet.hidden(p, root)):
            if _located(path) not in named:
                rel = _relative(path, roots)
                yield Item(str(PurePosixPath(rel).with_suffix("")), {"bytes": None, "path": rel}, rel, None, None,
                           None, f"no row in {found.files[0].name} names it")


def _located(path: Path) -> Path:
    """The file's absolute path, its folders resolved but not the file itself: a file prepare reads through a
    link (curator.io.paths.delivery) stays where the layout put it."""
    return path.parent.resolve() / path.name


def _relative(path: Path, roots: list[Path]) -> str:
    root = next((r for r in roots if path.is_relative_to(r)), path.parent)
    return path.relative_to(root).as_posix()


def _read(item: Item, path: Path) -> Item:
    """The item with its image's bytes (Image(decode=False) gives an image folder's path only)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return replace(item, missing=f"the metadata names {item.image['path']}, which cannot be read ({exc.strerror})")
    return replace(item, image={"bytes": data, "path": item.image["path"]})
