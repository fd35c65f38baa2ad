"""No traceback from any CLI input: hypothesis mutates params.yaml (wrong types, nulls, missing and
unknown keys, broken YAML) and, separately, the paths given to every command, each example on a
fresh copy of the small workspace.

Every run must end one of three ways: exit 0 with an output whose accounting balances, exit 1 with
one `error:` line (never "internal error", the CLI's line for a bug), or exit 2 with click's usage
message. The CLI's entry point (`curator.cli.main`, what the `curator` command runs) is called in
this process: an example then costs its stage's work, not an interpreter start, so each CI run can
afford FUZZ_EXAMPLES examples per test. They are derandomized, so CI runs the same ones every
time; CURATOR_FUZZ_EXAMPLES=N and CURATOR_FUZZ_RANDOM=1 hunt further. No shrinking: a failure
prints its example as drawn.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from curator.config import render_defaults
from curator.pipeline.stages import RECORD_STAGES
from tests.robustness import workspace
from tests.robustness.helpers import assert_accounting

FUZZ_EXAMPLES = int(os.environ.get("CURATOR_FUZZ_EXAMPLES", "100"))
FUZZ_RANDOM = os.environ.get("CURATOR_FUZZ_RANDOM") == "1"
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=not FUZZ_RANDOM, database=None,
                phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))

PUBLISHED = workspace.PUBLISHED
PATHS = ["data", "data/prepared", "data/prepared/viri", "data/normalized", "data/split", "data/split/train",
         "data/augmented", PUBLISHED, "empty", "nowhere", "params.yaml", ".", "samples/viri", "fresh",
         "fresh/deeper", "../outside"]
VALUES = [None, "", "x", "../up", -1, 0, 1, 2.7, 1e308, True, [], {}, ["viri"], ["viri", "viri"], ["nope"],
          "kaggle_physio", 10**30, 2**63, -0.5, "[", "(?P<x", "*", "1e308", {"nested": 1}]
STAGES = RECORD_STAGES


# --- the CLI, in process ----------------------------------------------------------------------


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


@contextlib.contextmanager
def _isolated(cwd: Path) -> Iterator[None]:
    """What main() changes for its process, put back: the folder, argv, signal handlers, log handlers."""
    saved = (Path.cwd(), sys.argv, {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)},
             logging.getLogger("curator").handlers[:], sys.excepthook)
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved[0])
        sys.argv = saved[1]
        for signum, handler in saved[2].items():
            signal.signal(signum, handler)
        logging.getLogger("curator").handlers[:] = saved[3]
        sys.excepthook = saved[4]


def run_main(args: list[str], cwd: Path) -> Ran:
    from curator.cli import main

    out, err = io.StringIO(), io.StringIO()
    with _isolated(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        sys.argv = ["curator", *args]
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return Ran(code, out.getvalue(), err.getvalue())


def check_outcome(ran: Ran, ws: Path, args: list[str], out: str | None) -> None:
    text = ran.stdout + ran.stderr
    assert "Traceback" not in text and "internal error" not in text, text
    lines = ran.stderr.strip().splitlines()
    if ran.returncode == 1:
        errors = [line for line in lines if line.startswith("error:")]
        assert len(errors) == 1 and lines[-1] == errors[0], ran.stderr
    elif ran.returncode == 2:
        assert "Usage:" in ran.stderr, ran.stderr
    else:
        assert ran.returncode == 0, text
        if out is not None and args[0] in STAGES:
            assert_accounting(ws / out / (".curator" if args[0] == "publish" else ""))


def fuzz_run(base: Path, params: str | None, args: list[str], out: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="fuzz-") as scratch:
        ws = workspace.copy(base, Path(scratch) / "ws")
        (ws / "empty").mkdir()
        if params is not None:
            (ws / "params.yaml").write_text(params)
        ran = run_main(args, ws)
        event(f"{args[0]}: exit {ran.returncode}")  # --hypothesis-show-statistics: what the runs covered
        check_outcome(ran, ws, args, out)


# --- params.yaml --------------------------------------------------------------------------------


def base_params() -> dict[str, Any]:
    """Every knob at its default, with the workspace's own choices on top: many keys to mutate."""
    params = yaml.safe_load(render_defaults())
    for section, values in workspace.PARAMS.items():
        params[section] = {**params[section], **values}
    return params


def _keys(tree: Any, prefix: tuple = ()) -> list[tuple]:
    if not isinstance(tree, dict):
        return [prefix]
    return [prefix] * bool(prefix) + [k for name, sub in tree.items() for k in _keys(sub, (*prefix, name))]


KEYS = _keys(base_params())


def _apply(params: dict[str, Any], path: tuple, action: str, value: Any) -> None:
    parent = params
    for part in path[:-1]:
        if not isinstance(parent.get(part), dict):
            return  # an earlier mutation replaced this branch
        parent = parent[part]
    if action == "delete":
        parent.pop(path[-1], None)
    elif action == "unknown":
        parent[f"{path[-1]}_typo"] = value
    else:
        parent[path[-1]] = value


EXTREMES = [  # valid values at the edges: the stages must cope, not just the config
    (("split", "ratios"), {"train": 1.0, "validation": 0.0, "test": 0.0}),
    (("split", "ratios"), {"train": 0.0, "validation": 0.0, "test": 1.0}),
    (("dedup", "max_distance"), 64), (("dedup", "drop_within_split"), True),
    (("augment", "copies"), 0), (("augment", "jpeg_quality"), 1), (("publish", "shard_max_bytes"), 1),
    (("prepare", "max_image_pixels"), 1), (("publish", "include"), ["viri"]), (("sources", "enabled"), ["viri"]),
]


