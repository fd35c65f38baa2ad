"""VIRI and NVIE: visible/thermal-IR image pairs packed in per-class zip and 7z archives.

Each pair is the same seeded face in both modalities carrying one pair code, so tests can
check that a recipe paired files by normalised name and never by list position: members are
stored in a seeded, never-sorted order. The archive names are the authors' (raw-data repository);
what is inside them is UNVERIFIED (every archive is >= 4 MiB and absent from the snapshot we could
read): the member folder `<Class>-<Ir|Vis>/`, the file names and their case/suffix/extension
variations are this kit's choice, made to exercise the normalised-stem pairing. The authors'
training layout, zipped as figshare's Dataset.zip, is built by samples_figshare.py.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from curator.reasons import Reason
from curator.testing.samples.built import Built
from curator.testing.samples.faces import draw_face
from curator.testing.samples.paircode import CODE_BITS
from curator.testing.samples.seeds import rand, seed_int
from curator.testing.samples.writers import jpeg, sevenzip_bytes, write_bytes, zip_bytes

_Member = tuple[str, str, bytes]  # (archive key, member name, bytes)

# --------------------------------------------------------------------------- shared by both sources


@dataclass
class _Pair:
    """One visible/IR pair as archive members; a side is None when the pair lacks it."""

    vis: _Member | None
    ir: _Member | None

    def replace_vis(self, *, name: str | None = None, data: bytes | None = None) -> _Pair:
        assert self.vis is not None
        key, old_name, old_data = self.vis
        return _Pair(vis=(key, name or old_name, old_data if data is None else data), ir=self.ir)


def _draw_pair(expression: str, caption: str, code: int, face_seed: int, vis: tuple[str, str],
               ir: tuple[str, str]) -> _Pair:
    """The same face in both modalities; vis and ir are each (archive key, member name)."""
    vis_img, ir_img = (draw_face(expression, modality=m, pair_code=code, seed=face_seed, caption=caption)
                       for m in ("visible", "ir"))
    return _Pair(vis=(*vis, jpeg(vis_img)), ir=(*ir, jpeg(ir_img)))


def pair_codes(seed: int, name: str, n: int) -> list[int]:
    return rand(seed, f"{name}-codes").sample(range(1, 2**CODE_BITS), n)


def shuffled_members(members: list[tuple[str, bytes]], rnd: random.Random) -> list[tuple[str, bytes]]:
    """Seeded order that is never the sorted one, so list order can't be relied on."""
    order = sorted(members)
    shuffled = order[:]
    rnd.shuffle(shuffled)
    if len(shuffled) > 1 and shuffled == order:
        shuffled = shuffled[1:] + shuffled[:1]
    return shuffled


def _write_archives(folder: Path, pairs: list[_Pair], rnd: random.Random,
                    archives: dict[str, str]) -> list[Path]:
    """archives: archive key -> file name (.zip or .7z); members go under '<key>/'."""
    members: dict[str, list[tuple[str, bytes]]] = {k: [] for k in archives}
    for pair in pairs:
        for side in (pair.vis, pair.ir):
            if side is not None:
                key, name, data = side
                members[key].append((f"{key}/{name}", data))
    paths = []
    for key, filename in sorted(archives.items()):
        path, content = folder / filename, shuffled_members(members[key], rnd)
        write_bytes(path, sevenzip_bytes(content) if filename.endswith(".7z")
                    else zip_bytes([(f"{key}/", b""), *content]))
        paths.append(path)
    return paths


# --------------------------------------------------------------------------- VIRI

VIRI_CLASSES = {"Angry": "anger", "Happy": "happiness", "Neutral": "neutral", "Sad": "sadness",
                 "Surprise": "surprise"}
_PAIRS_PER_CLASS = 6


def _viri_names(number: int, rnd: random.Random) -> tuple[str, str]:
    vis_ext = rnd.choice([".JPG"] * 6 + [".jpg"])
    if rnd.random() < 0.75:
        return f"IMG_{number:04d}{vis_ext}", f"IMG_{number:04d}_IR.JPG"
    return f"IMG_{number:04d}{vis_ext}", f"img_{number:04d}-ir.jpg"  # case and separator vary

def _viri_pair(cls: str, number: int, code: int, seed: int, rnd: random.Random) -> _Pair:
    vis_name, ir_name = _viri_names(number, rnd)
    return _draw_pair(VIRI_CLASSES[cls], cls, code, seed_int(seed, f"viri:{number}"),
                      vis=(f"{cls}-Vis", vis_name), ir=(f"{cls}-Ir", ir_name))


