"""The benchmark: `python -m benchmarks.run [--n N] [--workers W] [--sizes 224,512] [--ray] [--no-dvc]`.

Generates N synthetic face JPEGs per size in a temp dir, then measures in one run, with the same
worker count: the limits (bare PIL decode, decode + JPEG encode, bare albumentations with the same
policy), every curator stage (throughput and peak RSS, one process each), the naive `datasets`
pipeline, and a no-op `dvc repro` against the full one. Prints ratios (absolute times on a shared
machine mean little) and appends a dated entry to benchmarks/RESULTS.md.

`--rss-scale 10000,100000 [--rss-size 64]` instead runs the stages at each N and compares peak RSS.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from benchmarks.dvc_noop import DvcTiming, measure_dvc
from benchmarks.equal import compare, describe, write_assignment
from benchmarks.measure import Result, run_job
from benchmarks.synth import generate

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HF_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
GB = 1000**3
RSS_LIMIT = 1.5 * GB
COPIES = 2


@dataclass
class Row:
    what: str
    result: Result | None
    ratio: float | None = None
    against: str = ""
    target: str = ""
    met: bool | None = None


def _fmt_bytes(n: int | None) -> str:
    return "-" if not n else f"{n / 2**20:.0f} MiB"


def _target(ratio: float, at_least: float) -> bool:
    return ratio >= at_least


class SizeRun:
    """Every measurement at one image size, in a fixed order, each in its own process."""

    def __init__(self, work: Path, size: int, n: int, workers: int, *, ray: bool = False, profile: bool = False,
                 repeat: int = 1):
        self.work, self.size, self.n, self.workers, self.ray, self.profile = work, size, n, workers, ray, profile
        self.repeat = max(1, repeat)
        self.images = work / f"images{size}"
        self.results: dict[str, Result] = {}

    def job(self, key: str, name: str, **kwargs: object) -> Result:
        """Run a job `repeat` times (the naive pipeline once: minutes long, noise averages out); keep the
        fastest run, which is the one least disturbed by other load, and the highest peak RSS."""
        if self.profile and key in ("prepare", "normalize", "split", "publish", "augment_1"):
            kwargs["profile"] = str(self.work / "profiles" / f"{key}_{self.size}.txt")
            (self.work / "profiles").mkdir(exist_ok=True)
        log = self.work / "logs" / f"{key}_{self.size}.log"
        runs = [run_job(name, log, env={**HF_ENV, "HF_HOME": str(self.work / "hf")}, **kwargs)
                for _ in range(1 if name == "naive_datasets" else self.repeat)]
        result = min(runs, key=lambda r: r.seconds)
        result.max_rss = max(r.max_rss for r in runs)
        result.tree_rss = max((r.tree_rss or 0 for r in runs), default=0) or None
        self.results[key] = result
        print(f"  {self.size}px {key:<22} {result.records:>7} rec {result.seconds:8.2f} s "
              f"{result.rate:9.1f} rec/s  peak {_fmt_bytes(result.peak)}", flush=True)
        return result

    def run(self) -> dict[str, float]:
        info = generate(self.images, self.n, self.size, self.workers)
        d, w, img = self.work / f"stages{self.size}", self.workers, str(self.images)
        shutil.rmtree(d, ignore_errors=True)
        self.job("spin_1", "spin", items=1000, workers=1)
        self.job("spin", "spin", items=1000, workers=w)
        self.job("decode_1", "decode", images=img, workers=1)
        self.job("decode", "decode", images=img, workers=w)
        self.job("decode_encode", "decode_encode", images=img, workers=w)
        self.job("prepare", "prepare", images=img, out=str(d / "prepared"), workers=w)
        self.job("normalize", "normalize", prepared=str(d / "prepared"), out=str(d / "normalized"))
        self.job("split", "split", normalized=str(d / "normalized"), out=str(d / "split"))
        aug = self.job("augment", "augment", split_dir=str(d / "split"), out=str(d / "augmented"), workers=w,
                       copies=COPIES)
        self.job("augment_1", "augment", split_dir=str(d / "split"), out=str(d / "augmented_1"), workers=1,
                 copies=COPIES)
        if self.ray:
            self.job("augment_ray", "augment", split_dir=str(d / "split"), out=str(d / "augmented_ray"), workers=w,
                     copies=COPIES, executor="ray")
        # the same number of images the augment stage saw (its train share)
        self.job("albumentations", "albumentations", images=img, workers=w, copies=COPIES, limit=aug.records)
        self.job("albumentations_1", "albumentations", images=img, workers=1, copies=COPIES, limit=aug.records)
        self.job("publish", "publish", split_dir=str(d / "split"), augmented=str(d / "augmented"),
                 out=str(d / "publish"))
        assignment = d / "assignment.json"  # curator's split, given to the naive pipeline (benchmarks/equal.py)
        write_assignment(d / "split", assignment)
        self.job("naive", "naive_datasets", images=img, out=str(d / "naive"), workers=w, copies=COPIES,
                 assignment=str(assignment))
        self.job("tuned", "naive_datasets", images=img, out=str(d / "tuned"), workers=w, copies=COPIES,
                 assignment=str(assignment), tuned=True)
        info["equal"] = compare(d / "publish", d / "naive")
        info["equal_tuned"] = compare(d / "publish", d / "tuned")
        print(f"  {self.size}px naive: {describe(info['equal'])}", flush=True)
        print(f"  {self.size}px tuned: {describe(info['equal_tuned'])}", flush=True)
        if self.ray:
            same = _same_shards(d / "augmented", d / "augmented_ray")
            print(f"  {self.size}px ray output byte-identical to the process pool: {same}")
            info["ray_identical"] = same
        return info

    def rows(self) -> list[Row]:
        r, w = self.results, self.workers
        decode, albu = r["decode"], r["albumentations"]
        spin = r["spin"].rate / r["spin_1"].rate
        rows = [Row(f"machine ceiling: pure-Python loop, {w} processes / 1", r["spin"], spin, "same loop, 1 process",
                    f"(caps every {w}w/1w ratio)"),
                Row("bare decode, 1 worker", r["decode_1"]),
                Row(f"bare decode, {w} workers (limit A)", decode),
                Row(f"bare decode + JPEG encode, {w} workers", r["decode_encode"],
                    r["decode_encode"].rate / decode.rate, "A")]
        for stage in ("prepare", "normalize", "split", "publish"):
            ratio = r[stage].rate / decode.rate
            rows.append(Row(f"curator {stage}", r[stage], ratio, "A", ">= 0.8", _target(ratio, 0.8)))
        # the measure: each command timed as a whole process (interpreter, imports, pool start)
        ratio = decode.wall / r["prepare"].wall
        whole = Result("prepare, whole process", r["prepare"].records, r["prepare"].wall, r["prepare"].wall,
                       r["prepare"].max_rss, r["prepare"].tree_rss)
        rows.append(Row("curator prepare, whole process", whole, ratio, "A, whole process", ">= 1.0",
                        _target(ratio, 1.0)))
        rows.append(Row(f"bare albumentations, {w} workers (limit B)", albu))
        rows.append(Row("bare albumentations, 1 worker", r["albumentations_1"], r["albumentations_1"].rate / albu.rate,
                        "B"))
        ratio = r["augment"].rate / albu.rate
        rows.append(Row(f"curator augment, {w} workers", r["augment"], ratio, "B", ">= 0.8", _target(ratio, 0.8)))
        ratio = r["augment"].rate / r["augment_1"].rate
        rows.append(Row("curator augment, 1 worker", r["augment_1"], ratio, f"augment {w}w / 1w", ">= 1.7",
                        _target(ratio, 1.7)))
        if "augment_ray" in r:
            rows.append(Row(f"curator augment, Ray Data (local instance), {w} CPUs", r["augment_ray"],
                            r["augment_ray"].rate / r["augment"].rate, "augment pool"))
        curator = sum(r[s].seconds for s in ("prepare", "normalize", "split", "augment", "publish"))
        naive = r["naive"]
        whole = Result("pipeline", naive.records, curator, curator, max(r[s].max_rss for s in
                       ("prepare", "normalize", "split", "augment", "publish")), None)
        ratio = naive.seconds / curator
        rows.append(Row("naive datasets pipeline, equal output (imagefolder, map, to_parquet)", naive))
        rows.append(Row("curator pipeline, prepare..publish", whole, ratio, "naive time / curator time", ">= 5",
                        _target(ratio, 5)))
        stages = ("prepare", "normalize", "split", "augment", "publish")
        walls = sum(r[s].wall for s in stages)
        whole = Result("pipeline", naive.records, walls, walls, whole.max_rss, None)
        ratio = naive.wall / walls
        rows.append(Row("curator pipeline, 5 whole processes", whole, ratio, "naive process / curator processes",
                        ">= 5", _target(ratio, 5)))
        tuned = r["tuned"]
        rows.append(Row("tuned datasets pipeline, equal output (JPEG by hand, originals never decoded)", tuned,
                        tuned.seconds / curator, "tuned time / curator time"))
        return rows


def _same_shards(a: Path, b: Path) -> bool:
    # no curator import here: this process stays small, see measure.py on maxrss
    pa, pb = sorted(a.rglob("*.parquet")), sorted(b.rglob("*.parquet"))
    return len(pa) == len(pb) > 0 and all(x.read_bytes() == y.read_bytes() for x, y in zip(pa, pb, strict=True))


def _table(rows: list[Row]) -> list[str]:
    lines = ["| measurement | records | rec/s | ratio | vs | target | met | peak RSS |",
             "|---|---:|---:|---:|---|---|---|---:|"]
    for row in rows:
        res = row.result
        rss_ok = res is None or res.peak < RSS_LIMIT
        met = "" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(
            f"| {row.what} | {res.records if res else ''} | {res.rate:.1f} | "
            f"{'' if row.ratio is None else f'{row.ratio:.2f}'} | {row.against} | {row.target} | {met} | "
            f"{_fmt_bytes(res.peak)}{'' if rss_ok else ' **over 1.5 GB**'} |"
        )
    return lines


def _versions() -> str:
    names = ("emotion-curator", "pillow", "albumentations", "opencv-python-headless", "pyarrow", "datasets", "dvc",
             "ray")
    found = []
    for name in names:
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            continue
    return ", ".join(found)


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    mem = ""
    try:
        kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} CPUs ({cpu}){mem}, Python {platform.python_version()}"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _entry(args: argparse.Namespace, command: str, load_before: str, sections: list[str]) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    head = [f"## {stamp}", "", f"- command: `{command}`", f"- machine: {_machine()}",
            f"- load average (1/5/15 min) before: {load_before}; after: {_load()}",
            f"- versions: {_versions()}", ""]
    return "\n".join(head + sections) + "\n"


def main_benchmark(args: argparse.Namespace, work: Path) -> list[str]:
    sections: list[str] = []
    for size in [] if args.dvc_only else args.sizes:
        print(f"{size} px: {args.n} images, {args.workers} workers", flush=True)
        run = SizeRun(work, size, args.n, args.workers, ray=args.ray, profile=args.profile, repeat=args.repeat)
        info = run.run()
        sections += [f"### {size} px: {args.n} images (mean {info['mean_bytes'] / 1000:.1f} kB), "
                     f"{args.workers} workers, {COPIES} augmented copies per train image", "",
                     *_table(run.rows()), ""]
        if "ray_identical" in info:
            sections += [f"Ray output byte-identical to the process pool's: {info['ray_identical']}", ""]
        sections += [f"Naive pipeline: {describe(info['equal'])}.", "",
                     f"Tuned pipeline: {describe(info['equal_tuned'])}.", ""]
    if args.dvc:
        size = args.sizes[0]
        print(f"dvc: full and no-op repro on {args.n} images of {size} px", flush=True)
        generate(work / f"images{size}", args.n, size, args.workers)
        timing = measure_dvc(work / "dvc", work / f"images{size}", args.workers)
        sections += _dvc_section(timing, size, args.n)
    return sections


def _dvc_section(t: DvcTiming, size: int, n: int) -> list[str]:
    ratio = t.noop / t.full
    met = "yes" if ratio <= 0.02 else "**no**"
    return [f"### No-op `dvc repro` ({n} images of {size} px, the bench pipeline prepare..publish)", "",
            "| run | seconds | share of the full run | target | met |", "|---|---:|---:|---|---|",
            f"| full `dvc repro` | {t.full:.1f} | 1.000 | | |",
            f"| `dvc status` (nothing changed) | {t.status:.2f} | {t.status / t.full:.3f} | | |",
            f"| no-op `dvc repro` | {t.noop:.2f} | {ratio:.3f} | <= 0.02 | {met} |", ""]


def rss_scale(args: argparse.Namespace, work: Path) -> list[str]:
    """Peak RSS of every stage at each N (smaller images: the point is per-record memory, not pixels)."""
    peaks: dict[int, dict[str, Result]] = {}
    for n in args.rss_scale:
        print(f"rss scale: {n} images of {args.rss_size} px", flush=True)
        run = SizeRun(work / f"scale{n}", args.rss_size, n, args.workers)
        run.work.mkdir(parents=True, exist_ok=True)
        generate(run.images, n, args.rss_size, args.workers)
        d, img = run.work / "stages", str(run.images)
        run.job("prepare", "prepare", images=img, out=str(d / "prepared"), workers=args.workers)
        run.job("normalize", "normalize", prepared=str(d / "prepared"), out=str(d / "normalized"))
        run.job("split", "split", normalized=str(d / "normalized"), out=str(d / "split"))
        run.job("augment", "augment", split_dir=str(d / "split"), out=str(d / "augmented"), workers=args.workers,
                copies=COPIES)
        run.job("publish", "publish", split_dir=str(d / "split"), augmented=str(d / "augmented"),
                out=str(d / "publish"))
        peaks[n] = run.results
        shutil.rmtree(run.work, ignore_errors=True)  # 100k images: free the disk before the next N
    small, large = min(peaks), max(peaks)
    lines = [f"### Peak RSS from {small} to {large} images ({args.rss_size} px, {args.workers} workers)", "",
             f"| stage | peak RSS at {small} | peak RSS at {large} | growth | target | met | rec/s at {large} |",
             "|---|---:|---:|---:|---|---|---:|"]
    for stage in ("prepare", "normalize", "split", "augment", "publish"):
        a, b = peaks[small][stage].peak, peaks[large][stage].peak
        growth = b / a - 1
        ok = growth < 0.25 and b < RSS_LIMIT
        lines.append(f"| {stage} | {_fmt_bytes(a)} | {_fmt_bytes(b)} | {growth:+.0%} | < +25%, < 1.5 GB | "
                     f"{'yes' if ok else '**no**'} | {peaks[large][stage].rate:.0f} |")
    return [*lines, ""]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=150, help="images per size (default 150: about 2 minutes on 2 cores)")
    p.add_argument("--repeat", type=int, default=1, help="runs per measurement; the fastest counts (default 1)")
    p.add_argument("--workers", type=int, default=2, help="worker processes for every parallel measurement")
    p.add_argument("--sizes", default="224,512", help="image sizes in px, comma-separated")
    p.add_argument("--ray", action="store_true", help="also run augment on a local Ray instance (pip install ray)")
    p.add_argument("--no-dvc", dest="dvc", action="store_false", help="skip the no-op dvc repro measurement")
    p.add_argument("--dvc-only", action="store_true", help="only the no-op dvc repro measurement (first size)")
    p.add_argument("--profile", action="store_true", help="profile the single-process stages (pyinstrument/cProfile)")
    p.add_argument("--rss-scale", default="", help="instead: peak RSS of each stage at these N, e.g. 10000,100000")
    p.add_argument("--rss-size", type=int, default=64, help="image size for --rss-scale (default 64 px)")
    p.add_argument("--work", type=Path, help="keep images and outputs here (default: a temp dir, removed)")
    p.add_argument("--no-record", dest="record", action="store_false", help="do not append to benchmarks/RESULTS.md")
    args = p.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    args.rss_scale = [int(s) for s in args.rss_scale.split(",") if s]
    if args.rss_scale and len(args.rss_scale) < 2:
        p.error("--rss-scale needs at least two sizes, e.g. 10000,100000")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    command = "python -m benchmarks.run " + " ".join(argv if argv is not None else sys.argv[1:])
    load_before, start = _load(), time.perf_counter()
    work = args.work or Path(tempfile.mkdtemp(prefix="curator-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        sections = rss_scale(args, work) if args.rss_scale else main_benchmark(args, work)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    sections.append(f"Total benchmark time {time.perf_counter() - start:.0f} s.")
    publish_entry(_entry(args, command.strip(), load_before, sections), args.record)


def publish_entry(entry: str, record: bool) -> None:
    """Print a dated entry and, unless --no-record, append it to RESULTS.md (every benchmark module)."""
    print("\n" + entry)
    if record:
        if not RESULTS.exists():
            RESULTS.write_text("# Benchmark results\n\nAppended by `python -m benchmarks.run`; newest last.\n\n")
        with RESULTS.open("a") as fh:
            fh.write("\n" + entry)
        print(f"appended to {RESULTS}")


if __name__ == "__main__":
    main()
