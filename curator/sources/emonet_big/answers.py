"""LAION's own VLM output layout: one `<image stem>.json` answer per image, joined by path or stem.

LAION-AI/emonet-face `inference/vlm-inference-prompt-multi-shot.ipynb` (f4d4dab) writes each answer to
`OUTPUT_FOLDER / <image path relative to INPUT_FOLDER>.json` (a tree mirroring the image tree) as
`{"key": [image folder name, model name with '-' as '.', image file name], "predictions": {...}}`;
its `sync_folders` cell copies `<name>.png` and `<name>.json` into one folder (side by side). Both
are read here: an answer joins the image whose relative path, minus extension, ends with the longest
tail of the answer's own that names exactly one image (`a/x.json` beside `a/x.png`;
`json/part-10/x.json` with `images/part-10/x.png`). See README.md.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from curator.pipeline.progress import log
from curator.reasons import Reason
from curator.sources.emonet_big import vlm
from curator.sources.recipe import NotRead, Reject

NOT_AN_ANSWER = "JSON that is not a VLM answer (no 'predictions' or 'emotions'): not read"
NO_ANSWER_FOLDER = "an image in a folder where no image has a VLM answer (plots, previews): not part of the layout"


@dataclass(frozen=True)
class Unreadable:
    """An answer file joined to its image that cannot be parsed: the image's reject says why."""

    problem: str


@dataclass(frozen=True)
class Joined:
    image: Path
    answer: Path | None  # None: an image of the answer folders the VLM gave no answer for


def _tails(rel: PurePosixPath) -> list[str]:
    """'a/b/x.png' -> ['a/b/x', 'b/x', 'x']: the relative path minus extension, then each shorter tail."""
    parts = rel.with_suffix("").parts
    return ["/".join(parts[i:]) for i in range(len(parts))]


def load(path: Path) -> Any:
    """The parsed JSON, or Unreadable saying why it cannot be read."""
    try:
        return vlm.load(path.read_bytes())
    except OSError as exc:
        return Unreadable(f"cannot be read ({exc.strerror})")
    except ValueError as exc:
        return Unreadable(str(exc))


def is_answer(doc: Any) -> bool:
    """The shapes vlm.parse reads: {key, predictions}, {emotions, ...}, or a list of {model, predictions}."""
    if isinstance(doc, dict):
        return "predictions" in doc or "emotions" in doc
    return isinstance(doc, list) and bool(doc) and all(isinstance(e, dict) and "predictions" in e for e in doc)


def join(raw: Path, images: list[Path], answers: list[Path]) -> Iterator[Joined | Reject | NotRead]:
    """Every image (joined or not) in path order, then the answers no image takes, and what is not read.
    Only paths are held (a joined answer is parsed when its image's record is made): 200k answers stay small."""
    rel = {p: PurePosixPath(p.relative_to(raw).as_posix()) for p in [*images, *answers]}
    by_tail: dict[str, list[Path]] = defaultdict(list)
    for image in images:
        for tail in _tails(rel[image]):
            by_tail[tail].append(image)
    taken: dict[Path, Path] = {}
    late: list[Reject | NotRead] = []
    for answer in answers:
        matches = next((by_tail[t] for t in _tails(rel[answer]) if by_tail.get(t)), [])
        if len(matches) == 1 and matches[0] not in taken:
            taken[matches[0]] = answer
            continue
        late.append(_unjoined(answer, matches, rel, taken))
    folders = {image.parent for image in taken}
    for image in images:
        if image in taken:
            yield Joined(image, taken[image])
        elif image.parent in folders:
            yield Joined(image, None)
        else:
            yield NotRead(f"files *{image.suffix.lower()}", NO_ANSWER_FOLDER)
    yield from late


def _unjoined(answer: Path, matches: list[Path], rel: dict[Path, PurePosixPath],
              taken: dict[Path, Path]) -> Reject | NotRead:
    """A JSON no image takes: a reject when it is an answer, else named as not read."""
    doc, where = load(answer), rel[answer].as_posix()
    if isinstance(doc, Unreadable):
        return NotRead("files *.json", f"JSON that {doc.problem}, and no image is left for it: not read")
    if not is_answer(doc):
        return NotRead("files *.json", NOT_AN_ANSWER)
    if len(matches) > 1:
        names = ", ".join(rel[m].as_posix() for m in matches[:3])
        return Reject(None, Reason.AMBIGUOUS_PAIR, f"{where}: its path fits several images ({names})", where)
    if matches:
        return Reject(None, Reason.MALFORMED_ANNOTATION, f"{where}: a second answer for {rel[matches[0]]} "
                      f"(the first: {rel[taken[matches[0]]]})", where)
    return Reject(None, Reason.MISSING_IMAGE, f"{where}: a VLM answer for an image that is not there (no image "
                  "with its stem beside it or at its relative path)", where)


def key_problem(doc: Any, image: PurePosixPath, moved: Counter[str]) -> str | None:
    """Why the answer's `key` does not name this image (None: it does, or the shape has no key).
    The file name must match; the folder name is counted in `moved` when it differs (a copied tree)."""
    if not isinstance(doc, dict) or "key" not in doc:
        return None
    key = doc["key"]
    if not (isinstance(key, list) and len(key) == 3 and all(isinstance(k, str) for k in key)):
        return f"its key {vlm.emonet.short(key)} is not [folder, model, file name]"
    if key[2] != image.name:
        return f"its key names the file {key[2]!r}, not {image.name!r}"
    if key[0] != image.parent.name:
        moved[key[0]] += 1
    return None


def log_moved(source: str, moved: Counter[str]) -> None:
    if moved:
        folders = ", ".join(f"{k} ({n})" for k, n in moved.most_common(3))
        log.warning("%s: %d answer key(s) name another folder than their image's (e.g. %s): read all the same, "
                    "the file names match", source, sum(moved.values()), folders)

