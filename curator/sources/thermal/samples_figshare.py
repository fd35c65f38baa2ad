"""VIRI in the authors' training layout, zipped as one `Dataset.zip` (what figshare serves).

Reproduces what the authors' notebooks (their Code.zip) read and write: `tran_val_test/{Visible,IR}/
{train,val,test}/<Class>/`, their augmented copies in `{Vis,IR,MSX}/train_aug_images/<Class>/`, the
MSX view, and what a working folder holds beside the data: `{Vis,IR}/models/*.pt` weights, plot JPGs
in `Vis/models/`, `{Vis,IR}/results/<name>_conf_norm.png` (same name in both) and another project's
`VIRI-new-paper/Vis-IR/weights/` plots. Invented (UNVERIFIED): the top folder, file names, which
files are `.JPG` or `.jpg`, what MSX and the plots look like. See curator/sources/thermal/README.md.

Written to `<out>/viri-figshare/` (not the `viri/` source folder the demo downloads and tests
prepare whole: one folder must hold one layout), with `expected.json` saying what prepare makes of it.
"""

from __future__ import annotations

import io
import json
import random
from collections import Counter
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageOps

from curator.reasons import Reason
from curator.sources.thermal.samples import VIRI_CLASSES, pair_codes, shuffled_members
from curator.testing.samples.faces import draw_face
from curator.testing.samples.seeds import rand, seed_int
from curator.testing.samples.writers import jpeg, png, write_bytes, zip_bytes

FOLDER = "viri-figshare"
ARCHIVE = "Dataset.zip"
ROOT = "Single-modal- VIRI"  # the authors' folder in Code.zip's paths (sic, with its space)
SPLIT_SIZES = {"train": 2, "val": 1, "test": 1}  # pairs per class and split
TRANSFORMS = ("rotation", "zoom", "distortion", "shear", "hflip")
COPIES_PER_ORIGINAL = 2  # of the authors' 25 transformed copies, to keep the sample small


def _resaved(data: bytes) -> bytes:
    """What the notebooks' `image.save(save_name)` writes: RGB, PIL's default JPEG quality."""
    buf = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(buf, format="JPEG")
    return buf.getvalue()


def _transformed(data: bytes, transform: str, rnd: random.Random) -> bytes:
    """A stand-in for the torchvision transform the authors applied (same kind, own parameters)."""
    img = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = img.size
    if transform == "rotation":
        img = img.rotate(rnd.uniform(-20, 20))
    elif transform == "zoom":  # RandomZoomOut(fill=123, side_range=(1, 1.5))
        canvas = Image.new("RGB", (int(w * rnd.uniform(1, 1.5)), int(h * rnd.uniform(1, 1.5))), (123, 123, 123))
        canvas.paste(img, (rnd.randrange(canvas.width - w + 1), rnd.randrange(canvas.height - h + 1)))
        img = canvas
    elif transform == "distortion":
        img = img.transform((w, h), Image.Transform.QUAD, [rnd.uniform(0, w / 4) for _ in range(8)])
    elif transform == "shear":
        img = img.transform((w, h), Image.Transform.AFFINE, (1, rnd.uniform(-0.2, 0.2), 0, 0, 1, 0))
    else:
        img = ImageOps.mirror(img)
    buf = io.BytesIO()
    img.save(buf, format="JPEG")
    return buf.getvalue()


def _msx(vis: Image.Image, ir: Image.Image) -> bytes:
    return jpeg(Image.blend(ir.convert("RGB"), vis.filter(ImageFilter.FIND_EDGES), 0.35))


def _originals(seed: int) -> list[tuple[str, str, str, Image.Image, Image.Image]]:
    """(class, split, stem, visible, IR) for every pair, in class and split order."""
    n = len(VIRI_CLASSES) * sum(SPLIT_SIZES.values())
    codes, out = pair_codes(seed, "viri-figshare", n), []
    for cls, expression in VIRI_CLASSES.items():
        for split, count in SPLIT_SIZES.items():
            for _ in range(count):
                stem = f"IMG_{1001 + len(out)}"
                vis, ir = (draw_face(expression, modality=m, pair_code=codes[len(out)], caption=cls,
                                     seed=seed_int(seed, f"viri-figshare:{stem}")) for m in ("visible", "ir"))
                out.append((cls, split, stem, vis, ir))
    return out


