"""What the VIRI and NVIE recipes share: visible/infrared pairs packed per class and modality.

Not a recipe (no INFO): viri.py and nvie.py each describe their source in a ThermalSource and
delegate here. Two layouts are recognised, per image file, from the folders above it (an
archive counts as a folder named after it):

  (a) one archive/folder per class and modality, `<DS>-<Class>[N]-<Ir|Vis>` (the authors'
      raw-data repository; a class may be split over numbered parts: disgust1, disgust2);
  (b) the authors' training layout `{Visible,IR}/[{train,val,test}/]<Class>/`.

Visible and IR files are paired by normalised stem within one class, never by list position
(the authors' code paired by directory-walk order, which mispairs).
"""

from __future__ import annotations

import logging
import re
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import Field

from curator.config import Download, SourceParams
from curator.errors import CuratorError, SchemaError
from curator.io.archive_formats import ARCHIVE_SUFFIXES
from curator.reasons import Reason
from curator.record.schema import empty_record
from curator.sources.fetch import copy_manual, download_files, unpacked
from curator.sources.recipe import Reject

log = logging.getLogger(__name__)

# The authors' raw-data repository (both datasets) and their paper, cited by both recipes.
REPOSITORY = "https://github.com/naseemmuhammadtahir/VIRI-raw-data"
BASE_URL = f"{REPOSITORY}/raw/main"
STUDY = (
    "Naseem et al., visible/infrared facial expression recognition with ResNet-18 and attention, "
    "PeerJ Computer Science 11:e2676 (2025); data: figshare article 28236605"
)
DATASETS = ("viri", "nvie")  # dataset tokens that may prefix folders/archives of a mixed download
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
SPLITS = frozenset({"train", "training", "val", "valid", "validation", "test", "testing"})
_MODALITY = {"ir": "ir", "infrared": "ir", "thermal": "ir", "vis": "visible", "visible": "visible",
             "rgb": "visible"}
_MOD_WORDS = "|".join(_MODALITY)
# Layout (a): "VIRI-Angry-Ir", "NVIE-disgust2-Vis", "happy1-Vis" (members repeat the archive name)
_CLASS_MODALITY = re.compile(
    rf"^(?:(?:{'|'.join(DATASETS)})[-_ ]+)?(?P<label>[a-z][a-z ]*?)(?P<part>\d*)[-_ ]+(?P<mod>{_MOD_WORDS})$", re.I
)
_DATASET = re.compile(rf"^({'|'.join(DATASETS)})(?![a-z])", re.I)
_AFFIX = re.compile(rf"^(?:{_MOD_WORDS})[-_ ]+|[-_ ]+(?:{_MOD_WORDS})$", re.I)
_JUNK = frozenset({"__macosx", "thumbs.db", "desktop.ini"})
_DOWNLOAD_BOOKKEEPING = (".completed", ".part", ".lock")
_ARCHIVE_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"7z\xbc\xaf\x27\x1c")  # zip, empty zip, 7z
LAYOUTS = ("archives/folders named {ds}-<Class>[N]-<Ir|Vis> (e.g. {ds}-{example}-Ir.zip), or the training "
           "layout {{Visible,IR}}/{{train,val,test}}/<Class>/")


@dataclass(frozen=True)
class ThermalSource:
    """How one paired source differs from the other: names, defaults, licence, subject ids."""

    name: str  # recipe name: "viri"
    prefix: str  # dataset token in archive names: "VIRI"
    files: tuple[str, ...]  # archive names in the authors' repository
    base_url: str
    license: str
    example_class: str  # for error messages
    subject: re.Pattern[str] | None = None  # file-name pattern whose group 1 is the subject id


@dataclass(frozen=True)
class Placement:
    """Where a file belongs: its class as the source spells it, its modality and its layout."""

    label: str
    modality: str  # "visible" or "ir"
    layout: str  # "archives" (a) or "training" (b)


@dataclass(frozen=True)
class ImageFile:
    file: Path  # readable copy (raw folder or scratch extraction)
    where: str  # as the source names it: "VIRI-Angry-Ir.zip/Angry-Ir/IMG_0001_IR.JPG"
    placement: Placement

    @property
    def key(self) -> str:
        return pair_key(self.file.name)


# --- names ----------------------------------------------------------------------------------


