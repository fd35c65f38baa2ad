"""A stage's input is what its lineage.json says, and a hand-edited lineage.json is one line.

Through the real CLI on copies of the session's small workspace (tests/robustness/workspace.py):
- shards that disagree with the manifest (a split's test shards deleted, a shard copied in from
  another output, a same-named shard of another size, an emptied folder) are refused by the next
  stage, naming what differs; a manifest of the old format (no shard listing) asks for a re-run;
- a manifest with the wrong types, deep nesting, bytes that are not UTF-8 or of any size is one
  `error:` line (a `problem:` line in validate) wherever it is read: a stage's input, a stage's
  --out, report, validate, publish's card; and a hypothesis fuzz of mutated manifests (types, keys,
  nesting) before the next stage never gets an internal error;
- the messages say what is known: `normalize --in data/prepared` names the per-source folders in
  it; augmented rows beside another split never claim that split ran again.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.robustness import workspace
from tests.robustness.helpers import assert_one_line_error, outcome, parallel
from tests.robustness.test_fuzz import check_outcome, run_main
from tests.robustness.workspace import PUBLISHED, cli, state

# --- shards that disagree with the manifest ------------------------------------------------------


def _shards(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.parquet"))


def emptied(ws: Path) -> dict[str, Any]:
    """Every normalized shard deleted: split read "0 records" and exited 0."""
    for shard in _shards(ws / "data/normalized"):
        shard.unlink()
    before = state(ws / "data")
    return {"split": cli(ws, "split"), "unchanged": state(ws / "data") == before}


def no_test_split(ws: Path) -> dict[str, Any]:
    """The split's test shards deleted: publish made a build without a test split."""
    for shard in _shards(ws / "data/split/test"):
        shard.unlink()
    return {"publish": cli(ws, "publish", "--augmented", "data/augmented", "--out", "p2"),
            "augment": cli(ws, "augment", "--out", "a2"), "written": (ws / "p2").exists() or (ws / "a2").exists()}


def foreign_shard(ws: Path) -> dict[str, Any]:
    """A shard of another output copied in beside the split's own; a shard listed twice by hand."""
    shutil.copyfile(ws / "data/normalized/part-00000.parquet", ws / "data/split/train/part-00001.parquet")
    twice = shutil.copytree(ws / "data/normalized", ws / "twice")
    manifest = json.loads((twice / "lineage.json").read_text())
    manifest["shards"] *= 2
    (twice / "lineage.json").write_text(json.dumps(manifest))
    return {"publish": cli(ws, "publish", "--out", "p2"), "twice": cli(ws, "split", "--in", "twice", "--out", "s2")}


def replaced_shard(ws: Path) -> dict[str, Any]:
    """A same-named shard of another size (another build's, or another split's) in place of the split's own."""
    test, validation = ws / "data/split/test/part-00000.parquet", ws / "data/split/validation/part-00000.parquet"
    sizes = (test.stat().st_size, validation.stat().st_size)
    shutil.copyfile(validation, test)
    return {"sizes": sizes, "publish": cli(ws, "publish", "--out", "p2"), "augment": cli(ws, "augment", "--out", "a2")}


def old_format(ws: Path) -> dict[str, Any]:
    """A normalized folder whose manifest is of format 1 (no shard listing)."""
    path = ws / "data/normalized/lineage.json"
    manifest = json.loads(path.read_text())
    del manifest["shards"]
    path.write_text(json.dumps({**manifest, "format": 1}))
    return {"split": cli(ws, "split", "--out", "s2")}


def messages(ws: Path) -> dict[str, Any]:
    """`normalize --in data/prepared`, augmented rows published beside another split, a missing --in or --raw."""
    params = yaml.safe_load((ws / "params.yaml").read_text())
    params["split"] = {**params.get("split", {}), "seed": 7}
    (ws / "seed7.yaml").write_text(yaml.safe_dump(params))
    return {"normalize": cli(ws, "normalize", "--in", "data/prepared", "--out", "n2"),
            "split": cli(ws, "--params", "seed7.yaml", "split", "--out", "split7"),
            "publish": cli(ws, "publish", "--in", "split7", "--augmented", "data/augmented", "--out", "p7"),
            "missing_in": cli(ws, "augment", "--in", "nowhere"),
            "missing_raw": cli(ws, "prepare", "viri", "--raw", "nowhere")}


