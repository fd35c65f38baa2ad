"""EMER's files: face/set{1..5}/<ID>/ folders of frames, a flat eye/<ID>.xlsx per sample, and the
eye fixation maps (excluded). Anything else is a stray_file reject: left out, counted. See README.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from curator.errors import SchemaError
from curator.io.images import IMAGE_SUFFIXES, is_image_name
from curator.reasons import Reason
from curator.sources.emer.labels import LABEL_FILE, SampleKey
from curator.sources.recipe import Reject

SOURCE = "emer"
SETS = tuple(f"set{i}" for i in range(1, 6))
# cv2.imread, which the authors use, reads these; the real frames' type and names are UNVERIFIED


def natural_key(name: str) -> tuple:
    """Sort key: digit runs compare as numbers ("2.jpg" < "10.jpg"), the rest ignoring case.

    The authors sort with `key=lambda x: x[-5]` (one character: the stem's last digit for a
    4-character extension), which is not temporal order; this is.
    """
    parts = re.split(r"(\d+)", name.casefold())  # text at even positions, digits at odd ones
    return (tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), name)


@dataclass(frozen=True)
class FrameFolder:
    name: str  # the sample ID as the folder spells it
    fold: str  # set1..set5
    path: Path
    frames: tuple[Path, ...]  # image files, natural order


@dataclass
class Tree:
    root: Path
    folders: dict[str, list[FrameFolder]] = field(default_factory=dict)  # ID -> its folders (>1: ambiguous)
    eyes: dict[str, list[Path]] = field(default_factory=dict)  # ID -> eye files
    strays: list[Reject] = field(default_factory=list)

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def stray(self, path: Path, why: str) -> None:
        """One stray_file reject per file (a stray folder: one per file in it, so every file is counted)."""
        files = sorted((p for p in path.rglob("*") if p.is_file()), key=lambda p: natural_key(p.as_posix())) \
            if path.is_dir() else []
        for f in files or [path]:
            rel = self.rel(f) + ("/" if f.is_dir() else "")
            self.strays.append(Reject(None, Reason.STRAY_FILE, f"{rel}: {why}; not read", rel))


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.iterdir(), key=lambda p: natural_key(p.name))


def _frame_folder(tree: Tree, fold: str, folder: Path) -> FrameFolder:
    frames = []
    for entry in _entries(folder):
        if entry.is_file() and is_image_name(entry.name):
            frames.append(entry)
        else:
            what = "a folder" if entry.is_dir() else "not an image"
            tree.stray(entry, f"{what} in a frame folder (frames: {', '.join(IMAGE_SUFFIXES)})")
    return FrameFolder(folder.name, fold, folder, tuple(frames))


def _scan_faces(tree: Tree) -> None:
    face = tree.root / "face"
    sets = [face / s for s in SETS if (face / s).is_dir()]
    if not sets:
        found = ", ".join(p.name for p in _entries(face)[:8]) if face.is_dir() else "no face/ folder"
        raise SchemaError(f"{SOURCE}: expected frame folders face/set1..set5/<ID>/ under {tree.root}; found {found}")
    for entry in _entries(face):
        if entry not in sets:
            tree.stray(entry, "not one of face/set1..set5 (the folds the authors' loader reads)")
    for set_dir in sets:
        for entry in _entries(set_dir):
            if entry.is_dir():
                tree.folders.setdefault(entry.name, []).append(_frame_folder(tree, set_dir.name, entry))
            else:
                tree.stray(entry, f"a file directly in face/{set_dir.name} (samples are folders of frames)")


def _scan_eyes(tree: Tree) -> None:
    eye = tree.root / "eye"
    if not eye.is_dir():
        raise SchemaError(f"{SOURCE}: expected eye/<ID>.xlsx files under {tree.root}; found no eye/ folder")
    for entry in _entries(eye):
        # "~$x.xlsx" is Excel's lock file for an open x.xlsx, not a sample
        if entry.is_file() and entry.suffix.lower() == ".xlsx" and not entry.name.startswith("~$"):
            tree.eyes.setdefault(entry.stem, []).append(entry)
        elif is_fixation_folder(entry):
            _exclude_fixations(tree, entry)
        else:
            tree.stray(entry, "not an eye/<ID>.xlsx file (eye/ is flat)")


def is_fixation_folder(path: Path) -> bool:
    """A folder of the eye fixation maps, the README's third subset: its real name is not published, so
    any folder whose name speaks of fixations (`fixation/`, `eye_fixation_maps/`, `fix_map/`)."""
    return path.is_dir() and "fix" in path.name.casefold()


def _exclude_fixations(tree: Tree, folder: Path) -> None:
    for f in sorted((p for p in folder.rglob("*") if p.is_file()), key=lambda p: natural_key(p.as_posix())):
        rel = tree.rel(f)
        tree.strays.append(Reject(None, Reason.UNSUPPORTED_MODALITY, f"{rel}: an eye fixation map (the third "
                                  "subset); a record has no column for it", rel))


def _scan_top(tree: Tree) -> None:
    """Beside face/, eye/ and the label file: the fixation maps (excluded), and strays, one per file."""
    for entry in _entries(tree.root):
        if entry.name in ("face", "eye", LABEL_FILE) and (entry.is_dir() or entry.name == LABEL_FILE):
            continue
        if is_fixation_folder(entry):
            _exclude_fixations(tree, entry)
        else:
            tree.stray(entry, f"not part of the layout (face/, eye/, a fixation folder, {LABEL_FILE})")


def scan(root: Path) -> Tree:
    """Every frame folder and eye file under `root`, the fixation maps excluded, and a stray_file reject for
    every other file."""
    tree = Tree(root)
    _scan_faces(tree)
    _scan_eyes(tree)
    _scan_top(tree)
    return tree


def matching(key: SampleKey, names: Iterable[str]) -> list[str]:
    """The names (folder names or eye-file stems) a label ID means: the same text, or, for an ID stored as
    a number, every all-digit name with that value ("1", "01", "001" for 1)."""
    if key.number is None:
        return [key.text] if key.text in names else []
    return [n for n in names if n == key.text or (n.isdigit() and int(n) == key.number)]


def middle(frames: tuple[Path, ...]) -> Path:
    """The middle frame in natural order (the earlier of the two middle ones for an even count)."""
    return frames[(len(frames) - 1) // 2]