def pair_stem(name: str) -> str:
    """File stem without extension and modality affix (`IMG_0001_IR.JPG` -> `IMG_0001`), case kept."""
    stem = PurePosixPath(name).stem
    return _AFFIX.sub("", stem) or stem


def pair_key(name: str) -> str:
    """The key visible and IR files are paired by: the stem without affix, case-folded."""
    return pair_stem(name).casefold()


def archive_stem(name: str) -> str | None:
    """`VIRI-Angry-Ir.zip` -> `VIRI-Angry-Ir`; None when `name` is not an archive."""
    lower = name.lower()
    suffix = next((s for s in ARCHIVE_SUFFIXES if lower.endswith(s) and len(lower) > len(s)), None)
    return name[: -len(suffix)] if suffix else None


def is_archive(path: Path) -> bool:
    """By name, else by magic: a download URL may not end in the file's name (figshare's don't)."""
    if archive_stem(path.name):
        return True
    with open(path, "rb") as fh:
        return fh.read(6).startswith(_ARCHIVE_MAGIC)


def is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES)


def _is_junk(parts: Iterable[str]) -> bool:
    """macOS resource forks, hidden files and OS droppings: never data."""
    return any(p.startswith(".") or p.lower() in _JUNK for p in parts)


# --- layout detection -----------------------------------------------------------------------


def dataset_of(folders: tuple[str, ...]) -> str | None:
    """The dataset the innermost dataset-named folder names (`VIRI-Angry-Ir` -> viri), if any."""
    for folder in reversed(folders):
        match = _DATASET.match(folder)
        if match:
            return match.group(1).lower()
    return None


def _class_modality(folder: str) -> tuple[str, str] | None:
    match = _CLASS_MODALITY.match(folder)
    if not match:
        return None
    label = match.group("label").strip()
    if label.lower() in {*DATASETS, *_MODALITY, *SPLITS}:  # "VIRI-IR", "train-vis": not a class
        return None
    return label, _MODALITY[match.group("mod").lower()]


def _per_class_archives(folders: tuple[str, ...], where: str) -> Placement | None:
    """Layout (a). The archive and its top folder both name the class: they must agree."""
    found = [cm for cm in map(_class_modality, folders) if cm]
    if not found:
        return None
    if len({(label.casefold(), mod) for label, mod in found}) > 1:
        names = ", ".join(f"{label}/{mod}" for label, mod in found)
        raise SchemaError(f"{where}: its folders name different classes or modalities ({names})")
    label, modality = found[0]
    return Placement(label, modality, "archives")


def _training_layout(folders: tuple[str, ...]) -> Placement | None:
    """Layout (b): the innermost modality folder, then optional split folders and one class."""
    for i in range(len(folders) - 1, -1, -1):
        modality = _MODALITY.get(folders[i].lower())
        if modality:
            rest = [f for f in folders[i + 1 :] if f.lower() not in SPLITS]
            return Placement(rest[0], modality, "training") if len(rest) == 1 else None
    return None


def place(folders: tuple[str, ...], where: str) -> Placement | None:
    """Class, modality and layout of a file from the folders above it; None if unplaceable."""
    return _per_class_archives(folders, where) or _training_layout(folders)


# --- finding the files ----------------------------------------------------------------------


def _candidates(raw: Path, extracted: dict[Path, list[Path]], loose: list[Path]) -> Iterator[tuple[Path, str]]:
    """Every file with its path as the source names it (archive name + member path)."""
    for archive, files in extracted.items():
        for f in files:
            yield f, f"{_relative(raw, archive)}/{_member_path(archive, f)}"
    for f in loose:
        yield f, _relative(raw, f)


def _relative(raw: Path, f: Path) -> str:
    return f.relative_to(raw).as_posix() if raw.is_dir() else f.name


def _member_path(archive: Path, extracted: Path) -> str:
    """The member's path inside its archive: below the scratch folder common.unpacked names
    after the archive (the outermost such folder, in case a member folder repeats the name)."""
    name = archive.name.replace(".", "_")
    root = next(p for p in reversed(extracted.parents) if p.name == name)
    return extracted.relative_to(root).as_posix()


def _folders(where: str) -> tuple[str, ...]:
    """Folders above a file, an archive standing for a folder named after it."""
    parts = PurePosixPath(where).parts[:-1]
    return tuple(archive_stem(p) or p for p in parts)


