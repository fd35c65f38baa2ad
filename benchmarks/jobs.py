"""One measured job per process: `python -m benchmarks.jobs NAME '{json kwargs}'`.

Each job times only its own work (imports and interpreter start excluded) and prints one JSON line
{"records": n, "seconds": s}; the parent (benchmarks/measure.py) adds the process tree's peak RSS.
Baselines are the limits the issue names; stages are the real curator functions on a synthetic
source (VIRI's labels, so the shipped label map and recipe INFO apply).
"""

from __future__ import annotations

import importlib
import io
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from multiprocessing import Pool
from pathlib import Path
from typing import Any

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from benchmarks.synth import all_images

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "pipelines" / "augment" / "default.yaml"
SOURCE = "viri"  # the synthetic records borrow VIRI's identity: label map, licence, card text
JPEG_QUALITY = 90
SPLIT = {"ratios": {"train": 0.70, "validation": 0.15, "test": 0.15}, "seed": 20250523}


# ---------------------------------------------------------------- baselines (the limits)


def _chunked(items: list, workers: int) -> list[list]:
    """About 8 chunks per worker (at most 64 items): an even spread, few round trips."""
    size = max(1, min(64, len(items) // (8 * max(1, workers))))
    return [items[i:i + size] for i in range(0, len(items), size)]


def _parallel(fn: Callable[[list], int], items: list, workers: int) -> int:
    chunks = _chunked(items, workers)
    if workers <= 1:
        return sum(map(fn, chunks))
    with Pool(workers) as pool:
        return sum(pool.imap_unordered(fn, chunks))


def _decode_chunk(paths: list[Path]) -> int:
    from PIL import Image

    for path in paths:
        Image.open(io.BytesIO(path.read_bytes())).load()
    return len(paths)


def _decode_encode_chunk(paths: list[Path]) -> int:
    from PIL import Image

    for path in paths:
        img = Image.open(io.BytesIO(path.read_bytes()))
        img.save(io.BytesIO(), "JPEG", quality=JPEG_QUALITY)
    return len(paths)


def _spin_chunk(items: list[int]) -> int:
    total = 0
    for item in items:
        for i in range(20_000):  # ~1 ms of pure Python per item: no I/O, no shared memory traffic
            total += i ^ item
    return len(items)


def spin(items: int, workers: int) -> int:
    """Calibration: how much faster W processes are than one on this machine right now (its ceiling)."""
    return _parallel(_spin_chunk, list(range(items)), workers)


def decode(images: str, workers: int) -> int:
    """Bare PIL loop: read + full decode, nothing else."""
    return _parallel(_decode_chunk, all_images(Path(images)), workers)


def decode_encode(images: str, workers: int) -> int:
    """Bare PIL loop: read + decode + JPEG encode (what a re-encoding stage would cost)."""
    return _parallel(_decode_encode_chunk, all_images(Path(images)), workers)


_COMPOSES: dict[str, Any] = {}


def _albumentations_chunk(args: tuple[list[Path], int]) -> int:
    """The same policy file, composes built once, decode once per image, `copies` draws, same JPEG options."""
    import albumentations as A
    import cv2
    import numpy as np
    import yaml
    from PIL import Image

    paths, copies = args
    if not _COMPOSES:
        cv2.setNumThreads(1)  # as curator does: one process per core
        doc = yaml.safe_load(POLICY.read_text())
        _COMPOSES.update(geometric=A.from_dict(doc["geometric"]), photometric=A.from_dict(doc["photometric"]))
    for path in paths:
        pixels = np.array(Image.open(io.BytesIO(path.read_bytes())).convert("RGB"))
        for _ in range(copies):
            out = _COMPOSES["photometric"](image=_COMPOSES["geometric"](image=pixels)["image"])["image"]
            Image.fromarray(out).save(io.BytesIO(), "JPEG", quality=JPEG_QUALITY, subsampling="4:4:4")
    return len(paths)


def albumentations(images: str, workers: int, copies: int, limit: int | None = None) -> int:
    """Bare albumentations loop over the first `limit` images (the augment stage's train share)."""
    chunks = [(chunk, copies) for chunk in _chunked(all_images(Path(images))[:limit], workers)]
    if workers <= 1:
        return sum(map(_albumentations_chunk, chunks))
    with Pool(workers) as pool:
        return sum(pool.imap_unordered(_albumentations_chunk, chunks))


def naive_datasets(images: str, out: str, workers: int, copies: int, assignment: str, tuned: bool = False) -> int:
    """What a user would write with `datasets` to get curator's rows (benchmarks/equal.py checks them):
    imagefolder -> ids and embedded bytes -> one Parquet file per split -> `map` making `copies`
    augmented children of each train image (same policy) -> train_augmented.

    As a user writes it (`tuned` False), `map` gets the images decoded by `datasets` and returns
    PIL images, which `datasets` encodes (PNG: they come from arrays). `tuned` does what curator does
    instead: decodes the stored bytes itself and encodes JPEG with curator's options (quality 90,
    4:4:4), the same work as the bare albumentations loop plus `datasets`' bookkeeping.

    The split itself is not redone: `assignment` (id -> split, from curator's split output) stands for
    it, so that both pipelines publish the same ids per split (a user's `train_test_split` would give
    other ones, and no grouping by subject). Returns the rows written.
    """
    import albumentations as A
    import datasets
    import numpy as np
    import yaml
    from PIL import Image

    doc = yaml.safe_load(POLICY.read_text())
    geometric, photometric = A.from_dict(doc["geometric"]), A.from_dict(doc["photometric"])
    split_of: dict[str, str] = json.loads(Path(assignment).read_text())
    num_proc = workers if workers > 1 else None

    datasets.disable_progress_bars()
    ds = datasets.load_dataset("imagefolder", data_dir=images, split="train")
    names = ds.features["label"].names
    ds = ds.cast_column("image", datasets.Image(decode=False))

    def identify(batch: dict[str, list]) -> dict[str, list]:
        """curator's id (<source>/<label>/<stem>) and the file's bytes in the row, as curator stores them."""
        ids, cells = [], []
        for image, label in zip(batch["image"], batch["label"], strict=True):
            path = Path(image["path"])
            ids.append(f"{SOURCE}/{names[label]}/{path.stem}")
            cells.append({"bytes": image["bytes"] or path.read_bytes(), "path": path.name})
        return {"id": ids, "image": cells, "split": [split_of[i] for i in ids]}

    ds = ds.map(identify, batched=True, batch_size=256, num_proc=num_proc)

    def augment(batch: dict[str, list]) -> dict[str, list]:
        rows: dict[str, list] = {"id": [], "image": [], "label": [], "augmented_from": []}
        for rid, image, label in zip(batch["id"], batch["image"], batch["label"], strict=True):
            source = Image.open(io.BytesIO(image["bytes"])) if tuned else image  # else decoded by datasets
            pixels = np.array(source.convert("RGB"))
            for k in range(copies):
                augmented = Image.fromarray(photometric(image=geometric(image=pixels)["image"])["image"])
                if tuned:
                    buf = io.BytesIO()
                    augmented.save(buf, "JPEG", quality=JPEG_QUALITY, subsampling="4:4:4")
                    augmented = {"bytes": buf.getvalue(), "path": None}
                rows["id"].append(f"{rid}#aug{k}")
                rows["image"].append(augmented)  # untuned: a PIL image, which datasets encodes
                rows["label"].append(label)
                rows["augmented_from"].append(rid)
        return rows

    Path(out).mkdir(parents=True, exist_ok=True)
    written = 0
    for split in ("train", "validation", "test"):
        part = ds.filter(lambda b, s=split: [x == s for x in b["split"]], batched=True, batch_size=1024)
        part.remove_columns("split").to_parquet(str(Path(out) / f"{split}.parquet"))
        written += len(part)
        if split == "train":
            source = part if tuned else part.cast_column("image", datasets.Image())  # decode=True: PIL in map
            children = source.map(augment, batched=True, batch_size=64, num_proc=num_proc,
                                  remove_columns=part.column_names)
            children.to_parquet(str(Path(out) / "train_augmented.parquet"))
            written += len(children)
    return written


# ---------------------------------------------------------------- the curator stages


def _synthetic_prepare(raw: Path) -> Iterator[dict[str, Any]]:
    """A tiny recipe: one record per image file, subject folders as split groups.

    Names are listed as plain strings, one folder at a time (the order of `all_images`): a list of
    100k Path objects alone would add ~50 MB and show up as the stage's memory growth. Files are
    read through plain string paths too: this loop runs in the driver, beside the pool workers,
    and pathlib's overhead was half of its time.
    """
    from curator.record.record import empty_record

    for label in sorted(name for name in os.listdir(raw) if (raw / name).is_dir()):
        folder = os.path.join(raw, label)
        for name in sorted(n for n in os.listdir(folder) if n.endswith(".jpg")):
            stem = name[:-4]
            with open(os.path.join(folder, name), "rb") as fh:
                data = fh.read()
            rec = empty_record()
            rec.update(id=f"{SOURCE}/{label}/{stem}", source=SOURCE, group_id=f"{SOURCE}/{stem.split('_')[0]}",
                       license="synthetic", label_original=label, image={"bytes": data, "path": name})
            yield rec


def prepare(images: str, out: str, workers: int = 1, executor: str = "local") -> int:
    from curator.config import Prepare
    from curator.stages.prepare.stage import run_prepare

    conf = Prepare(workers=workers, executor=executor)
    return run_prepare(SOURCE, _synthetic_prepare, Path(images), Path(out), conf)["inputs"]


def normalize(prepared: str, out: str) -> int:
    from curator.stages.normalize.stage import run_normalize

    return run_normalize([Path(prepared)], Path(out))["inputs"]


def split(normalized: str, out: str) -> int:
    from curator.config import Ratios, Split
    from curator.stages.split.stage import run_split

    conf = Split(seed=SPLIT["seed"], ratios=Ratios(**SPLIT["ratios"]))
    return run_split(Path(normalized), Path(out), conf)["inputs"]


def augment(split_dir: str, out: str, workers: int, copies: int, executor: str = "local") -> int:
    from curator.config import Augment
    from curator.stages.augment.stage import run_augment

    conf = Augment(policy=str(POLICY), copies=copies, seed=0, workers=workers, jpeg_quality=JPEG_QUALITY,
                   executor=executor)
    return run_augment(Path(split_dir), Path(out), conf)["inputs"]


def publish(split_dir: str, augmented: str, out: str) -> int:
    from curator.stages.publish.stage import run_publish

    return run_publish(Path(split_dir), Path(out), augmented=Path(augmented))["inputs"]


JOBS: dict[str, Callable[..., int]] = {
    f.__name__: f for f in (spin, decode, decode_encode, albumentations, naive_datasets, prepare, normalize, split,
                            augment, publish)
}


# Imported before the clock starts (forked pool workers inherit them): a job times its work, not imports.
PRELOAD = {
    "spin": [], "decode": ["PIL.Image"], "decode_encode": ["PIL.Image"],
    "albumentations": ["albumentations", "cv2", "PIL.Image", "yaml"],
    "naive_datasets": ["albumentations", "datasets", "PIL.Image", "yaml"],
    "prepare": ["curator.stages.prepare.stage", "curator.record.schema"],
    "normalize": ["curator.stages.normalize.stage"],
    "split": ["curator.stages.split.stage"],
    "augment": ["curator.stages.augment.stage"],
    "publish": ["curator.stages.publish.stage"],
}


def _profiled(job: Callable[..., int], kwargs: dict[str, Any], out: Path) -> int:
    """Run the job under pyinstrument (pip install pyinstrument) if present, else cProfile."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        import cProfile
        import pstats

        with cProfile.Profile() as cprof:
            records = job(**kwargs)
        with open(out, "w") as fh:
            pstats.Stats(cprof, stream=fh).sort_stats("cumulative").print_stats(40)
        return records
    with Profiler(interval=0.002) as prof:
        records = job(**kwargs)
    out.write_text(prof.output_text(unicode=False, color=False))
    return records


def main() -> None:
    name, kwargs = sys.argv[1], json.loads(sys.argv[2])
    for module in PRELOAD[name]:
        importlib.import_module(module)
    profile = kwargs.pop("profile", None)
    start = time.perf_counter()
    records = _profiled(JOBS[name], kwargs, Path(profile)) if profile else JOBS[name](**kwargs)
    seconds = time.perf_counter() - start
    print(json.dumps({"records": records, "seconds": seconds}))


if __name__ == "__main__":
    main()
