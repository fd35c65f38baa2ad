"""The fixed cost of a CLI call: `python -m benchmarks.clicost [--repeat 7]`.

A DVC pipeline over seven sources calls `curator` about 20 times, so what each call pays before it
does any work adds up. Times, as whole processes (median of --repeat rounds of one run per
command, after one warm-up round): the interpreter alone, `curator <stage> --help` for each stage,
and real stage calls on the 30-record VIRI sample (prepare, normalize, split, augment, publish),
which do almost no work.
CPU seconds (the process and its pool workers) are reported beside the wall time: they move less
with the machine's load. Bytecode is cached as in an installed package (the warm-up run writes it,
even if PYTHONDONTWRITEBYTECODE is set here: recompiling curator's modules added ~0.1 s per call).
Appends an entry to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.measure import run_command
from benchmarks.run import _entry, _load, publish_entry
from curator.pipeline.stages import RECORD_STAGES, folder

TARGET = 0.5  # seconds per call, the bound
HELP = RECORD_STAGES


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "curator.cli", "--quiet", *args]


def _calls(ws: Path) -> dict[str, list[str]]:
    out = {name: folder(name, "viri", data=ws / "data") for name in RECORD_STAGES}
    return {
        "prepare viri (30 records)": _cli("prepare", "viri", "--raw", str(ws / "raw" / "viri"), "--out",
                                          str(out["prepare"])),
        "normalize (30 records)": _cli("normalize", "--in", str(out["prepare"]), "--out", str(out["normalize"])),
        "split (30 records)": _cli("split", "--in", str(out["normalize"]), "--out", str(out["split"])),
        "augment (21 train records)": _cli("augment", "--in", str(out["split"]), "--out", str(out["augment"])),
        "publish (30 records + 42 copies)": _cli("publish", "--in", str(out["split"]), "--augmented",
                                                 str(out["augment"]), "--out", str(out["publish"])),
    }


Row = tuple[str, float, float, float, float, bool | None]


def measure(ws: Path, repeat: int) -> list[Row]:
    """(what, median s, min s, max s, median CPU s, within TARGET or None for the reference) per command."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # the children inherit it: cache bytecode as installs do
    run_command(_cli("samples", "--out", str(ws / "raw")), ws / "logs" / "samples.log", cwd=ws)
    commands: dict[str, tuple[list[str], bool]] = {"python -c pass (the interpreter alone)":
                                                   ([sys.executable, "-c", "pass"], False)}
    commands.update({f"curator {s} --help": (_cli(s, "--help"), True) for s in HELP})
    commands.update({f"curator {k}": (v, True) for k, v in _calls(ws).items()})
    times: dict[str, list[float]] = {what: [] for what in commands}
    cpus: dict[str, list[float]] = {what: [] for what in commands}
    # round robin (every command once per round, in pipeline order): a burst of load from elsewhere
    # on the machine slows one round of every command, not every run of one command
    for i in range(repeat + 1):  # the first round warms the page cache and is not counted
        for what, (cmd, _) in commands.items():
            done = run_command(cmd, ws / "logs" / "cmd.log", cwd=ws)
            if i:
                times[what].append(done.wall)
                cpus[what].append(done.cpu or 0.0)
    rows = []
    for what, (_, judged) in commands.items():
        t, median, cpu = times[what], statistics.median(times[what]), statistics.median(cpus[what])
        rows.append((what, median, min(t), max(t), cpu, median <= TARGET if judged else None))
        print(f"  {what:<45} median {median:.3f} s (min {min(t):.3f}, max {max(t):.3f}, CPU {cpu:.3f})", flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.clicost", description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=7, help="counted runs per command (default 7)")
    p.add_argument("--no-record", dest="record", action="store_false", help="do not append to RESULTS.md")
    args = p.parse_args(argv)
    command = "python -m benchmarks.clicost " + " ".join(argv if argv is not None else sys.argv[1:])
    load_before, start = _load(), time.perf_counter()
    ws = Path(tempfile.mkdtemp(prefix="curator-clicost-"))
    try:
        rows = measure(ws, max(1, args.repeat))
    finally:
        shutil.rmtree(ws, ignore_errors=True)
    lines = [f"### Fixed cost of a CLI call (whole processes, median of {args.repeat} runs)", "",
             "| command | median s | min s | max s | median CPU s | target | met |",
             "|---|---:|---:|---:|---:|---|---|"]
    for what, median, low, high, cpu, met in rows:
        verdict = "" if met is None else "yes" if met else "**no**"
        lines.append(f"| `{what}` | {median:.3f} | {low:.3f} | {high:.3f} | {cpu:.3f} "
                     f"| {'' if met is None else '<= 0.5'} | {verdict} |")
    lines += ["", f"Total benchmark time {time.perf_counter() - start:.0f} s."]
    publish_entry(_entry(args, command, load_before, lines), args.record)


if __name__ == "__main__":
    main()