def _scan(spec: ThermalSource, raw: Path) -> tuple[list[Path], list[Path]]:
    """Archives and loose image files under `raw` (a folder or a single file)."""
    files = [raw] if raw.is_file() else sorted(p for p in raw.rglob("*") if p.is_file())
    archives, images, other = [], [], Counter()
    for f in files:
        rel = f.relative_to(raw).parts if raw.is_dir() else (f.name,)
        if _is_junk(rel) or f.name.endswith(_DOWNLOAD_BOOKKEEPING):
            continue
        if is_image(f.name):
            images.append(f)
        elif is_archive(f):
            archives.append(f)
        else:
            other[f.suffix.lower() or f.name] += 1
    _warn_skipped(spec, "file(s) that are neither images nor archives", other)
    _check_archive_names(spec, archives)
    return archives, images


def _check_archive_names(spec: ThermalSource, archives: list[Path]) -> None:
    """common.unpacked extracts by archive name: two archives of one name would collide."""
    twice = sorted(name for name, n in Counter(a.name for a in archives).items() if n > 1)
    if twice:
        raise SchemaError(f"{spec.name}: several archives named {', '.join(twice)}; keep one copy of each")


def _warn_skipped(spec: ThermalSource, what: str, counts: Counter[str]) -> None:
    if counts:
        log.warning("%s: skipped %d %s: %s", spec.name, sum(counts.values()), what, dict(sorted(counts.items())))


def find_images(spec: ThermalSource, raw: Path, extracted: dict[Path, list[Path]],
                loose: list[Path]) -> list[ImageFile]:
    """Every image file of this source, placed; SchemaError on anything that cannot be placed."""
    found, unplaced, skipped, other = [], [], Counter(), Counter()
    for file, where in _candidates(raw, extracted, loose):
        if _is_junk(PurePosixPath(where).parts):
            continue
        if not is_image(where):
            other[PurePosixPath(where).suffix.lower() or file.name] += 1
            continue
        folders = _folders(where)
        dataset = dataset_of(folders)
        if dataset and dataset != spec.name:  # the other study's data in a shared download
            skipped[dataset] += 1
            continue
        placement = place(folders, where)
        if placement is None:
            unplaced.append(where)
        else:
            found.append(ImageFile(file, where, placement))
    _warn_skipped(spec, "image(s) of another dataset", skipped)
    _warn_skipped(spec, "archive member(s) that are not images", other)
    _check_found(spec, raw, found, unplaced)
    return found


def _check_found(spec: ThermalSource, raw: Path, found: list[ImageFile], unplaced: list[str]) -> None:
    expected = LAYOUTS.format(ds=spec.prefix, example=spec.example_class)
    if unplaced:
        shown = ", ".join(unplaced[:3]) + (f" (+{len(unplaced) - 3} more)" if len(unplaced) > 3 else "")
        raise SchemaError(f"{spec.name}: cannot place {len(unplaced)} image(s) in {raw}: {shown}; expected {expected}")
    if not found:
        raise SchemaError(f"{spec.name}: no .jpg/.jpeg/.png images in {raw}; expected {expected}")
    layouts = {f.placement.layout for f in found}
    if len(layouts) > 1:  # the same images twice would make every pair ambiguous: say so once
        raise SchemaError(
            f"{spec.name}: {raw} mixes per-class archives and the training layout; keep one of them"
        )


# --- pairing --------------------------------------------------------------------------------


def pair_files(spec: ThermalSource, files: list[ImageFile]) -> Iterator[dict[str, Any] | Reject]:
    """One record per (class, stem) with exactly one visible and one IR file; rejects otherwise."""
    groups: dict[tuple[str, str], list[ImageFile]] = defaultdict(list)
    for f in files:
        groups[(f.placement.label.casefold(), f.key)].append(f)
    for key in sorted(groups):
        yield from _pair_group(spec, groups[key])


def _pair_group(spec: ThermalSource, group: list[ImageFile]) -> Iterator[dict[str, Any] | Reject]:
    vis = sorted((f for f in group if f.placement.modality == "visible"), key=lambda f: f.where)
    ir = sorted((f for f in group if f.placement.modality == "ir"), key=lambda f: f.where)
    if len(vis) == 1 and len(ir) == 1:
        yield _record(spec, vis[0], ir[0])
    elif len(vis) > 1 or len(ir) > 1:
        for f in vis + ir:
            yield _ambiguous(spec, f, vis, ir)
    else:
        yield _unpaired(spec, (vis or ir)[0])


