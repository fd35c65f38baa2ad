"""Stage contracts through the real CLI: every stage checks what it is given, and no run can corrupt
another's output.

Each scenario copies the session's small workspace (tests/robustness/workspace.py: Kaggle physio +
VIRI through every stage), does what a user might, and records the CLI's answers and what the
folders hold afterwards; the tests assert on those. A refusal is one `error:` line (exit 1) and
leaves every folder byte for byte as it was.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml

from curator.io.parquet import iter_records
from tests.conftest import ROOT, run_cli
from tests.robustness import workspace
from tests.robustness.helpers import assert_accounting, assert_one_line_error, outcome, parallel, snapshot

PUBLISHED = f"data/publish/{workspace.NAME}"


def cli(ws: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return run_cli(*args, cwd=ws, env=env, check=False)


def state(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` but the lock files (left in place on purpose: curator.io.atomic)."""
    return {k: v for k, v in snapshot(folder).items() if not k.endswith(".lock")}


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
}


def params_refusals(ws: Path) -> dict[str, Any]:
    before = state(ws / "data")
    seen = {}
    for name, (sections, _) in PARAMS_CASES.items():
        params = with_params(ws, f"{name}.yaml", **sections)
        seen[name] = cli(ws, "--params", params, "publish", "--augmented", "data/augmented")
    seen["missing_params_file"] = cli(ws, "--params", "nope.yaml", "normalize")
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
    schemas = ws / "schemas"
    shutil.copytree(ROOT / "schemas", schemas)
    seen = {}
    for name, text in (("syntax", "source: viri\nlabels: {Happy: [unclosed\n"),
                       ("shape", "source: viri\nlabels:\n  - Happy\n  - Sad\n")):
        (schemas / "maps" / "viri.yaml").write_text(text)
        seen[name] = cli(ws, "normalize", "--out", f"n-{name}", env={"CURATOR_SCHEMAS": str(schemas)})
    return seen


def physio_overflow(ws: Path) -> dict[str, Any]:
    """A Kaggle CSV whose first row has hr_mean = 1e308."""
    csv = next((ws / "samples" / "kaggle_physio").glob("*.csv"))
    lines = csv.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("hr_mean")] = "1e308"
    (ws / "big.csv").write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
    steps = [("prepare", "kaggle_physio", "--raw", "big.csv", "--out", "p"),
             ("normalize", "--in", "p", "--out", "n"), ("split", "--in", "n", "--out", "s")]
    return {"procs": [cli(ws, *step) for step in steps], "split": ws / "s"}


def manual_mirror(ws: Path) -> dict[str, Any]:
    """A manual source downloaded twice; the second delivery lacks a file the first had."""
    from curator.testing.samples import builders

    builders()["emer"](ws / "delivery", 0, False)
    delivery = ws / "delivery" / "emer"
    seen = {"first": cli(ws, "download", "emer", "--from", str(delivery), "--out", "raw")}
    files = sorted(p for p in delivery.rglob("*") if p.is_file() and p.suffix.lower() in (".jpg", ".png"))
    gone = files[0].relative_to(delivery)
    seen["gone"], seen["had_it"] = gone, (ws / "raw" / gone).is_file()
    files[0].unlink()
    seen["second"] = cli(ws, "download", "emer", "--from", str(delivery), "--out", "raw")
    seen["still_there"] = (ws / "raw" / gone).exists()
    seen["rest"] = sorted(p.relative_to(delivery).as_posix() for p in delivery.rglob("*") if p.is_file())
    seen["raw"] = sorted(p.relative_to(ws / "raw").as_posix() for p in (ws / "raw").rglob("*") if p.is_file())
    return seen


def image_formats(ws: Path) -> dict[str, Any]:
    """EmoNet-Face hq rows whose images are every format Pillow writes, and some too small."""
    import io

    from PIL import Image

    from curator.testing.samples import builders

    builders()["emonet_hq"](ws / "hq", 0, False)
    shard = next((ws / "hq" / "emonet_hq" / "data").glob("*.parquet"))
    table = pq.read_table(shard)
    column = next(f.name for f in table.schema if pa.types.is_struct(f.type) and f.type.get_field_index("bytes") >= 0)
    rows = table.to_pylist()
    formats = ["WEBP", "BMP", "TIFF", "GIF", "PPM", "TGA", "JPEG2000", "PCX", "SGI", "ICO"]
    tiny = {"1x1": (1, 1), "4x4": (4, 4), "7x40": (7, 40)}
    expected = {}  # the image's path in the source -> the case it holds
    for row, case in zip(rows, [*formats, *tiny], strict=False):
        picture = Image.open(io.BytesIO(row[column]["bytes"])).convert("RGB")
        buf = io.BytesIO()
        if case in tiny:
            picture.resize(tiny[case]).save(buf, "PNG")
        else:
            picture.save(buf, case)
        row[column] = {"bytes": buf.getvalue(), "path": f"case-{case}"}  # the Hub leaves path empty: name it
        expected[f"case-{case}"] = case
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), shard)
    proc = cli(ws, "prepare", "emonet_hq", "--raw", "hq/emonet_hq", "--out", "hq-prepared")
    return {"proc": proc, "out": ws / "hq-prepared", "expected": expected, "tiny": set(tiny)}


