"""Stage contracts through the real CLI: every stage checks what it is given, and no run can corrupt
another's output (values, sources and validate: test_contracts_data.py).

Each scenario copies the session's small workspace (tests/robustness/workspace.py: Kaggle physio +
VIRI through every stage), does what a user might, and records the CLI's answers and what the
folders hold afterwards; the tests assert on those. A refusal is one `error:` line (exit 1) and
leaves every folder byte for byte as it was.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT
from tests.robustness import workspace
from tests.robustness.helpers import assert_accounting, assert_one_line_error, outcome
from tests.robustness.workspace import PUBLISHED, cli, state


def with_params(ws: Path, name: str, **sections: Any) -> str:
    """A params file: the workspace's, with `sections` merged in."""
    params = yaml.safe_load((ws / "params.yaml").read_text())
    for section, values in sections.items():
        params[section] = {**params.get(section, {}), **values}
    (ws / name).write_text(yaml.safe_dump(params, sort_keys=False))
    return name


# --- scenarios --------------------------------------------------------------------------------


def stale_augment(ws: Path) -> dict[str, Any]:
    """split again with another seed, skip augment, publish the old augmented rows."""
    reseeded = with_params(ws, "reseeded.yaml", split={"seed": 7})
    seen = {"split": cli(ws, "--params", reseeded, "split")}
    before = state(ws / "data")
    seen["publish"] = cli(ws, "--params", reseeded, "publish", "--augmented", "data/augmented")
    seen["unchanged"] = state(ws / "data") == before
    seen["augment"] = cli(ws, "--params", reseeded, "augment")
    seen["republish"] = cli(ws, "--params", reseeded, "publish", "--augmented", "data/augmented")
    seen["validate"] = cli(ws, "validate", PUBLISHED)
    return seen


def reordered_taxonomy(ws: Path) -> dict[str, Any]:
    """schemas/taxonomy.yaml with two basic classes swapped after normalize ran."""
    schemas = ws / "schemas"
    shutil.copytree(ROOT / "schemas", schemas)
    text = (schemas / "taxonomy.yaml").read_text()
    swapped = text.replace("basic: [neutral, happiness,", "basic: [happiness, neutral,")
    assert swapped != text
    (schemas / "taxonomy.yaml").write_text(swapped)
    env = {"CURATOR_SCHEMAS": str(schemas)}
    before = state(ws / "data")
    seen = {cmd[0]: cli(ws, *cmd, env=env) for cmd in (("publish", "--augmented", "data/augmented"),
                                                        ("augment", "--out", "aug2"), ("split", "--out", "split2"))}
    seen["unchanged"] = state(ws / "data") == before
    seen["normalize"] = cli(ws, "normalize", "--out", "normalized2", env=env)  # labels again: fine
    return seen


KIND_CASES = {  # name -> (args, fragments of the one error line)
    "split_given_prepared": (("split", "--in", "data/prepared/viri", "--out", "s2"),
                             ("holds prepared data", "expected the output of `curator normalize`")),
    "normalize_given_data": (("normalize", "--in", "data", "--out", "n2"),
                             ("--in data has no lineage.json", "`curator prepare SRC`")),
    "normalize_one_source_twice": (("normalize", "--in", "data/prepared/viri", "--in", "data/prepared/viri",
                                    "--out", "n2"), ("both hold prepared viri",)),
    "augment_given_normalized": (("augment", "--in", "data/normalized", "--out", "a2"),
                                 ("holds normalized data", "`curator split`")),
    "publish_given_augmented": (("publish", "--in", "data/augmented", "--out", "p2"),
                                ("holds augmented data", "`curator split`")),
    "publish_given_prepared": (("publish", "--in", "data/prepared/viri", "--out", "p2"),
                               ("holds prepared data", "`curator split`")),
    "publish_given_an_empty_folder": (("publish", "--in", "empty", "--out", "p2"),
                                      ("--in empty has no lineage.json", "`curator split`")),
    "publish_augmented_given_split_train": (("publish", "--augmented", "data/split/train", "--out", "p2"),
                                            ("--augmented data/split/train has no lineage.json", "`curator augment`")),
    "publish_augmented_given_split": (("publish", "--augmented", "data/split", "--out", "p2"),
                                      ("holds split data", "`curator augment`")),
    "publish_augmented_missing": (("publish", "--augmented", "nowhere", "--out", "p2"),
                                  ("--augmented nowhere does not exist",)),
    "push_a_repo_id_the_hub_rejects": (("push", PUBLISHED, "--repo-id", "me/my--data", "--dry-run"),
                                       ("--repo-id 'me/my--data' is refused by the Hub", "Cannot have -- or ..")),
}

