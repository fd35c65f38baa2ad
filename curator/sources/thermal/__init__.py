"""What the VIRI and NVIE recipes share: visible/infrared pairs, per class and modality.

Not a recipe (no INFO): viri and nvie each describe their source in a ThermalSource and delegate
here. layout.py places every file (class, modality, the authors' split, or an exclusion);
pairing.py turns the placed files into records and rejects. Every file is accounted for: part of a
record, a reject, excluded with its own reason code, or (OS bookkeeping) counted as not read.
See README.md.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from curator.config import Download, OneGroupPattern, SourceParams
from curator.errors import CuratorError
from curator.io.paths import DeliveryName
from curator.io.patterns import compile_pattern
from curator.record.taxonomy import label_map
from curator.sources.fetch import copy_atomic, copy_manual, download_files, leaves_delivery, unpacked
from curator.sources.recipe import NotRead, Reject
from curator.sources.thermal import pairing
from curator.sources.thermal.layout import (
    LAYOUTS,
    ImageFile,
    Placement,
    archive_stem,
    find_images,
    pair_key,
    pair_stem,
    place,
    scan,
    unknown_classes,
)
from curator.sources.thermal.layout import (
    describe as describe_files,
)
from curator.sources.thermal.pairing import PAIR_GROUP, SUBJECT_GROUP

__all__ = ["BASE_URL", "LAYOUTS", "PAIR_GROUP", "REPOSITORY", "STUDY", "SUBJECT_GROUP", "ArchiveParams", "ImageFile",
           "Placement", "ThermalSource", "describe", "download", "pair_key", "pair_stem", "place", "prepare"]

log = logging.getLogger(__name__)

# The authors' raw-data repository (both datasets) and their paper, cited by both recipes.
REPOSITORY = "https://github.com/naseemmuhammadtahir/VIRI-raw-data"
BASE_URL = f"{REPOSITORY}/raw/main"
STUDY = (
    "Naseem et al., visible/infrared facial expression recognition with ResNet-18 and attention, "
    "PeerJ Computer Science 11:e2676 (2025); data: figshare article 28236605"
)


@dataclass(frozen=True)
class ThermalSource:
    """How one paired source differs from the other: names, defaults, licence."""

    name: str  # recipe name: "viri"
    prefix: str  # dataset token in archive names: "VIRI"
    files: tuple[str, ...]  # archive names in the authors' repository
    base_url: str
    license: str
    example_class: str  # for error messages

    @property
    def expected(self) -> str:
        """What an error names as the layouts this source can read."""
        return LAYOUTS.format(ds=self.prefix, example=self.example_class)


class ArchiveParams(SourceParams):
    """Where a thermal source's archives are, and how its file names carry subjects."""

    base_url: str = Field(BASE_URL, description="folder URL holding the archives")
    # DeliveryName: never '..' or an absolute path (it could read outside --from and write outside --out)
    files: list[DeliveryName] | None = Field(None, description="archive names under base_url; null = the recipe's list")
    subject_pattern: OneGroupPattern | None = Field(
        None, description="regex searched in each visible file's stem whose group 1 is the subject id; "
        "null = no subject known (each pair is its own group)")



# --- the recipe functions -------------------------------------------------------------------


def _known(name: str) -> Callable[[str], bool]:
    labels = label_map(name)
    return lambda label: labels.resolve(label) is not None


def prepare(spec: ThermalSource, raw: Path, conf: ArchiveParams | None = None
            ) -> Iterator[dict[str, Any] | Reject | NotRead]:
    """Unpack every archive under `raw` (or read an extracted tree) and yield pairs, rejects and exclusions."""
    raw = Path(raw)
    pattern = conf.subject_pattern if conf else None
    found = scan(spec.name, raw)
    with unpacked(found.archives) as extracted:
        files = find_images(spec.name, spec.expected, raw, extracted, found.images, found.left_out)
        unknown = unknown_classes(files, _known(spec.name))
        if unknown:  # still prepared (the label is the evidence); normalize rejects them as unknown_label
            log.warning("%s: class folder(s) not in curator/sources/%s/labels.yaml: %s; normalize will reject "
                        "them (unknown_label) unless the map learns them", spec.name, spec.name,
                        ", ".join(f"{c} ({n} files)" for c, n in sorted(unknown.items())))
        yield from pairing.items(spec.name, spec.license, files, compile_pattern(pattern) if pattern else None)
    yield from found.left_out


def describe(spec: ThermalSource, raw: Path) -> str:
    """One line naming the layout found under `raw`; CuratorError when none is recognisable."""
    raw = Path(raw)
    if not raw.exists():
        raise CuratorError(f"{spec.name}: {raw} does not exist; expected {spec.expected}")
    found = scan(spec.name, raw)
    with unpacked(found.archives) as extracted:
        files = find_images(spec.name, spec.expected, raw, extracted, found.images, found.left_out)
    return describe_files(spec.name, raw, files, found.left_out, _known(spec.name))


def download(spec: ThermalSource, conf: ArchiveParams, fetch: Download, out: Path, from_: str | None) -> Path:
    """Fetch the archives into `out`: from a base URL (default the authors' repository),
    a single archive URL (e.g. figshare's Dataset.zip), or a local folder/file the user downloaded."""
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
    root = os.path.realpath(src)
    for name, path in sorted(present.items()):  # names are DeliveryNames: `out / name` stays inside `out`
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        copy_atomic(path, out / name, link=leaves_delivery(path, root))  # a link out of --from stays a link
