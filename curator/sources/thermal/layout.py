"""Where each VIRI/NVIE file belongs: class, modality, official split, or an exclusion.

Placed per file, from the folders above it (an archive counts as a folder named after it):
(a) `<DS>-<Class>[N]-<Ir|Vis>` per-class archives/folders; (b) the authors' training layout
`[tran_val_test/]{Visible,IR}/[{train,val,test}/]<Class>/` (split kept); (c) their augmented copies
under `train_aug_images/` (excluded); (d) the MSX view (excluded). Everything else in their working
folder (weights, plots, confusion matrices, notebooks, other projects' folders) is excluded as
working_file; OS bookkeeping files are counted as not read. See README.md.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from curator.errors import SchemaError
from curator.io.archive_formats import archive_format, archive_suffix
from curator.io.images import IMAGE_SUFFIXES, is_image_name
from curator.reasons import Reason
from curator.sources.recipe import NotRead, Reject

DATASETS = ("viri", "nvie")  # dataset tokens that may prefix folders/archives of a mixed download
# Split folder -> the authors' own name for it (their folders are train/val/test).
SPLITS = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
          "test": "test", "testing": "test"}
AUG_FOLDER = "train_aug_images"  # the authors' notebooks write their augmented copies here
# MSX is FLIR's "multi-spectral dynamic imaging": visible-light edges drawn into the thermal image,
# so a blend of the two views a record already holds, for which it has no column.
_MODALITY = {"ir": "ir", "infrared": "ir", "thermal": "ir", "vis": "visible", "visible": "visible",
             "rgb": "visible", "msx": "msx"}
KEPT_MODALITIES = ("visible", "ir")
_MOD_WORDS = "|".join(_MODALITY)
# Layout (a): "VIRI-Angry-Ir", "NVIE-disgust2-Vis", "happy1-Vis" (members repeat the archive name)
_CLASS_MODALITY = re.compile(
    rf"^(?:(?:{'|'.join(DATASETS)})[-_ ]+)?(?P<label>[a-z][a-z ]*?)(?P<part>\d*)[-_ ]+(?P<mod>{_MOD_WORDS})$", re.I
)
_DATASET = re.compile(rf"^({'|'.join(DATASETS)})(?![a-z])", re.I)
_AFFIX = re.compile(rf"^(?:{_MOD_WORDS})[-_ ]+|[-_ ]+(?:{_MOD_WORDS})$", re.I)
# The authors' augmented-copy names: f"{img_name}_{name}_{k+1}.JPG", k in 0..4 (vis-code.ipynb cell 4)
AUG_NAME = re.compile(r"^(?P<base>.+)_(?P<transform>rotation|zoom|distortion|shear|hflip)_(?P<k>[1-5])$", re.I)
_JUNK = frozenset({"__macosx", "thumbs.db", "desktop.ini"})
BOOKKEEPING = NotRead("operating-system or editor bookkeeping files (dotfiles, __MACOSX/, Thumbs.db, desktop.ini)",
                      "never data")
# The authors' Dataset.zip is their working folder: beside the images, {Vis,IR}/models/ (weights, plots),
# {Vis,IR}/results/ (confusion matrices), and other projects' folders (VIRI-new-paper/Vis-IR/weights/).
WORKING_FOLDERS = frozenset({"models", "model", "results", "result", "weights", "checkpoints", "plots", "figures",
                             "logs", "runs", "notebooks", "code"})
WORKING_SUFFIXES = frozenset({".pt", ".pth", ".ckpt", ".h5", ".onnx", ".pkl", ".npy", ".ipynb", ".py", ".md",
                              ".txt", ".csv", ".json", ".yaml", ".yml", ".log", ".pdf", ".html"})
_DOWNLOAD_BOOKKEEPING = (".completed", ".part", ".lock")
LAYOUTS = ("archives/folders named {ds}-<Class>[N]-<Ir|Vis> (e.g. {ds}-{example}-Ir.zip), or the training "
           "layout [tran_val_test/]{{Visible,IR}}/{{train,val,test}}/<Class>/ (with {{Vis,IR,MSX}}/train_aug_images/ "
           "and MSX/ folders excluded)")


@dataclass(frozen=True)
class Placement:
    """Where a file belongs. label/modality are None only where an excluded file does not say."""

    label: str | None  # class as the source spells it
    modality: str | None  # "visible", "ir" or "msx"
    layout: str  # "archives" (a) or "training" (b-d)
    split: str | None = None  # the authors' split: train / val / test
    augmented: bool = False  # under train_aug_images (c)

    @property
    def exclusion(self) -> Reason | None:
        """Why the file is deliberately not a record, or None when it is an original of a kept view."""
        if self.augmented:
            return Reason.SOURCE_AUGMENTED_COPY
        return None if self.modality in KEPT_MODALITIES else Reason.UNSUPPORTED_MODALITY


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
    suffix = archive_suffix(name)
    return name[: -len(suffix)] if suffix else None


def is_archive(path: Path) -> bool:
    """By name, else by magic: a download URL may not end in the file's name (figshare's don't)."""
    if archive_stem(path.name):
        return True
    return archive_format(path) in ("zip", "7z")


