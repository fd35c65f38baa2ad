"""emonet_big samples: the Big repo in each layout the recipe reads; WebDataset is the default.

WebDataset by default: the Hub viewer's "Auto-converted to Parquet" says the repo is not natively
Parquet, and LAION's notebook writes `<image>.json` beside each image, a WebDataset sample once tarred
(README.md gives the evidence).

- "webdataset": `data/00000.tar`, `data/00001.tar`; per image `<key>.jpg`, `<key>.json` (the notebook's
  `{"key": [folder, model, file], "predictions": ...}`) and `<key>.txt` (the prompt).
- "parquet": `data/train-*.parquet`: image, prompt, demographics (struct), annotations (JSON text of
  the bare answer, extra dimensions as plain numbers: the older sample format).
- "imagefolder": `data/train/<key>.jpg` + `data/train/metadata.jsonl` (file_name, prompt,
  demographics, annotations in the notebook docstring's `[{"model", "predictions"}]` list; one
  image rated by two models).
- "answer_tree": what LAION's notebook itself writes: PNG images under
  `images/stance-detection-part-10/` and, mirroring them, `json/stance-detection-part-10/<key>.json`
  (`{"key": [folder, "claude.3.7.sonnet.latest", "<key>.png"], "predictions": ...}`, indent 2).
- "side_by_side": the same files after its `sync_folders`: `<key>.png` + `<key>.json` in one folder.
Every answer rates all 40 emotions (at most 5 non-zero) with reasoning, and the 4 extra
dimensions. Dirty: an image that is not one, and a top-rated name outside the taxonomy.
"""

from __future__ import annotations

import io
import json
import random
from functools import partial
from pathlib import Path
from typing import Any

from PIL import Image

from curator.reasons import Reason
from curator.sources.emonet.samples import halves, image_cell, tar_bytes, write_card, write_parquet_repo
from curator.sources.emonet_big import HUB
from curator.testing.samples.built import Built, Served
from curator.testing.samples.portraits import Portraits
from curator.testing.samples.seeds import rand
from curator.testing.samples.writers import png, write_bytes

HUB_REPO = HUB.repo  # the demo serves out/emonet_big/ (data/ + README.md) as this repo on the Hub stand-in
IMAGES = 30
LAYOUTS = ("webdataset", "parquet", "imagefolder", "answer_tree", "side_by_side")
NOTEBOOK_FOLDER = "stance-detection-part-10"  # the input folder LAION's notebook names in its sync_folders call
NOTEBOOK_MODEL = "claude-3-7-sonnet-latest"  # its MODEL_NAME; the key spells it with '.' for '-'
MODEL = "gemini-2.5-flash"  # the notebook's MODEL_NAME is not in the evidence; any name does
SECOND_MODEL = "qwen-vl-max"
BODY = "VLM weak labels: 40 emotions with reasoning, and 4 extra dimensions, per image."


def answer(labels: list[str], top: str, rnd: random.Random, extra: str | None = None, plain: bool = False) -> dict:
    """One VLM answer: all 40 names rated (at most 5 non-zero), with reasoning; `extra` outranks them all."""
    others = rnd.sample([n for n in labels if n != top], 4)
    ratings = {n: rnd.randint(5, 7) if n == top else rnd.randint(1, 4) if n in others else 0 for n in labels}
    if extra:
        ratings = {n: min(v, 3) for n, v in ratings.items()} | {extra: 7}
    dims = {"Arousal": rnd.randint(0, 7), "Valence": rnd.randint(-3, 3), "Dominance": rnd.randint(-3, 3),
            "Emotional Vulnerability": rnd.randint(0, 5)}
    if plain:
        return {"emotions": {n: {"rating": v, "reasoning": f"Cues rated {v}/7."} for n, v in ratings.items()},
                "extra_dimensions": dims}
    return {"emotions": {n: {"rating": v, "reasoning": f"Facial cues rated {v}/7 for {n.lower()}."}
                         for n, v in ratings.items()},
            "extra_dimensions": {k: {"rating": v, "reasoning": f"{k} judged {v}."} for k, v in dims.items()}}


def _models(i: int) -> list[str]:
    return [MODEL, SECOND_MODEL] if i == 3 else [MODEL]  # one image rated by two models


def _portrait(art: Portraits, i: int, rnd: random.Random, bad: bytes | None) -> tuple[str, Any]:
    p = art.draw(f"big:{i}", rnd, bad)
    return f"{i:06d}", p


def _items(dirty: bool) -> list[tuple[int, bytes | None, str | None]]:
    """(index, replacement bytes, extra name) per image; dirty adds a non-image and an unknown top name."""
    items: list[tuple[int, bytes | None, str | None]] = [(i, None, None) for i in range(IMAGES)]
    if dirty:
        items += [(IMAGES, b"this is not an image", None), (IMAGES + 1, None, "Boredom")]
    return items


