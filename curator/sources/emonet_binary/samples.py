"""emonet_binary samples: the Hub Parquet (`path` Image with a file name, `emotion` ClassLabel)
and binary.csv rows copied verbatim from the real file.

The images are the BINARY_STEMS of curator.testing.samples.reference: one-vote images, images
without a majority of True votes, with two emotions qualifying, and 3-4-vote ones. `emotion` is
the first emotion binary.csv judges for the image, coded by the ClassLabel names the repo
spells (`Hopelessness`), sorted as a ClassLabel built from names is. File names: `names`
"padded" (`00017.jpg`, the default: a third-party test fixture's claim about the Hub files),
"unpadded" (`17.jpg`, as LAION's own tables name them), or "shifted" (`18.jpg` for 00017: the
off-by-one the recipe must refuse rather than guess). Dirty: a truncated image, a repeated row.
"""

from __future__ import annotations

import csv
from pathlib import Path

from curator.errors import CuratorError
from curator.reasons import Reason
from curator.sources.emonet.samples import halves, image_cell, write_parquet_repo
from curator.sources.emonet_binary import HUB
from curator.testing.samples.built import Built, Served
from curator.testing.samples.portraits import face
from curator.testing.samples.reference import BINARY_DIRTY_STEM, BINARY_STEMS, binary_csv_lines, binary_label_names
from curator.testing.samples.seeds import seed_int
from curator.testing.samples.writers import jpeg, write_bytes

HUB_REPO = HUB.repo  # the demo serves out/emonet_binary/ (data/ + README.md) as this repo on the Hub stand-in
NAMES = {"padded": lambda stem: stem, "unpadded": lambda stem: str(int(stem)),
         "shifted": lambda stem: str(int(stem) + 1)}


def _features(names: list[str]):
    import datasets

    return datasets.Features({"path": datasets.Image(), "emotion": datasets.ClassLabel(names=names)})


def _first_emotions(lines: list[str]) -> dict[str, str]:
    first: dict[str, str] = {}
    for ln in lines:
        stem, _annotator, _value, emotion = next(csv.reader([ln]))
        first.setdefault(stem, emotion)
    return first


def _row(stem: str, emotion: str, names: list[str], seed: int, name: str) -> dict:
    data = jpeg(face(emotion, seed, f"binary:{stem}"))
    return {"path": image_cell(data, f"{NAMES[name](stem)}.jpg"), "emotion": names.index(emotion)}


def build(out: Path, seed: int, dirty: bool, names: str = "padded") -> Built:
    stems = [*BINARY_STEMS, *([BINARY_DIRTY_STEM] if dirty else [])]
    header, lines = binary_csv_lines(set(stems))
    first, labels = _first_emotions(lines), binary_label_names()
    missing = [s for s in stems if s not in first]
    if missing:
        raise CuratorError(f"binary.csv has no rows for stems {missing}")
    rows = [_row(s, first[s], labels, seed, names) for s in BINARY_STEMS]
    shards = halves(rows)
    root = out / "emonet_binary"
    built = Built(files=[root / "binary.csv"], items=len(rows))
    if dirty:
        bad = _row(BINARY_DIRTY_STEM, first[BINARY_DIRTY_STEM], labels, seed, names)
        bad["path"]["bytes"] = bad["path"]["bytes"][: len(bad["path"]["bytes"]) // 2]
        dup = rows[seed_int(seed, "binary-dup") % len(shards[0])]  # repeated in the other shard
        shards[1].extend([bad, dup])
        built.add_bad(prepare=[Reason.TRUNCATED_IMAGE, Reason.DUPLICATE_ID])
    write_bytes(root / "binary.csv", (header + "".join(lines)).encode("utf-8"))
    built.files += write_parquet_repo(root, shards, _features(labels), "EmoNet-Face Binary",
                                      "Votes: binary.csv (GitHub).")
    return built


def demo_params(served: Served) -> dict:
    """params.yaml sources.emonet_binary pointing at the Hub stand-in (and the annotation CSV's server)."""
    return {"repo": HUB_REPO, "revision": served.hub_sha(HUB_REPO),
            "annotations_url": f"{served.files_url}/emonet_binary/binary.csv"}