is_image = is_image_name


def _is_junk(parts: Iterable[str]) -> bool:
    """macOS resource forks, hidden files and OS droppings: never data."""
    return any(p.startswith(".") or p.lower() in _JUNK for p in parts)


# --- placing one file -----------------------------------------------------------------------


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


def _augmented_copy(folders: tuple[str, ...]) -> Placement | None:
    """Layout (c): anything under a train_aug_images folder, whatever its name says."""
    lowered = [f.lower() for f in folders]
    if AUG_FOLDER not in lowered:
        return None
    i = len(lowered) - 1 - lowered[::-1].index(AUG_FOLDER)
    modality = _MODALITY.get(lowered[i - 1]) if i > 0 else None
    rest = folders[i + 1 :]
    return Placement(rest[0] if len(rest) == 1 else None, modality, "training", augmented=True)


def _training_layout(folders: tuple[str, ...]) -> Placement | None:
    """Layout (b)/(d): the innermost modality folder, then an optional split folder, then the class."""
    for i in range(len(folders) - 1, -1, -1):
        modality = _MODALITY.get(folders[i].lower())
        if modality:
            rest = folders[i + 1 :]
            if len(rest) == 1:
                return Placement(rest[0], modality, "training")
            if len(rest) == 2 and rest[0].lower() in SPLITS:
                return Placement(rest[1], modality, "training", split=SPLITS[rest[0].lower()])
            return None
    return None


def place(folders: tuple[str, ...], where: str) -> Placement | None:
    """Class, modality, split and layout of a file from the folders above it; None if unplaceable."""
    return _augmented_copy(folders) or _per_class_archives(folders, where) or _training_layout(folders)


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
    """The member's path inside its archive: below the scratch folder fetch.unpacked names
    after the archive (the outermost such folder, in case a member folder repeats the name)."""
    name = archive.name.replace(".", "_")
    root = next(p for p in reversed(extracted.parents) if p.name == name)
    return extracted.relative_to(root).as_posix()


def _folders(where: str) -> tuple[str, ...]:
    """Folders above a file, an archive standing for a folder named after it."""
    parts = PurePosixPath(where).parts[:-1]
    return tuple(archive_stem(p) or p for p in parts)


@dataclass
class Scan:
    """What is under a raw folder: archives, loose images, and the files left out, each with a reason
    (a reject the recipe yields, so every file is counted) or, for OS bookkeeping, a NotRead."""

    archives: list[Path]
    images: list[Path]
    left_out: list[Reject | NotRead]


def working_folder(where: str) -> str | None:
    """The folder of the authors' working copy (models/, results/, weights/...) that `where` lies in."""
    return next((f for f in _folders(where) if f.casefold() in WORKING_FOLDERS), None)


def working_file(where: str, what: str) -> Reject:
    return Reject(None, Reason.WORKING_FILE, f"{where}: {what}; not a sample", where)


def _not_data(where: str) -> Reject | None:
    """A weights file, notebook, document or anything under a models/results/weights folder: excluded."""
    folder = working_folder(where)
    if folder:
        return working_file(where, f"in a {folder}/ folder of the authors' working copy (weights, plots, results)")
    suffix = PurePosixPath(where).suffix.casefold()
    if suffix in WORKING_SUFFIXES:
        return working_file(where, f"a {suffix} file (model weights, notebook, code or notes)")
    return None


def scan(name: str, raw: Path) -> Scan:
    """Archives and loose image files under `raw` (a folder or a single file)."""
    files = [raw] if raw.is_file() else sorted(p for p in raw.rglob("*") if p.is_file())
    found = Scan([], [], [])
    for f in files:
        rel = f.relative_to(raw).parts if raw.is_dir() else (f.name,)
        if f.name.endswith(_DOWNLOAD_BOOKKEEPING):  # our own download markers, not the delivery's
            continue
        if _is_junk(rel):
            found.left_out.append(BOOKKEEPING)
        elif is_image(f.name):
            found.images.append(f)
        elif (excluded := _not_data(_relative(raw, f))) is not None:  # before is_archive: a .pt is a zip
            found.left_out.append(excluded)
        elif is_archive(f):
            found.archives.append(f)
        else:
            found.left_out.append(stray(_relative(raw, f), "neither an image nor an archive"))
    twice = sorted(n for n, k in Counter(a.name for a in found.archives).items() if k > 1)
    if twice:  # fetch.unpacked extracts by archive name: two archives of one name would collide
        raise SchemaError(f"{name}: several archives named {', '.join(twice)}; keep one copy of each")
    return found


