"""EmoNet-Big at its real size: `python -m benchmarks.scale --n 203201 --also 20000`.

Synthesizes N small face JPEGs in EmoNet-Big's WebDataset layout (what `curator samples` writes for
emonet_big, by the same writer code: `data/NNNNN.tar` shards of `<key>.jpg`, `<key>.json` with the
VLM's 40 ratings and reasons, `<key>.txt`), then runs the whole pipeline stage by stage as CLI
processes (`curator prepare emonet_big`, normalize, split, augment, publish) and records per stage
the wall time, the peak RSS (the largest process and the sampled sum of its process tree; the
larger counts) and the output's size. With `--also`, the same at a second N, to show whether memory
stays flat. Appends an entry with a projection to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from multiprocessing import Pool
from pathlib import Path

from benchmarks.measure import Process, run_command
from benchmarks.run import _entry, _fmt_bytes, _load, publish_entry
from curator.pipeline.stages import META_FOLDER, RECORD_STAGES, folder

SHARD = 1000  # samples per tar, as WebDataset shards of small images usually hold
RSS_LIMIT = 1.5 * 1000**3
GROWTH_LIMIT = 0.25  # "flat": peak RSS at the large N within 25% of the small N's


def _shard(args: tuple[Path, int, int, int, int]) -> int:
    """Write one tar of samples [first, first + count): the emonet_big sample kit's members and JSON."""
    from benchmarks.synth import face_jpeg
    from curator.record.taxonomy import taxonomy
    from curator.sources.emonet.samples import tar_bytes
    from curator.sources.emonet_big.samples import MODEL, answer

    root, index, first, count, size = args
    labels = list(taxonomy().fine)
    members: list[tuple[str, bytes]] = []
    for i in range(first, first + count):
        key, rnd, top = f"{i:06d}", random.Random(i), labels[i % len(labels)]
        data = {"key": ["flux_big_00", MODEL.replace("-", "."), f"{key}.jpg"], "predictions": answer(labels, top, rnd)}
        members += [(f"{key}.jpg", face_jpeg(i, size)), (f"{key}.json", json.dumps(data).encode()),
                    (f"{key}.txt", f"A synthetic portrait showing {top.lower()}.".encode())]
    path = root / "data" / f"{index:05d}.tar"
    path.write_bytes(tar_bytes(members))
    return path.stat().st_size


def _card(raw: Path) -> None:
    from curator.sources.emonet.samples import write_card
    from curator.sources.emonet_big.samples import BODY

    write_card(raw, "EmoNet-Face Big", BODY, "data/*.tar")


def synthesize(raw: Path, n: int, size: int, workers: int) -> int:
    """N samples in EmoNet-Big's WebDataset layout under raw/ (reused when complete); returns its bytes."""
    done = raw / ".complete"
    if done.is_file() and done.read_text() == f"{n} {size}":
        return sum(p.stat().st_size for p in raw.rglob("*.tar"))
    shutil.rmtree(raw, ignore_errors=True)
    (raw / "data").mkdir(parents=True)
    jobs = [(raw, k, first, min(SHARD, n - first), size) for k, first in enumerate(range(0, n, SHARD))]
    with Pool(max(1, workers)) as pool:  # curator is imported in the pool only: this process stays small
        pool.apply(_card, (raw,))
        total = sum(pool.imap_unordered(_shard, jobs))
    done.write_text(f"{n} {size}")
    return total


def _params(work: Path, workers: int, copies: int) -> Path:
    """The project's defaults with emonet_big alone enabled, and this run's workers and copies."""
    import yaml

    text = run_command([sys.executable, "-m", "curator.cli", "params"], work / "logs" / "params.log").stdout
    params = yaml.safe_load(text)
    params["sources"]["enabled"] = ["emonet_big"]
    params["prepare"]["workers"] = params["augment"]["workers"] = workers
    params["augment"]["copies"] = copies
    path = work / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _rows(output: Path) -> int:
    """Rows the stage kept, from its metrics.json (wherever the stage keeps it)."""
    for path in (output / "metrics.json", output / META_FOLDER / "metrics.json"):
        if path.is_file():
            metrics = json.loads(path.read_text())
            return int(metrics.get("augmented_rows") or metrics.get("kept") or 0)
    return 0