def tampered_folders(ws: Path) -> dict[str, Any]:
    """Published folders damaged the ways the old pipeline could publish them, then validated."""
    published = ws / PUBLISHED
    seen: dict[str, Any] = {"good": cli(ws, "validate", PUBLISHED)}
    for name, damage in TAMPER.items():
        folder = ws / "tampered" / name
        shutil.copytree(published, folder)
        damage(folder)
        seen[name] = cli(ws, "validate", str(folder))
    return seen


def _rewrite(shard: Path, change: Any) -> None:
    table = pq.read_table(shard)
    pq.write_table(change(table), shard)


def _repeat_a_row(folder: Path) -> None:  # what `publish --augmented data/split/train` did
    _rewrite(next((folder / "data" / "viri").glob("train-*.parquet")), lambda t: pa.concat_tables([t, t.slice(0, 1)]))


def _class_99(folder: Path) -> None:
    def change(t: pa.Table) -> pa.Table:
        labels = t.column("label").to_pylist()
        labels[0] = 99
        return t.set_column(t.schema.get_field_index("label"), t.schema.field("label"), pa.array(labels, pa.int64()))

    _rewrite(next((folder / "data" / "kaggle_physio").glob("train-*.parquet")), change)


def _augmented_from_test(folder: Path) -> None:  # what augmenting another split's train did
    test_id = pq.read_table(next((folder / "data" / "viri").glob("test-*.parquet")), columns=["id"])["id"][0].as_py()

    def change(t: pa.Table) -> pa.Table:
        parents = t.column("augmented_from").to_pylist()
        first = next(i for i, p in enumerate(parents) if p is not None)
        parents[first] = test_id
        return t.set_column(t.schema.get_field_index("augmented_from"), t.schema.field("augmented_from"),
                            pa.array(parents, pa.string()))

    _rewrite(next((folder / "data" / "viri").glob("train-*.parquet")), change)


def _other_taxonomy(folder: Path) -> None:  # labelled under one taxonomy, published under another
    path = folder / ".curator" / "lineage.json"
    manifest = json.loads(path.read_text())
    manifest["taxonomy"] = "0123456789abcdef"
    manifest["inputs"] = [{**i, "taxonomy": "0123456789abcdef"} for i in manifest["inputs"]]
    path.write_text(json.dumps(manifest))