def stray(where: str, what: str) -> Reject:
    return Reject(None, Reason.STRAY_FILE, f"{where}: {what} (images: {', '.join(IMAGE_SUFFIXES)})", where)


def find_images(name: str, expected: str, raw: Path, extracted: dict[Path, list[Path]],
                loose: list[Path], left_out: list[Reject | NotRead]) -> list[ImageFile]:
    """Every image file of source `name` placed in a class folder; everything else appended to `left_out`:
    archive members that are not images, the other study's images, and images outside the class folders
    (plots, confusion matrices, other projects' folders: working_file). SchemaError when no original is left."""
    found, unplaced = [], []
    for file, where in _candidates(raw, extracted, loose):
        if _is_junk(PurePosixPath(where).parts):  # archive members only: scan counted the loose ones
            left_out.append(BOOKKEEPING)
            continue
        excluded = _not_data(where)
        if excluded is not None or not is_image(where):
            left_out.append(excluded or stray(where, "an archive member that is not an image"))
            continue
        folders = _folders(where)
        dataset = dataset_of(folders)
        if dataset and dataset != name:  # the other study's data in a shared download: its recipe reads it
            left_out.append(Reject(None, Reason.OTHER_DATASET, f"{where}: an image of {dataset}, not {name}", where))
            continue
        placement = place(folders, where)
        if placement is None:  # a plot beside the data, another project's images: never a record, never a stop
            unplaced.append(where)
            left_out.append(working_file(where, f"an image outside the class folders ({expected})"))
        else:
            found.append(ImageFile(file, where, placement))
    _check_found(name, expected, raw, found, unplaced)
    return found


def _check_found(name: str, expected: str, raw: Path, found: list[ImageFile], unplaced: list[str]) -> None:
    originals = [f for f in found if f.placement.exclusion is None]
    if not originals:
        what = (f"only {len(found)} excluded image(s) (augmented copies or MSX)" if found
                else "no .jpg/.jpeg/.png images in class folders")
        if unplaced:
            shown = ", ".join(unplaced[:3]) + (f" (+{len(unplaced) - 3} more)" if len(unplaced) > 3 else "")
            what += f"; cannot place {len(unplaced)} image(s): {shown}"
        raise SchemaError(f"{name}: {what} in {raw}, no visible or IR original; expected {expected}")
    layouts = {f.placement.layout for f in found}
    if len(layouts) > 1:  # the same images twice would make every pair ambiguous: say so once
        raise SchemaError(f"{name}: {raw} mixes per-class archives and the training layout; keep one of them")


def unknown_classes(files: list[ImageFile], known: Callable[[str], bool]) -> Counter[str]:
    """Class folders of originals the label map does not know -> their files (prepare and inspect name them)."""
    return Counter(f.placement.label for f in files
                   if f.placement.exclusion is None and f.placement.label and not known(f.placement.label))


def describe(name: str, raw: Path, files: list[ImageFile], left_out: list[Reject | NotRead],
             known: Callable[[str], bool]) -> str:
    """One line: the layout found, with its classes, splits, images per view and exclusions."""
    originals = [f for f in files if f.placement.exclusion is None]
    layout = originals[0].placement.layout
    head = ("per-class archives/folders <DS>-<Class>[N]-<Ir|Vis>" if layout == "archives"
            else "training layout [tran_val_test/]{Visible,IR}/[{train,val,test}/]<Class>/")
    classes = sorted({f.placement.label for f in originals if f.placement.label}, key=str.casefold)
    views = Counter(f.placement.modality for f in originals)
    splits = [s for s in ("train", "val", "test") if any(f.placement.split == s for f in originals)]
    excluded = Counter(str(f.placement.exclusion) for f in files if f.placement.exclusion)
    excluded.update(str(r.reason) for r in left_out if isinstance(r, Reject))
    parts = [f"{name}: {head} in {raw}", f"{len(classes)} class(es) ({', '.join(classes)})",
             f"{views['visible']} visible + {views['ir']} IR image(s)"]
    if splits:
        parts.append(f"official splits {'/'.join(splits)}")
    unknown = unknown_classes(files, known)
    if unknown:
        parts.append(f"class folder(s) not in curator/sources/{name}/labels.yaml: "
                     + ", ".join(f"{c} ({n} files)" for c, n in sorted(unknown.items())))
    if excluded:
        parts.append("excluded " + ", ".join(f"{n} {reason}" for reason, n in sorted(excluded.items())))
    bookkeeping = sum(1 for r in left_out if isinstance(r, NotRead))
    if bookkeeping:
        parts.append(f"{bookkeeping} OS bookkeeping file(s) not read")
    return "; ".join(parts)