def run_pipeline(work: Path, raw: Path, params: Path) -> dict[str, dict[str, float]]:
    """Every stage as its own CLI process, in order; per stage its figures."""
    d = work / "stages"
    shutil.rmtree(d, ignore_errors=True)
    out = {name: folder(name, "emonet_big", data=d) for name in RECORD_STAGES}
    args = {
        "prepare": ["prepare", "emonet_big", "--raw", str(raw), "--out", str(out["prepare"])],
        "normalize": ["normalize", "--in", str(out["prepare"]), "--out", str(out["normalize"])],
        "split": ["split", "--in", str(out["normalize"]), "--out", str(out["split"])],
        "augment": ["augment", "--in", str(out["split"]), "--out", str(out["augment"])],
        "publish": ["publish", "--in", str(out["split"]), "--augmented", str(out["augment"]), "--out",
                    str(out["publish"])],
    }
    env = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(work / "hf")}
    figures: dict[str, dict[str, float]] = {}
    for stage in RECORD_STAGES:
        cmd = [sys.executable, "-m", "curator.cli", "--quiet", "--params", str(params), *args[stage]]
        done: Process = run_command(cmd, work / "logs" / f"{stage}.log", env, cwd=work)
        figures[stage] = {"wall": done.wall, "peak": done.peak, "bytes": _size(out[stage]), "rows": _rows(out[stage])}
        print(f"  {stage:<10} {done.wall:8.1f} s  peak {_fmt_bytes(done.peak):>9}  "
              f"out {figures[stage]['bytes'] / 1e6:8.1f} MB  rows {figures[stage]['rows']}", flush=True)
    return figures


def _stage_table(n: int, figures: dict[str, dict[str, float]]) -> list[str]:
    lines = ["| stage | wall s | input rec/s | peak RSS | output | rows out | s per 1k input records |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for stage in RECORD_STAGES:
        f = figures[stage]
        lines.append(f"| {stage} | {f['wall']:.1f} | {n / f['wall']:.0f} | {_fmt_bytes(int(f['peak']))} | "
                     f"{f['bytes'] / 1e6:.1f} MB | {int(f['rows'])} | {1000 * f['wall'] / n:.2f} |")
    total = sum(figures[s]["wall"] for s in RECORD_STAGES)
    lines.append(f"| **whole pipeline** | {total:.1f} | {n / total:.0f} | "
                 f"{_fmt_bytes(int(max(figures[s]['peak'] for s in RECORD_STAGES)))} | "
                 f"{figures['publish']['bytes'] / 1e6:.1f} MB | | {1000 * total / n:.2f} |")
    return lines


def _growth_table(small: int, large: int, runs: dict[int, dict[str, dict[str, float]]]) -> list[str]:
    lines = [f"| stage | peak RSS at {small} | peak RSS at {large} | growth | target | met |",
             "|---|---:|---:|---:|---|---|"]
    for stage in RECORD_STAGES:
        a, b = runs[small][stage]["peak"], runs[large][stage]["peak"]
        ok = b < RSS_LIMIT and b / a - 1 < GROWTH_LIMIT
        lines.append(f"| {stage} | {_fmt_bytes(int(a))} | {_fmt_bytes(int(b))} | {b / a - 1:+.0%} | "
                     f"< 1.5 GB, < +{GROWTH_LIMIT:.0%} | {'yes' if ok else '**no**'} |")
    return lines


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=203201, help="images (default 203,201: EmoNet-Big's card)")
    p.add_argument("--also", type=int, default=0, help="also run at this N first (e.g. 20000), to compare RSS")
    p.add_argument("--size", type=int, default=48, help="image side in px (default 48)")
    p.add_argument("--copies", type=int, default=1, help="augmented copies per train image (default 1)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--work", type=Path, required=True, help="scratch folder (several GB at 203k images)")
    p.add_argument("--no-record", dest="record", action="store_false", help="do not append to RESULTS.md")
    args = p.parse_args(argv)
    command = "python -m benchmarks.scale " + " ".join(argv if argv is not None else sys.argv[1:])
    load_before, start = _load(), time.perf_counter()
    args.work.mkdir(parents=True, exist_ok=True)
    runs: dict[int, dict[str, dict[str, float]]] = {}
    sections: list[str] = []
    for n in sorted({args.n, args.also} - {0}):
        work = args.work / f"n{n}"
        work.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        raw_bytes = synthesize(work / "raw", n, args.size, args.workers)
        print(f"{n} images of {args.size} px: {raw_bytes / 1e6:.0f} MB of tars "
              f"({time.perf_counter() - t0:.0f} s to synthesize)", flush=True)
        runs[n] = run_pipeline(work, work / "raw", _params(work, args.workers, args.copies))
        sections += [f"### EmoNet-Big layout, {n} images of {args.size} px ({raw_bytes / 1e6:.0f} MB of WebDataset "
                     f"tars), {args.workers} workers, {args.copies} augmented cop{'y' if args.copies == 1 else 'ies'} "
                     "per train image", "", *_stage_table(n, runs[n]), ""]
        shutil.rmtree(work / "stages", ignore_errors=True)  # the disk, before the next N
    if len(runs) == 2:
        small, large = sorted(runs)
        sections += [f"### Peak RSS from {small} to {large} images", "", *_growth_table(small, large, runs), ""]
    sections.append(f"Total benchmark time {time.perf_counter() - start:.0f} s; per-record costs above feed the "
                    "projection in the note below.")
    publish_entry(_entry(args, command, load_before, sections), args.record)


if __name__ == "__main__":
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    main()