def _card_without(key: str) -> Any:
    def damage(folder: Path) -> None:
        card = (folder / "README.md").read_text()
        header, body = card.split("---\n", 2)[1:]
        meta = yaml.safe_load(header)
        for entry in meta["dataset_info"] if key == "features" else meta["configs"]:
            entry.pop(key)
        (folder / "README.md").write_text(f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n{body}")

    return damage


TAMPER = {
    "repeated_id": _repeat_a_row,
    "class_99": _class_99,
    "parent_not_in_train": _augmented_from_test,
    "other_taxonomy": _other_taxonomy,
    "card_without_features": _card_without("features"),
    "card_without_data_files": _card_without("data_files"),
    "no_lineage": lambda folder: (folder / ".curator" / "lineage.json").unlink(),
}


@pytest.fixture(scope="module")
def runs(pipeline_ws: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("contracts")

    def on_copy(name: str, scenario: Any) -> Any:
        return lambda: scenario(workspace.copy(pipeline_ws, root / name))

    return parallel({
        "stale_augment": on_copy("stale", stale_augment),
        "taxonomy": on_copy("taxonomy", reordered_taxonomy),
        "kinds": on_copy("kinds", lambda ws: refusals(ws, KIND_CASES)),
        "paths": on_copy("paths", lambda ws: refusals(ws, PATH_CASES)),
        "no_manifest": on_copy("no-manifest", no_manifest),
        "schema": on_copy("schema", changed_schema),
        "params": on_copy("params", params_refusals),
        "include": on_copy("include", include_one_source),
        "broken_map": on_copy("broken-map", broken_map),
        "physio": on_copy("physio", physio_overflow),
        "mirror": on_copy("mirror", manual_mirror),
        "formats": on_copy("formats", image_formats),
        "tampered": on_copy("tampered", tampered_folders),
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


def test_publish_include_of_one_source_excludes_the_others_rows_with_a_reason(runs: dict) -> None:
    seen = outcome(runs, "include")
    assert seen["publish"].returncode == 0, seen["publish"].stderr
    m = assert_accounting(seen["out"] / ".curator")
    assert set(m["rejected_by_reason"]) == {"excluded"} and m["configs"].keys() == {"physio", "kaggle_physio"}
    assert seen["validate"].returncode == 0, seen["validate"].stderr


def test_a_broken_label_map_is_one_line_naming_the_file(runs: dict) -> None:
    seen = outcome(runs, "broken_map")
    assert_one_line_error(seen["syntax"], "maps/viri.yaml:3:1: not valid YAML")
    assert_one_line_error(seen["shape"], "maps/viri.yaml", "expected shape")


# --- values and sources -----------------------------------------------------------------------


def test_a_physio_value_that_would_overflow_is_rejected_and_json_stays_standard(runs: dict) -> None:
    seen = outcome(runs, "physio")
    assert [p.returncode for p in seen["procs"]] == [0, 0, 0], seen["procs"][-1].stderr
    split = seen["split"]
    m = assert_accounting(split)
    assert m["rejected_by_reason"] == {"physio_out_of_range": 1}
    reject = json.loads((split / "rejects.jsonl").read_text())
    assert "hr_mean=1e+308" in reject["detail"]

    def refuse(constant: str) -> None:
        raise AssertionError(f"non-standard JSON constant {constant}")

    stats = json.loads((split / "standardization.json").read_text(), parse_constant=refuse)["features"]["hr_mean"]
    assert 0 < stats["std"] < 1e6
    z = [r["physio_z"]["hr_mean"] for s in ("train", "validation", "test") for r in iter_records(split / s)]
    assert len(z) == m["kept"] and len({round(v, 6) for v in z}) > 10  # not all zeroed by an infinite std


def test_a_manual_source_mirrors_its_delivery(runs: dict) -> None:
    seen = outcome(runs, "mirror")
    assert seen["first"].returncode == 0 and seen["second"].returncode == 0, seen["second"].stderr
    assert seen["had_it"] and not seen["still_there"], f"{seen['gone']} survived its removal from the delivery"
    assert seen["raw"] == seen["rest"]


def test_every_image_format_pillow_opens_is_kept_and_tiny_images_are_rejected(runs: dict) -> None:
    seen = outcome(runs, "formats")
    assert seen["proc"].returncode == 0, seen["proc"].stderr
    m = assert_accounting(seen["out"])
    kept = {r["image"]["path"] for r in iter_records(seen["out"], columns=["image"]) if r["image"]}
    rejected = {r["path"]: r for r in (json.loads(line) for line in (seen["out"] / "rejects.jsonl").open())}
    for path, case in seen["expected"].items():
        if case in seen["tiny"]:
            assert rejected[path]["reason"] == "image_too_small" and "minimum of 8x8" in rejected[path]["detail"]
        else:
            assert path in kept, (case, rejected.get(path))
    assert m["rejected_by_reason"].get("image_too_small") == len(seen["tiny"])
    assert m["inputs"] == m["kept"] + m["rejected"]


# --- validate -----------------------------------------------------------------------------------

TAMPER_PROBLEMS = {
    "repeated_id": "split train: 1 id(s) appear more than once",
    "class_99": "label holds class index 99, outside 0..7",
    "parent_not_in_train": "augmented row(s) whose parent is not a train record",
    "other_taxonomy": "the card's class names are not the taxonomy the data was labelled with",
    "card_without_features": "card entry is incomplete or malformed",
    "card_without_data_files": "card entry is incomplete or malformed",
    "no_lineage": ".curator/lineage.json is missing",
}


def test_validate_passes_the_untouched_folder(runs: dict) -> None:
    good = outcome(runs, "tampered")["good"]
    assert good.returncode == 0 and good.stdout.strip().endswith("valid"), good.stderr


@pytest.mark.parametrize("case", list(TAMPER))
def test_validate_names_what_the_old_pipeline_could_publish(runs: dict, case: str) -> None:
    proc = outcome(runs, "tampered")[case]
    assert_one_line_error(proc, "problem(s)")
    problems = [line for line in proc.stderr.splitlines() if line.startswith("problem:")]
    assert any(TAMPER_PROBLEMS[case] in p for p in problems), problems


def test_class_indices_in_every_published_shard_are_in_range(pipeline_ws: Path) -> None:
    """The good folder's own values: a guard that the class_99 damage is the only way to fail."""
    for shard in (pipeline_ws / PUBLISHED / "data").rglob("*.parquet"):
        labels = pq.read_table(shard, columns=["label"]).column("label")
        assert (pc.max(labels).as_py() or 0) < 8