def _webdataset(root: Path, seed: int, dirty: bool) -> list[Path]:
    art, rnd = Portraits(seed), rand(seed, "emonet_big")
    members: list[tuple[str, bytes]] = []
    for i, bad, extra in _items(dirty):
        key, p = _portrait(art, i, rnd, bad)
        data = {"key": ["flux_big_00", MODEL.replace("-", "."), f"{key}.jpg"],
                "predictions": answer(art.labels, p.top, rnd, extra)}
        members += [(f"{key}.jpg", p.image), (f"{key}.json", json.dumps(data, ensure_ascii=False).encode()),
                    (f"{key}.txt", p.prompt.encode())]
    per_sample = 3
    split = (IMAGES // 2) * per_sample
    paths = [root / "data" / "00000.tar", root / "data" / "00001.tar"]
    for path, part in zip(paths, (members[:split], members[split:]), strict=True):
        write_bytes(path, tar_bytes(part))
    return [*paths, write_card(root, "EmoNet-Face Big", BODY, "data/*.tar")]


def _parquet(root: Path, seed: int, dirty: bool) -> list[Path]:
    import datasets

    art, rnd = Portraits(seed), rand(seed, "emonet_big")
    rows = []
    for i, bad, extra in _items(dirty):
        key, p = _portrait(art, i, rnd, bad)
        rows.append({"image": image_cell(p.image, f"{key}.jpg"), "prompt": p.prompt, "demographics": p.demographics,
                     "annotations": json.dumps(answer(art.labels, p.top, rnd, extra, plain=True))})
    text = datasets.Value("string")
    features = datasets.Features({"image": datasets.Image(), "prompt": text,
                                  "demographics": {k: text for k in ("ethnicity", "gender", "age")},
                                  "annotations": text})
    return write_parquet_repo(root, halves(rows), features, "EmoNet-Face Big", BODY)


def _imagefolder(root: Path, seed: int, dirty: bool) -> list[Path]:
    art, rnd = Portraits(seed), rand(seed, "emonet_big")
    folder, lines, paths = root / "data" / "train", [], []
    for i, bad, extra in _items(dirty):
        key, p = _portrait(art, i, rnd, bad)
        write_bytes(folder / f"{key}.jpg", p.image)
        paths.append(folder / f"{key}.jpg")
        lines.append(json.dumps({"file_name": f"{key}.jpg", "prompt": p.prompt, "demographics": p.demographics,
                                 "annotations": [{"model": m, "predictions": answer(art.labels, p.top, rnd, extra)}
                                                 for m in _models(i)]}))
    write_bytes(folder / "metadata.jsonl", "".join(ln + "\n" for ln in lines).encode())
    return [*paths, folder / "metadata.jsonl", write_card(root, "EmoNet-Face Big", BODY, "data/train/**")]


def _notebook(root: Path, seed: int, dirty: bool, side_by_side: bool) -> list[Path]:
    """LAION's notebook output: `<key>.png` and its `<key>.json` answer, mirrored or side by side."""
    art, rnd = Portraits(seed), rand(seed, "emonet_big")
    images = root / (NOTEBOOK_FOLDER if side_by_side else f"images/{NOTEBOOK_FOLDER}")
    answers = root / (NOTEBOOK_FOLDER if side_by_side else f"json/{NOTEBOOK_FOLDER}")
    paths = []
    for i, bad, extra in _items(dirty):
        key, p = _portrait(art, i, rnd, bad)
        doc = {"key": [NOTEBOOK_FOLDER, NOTEBOOK_MODEL.replace("-", "."), f"{key}.png"],
               "predictions": answer(art.labels, p.top, rnd, extra)}
        data = p.image if bad else png(Image.open(io.BytesIO(p.image)))
        write_bytes(images / f"{key}.png", data)
        write_bytes(answers / f"{key}.json", json.dumps(doc, indent=2, ensure_ascii=False).encode())
        paths += [images / f"{key}.png", answers / f"{key}.json"]
    return paths


def build(out: Path, seed: int, dirty: bool, layout: str = "webdataset") -> Built:
    writer = {"webdataset": _webdataset, "parquet": _parquet, "imagefolder": _imagefolder,
              "answer_tree": partial(_notebook, side_by_side=False),
              "side_by_side": partial(_notebook, side_by_side=True)}[layout]
    built = Built(files=writer(out / "emonet_big", seed, dirty), items=IMAGES)
    if dirty:
        built.add_bad(prepare=[Reason.NOT_AN_IMAGE], normalize=[Reason.UNKNOWN_LABEL])
    return built


def demo_params(served: Served) -> dict:
    """params.yaml sources.emonet_big pointing at the Hub stand-in."""
    return {"repo": HUB_REPO, "revision": served.hub_sha(HUB_REPO)}
