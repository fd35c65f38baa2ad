"""prepare against the bare full-decode loop, whole processes, alternating (issue 20's first target).

`python -m benchmarks.versus --n 10000 --sizes 384,224 --rounds 5`: synthetic faces of each size,
then `rounds` rounds of the bare 2-worker decode loop and `curator prepare` on the same images,
each a whole process (interpreter, imports and pool start included), A B A B... so that a burst
of load elsewhere slows one round of both rather than every run of one. It reports the medians of
wall and CPU seconds and the pair-by-pair ratio (bare wall / prepare wall: ≥ 1.0 means prepare is
at least as fast), and appends an entry to RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.measure import Process, run_command
from benchmarks.run import _entry, _load, publish_entry
from benchmarks.synth import generate


def _job(name: str, log: Path, **kwargs: object) -> Process:
    return run_command([sys.executable, "-m", "benchmarks.jobs", name, json.dumps(kwargs)], log)


def compare(work: Path, size: int, n: int, workers: int, rounds: int) -> list[str]:
    images = work / f"images{size}"
    info = generate(images, n, size, workers)
    out, logs = work / f"prepared{size}", work / "logs"
    pairs: list[tuple[Process, Process]] = []
    for index in range(rounds + 1):  # the first round warms the page cache and bytecode: not counted
        shutil.rmtree(out, ignore_errors=True)
        bare = _job("decode", logs / f"decode{size}.log", images=str(images), workers=workers)
        prep = _job("prepare", logs / f"prepare{size}.log", images=str(images), out=str(out), workers=workers)
        print(f"  {size}px round {index}: bare {bare.wall:.2f} s, prepare {prep.wall:.2f} s", flush=True)
        if index:
            pairs.append((bare, prep))
    med = statistics.median
    ratio = med(b.wall / p.wall for b, p in pairs)
    cpu = med((p.cpu or 0) / (b.cpu or 1) for b, p in pairs)
    bare_wall, bare_cpu = med(b.wall for b, _ in pairs), med(b.cpu or 0 for b, _ in pairs)
    prep_wall, prep_cpu = med(p.wall for _, p in pairs), med(p.cpu or 0 for _, p in pairs)
    return [f"### {size} px: {n} images (mean {info['mean_bytes'] / 1000:.1f} kB), {workers} workers, "
            f"{rounds} rounds", "",
            "| whole process | wall s (median) | CPU s (median) |", "|---|---:|---:|",
            f"| bare full-decode loop | {bare_wall:.2f} | {bare_cpu:.2f} |",
            f"| curator prepare | {prep_wall:.2f} | {prep_cpu:.2f} |",
            "",
            f"prepare / bare loop, pair by pair (median): speed **{ratio:.2f}×** (target ≥ 1.0: "
            f"{'met' if ratio >= 1.0 else '**not met**'}), CPU {cpu:.2f}×.", ""]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.versus", description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=10000, help="images per size (default 10000)")
    p.add_argument("--sizes", default="384,224", help="image sizes in px, comma-separated")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--rounds", type=int, default=5, help="counted rounds after one warm-up round")
    p.add_argument("--work", type=Path, help="keep images here (default: a temp dir, removed)")
    p.add_argument("--no-record", dest="record", action="store_false", help="do not append to RESULTS.md")
    args = p.parse_args(argv)
    command = "python -m benchmarks.versus " + " ".join(argv if argv is not None else sys.argv[1:])
    load_before, start = _load(), time.perf_counter()
    work = args.work or Path(tempfile.mkdtemp(prefix="curator-versus-"))
    try:
        sections = [line for size in (int(s) for s in args.sizes.split(",") if s)
                    for line in compare(work, size, args.n, args.workers, args.rounds)]
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    sections.append(f"Total benchmark time {time.perf_counter() - start:.0f} s.")
    publish_entry(_entry(args, command.strip(), load_before, sections), args.record)


if __name__ == "__main__":
    main()