# --- hand-edited manifests, wherever one is read ------------------------------------------------

Edit = Callable[[dict[str, Any], bytes], bytes]


def _as(change: Callable[[dict[str, Any]], Any]) -> Edit:
    return lambda manifest, _raw: json.dumps(change(manifest)).encode()


EDITS: dict[str, tuple[Edit, str]] = {  # name -> (the edit, what the line says)
    "kind_a_list": (_as(lambda m: {**m, "kind": [m["kind"]]}), "`kind` is a list, not a string"),
    "kind_a_number": (_as(lambda m: {**m, "kind": 3}), "`kind` is a number, not a string"),
    "kind_missing": (_as(lambda m: {k: v for k, v in m.items() if k != "kind"}), "`kind` is missing"),
    "params_a_string": (_as(lambda m: {**m, "params": "split"}), "`params`: Input should be a valid dictionary"),
    "inputs_an_object": (_as(lambda m: {**m, "inputs": {"kind": "split"}}), "`inputs`: Input should be a valid list"),
    "inputs_holding_numbers": (_as(lambda m: {**m, "inputs": [1, 2]}), "`inputs[0]`"),
    "shards_holding_text": (_as(lambda m: {**m, "shards": [{"path": "x", "bytes": "9", "rows": 1}]}),
                            "`shards[0].bytes`: Input should be a valid integer"),
    "not_an_object": (_as(lambda m: [m]), "a JSON list, not an object"),
    "deep_nesting": (lambda m, _: json.dumps({**m, "params": "@"}).encode().replace(
        b'"@"', b"[" * 10_000 + b"]" * 10_000), "nested deeper than 32 levels"),
    "not_utf8": (lambda _, raw: raw.replace(b'"kind"', b'"\xff\xfekind"', 1), "is not UTF-8"),
    "truncated": (lambda _, raw: raw[: len(raw) // 2], "not JSON ("),
    "huge": (lambda _, raw: b" " * (17 * 2**20) + raw, "larger than 16 MiB"),
}


# what even `--out` refuses to replace: its kind cannot be read (another edit leaves a normalized folder)
KIND_UNREADABLE = ("kind_a_list", "kind_a_number", "kind_missing", "not_an_object", "deep_nesting", "not_utf8",
                   "truncated", "huge")


def _edit(folder: Path, name: str) -> None:
    path = next(p for p in (folder / "lineage.json", folder / ".curator/lineage.json") if p.is_file())
    raw = path.read_bytes()
    path.write_bytes(EDITS[name][0](json.loads(raw), raw))


def hand_edited(ws: Path) -> dict[str, Any]:
    """Each edit on its own copies of the normalized and published folders, read by each reader."""
    def one(name: str) -> dict[str, Any]:
        normalized, out, published = ws / f"n-{name}", ws / f"o-{name}", ws / f"pub-{name}"
        shutil.copytree(ws / "data/normalized", normalized)
        shutil.copytree(ws / "data/normalized", out)
        shutil.copytree(ws / PUBLISHED, published)
        for folder in (normalized, out, published):
            _edit(folder, name)
        seen = {"input": cli(ws, "split", "--in", str(normalized.name), "--out", f"s-{name}"),
                "report": cli(ws, "report", "--in", published.name, "--out", f"rep-{name}"),
                "validate": cli(ws, "validate", published.name)}
        if name in KIND_UNREADABLE:  # may normalize replace that folder? (any other edit: a normalized one, yes)
            seen["out"] = cli(ws, "normalize", "--out", out.name)
        return seen

    seen = parallel({name: (lambda n=name: one(n)) for name in EDITS})
    return {name: outcome(seen, name) for name in EDITS}


def beside_the_split(ws: Path) -> dict[str, Any]:
    """Manifests publish reads for its card: the split's recorded params (BuildFacts), and the
    normalized folder beside the split (the card's "What this build did not read")."""
    path = ws / "data/split/lineage.json"
    manifest = json.loads(path.read_text())
    good = path.read_text()
    path.write_text(json.dumps({**manifest, "params": {**manifest["params"], "split": {"seed": [1]}}}))
    seen = {"facts": cli(ws, "publish", "--out", "p2")}
    path.write_text(good)
    _edit(ws / "data/normalized", "kind_a_list")
    seen["unread"] = cli(ws, "publish", "--out", "p3")
    seen["card"] = (ws / "p3/README.md").read_text() if (ws / "p3/README.md").is_file() else ""
    return seen


@pytest.fixture(scope="module")
def runs(pipeline_ws: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return workspace.on_copies(pipeline_ws, tmp_path_factory.mktemp("manifests"), {
        "emptied": emptied, "no_test_split": no_test_split, "foreign_shard": foreign_shard,
        "replaced_shard": replaced_shard, "old_format": old_format, "messages": messages,
        "hand_edited": hand_edited, "beside_the_split": beside_the_split,
    })


def test_an_emptied_input_is_refused_not_split_into_nothing(runs: dict) -> None:
    seen = outcome(runs, "emptied")
    assert_one_line_error(seen["split"], "--in data/normalized does not hold the shards its lineage.json lists",
                          "holds none of the 1 listed", "emptied", "re-run `curator normalize`")
    assert seen["unchanged"]


def test_a_split_without_its_test_shards_is_refused(runs: dict) -> None:
    seen = outcome(runs, "no_test_split")
    for stage in ("publish", "augment"):
        assert_one_line_error(seen[stage], "--in data/split does not hold the shards",
                              "no test shards left (test/part-00000.parquet missing)", "`curator split`")
    assert not seen["written"]


def test_a_shard_copied_in_is_refused_by_name(runs: dict) -> None:
    assert_one_line_error(outcome(runs, "foreign_shard")["publish"],
                          "train/part-00001.parquet not written by it", "`curator split`")


def test_a_shard_listed_twice_is_refused_not_read_twice(runs: dict) -> None:
    assert_one_line_error(outcome(runs, "foreign_shard")["twice"], "part-00000.parquet listed more than once")


def test_a_same_named_shard_of_another_size_is_refused(runs: dict) -> None:
    seen = outcome(runs, "replaced_shard")
    test, validation = seen["sizes"]
    assert test != validation
    for stage in ("publish", "augment"):
        assert_one_line_error(seen[stage], f"test/part-00000.parquet is {validation} bytes, not the {test}")


def test_a_manifest_of_the_old_format_asks_for_a_rerun(runs: dict) -> None:
    assert_one_line_error(outcome(runs, "old_format")["split"], "--in data/normalized was made by another curator "
                          "version (lineage.json format 1; this curator reads 2)", "re-run `curator normalize`")


def test_normalize_given_the_folder_of_prepared_outputs_names_them(runs: dict) -> None:
    assert_one_line_error(outcome(runs, "messages")["normalize"],
                          "--in data/prepared holds per-source prepared outputs (kaggle_physio, viri)",
                          "pass one, e.g. --in data/prepared/kaggle_physio")


def test_augmented_rows_beside_another_split_folder_say_what_is_known(runs: dict) -> None:
    seen = outcome(runs, "messages")
    assert seen["split"].returncode == 0, seen["split"].stderr
    line = assert_one_line_error(seen["publish"], "--augmented data/augmented was made from another split than split7",
                                 "made again since, or augment read another split folder",
                                 "re-run `curator augment` on split7")
    assert "ran again" not in line


def test_a_missing_input_is_named_by_its_flag(runs: dict) -> None:
    seen = outcome(runs, "messages")
    assert_one_line_error(seen["missing_in"], "--in nowhere does not exist; run `curator split` first")
    assert_one_line_error(seen["missing_raw"], "--raw nowhere does not exist; run `curator download viri` first")


@pytest.mark.parametrize("edit", EDITS)
def test_a_hand_edited_manifest_is_one_line_wherever_it_is_read(runs: dict, edit: str) -> None:
    seen, what = outcome(runs, "hand_edited")[edit], EDITS[edit][1]
    assert_one_line_error(seen["input"], f"n-{edit}/lineage.json is not a readable manifest", what,
                          "re-run `curator normalize`")
    if edit in KIND_UNREADABLE:
        assert_one_line_error(seen["out"], f"--out o-{edit} holds a lineage.json that is not a readable manifest",
                              what, "choose another --out")
    assert_one_line_error(seen["report"], f"pub-{edit}/.curator/lineage.json is not a readable manifest", what)
    assert_one_line_error(seen["validate"], "problem(s)")
    problems = [line for line in seen["validate"].stderr.splitlines() if line.startswith("problem:")]
    assert len(problems) == 1 and what in problems[0], seen["validate"].stderr
    assert problems[0].startswith("problem: .curator/lineage.json is not a readable manifest (")


def test_manifests_publish_reads_for_its_card_are_one_line_or_unknown(runs: dict) -> None:
    seen = outcome(runs, "beside_the_split")
    assert_one_line_error(seen["facts"], "the split folder's lineage.json records invalid split params: seed")
    assert seen["unread"].returncode == 0, seen["unread"].stderr  # the card says what it cannot know
    assert "Not known: its prepare output was not found" in seen["card"]


# --- fuzz: a mutated manifest before the next stage ---------------------------------------------

TARGETS = {  # folder whose manifest is mutated -> the next stage's command (its own --out)
    "data/normalized": ["split", "--out", "fz-split"],
    "data/split": ["augment", "--workers", "1", "--out", "fz-aug"],
    "data/augmented": ["publish", "--augmented", "data/augmented", "--out", "fz-pub"],
}
KEYS = ["format", "kind", "stage", "source", "schema", "taxonomy", "params", "inputs", "shards"]
PLACES = st.one_of(  # where a value goes: a top-level key, or inside an input, a shard or the params
    st.sampled_from(KEYS).map(lambda k: (k,)),
    st.sampled_from(["kind", "fingerprint", "taxonomy", "extra"]).map(lambda k: ("inputs", 0, k)),
    st.sampled_from(["path", "bytes", "rows", "extra"]).map(lambda k: ("shards", 0, k)),
    st.sampled_from(["split", "dedup", "copies", "policy", "policy_sha256", "seed"]).map(lambda k: ("params", k)),
)
SCALARS = st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | st.text(max_size=8)
VALUES = st.recursive(SCALARS, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids,
                                                                                          max_size=3), max_leaves=6)
MUTATIONS = st.lists(st.one_of(
    st.tuples(st.just("set"), PLACES, VALUES),
    st.tuples(st.just("delete"), PLACES, st.none()),
    st.tuples(st.just("nest"), PLACES, st.integers(1, 3000)),  # the value wrapped in that many lists
), min_size=1, max_size=3)


def _mutate(manifest: Any, place: tuple, action: str, value: Any) -> None:
    parent = manifest
    for part in place[:-1]:
        ok = (isinstance(parent, dict) and part in parent) or (isinstance(parent, list) and part < len(parent))
        if not ok or not isinstance(parent[part], dict | list):
            return  # an earlier mutation replaced this branch
        parent = parent[part]
    key = place[-1]
    if not isinstance(parent, dict):
        return
    if action == "delete":
        parent.pop(key, None)
    elif action == "nest":
        nested = parent.get(key)
        for _ in range(value):
            nested = [nested]
        parent[key] = nested
    else:
        parent[key] = value


def _dumps(manifest: Any) -> bytes:
    """json.dumps of deep nesting recurses: built by hand for a list of lists."""
    try:
        return json.dumps(manifest).encode()
    except RecursionError:
        return b"[" * 5000 + b"]" * 5000


@pytest.fixture(scope="module")
def fuzz_ws(pipeline_ws: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return workspace.copy(pipeline_ws, tmp_path_factory.mktemp("manifest-fuzz") / "ws")


@settings(max_examples=24, deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
@given(target=st.sampled_from(sorted(TARGETS)), mutations=MUTATIONS)
def test_no_mutated_manifest_gives_an_internal_error(fuzz_ws: Path, target: str,
                                                     mutations: list[tuple[str, tuple, Any]]) -> None:
    path = fuzz_ws / target / "lineage.json"
    good = path.read_bytes()
    manifest = json.loads(good)
    for action, place, value in mutations:
        _mutate(manifest, place, action, value)
    path.write_bytes(_dumps(manifest))
    try:
        args = TARGETS[target]
        check_outcome(run_main(args, fuzz_ws), fuzz_ws, args, args[-1])
    finally:
        path.write_bytes(good)
