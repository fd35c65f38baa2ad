"""The files under a raw folder that a recipe's layout does not read, each named as NotRead.

Nothing under raw goes uncounted: whatever the layout does not read (a dataset card, plots, model
weights, notebooks, the operating system's folder metadata, huggingface_hub's download cache, another
project's folder) is yielded as NotRead, grouped by kind so that metrics and `curator inspect` stay
short however many such files there are.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

from curator.sources.recipe import NotRead

OS_FILES = {".ds_store", "thumbs.db", "desktop.ini"}
OS_WHY = "operating-system metadata (Finder, Explorer, macOS archives): not data"
CARD_WHY = "the Hub dataset card (README.md at the top): documentation, not data"
CACHE_WHY = "huggingface_hub's download bookkeeping: not data"


def kind(rel: PurePosixPath) -> tuple[str, str | None]:
    """(what, why) for the kinds every layout leaves out; why None: the caller's own reason."""
    parts = rel.parts
    if "__MACOSX" in parts:
        return "folder __MACOSX/", OS_WHY
    if rel.name.lower() in OS_FILES:
        return f"files {rel.name}", OS_WHY
    if rel.name.startswith("._"):
        return "files ._* (AppleDouble)", OS_WHY
    if rel.as_posix() == "README.md":
        return "file README.md", CARD_WHY
    if parts[0] == ".cache":
        return "folder .cache/", CACHE_WHY
    if any(p.startswith(".") for p in parts):
        return "hidden files", "hidden (a name starting with '.'): not part of the layout"
    return (f"files *{rel.suffix.lower()}" if rel.suffix else "files without an extension"), None


def strays(raw: Path, read: Iterable[Path], layout: str) -> Iterator[NotRead]:
    """One NotRead per file under `raw` not in `read` (the files the layout reads), in path order."""
    raw = Path(raw)
    if raw.is_file():
        return
    done = {Path(p).resolve() for p in read}
    why = f"not part of the {layout} the recipe reads"
    for path in sorted(raw.rglob("*")):
        if path.is_file() and path.resolve() not in done:
            what, known = kind(PurePosixPath(path.relative_to(raw).as_posix()))
            yield NotRead(what, known or why)