def _viri_dirty(seed: int, codes: list[int]) -> list[_Pair]:
    rnd = rand(seed, "viri-dirty")
    n = len(VIRI_CLASSES) * _PAIRS_PER_CLASS
    lonely = _viri_pair("Happy", n + 1, codes[0], seed, rnd)
    truncated = _viri_pair("Sad", n + 2, codes[1], seed, rnd)
    assert truncated.vis is not None
    half = truncated.vis[2][: len(truncated.vis[2]) // 2]
    return [_Pair(vis=None, ir=lonely.ir), truncated.replace_vis(data=half)]


def build_viri(out: Path, seed: int, dirty: bool) -> Built:
    rnd, n = rand(seed, "viri"), len(VIRI_CLASSES) * _PAIRS_PER_CLASS
    codes = pair_codes(seed, "viri", n + 2)
    pairs = [_viri_pair(cls, k * _PAIRS_PER_CLASS + j + 1, codes[k * _PAIRS_PER_CLASS + j], seed, rnd)
             for k, cls in enumerate(VIRI_CLASSES) for j in range(_PAIRS_PER_CLASS)]
    j = rnd.randrange(n)  # exactly one '.jpeg': the real archives mix extensions
    assert pairs[j].vis is not None
    pairs[j] = pairs[j].replace_vis(name=pairs[j].vis[1].rsplit(".", 1)[0] + ".jpeg")
    built = Built(files=[], items=len(pairs))
    if dirty:
        pairs += _viri_dirty(seed, codes[n:])
        built.add_bad(prepare=[Reason.UNPAIRED, Reason.TRUNCATED_IMAGE])
    archives = {f"{c}-{m}": f"VIRI-{c}-{m}.zip" for c in VIRI_CLASSES for m in ("Ir", "Vis")}
    built.files = _write_archives(out / "viri", pairs, rand(seed, "viri-order"), archives)
    return built


# --------------------------------------------------------------------------- NVIE

_NVIE_CLASSES = {"fear": "fear", "disgust": "disgust", "happy": "happiness"}
_NVIE_SPLIT = ("disgust", "happy")  # visible images split over '<class>1' and '<class>2' archives
_NVIE_ARCHIVES = {"disgust-Ir": "NVIE-disgust-Ir.zip", "disgust1-Vis": "NVIE-disgust1-Vis.zip",
                  "disgust2-Vis": "NVIE-disgust2-Vis.zip", "fear-Ir": "NVIE-fear-Ir.zip",
                  "fear-Vis": "NVIE-fear-Vis.zip", "happy-Ir": "NVIE-happy-Ir.zip",
                  "happy1-Vis": "NVIE-happy1-Vis.7z", "happy2-Vis": "NVIE-happy2-Vis.zip"}
_NVIE_SUBJECTS_PER_CLASS = 3


def _nvie_pair(cls: str, subject: int, take: int, part: int, code: int, seed: int,
               rnd: random.Random) -> _Pair:
    # `S<nnn>_<class>_<take>` is UNVERIFIED (NVIE file naming is not published; `S\d+` is a guess):
    # it lets tests run sources.nvie.subject_pattern both on and off.
    stem = f"S{subject:03d}_{cls}_{take:02d}"
    ir_name = f"{stem}_ir.JPG" if rnd.random() < 0.4 else f"{stem}.JPG"
    vis_key = f"{cls}{part}-Vis" if cls in _NVIE_SPLIT else f"{cls}-Vis"
    return _draw_pair(_NVIE_CLASSES[cls], cls, code, seed_int(seed, f"nvie:{stem}"),
                      vis=(vis_key, f"{stem}.JPG"), ir=(f"{cls}-Ir", ir_name))


def _nvie_pairs(seed: int, codes: list[int]) -> list[_Pair]:
    rnd, pairs = rand(seed, "nvie"), []
    per_subject = _PAIRS_PER_CLASS // _NVIE_SUBJECTS_PER_CLASS
    for cls in _NVIE_CLASSES:
        subjects = sorted(rnd.sample(range(1, 40), _NVIE_SUBJECTS_PER_CLASS))
        for k, subject in enumerate(subjects):
            part = 1 if k < _NVIE_SUBJECTS_PER_CLASS - 1 else 2  # split by subject
            for take in range(1, per_subject + 1):
                pairs.append(_nvie_pair(cls, subject, take, part, codes[len(pairs)], seed, rnd))
    return pairs


def build_nvie(out: Path, seed: int, dirty: bool) -> Built:
    n = len(_NVIE_CLASSES) * _PAIRS_PER_CLASS
    codes = pair_codes(seed, "nvie", n + 1)
    pairs = _nvie_pairs(seed, codes)
    built = Built(files=[], items=len(pairs))
    if dirty:
        bad = _nvie_pair("fear", 77, 1, 1, codes[n], seed, rand(seed, "nvie-dirty"))
        pairs.append(bad.replace_vis(data=b""))  # zero-byte visible, IR intact
        built.add_bad(prepare=[Reason.EMPTY_FILE])
    built.files = _write_archives(out / "nvie", pairs, rand(seed, "nvie-order"), _NVIE_ARCHIVES)
    return built
