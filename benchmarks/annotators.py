"""Aggregating binary.csv's votes: `python -m benchmarks.annotators [--csv PATH] [--rounds 3] [--no-record]`.

Times, in this process (median of --rounds, after crowd-kit is imported once: its ~1.5 s import is a
separate line), the emonet_binary labels from all of binary.csv's votes (65,686 on the real file,
LAION-AI/emonet-face data/binary.csv, from the data folder beside the checkout) with Dawid-Skene and
with majority vote: reading excluded,
dedupe + aggregation + every image's decision included. Without the real file, planted votes of the
same size (19,999 images) stand in. CPU seconds beside the wall time move less with the machine's
load. Prints the ratio Dawid-Skene / majority and appends an entry to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from benchmarks.run import _entry, _load, publish_entry
from curator.sources.emonet_binary import read_votes
from curator.sources.emonet_binary.labels import label_votes
from curator.testing.planted_votes import plant

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "sources" / "emonet-face" / "binary.csv"
TARGET = 30.0  # seconds for the whole file: "seconds, not minutes"


def _time(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", type=Path, default=REAL, help="a binary.csv (default: the real one beside the checkout)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-record", action="store_true", help="print only, do not append to RESULTS.md")
    args = ap.parse_args(argv)
    load = _load()
    if args.csv.is_file():
        votes, bad = read_votes(args.csv)
        what = f"{args.csv.name}: {sum(map(len, votes.values())):,} votes, {len(votes):,} images " \
               f"({len(bad)} unreadable)"
    else:
        votes = plant(19_999, 0).votes
        what = f"planted votes (no {args.csv}): {sum(map(len, votes.values())):,} votes, {len(votes):,} images"
    imported = _time(lambda: __import__("crowdkit.aggregation"))
    times = {m: [_time(lambda m=m: label_votes(votes, m)) for _ in range(args.rounds)]
             for m in ("majority", "dawid_skene")}
    med = {m: (statistics.median(w for w, _ in t), statistics.median(c for _, c in t)) for m, t in times.items()}
    ratio = med["dawid_skene"][0] / med["majority"][0]
    met = "met" if med["dawid_skene"][0] <= TARGET else "**not met**"
    rows = [f"| first crowd-kit import | {imported[0]:.2f} | {imported[1]:.2f} |",
            *(f"| {m} | {w:.2f} | {c:.2f} |" for m, (w, c) in med.items())]
    section = [f"### emonet_binary labels: {what}, {args.rounds} rounds", "",
               "| aggregation (dedupe + fit + decisions) | wall s (median) | CPU s (median) |", "|---|---:|---:|",
               *rows,
               "", f"Dawid-Skene / majority: **{ratio:.1f}×** the time; Dawid-Skene on the whole file "
               f"{med['dawid_skene'][0]:.1f} s (target ≤ {TARGET:.0f} s: {met})."]
    command = "python -m benchmarks.annotators " + " ".join(sys.argv[1:] if argv is None else argv)
    publish_entry(_entry(args, command.strip(), load, section), not args.no_record)


if __name__ == "__main__":
    main()