PATH_CASES = {
    "augment_out_is_its_input": (("augment", "--out", "data/split"), ("--out data/split is the input data/split",)),
    "split_out_is_its_input": (("split", "--out", "data/normalized"), ("is the input data/normalized",)),
    "split_out_inside_its_input": (("split", "--out", "data/normalized/inner"), ("is inside the input",)),
    "normalize_out_contains_its_input": (("normalize", "--out", "data"), ("--out data contains the input",)),
    "out_is_an_existing_file": (("split", "--out", "params.yaml"), ("--out params.yaml is an existing file",)),
    "out_holds_another_stage": (("augment", "--out", "data/normalized"),
                                ("--out data/normalized holds normalized data", "choose another --out")),
    "out_is_not_a_curator_output": (("prepare", "viri", "--raw", "samples/viri", "--out", "pipelines"),
                                    ("--out pipelines is not a curator output",)),
    "metrics_is_a_folder": (("split", "--out", "s2", "--metrics", "data"), ("--metrics data is a folder",)),
    "metrics_inside_the_output": (("split", "--metrics", "data/split/m.json"), ("is inside the output",)),
    "report_inside_what_it_reads": (("report", "--out", "data/split/report"),
                                    ("--out data/split/report is inside data, which the report reads",)),
    "download_onto_itself": (("download", "viri", "--from", "samples/viri", "--out", "samples"),
                             ("--out samples contains --from samples/viri",)),
}


def refusals(ws: Path, cases: dict[str, tuple]) -> dict[str, Any]:
    """Commands that must each be refused, run one after the other on one workspace; and whether
    anything changed."""
    (ws / "empty").mkdir()
    before = state(ws)
    seen = {name: cli(ws, *args) for name, (args, _) in cases.items()}
    after = state(ws)
    seen["changed"] = sorted(k for k in after.keys() | before.keys() if after.get(k) != before.get(k))
    return seen


def changed_schema(ws: Path) -> dict[str, Any]:
    """schemas/record.yaml gained a column after normalize ran."""
    schemas = ws / "schemas"
    shutil.copytree(ROOT / "schemas", schemas)
    text = (schemas / "record.yaml").read_text()
    grown = text.replace("columns:\n", "columns:\n  note: {type: string, doc: \"a column added later\"}\n", 1)
    assert grown != text
    (schemas / "record.yaml").write_text(grown)
    return {"split": cli(ws, "split", "--out", "s2", env={"CURATOR_SCHEMAS": str(schemas)})}


def no_manifest(ws: Path) -> dict[str, Any]:
    """A split made before outputs carried lineage.json (an older curator)."""
    (ws / "data" / "split" / "lineage.json").unlink()
    return {"augment": cli(ws, "augment"), "publish": cli(ws, "publish")}


PARAMS_CASES = {  # name -> (params sections merged in, fragments)
    "name_parent_folder": ({"publish": {"name": "../split"}}, ("publish.name",)),
    "name_up_two": ({"publish": {"name": "../../data"}}, ("publish.name",)),
    "name_empty": ({"publish": {"name": ""}}, ("publish.name",)),
    "source_twice": ({"sources": {"enabled": ["viri", "viri"]}}, ("sources.enabled", "'viri' is listed twice")),
    "include_empty": ({"publish": {"include": []}}, ("publish.include", "lists no source")),
    "include_misspelt": ({"publish": {"include": ["kaggle_phyio"]}}, ("unknown source 'kaggle_phyio'",)),
    "include_a_string": ({"publish": {"include": "kaggle_physio"}}, ("publish.include", "valid list")),
    "retries_negative": ({"download": {"retries": -1}}, ("download.retries",)),
    "copies_fraction": ({"augment": {"copies": 2.7}}, ("augment.copies",)),
    "seed_null": ({"split": {"seed": None}}, ("split.seed",)),
    "ratios_a_string": ({"split": {"ratios": {"train": "most"}}}, ("split.ratios.train",)),
    "copies_negative": ({"augment": {"copies": -1}}, ("augment.copies", "greater than or equal to 0")),
}


def params_refusals(ws: Path) -> dict[str, Any]:
    before = state(ws / "data")
    seen = {}
    for name, (sections, _) in PARAMS_CASES.items():
        params = with_params(ws, f"{name}.yaml", **sections)
        seen[name] = cli(ws, "--params", params, "publish", "--augmented", "data/augmented")
    seen["missing_params_file"] = cli(ws, "--params", "nope.yaml", "normalize")
    (ws / "broken.yaml").write_text("split:\n  seed: [1, 2\naugment: {}\n")
    seen["yaml_syntax"] = cli(ws, "--params", "broken.yaml", "split")
    seen["unchanged"] = state(ws / "data") == before
    return seen


def include_one_source(ws: Path) -> dict[str, Any]:
    """publish.include naming one source, with augmented rows of another in the batches."""
    params = with_params(ws, "physio-only.yaml", publish={"include": ["kaggle_physio"]})
    seen = {"publish": cli(ws, "--params", params, "publish", "--augmented", "data/augmented", "--out", "pub")}
    seen["validate"] = cli(ws, "validate", "pub")
    seen["out"] = ws / "pub"
    return seen


