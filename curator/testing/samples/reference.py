"""EmoNet-Face reference inputs: label names, prompt synonyms and binary.csv votes.

Label names come from the taxonomy (schemas/), the project's single source of truth. The
synonyms (guide.json) and the binary.csv rows the samples use ship verbatim under data/
(MIT, LAION; notice in data/LICENSE-emonet-face.txt), so building samples needs nothing outside the repository.
shared_dir() finds the real files only for the tests that check these copies against them.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

from curator.errors import CuratorError
from curator.record.taxonomy import label_map, taxonomy

BINARY_ROWS = "emonet_binary_rows.csv"  # binary.csv's header + its rows for BINARY_STEMS and BINARY_DIRTY_STEM
# the binary sample's images: 00000-00029 (one vote per emotion; 00005 and 00010 have no majority,
# 00009 two), ten of 02000-02032 (3-4 votes: ties, unanimous, split), and 00030 for the dirty build
BINARY_STEMS = (*(f"{i:05d}" for i in range(30)), "02000", "02002", "02003", "02004", "02006", "02009", "02010",
                "02024", "02026", "02032")
BINARY_DIRTY_STEM = "00030"
SYNONYMS = "emonet_synonyms.json"  # guide.json["options"]["labels"]: label -> synonyms


def data_text(name: str) -> str:
    """A file shipped in curator/testing/samples/data/."""
    return (resources.files("curator.testing.samples") / "data" / name).read_text(encoding="utf-8")


def emonet_labels() -> list[str]:
    """The 40 EmoNet-Face category names, in taxonomy (= guide.json) order."""
    return list(taxonomy().fine)


def emonet_synonyms() -> dict[str, list[str]]:
    return json.loads(data_text(SYNONYMS))


def binary_label_names() -> list[str]:
    """ClassLabel names as the binary repo spells them: 'Hopelessness', not 'Helplessness'.

    The respelling is the alias in curator/sources/emonet_binary/labels.yaml. Sorted, as a ClassLabel
    built from names is; so it is not the taxonomy's order, and a reader must take names from
    the Parquet metadata rather than assume an order.
    """
    respelled = {target: alias for alias, target in label_map("emonet_binary").aliases.items()}
    return sorted(respelled.get(name, name) for name in taxonomy().fine)


def binary_csv_lines(stems: set[str]) -> tuple[str, list[str]]:
    """binary.csv's header line and its lines for `stems`, verbatim (line endings kept)."""
    lines = data_text(BINARY_ROWS).splitlines(keepends=True)
    return lines[0], [ln for ln in lines[1:] if ln.split(",", 1)[0] in stems]


def shared_dir() -> Path:
    """The shared folder holding the real EmoNet-Face guide.json and binary.csv."""
    env = os.environ.get("CURATOR_SHARED")
    base = Path(env) if env else Path(__file__).resolve().parents[3].parent / "shared"
    folder = base / "sources" / "emonet-face"
    if not (folder / "guide.json").is_file() or not (folder / "binary.csv").is_file():
        raise CuratorError(f"EmoNet-Face reference files not found in {folder} "
                           "(expected guide.json and binary.csv; set CURATOR_SHARED to the shared folder)")
    return folder
