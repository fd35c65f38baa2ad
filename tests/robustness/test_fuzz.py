"""No traceback from any CLI input: hypothesis mutates params.yaml (types, nulls, missing keys,
unknown keys, YAML syntax) and the paths given to every stage, on a copy of the small workspace.

Every run must end one of three ways: exit 0 with an output whose accounting balances, exit 1 with
one `error:` line (and no "internal error"), or exit 2 with click's usage message. Bounded for CI:
FUZZ_EXAMPLES runs (40; set CURATOR_FUZZ_EXAMPLES for more), derandomized so that CI runs the same
examples every time (CURATOR_FUZZ_RANDOM=1 draws new ones), and without shrinking (each example is a
CLI run of a few seconds).
"""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from curator.config import render_defaults
from tests.conftest import run_cli
from tests.robustness import workspace
from tests.robustness.helpers import assert_accounting, assert_one_line_error

FUZZ_EXAMPLES = int(os.environ.get("CURATOR_FUZZ_EXAMPLES", "40"))
FUZZ_RANDOM = os.environ.get("CURATOR_FUZZ_RANDOM") == "1"  # new examples each run (local bug hunts)
PUBLISHED = f"data/publish/{workspace.NAME}"
PATHS = ["data/prepared/viri", "data/prepared", "data", "data/normalized", "data/split", "data/split/train",
         "data/augmented", PUBLISHED, "nowhere", "params.yaml", ".", "samples/viri", "empty", "fresh", "fresh/deeper",
         "data/split/new", "../outside"]
VALUES = [None, "", "x", "../up", -1, 0, 1, 2.7, 1e308, -1e308, True, [], {}, ["viri"], ["viri", "viri"],
          ["nope"], "kaggle_physio", 10**30, {"nested": 1}]


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


@st.composite
def params_text(draw: st.DrawFn) -> str:
    params = copy.deepcopy(base_params())
    for _ in range(draw(st.sampled_from([0, 0, 1, 2, 3]))):  # valid params now and then: the paths get their turn
        _apply(params, draw(st.sampled_from(KEYS)), draw(st.sampled_from(["set", "set", "delete", "unknown"])),
               draw(st.sampled_from(VALUES)))
    text = yaml.safe_dump(params, sort_keys=False)
    if draw(st.integers(0, 9)) == 0:  # now and then, broken YAML
        lines = text.splitlines()
        at = draw(st.integers(0, len(lines) - 1))
        lines[at] = lines[at] + draw(st.sampled_from([": [", " {", "\t- x", ": : :", " ]"]))
        text = "\n".join(lines) + "\n"
    return text


def _opt(flag: str) -> st.SearchStrategy[list[str]]:
    return st.one_of(st.just([]), st.sampled_from(PATHS).map(lambda p: [flag, p]))


COMMANDS = {  # command -> (its arguments, the output it writes by default)
    "prepare": (st.tuples(st.sampled_from([["prepare", "viri"], ["prepare", "kaggle_physio"]]),
                          _opt("--raw"), _opt("--out"), _opt("--metrics")), "data/prepared/{source}"),
    "normalize": (st.tuples(st.just(["normalize"]), _opt("--in"), _opt("--in"), _opt("--out")), "data/normalized"),
    "split": (st.tuples(st.just(["split"]), _opt("--in"), _opt("--out"), _opt("--metrics")), "data/split"),
    "augment": (st.tuples(st.just(["augment"]), _opt("--in"), _opt("--out")), "data/augmented"),
    "publish": (st.tuples(st.just(["publish"]), _opt("--in"), _opt("--augmented"), _opt("--out")), PUBLISHED),
    "validate": (st.tuples(st.just(["validate"]), st.sampled_from(PATHS).map(lambda p: [p])), None),
    "download": (st.tuples(st.sampled_from([["download", "viri"], ["download", "kaggle_physio"]]),
                           st.sampled_from(PATHS).map(lambda p: ["--from", p]), _opt("--out")), None),
    "params": (st.just((["params", "--check"],)), None),
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


def check_outcome(proc: Any, ws: Path, args: list[str], out: str | None) -> None:
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text, text
    assert "internal error" not in text, text
    if proc.returncode == 1:
        assert_one_line_error(proc)
    elif proc.returncode == 2:
        assert "Usage:" in proc.stderr, proc.stderr
    else:
        assert proc.returncode == 0, text
        if out is not None and args[0] in ("prepare", "normalize", "split", "augment", "publish"):
            folder = ws / out
            assert_accounting(folder / ".curator" if args[0] == "publish" else folder)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=not FUZZ_RANDOM, database=None,
          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
@given(params=params_text(), cmd=command())
def test_no_cli_input_gives_a_traceback(pipeline_ws: Path, params: str, cmd: tuple[list[str], str | None]) -> None:
    args, out = cmd
    with tempfile.TemporaryDirectory(prefix="fuzz-") as scratch:
        ws = workspace.copy(pipeline_ws, Path(scratch) / "ws")
        (ws / "empty").mkdir()
        (ws / "params.yaml").write_text(params)
        proc = run_cli(*args, cwd=ws, check=False, timeout=300)
        event(f"{args[0]}: exit {proc.returncode}")  # --hypothesis-show-statistics: what the runs covered
        check_outcome(proc, ws, args, out)