def broken_map(ws: Path) -> dict[str, Any]:
    # a project holding the code (a git clone, the demo's workspace): its copy of a source's labels.yaml is
    # what stages read (a bare ws/curator/sources/... without the package would shadow it as a namespace)
    shutil.copytree(ROOT / "curator", ws / "curator", ignore=shutil.ignore_patterns("__pycache__"))
    labels = ws / "curator" / "sources" / "viri" / "labels.yaml"
    seen = {}
    for name, text in (("syntax", "source: viri\nlabels: {Happy: [unclosed\n"),
                       ("shape", "source: viri\nlabels:\n  - Happy\n  - Sad\n")):
        labels.write_text(text)
        seen[name] = cli(ws, "normalize", "--out", f"n-{name}")
    return seen


@pytest.fixture(scope="module")
def runs(pipeline_ws: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return workspace.on_copies(pipeline_ws, tmp_path_factory.mktemp("contracts"), {
        "stale_augment": stale_augment,
        "taxonomy": reordered_taxonomy,
        "kinds": lambda ws: refusals(ws, KIND_CASES),
        "paths": lambda ws: refusals(ws, PATH_CASES),
        "no_manifest": no_manifest,
        "schema": changed_schema,
        "params": params_refusals,
        "include": include_one_source,
        "broken_map": broken_map,
    })


# --- what each stage is given -----------------------------------------------------------------


def test_augmented_rows_of_another_split_are_refused_at_publish(runs: dict) -> None:
    seen = outcome(runs, "stale_augment")
    assert seen["split"].returncode == 0, seen["split"].stderr
    assert_one_line_error(seen["publish"], "--augmented data/augmented was made from another split than data/split",
                          "re-run `curator augment`")
    assert seen["unchanged"]
    assert seen["augment"].returncode == 0 and seen["republish"].returncode == 0, seen["republish"].stderr
    assert seen["validate"].stdout.strip().endswith("valid")


def test_a_taxonomy_changed_since_normalize_is_refused(runs: dict) -> None:
    seen = outcome(runs, "taxonomy")
    for stage in ("publish", "augment", "split"):
        assert_one_line_error(seen[stage], "labelled with another taxonomy", "re-run `curator normalize`")
    assert seen["unchanged"]
    assert seen["normalize"].returncode == 0, seen["normalize"].stderr


@pytest.mark.parametrize("case", list(KIND_CASES))
def test_a_stage_given_the_wrong_kind_of_folder_says_what_it_expected(runs: dict, case: str) -> None:
    seen = outcome(runs, "kinds")
    assert_one_line_error(seen[case], *KIND_CASES[case][1])
    assert seen["changed"] == []


def test_an_input_without_lineage_is_refused_with_the_command_to_rerun(runs: dict) -> None:
    seen = outcome(runs, "no_manifest")
    for stage in ("augment", "publish"):
        assert_one_line_error(seen[stage], "--in data/split has no lineage.json", "re-run", "`curator split`")


def test_an_input_written_with_another_record_schema_is_refused(runs: dict) -> None:
    assert_one_line_error(outcome(runs, "schema")["split"], "--in data/normalized was written with another record "
                          "schema", "re-run the pipeline from `curator prepare SRC`")


# --- where each stage writes ------------------------------------------------------------------


@pytest.mark.parametrize("case", list(PATH_CASES))
def test_an_output_over_an_input_or_another_output_is_refused(runs: dict, case: str) -> None:
    seen = outcome(runs, "paths")
    assert_one_line_error(seen[case], *PATH_CASES[case][1])
    assert seen["changed"] == []  # no file appeared, moved or vanished


# --- params -------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(PARAMS_CASES))
def test_bad_params_are_one_line_naming_the_key(runs: dict, case: str) -> None:
    seen = outcome(runs, "params")
    assert_one_line_error(seen[case], f"{case}.yaml:", *PARAMS_CASES[case][1])
    assert seen["unchanged"]


def test_a_missing_params_file_is_an_error_not_the_defaults(runs: dict) -> None:
    assert_one_line_error(outcome(runs, "params")["missing_params_file"], "nope.yaml: no such params file")


def test_a_yaml_syntax_error_names_its_line_and_column(runs: dict) -> None:
    assert_one_line_error(outcome(runs, "params")["yaml_syntax"], "broken.yaml:3:8: not valid YAML")


def test_publish_include_of_one_source_excludes_the_others_rows_with_a_reason(runs: dict) -> None:
    seen = outcome(runs, "include")
    assert seen["publish"].returncode == 0, seen["publish"].stderr
    m = assert_accounting(seen["out"] / ".curator")
    assert set(m["rejected_by_reason"]) == {"excluded"} and m["configs"].keys() == {"physio", "kaggle_physio"}
    assert seen["validate"].returncode == 0, seen["validate"].stderr


def test_a_broken_label_map_is_one_line_naming_the_file(runs: dict) -> None:
    seen = outcome(runs, "broken_map")
    assert_one_line_error(seen["syntax"], "curator/sources/viri/labels.yaml:3:1: not valid YAML")
    assert_one_line_error(seen["shape"], "curator/sources/viri/labels.yaml", "expected shape")