def _members(seed: int) -> tuple[list[tuple[str, bytes]], Counter[str]]:
    """Every file of the tree (path under ROOT, bytes) and what prepare must count."""
    rnd, files, counts = rand(seed, "viri-figshare"), [], Counter()
    originals = _originals(seed)
    per_class = len(originals) // len(VIRI_CLASSES)
    # both cases surely present, the rest at random (most .JPG, as the authors' code globs)
    exts = [".JPG", ".jpg"] + [rnd.choice([".JPG", ".JPG", ".jpg"]) for _ in range(2 * len(originals) - 2)]
    msx_at = {cls: rnd.randrange(per_class) for cls in VIRI_CLASSES}  # one MSX image per class
    for i, (cls, split, stem, vis, ir) in enumerate(originals):
        vis_bytes, ir_bytes = jpeg(vis), jpeg(ir)
        files += [(f"tran_val_test/Visible/{split}/{cls}/{stem}{exts[2 * i]}", vis_bytes),
                  (f"tran_val_test/IR/{split}/{cls}/{stem}{exts[2 * i + 1]}", ir_bytes)]
        counts["records"] += 1
        counts[f"official_split:{split}"] += 1
        if i % per_class == 0:  # the class's first train original: its copies (and once, the MSX view's)
            views = [("Vis", vis_bytes), ("IR", ir_bytes)] + ([("MSX", _msx(vis, ir))] if cls == "Sad" else [])
            for view, data in views:
                files += _copies(f"{view}/train_aug_images/{cls}", stem, data, rnd)
                counts[Reason.SOURCE_AUGMENTED_COPY.value] += 1 + COPIES_PER_ORIGINAL
        if i % per_class == msx_at[cls]:
            files.append((f"tran_val_test/MSX/{split}/{cls}/{stem}.JPG", _msx(vis, ir)))
            counts[Reason.UNSUPPORTED_MODALITY.value] += 1
    working = _working_files(rnd)
    counts[Reason.WORKING_FILE.value] += len(working)
    return files + working, counts


def _plot(title: str, rnd: random.Random) -> Image.Image:
    """A training curve or a confusion matrix as matplotlib would draw one: never a face."""
    img = Image.new("RGB", (160, 120), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    if "conf" in title:
        for i in range(5):
            for j in range(5):
                shade = 255 - int(230 * (0.8 if i == j else rnd.uniform(0, 0.2)))
                draw.rectangle((20 + 24 * j, 4 + 22 * i, 43 + 24 * j, 25 + 22 * i), fill=(shade, shade, 255))
    else:
        points = [(10 + 14 * k, int(100 - 80 * (1 - 0.8 ** k) + rnd.uniform(-4, 4))) for k in range(11)]
        draw.line(points, fill=(31, 119, 180), width=2)
    draw.text((4, 108), title, fill=(0, 0, 0))
    return img


def _weights(name: str) -> bytes:
    """A PyTorch checkpoint's shape: a zip of `<name>/data.pkl` and tensor storages (not a real model)."""
    return zip_bytes([(f"{name}/data.pkl", b"\x80\x02}q\x00."), (f"{name}/data/0", bytes(64)),
                      (f"{name}/version", b"3\n")])


def _working_files(rnd: random.Random) -> list[tuple[str, bytes]]:
    """What the authors' notebooks write beside the data, named as they name it (Code.zip: vis-code.ipynb,
    ir-code.ipynb, vis-ir-code.py): none of it is a sample (working_file)."""
    model, both = "resnet18withattention", "combined-vis-ir-attention"
    plots = [(f"Vis/models/{model}_{n}.jpg", jpeg(_plot(n, rnd))) for n in ("losses", "accuracy")]
    matrices = [(f"{view}/results/{model}_test_conf_norm.png", png(_plot("conf_norm", rnd))) for view in ("Vis", "IR")]
    weights = [(f"{view}/models/{model}_last_weights.pt", _weights(f"{model}_last_weights")) for view in ("Vis", "IR")]
    other = [(f"VIRI-new-paper/Vis-IR/weights/{both}_{n}.jpg", jpeg(_plot(n, rnd))) for n in ("losses", "accuracy")]
    return plots + matrices + weights + other


def _copies(folder: str, stem: str, data: bytes, rnd: random.Random) -> list[tuple[str, bytes]]:
    """`<stem>.JPG` (re-saved original) and a few `<stem>_<transform>_<k>.JPG`, as the notebooks name them."""
    picks = rnd.sample([(t, k) for t in TRANSFORMS for k in range(1, 6)], COPIES_PER_ORIGINAL)
    return [(f"{folder}/{stem}.JPG", _resaved(data)),
            *((f"{folder}/{stem}_{t}_{k}.JPG", _transformed(data, t, rnd)) for t, k in picks)]


def build_figshare(out: Path, seed: int) -> Path:
    """Write `<out>/viri-figshare/Dataset.zip` and its expected.json; returns the zip's path."""
    files, counts = _members(seed)
    members = [(f"{ROOT}/{name}", data) for name, data in files]
    folders = sorted({name.rsplit("/", i)[0] + "/" for name, _ in members for i in range(1, name.count("/") + 1)})
    path = out / FOLDER / ARCHIVE
    write_bytes(path, zip_bytes([*((d, b"") for d in folders), *shuffled_members(members, rand(seed, "fs-order"))]))
    excluded = {r: counts[r] for r in (Reason.SOURCE_AUGMENTED_COPY.value, Reason.UNSUPPORTED_MODALITY.value,
                                       Reason.WORKING_FILE.value)}
    expected = {"files": len(files), "records": counts["records"], "prepare_rejects": excluded,
                "official_split": {s: counts[f"official_split:{s}"] for s in SPLIT_SIZES}}
    write_bytes(out / FOLDER / "expected.json", (json.dumps(expected, indent=2, sort_keys=True) + "\n").encode())
    return path
