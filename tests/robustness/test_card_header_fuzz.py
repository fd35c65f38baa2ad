"""Hand-edited card headers through `curator validate`: never an internal error (issue 27).

A person edits the YAML block of a published README.md: a value of the wrong type anywhere in
`configs`, `data_files`, `dataset_info` or its `features`, a key deleted, a value nested thousands
deep, bytes that are not UTF-8, an alias bomb. Whatever the edit, `python -m curator.cli validate`
either passes (exit 0) or fails the way a user is told: exit 1, one `problem:` line per problem and one
`error:` line, never a traceback nor an internal error. Bounded and derandomized: the same examples on
every run.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import run_cli

DEEP = "@@deep@@"  # stands for a value nested `depth` deep, spliced in as YAML flow text

# where a hand edit lands: a key path into the header (ints index lists)
PLACES = [
    ("configs",), ("configs", 0), ("configs", 0, "config_name"), ("configs", 0, "data_files"),
    ("configs", 0, "data_files", 0), ("configs", 0, "data_files", 0, "split"), ("configs", 0, "data_files", 0, "path"),
    ("configs", 1, "data_files", 1, "path", 0), ("configs", 0, "columns"), ("dataset_info",), ("dataset_info", 0),
    ("dataset_info", 0, "config_name"), ("dataset_info", 0, "features"), ("dataset_info", 0, "features", 0),
    ("dataset_info", 0, "features", 0, "dtype"), ("dataset_info", 1, "features", 3, "dtype", "class_label"),
    ("dataset_info", 0, "splits"), ("dataset_info", 0, "splits", 0, "num_examples"), ("license",),
]

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
                    st.sampled_from(["", "..", "/etc/*", "**", "../../*", "data/*/*/train-*.parquet", DEEP]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=8)
edits = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(PLACES), values),
    st.tuples(st.just("delete"), st.sampled_from(PLACES), st.none()),
    st.tuples(st.just("bytes"), st.integers(0, 10_000), st.binary(min_size=1, max_size=4).map(lambda b: b"\xff" + b)),
)


@pytest.fixture(scope="module")
def folder(sample_build, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("fuzz") / "pub"
    shutil.copytree(sample_build["pub"], target)
    return target


def _apply(meta: Any, place: tuple, value: Any, delete: bool) -> None:
    """Set (or delete) `place` in the parsed header; a place the header does not have is left alone."""
    *parents, last = place
    for key in parents:
        try:
            meta = meta[key]
        except (KeyError, IndexError, TypeError):
            return
    try:
        if delete:
            del meta[last]
        else:
            meta[last] = value
    except (KeyError, IndexError, TypeError):
        return


def _hand_edited(card: str, edit: tuple, depth: int) -> bytes:
    _, header, body = card.split("---\n", 2)
    kind, where, value = edit
    if kind == "bytes":
        raw = header.encode()
        at = where % len(raw)
        return b"---\n" + raw[:at] + value + raw[at:] + b"---\n" + body.encode()
    meta = yaml.safe_load(header)
    _apply(meta, where, value, kind == "delete")
    text = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=10**6)
    text = text.replace(DEEP, "[" * depth + "]" * depth)  # deeper than any dumper would write
    return f"---\n{text}---\n{body}".encode()


@settings(max_examples=15, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(edit=edits, depth=st.sampled_from([3, 200, 5000, 200_000]))
@example(edit=("set", ("configs", 0, "data_files"), DEEP), depth=200_000)
@example(edit=("set", ("dataset_info", 0, "features"), [DEEP]), depth=5000)
@example(edit=("bytes", 40, b"\xff\xfe"), depth=3)
@example(edit=("set", ("configs", 0, "data_files", 0, "path"), ["../../*", "/etc/*", 5]), depth=3)
def test_a_hand_edited_card_header_never_makes_an_internal_error(folder, edit, depth):
    card = folder / "README.md"
    original = card.read_bytes()
    try:
        card.write_bytes(_hand_edited(original.decode(), edit, depth))
        proc = run_cli("validate", str(folder), check=False)
    finally:
        card.write_bytes(original)
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    if proc.returncode == 0:
        assert proc.stdout.strip().endswith("valid")
        return
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and all(line.startswith("problem: ") for line in lines[:-1]), lines


ALIAS_BOMB = "\n".join(["a: &a [x, x, x, x, x, x, x, x, x, x]"] + [
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]"
    for i in range(8)])


@pytest.mark.parametrize("header, expected", [
    (ALIAS_BOMB, "aliases expand to more than"),
    ("configs: []\nconfigs: []", "key 'configs' is given twice"),
    ("configs: " + "[" * 100_000 + "]" * 100_000, "card header does not parse"),
])
def test_a_hostile_header_is_one_line(folder, header, expected):
    card = folder / "README.md"
    original = card.read_bytes()
    try:
        card.write_text(f"---\n{header}\n---\n# card\n")
        proc = run_cli("validate", str(folder), check=False)
    finally:
        card.write_bytes(original)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 2, proc.stderr[-2000:]
    assert lines[0].startswith("problem: card header does not parse: ") and expected in lines[0], lines