def pair_id(spec: ThermalSource, f: ImageFile) -> str:
    return f"{spec.name}/{f.placement.label}/{pair_stem(f.file.name)}"


def group_id(spec: ThermalSource, f: ImageFile) -> str:
    """The subject where the file name carries one (NVIE `S007_...` -> nvie/S007), else the pair."""
    match = spec.subject.match(pair_stem(f.file.name)) if spec.subject else None
    return f"{spec.name}/{match.group(1).upper()}" if match else pair_id(spec, f)


def _record(spec: ThermalSource, vis: ImageFile, ir: ImageFile) -> dict[str, Any]:
    record = empty_record()
    record.update(
        id=pair_id(spec, vis), source=spec.name, group_id=group_id(spec, vis),
        image={"bytes": vis.file.read_bytes(), "path": vis.where},
        infrared={"bytes": ir.file.read_bytes(), "path": ir.where},
        label_original=vis.placement.label, label_kind="expressed", license=spec.license,
    )
    return record


def _unpaired(spec: ThermalSource, f: ImageFile) -> Reject:
    missing = "IR" if f.placement.modality == "visible" else "visible"
    detail = (f"{f.where}: no {missing} partner; expected a {missing} file with stem "
              f"{pair_stem(f.file.name)!r} (case and _ir/-ir/_vis/_rgb suffixes ignored) in class {f.placement.label}")
    return Reject(pair_id(spec, f), Reason.UNPAIRED, detail, f.where)


def _ambiguous(spec: ThermalSource, f: ImageFile, vis: list[ImageFile], ir: list[ImageFile]) -> Reject:
    detail = (f"{f.where}: stem {pair_stem(f.file.name)!r} in class {f.placement.label} matches "
              f"{len(vis)} visible and {len(ir)} IR files ({', '.join(g.where for g in vis + ir)})")
    return Reject(pair_id(spec, f), Reason.AMBIGUOUS_PAIR, detail, f.where)


class ArchiveParams(SourceParams):
    """Where a thermal source's archives are: the authors' repository, or a list you choose."""

    base_url: str = Field(BASE_URL, description="folder URL holding the archives")
    files: list[str] | None = Field(None, description="archive names under base_url; null = the recipe's list")


# --- the recipe functions -------------------------------------------------------------------


def prepare(spec: ThermalSource, raw: Path) -> Iterator[dict[str, Any] | Reject]:
    """Unpack every archive under `raw` (or read an extracted tree) and yield pairs and rejects."""
    raw = Path(raw)
    archives, loose = _scan(spec, raw)
    with unpacked(archives) as extracted:
        files = find_images(spec, raw, extracted, loose)
        yield from pair_files(spec, files)


def download(spec: ThermalSource, conf: ArchiveParams, fetch: Download, out: Path, from_: str | None) -> Path:
    """Fetch the archives into `out`: from a base URL (default the authors' repository),
    a single archive URL, or a local folder/file the user downloaded."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = list(conf.files or spec.files)
    if from_ and "://" not in from_:
        copy_local(spec, Path(from_), out, names)
        return out
    base = (from_ or conf.base_url).rstrip("/")
    urls = [base] if archive_stem(base.rsplit("/", 1)[-1]) else [f"{base}/{name}" for name in names]
    download_files(spec.name, urls, out, fetch)
    return out


def copy_local(spec: ThermalSource, src: Path, out: Path, names: list[str]) -> None:
    """A folder holding the authors' archives: copy just those (not a whole repo clone);
    any other folder or file (an extracted tree, Dataset.zip) is copied as it is."""
    if not src.exists():
        raise CuratorError(f"{spec.name}: --from {src} does not exist")
    found = {n: next(iter(sorted(src.rglob(n))), None) for n in names} if src.is_dir() else {}
    present = {n: p for n, p in found.items() if p is not None}
    if not present:
        copy_manual(spec.name, src, out)
        return
    missing = sorted(set(names) - set(present))
    if missing:
        log.warning("%s: %s lacks %d archive(s): %s", spec.name, src, len(missing), ", ".join(missing))
    for name, path in sorted(present.items()):
        shutil.copyfile(path, out / name)