@st.composite
def params_text(draw: st.DrawFn) -> str:
    params = copy.deepcopy(base_params())
    for path, value in draw(st.lists(st.sampled_from(EXTREMES), max_size=3)):
        _apply(params, path, "set", value)
    for _ in range(draw(st.integers(0, 3))):
        _apply(params, draw(st.sampled_from(KEYS)), draw(st.sampled_from(["set", "set", "delete", "unknown"])),
               draw(st.sampled_from(VALUES)))
    text = yaml.safe_dump(params, sort_keys=False)
    if draw(st.integers(0, 7)) == 0:  # now and then, broken YAML
        lines = text.splitlines()
        at = draw(st.integers(0, len(lines) - 1))
        lines[at] += draw(st.sampled_from([": [", " {", "\t- x", ": : :", " ]", " 'open"]))
        text = "\n".join(lines) + "\n"
    return text


WITH_DEFAULT_PATHS = [  # (args, the output it writes)
    (["params", "--check"], None),
    (["prepare", "viri", "--raw", "samples/viri", "--workers", "1"], "data/prepared/viri"),
    (["prepare", "kaggle_physio", "--raw", "samples/kaggle_physio"], "data/prepared/kaggle_physio"),
    (["normalize"], "data/normalized"),
    (["split"], "data/split"),
    (["augment", "--workers", "1"], "data/augmented"),
    (["publish", "--augmented", "data/augmented"], PUBLISHED),
    (["download", "viri", "--from", "samples/viri", "--out", "fresh"], None),
]


@FUZZ
@given(params=params_text(), cmd=st.sampled_from(WITH_DEFAULT_PATHS))
def test_no_params_file_gives_a_traceback(pipeline_ws: Path, params: str, cmd: tuple[list[str], str | None]) -> None:
    fuzz_run(pipeline_ws, params, *cmd)


# --- paths ----------------------------------------------------------------------------------------


def _opt(flag: str) -> st.SearchStrategy[list[str]]:
    return st.one_of(st.just([]), st.sampled_from(PATHS).map(lambda p: [flag, p]))


COMMANDS = {  # command -> (its arguments, the output it writes by default)
    "prepare": (st.tuples(st.sampled_from([["prepare", "viri"], ["prepare", "kaggle_physio"]]),
                          _opt("--raw"), _opt("--out"), _opt("--metrics")), "data/prepared/{source}"),
    "normalize": (st.tuples(st.just(["normalize"]), _opt("--in"), _opt("--in"), _opt("--out"), _opt("--metrics")),
                  "data/normalized"),
    "split": (st.tuples(st.just(["split"]), _opt("--in"), _opt("--out"), _opt("--metrics")), "data/split"),
    "augment": (st.tuples(st.just(["augment"]), _opt("--in"), _opt("--out"), _opt("--metrics")), "data/augmented"),
    "publish": (st.tuples(st.just(["publish"]), _opt("--in"), _opt("--augmented"), _opt("--out"),
                          _opt("--metrics")), PUBLISHED),
    "validate": (st.tuples(st.just(["validate"]), st.sampled_from(PATHS).map(lambda p: [p])), None),
    "download": (st.tuples(st.sampled_from([["download", "viri"], ["download", "kaggle_physio"]]),
                           st.sampled_from(PATHS).map(lambda p: ["--from", p]), _opt("--out")), None),
    "report": (st.tuples(st.just(["report"]), _opt("--in"), _opt("--data"), _opt("--out")), None),
    "inspect": (st.tuples(st.sampled_from([["inspect", s] for s in ("viri", "kaggle_physio", "emer", "emonet_hq")]),
                          st.sampled_from(PATHS).map(lambda p: [p])), None),
}


@st.composite
def command(draw: st.DrawFn) -> tuple[list[str], str | None]:
    name = draw(st.sampled_from(list(COMMANDS)))
    parts, default_out = COMMANDS[name]
    args = [a for part in draw(parts) for a in part]
    out = args[args.index("--out") + 1] if "--out" in args else default_out
    if out and "{source}" in out:
        out = out.format(source=args[1])
    return args, out


@FUZZ
@given(cmd=command())
def test_no_paths_give_a_traceback(pipeline_ws: Path, cmd: tuple[list[str], str | None]) -> None:
    fuzz_run(pipeline_ws, None, *cmd)


def test_a_bug_is_one_internal_error_line_and_v_shows_its_traceback(pipeline_ws: Path, tmp_path: Path,
                                                                       monkeypatch: Any) -> None:
    """What the fuzz refuses, made on purpose: an exception that is not a CuratorError."""
    import curator.stages.split.stage

    def broken(*args: Any, **kwargs: Any) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(curator.stages.split.stage, "run_split", broken)
    ws = workspace.copy(pipeline_ws, tmp_path / "ws")
    ran = run_main(["split"], ws)
    assert ran.returncode == 1 and "Traceback" not in ran.stderr
    assert ran.stderr.strip().splitlines()[-1].startswith(
        "error: internal error (a bug in curator; please report it): ZeroDivisionError: division by zero at ")
    try:
        verbose = run_main(["-v", "split"], ws)
    except ZeroDivisionError:
        verbose = None
    assert verbose is None  # with -v the exception (and so its traceback) goes through
