"""Each fact once: split names, the metadata folder, default folders, image columns, the group id, the
licence rule and the write batch are each defined in one place that everything else reads."""

from __future__ import annotations

import ast
from types import SimpleNamespace

import pytest

from curator.io.parquet import BATCH_ROWS
from curator.pipeline import stages
from curator.record.group import NAMED, PAIR, RECORD, SUBJECT, GroupId, group_kind
from curator.record.schema import image_columns, record_spec
from curator.sources import all_recipes
from curator.sources.licensing import public_allowed
from tests.architecture.imports import modules, tree

# value -> the one module that may spell it
HOMES = {
    ".curator": "curator.pipeline.stages",
    "train_augmented": "curator.pipeline.stages",
    "REPO_ID": "curator.pipeline.stages",
    **{s.folder.split("{")[0].rstrip("/"): "curator.pipeline.stages" for s in stages.STAGES},
}


def _constants(name: str) -> list[tuple[object, int]]:
    return [(n.value, n.lineno) for n in ast.walk(tree(name)) if isinstance(n, ast.Constant)]


def test_each_name_is_spelled_in_its_home_module_only() -> None:
    found = [f"{name}:{line}: {value!r}" for name in modules() for value, line in _constants(name)
             if isinstance(value, str) and value in HOMES and HOMES[value] != name]
    assert not found, f"import these from their home module instead: {found}"


def test_the_split_names_are_one_tuple() -> None:
    found = [f"{name}:{node.lineno}" for name in modules() for node in ast.walk(tree(name))
             if isinstance(node, ast.Tuple) and [getattr(e, "value", None) for e in node.elts]
             == ["train", "validation", "test"] and name != "curator.pipeline.stages"]
    assert not found, f"split names restated (import SPLITS from curator.pipeline.stages): {found}"
    assert (*stages.SPLITS, stages.AUGMENTED_SPLIT) == stages.PUBLISHED_SPLITS


def test_one_write_batch() -> None:
    found = [f"{name}:{line}" for name in modules() for value, line in _constants(name)
             if value == BATCH_ROWS and name != "curator.io.parquet"
             # other 256s: a bit table, a task window, a raw read, a download chunk
             and name not in {"curator.stages.split.dedup", "curator.pipeline.executor",
                              "curator.sources.emonet_big.layouts", "curator.io.download"}]
    assert not found, f"write batch restated (use curator.io.parquet.BATCH_ROWS): {found}"


def test_image_columns_come_from_record_yaml() -> None:
    from curator.stages.prepare.worker import IMAGE_COLUMNS
    from curator.stages.split.dedup import COLUMNS

    declared = [name for name, col in record_spec()["columns"].items() if col["type"] == "image"]
    assert list(image_columns()) == declared and declared  # record.yaml has image columns
    assert image_columns() == IMAGE_COLUMNS and set(COLUMNS) == set(declared)


@pytest.mark.parametrize(("text", "parsed"), [
    ("nvie/subject:S012", GroupId("nvie", "S012", SUBJECT)),
    ("viri/pair:Happy/img_3", GroupId("viri", "Happy/img_3", PAIR)),
    ("emer/p3", GroupId("emer", "p3")),
    ("emer/12:30 take", GroupId("emer", "12:30 take")),  # digits before ':' are no kind
])
def test_group_ids_parse_and_print_back(text: str, parsed: GroupId) -> None:
    assert GroupId.parse(text) == parsed
    assert str(parsed) == text


def test_group_kind_vocabulary() -> None:
    assert group_kind("viri/Happy/a", "viri/Happy/a") == RECORD
    assert group_kind("nvie/subject:S1", "nvie/Happy/S1_a") == SUBJECT
    assert group_kind("nvie/pair:Happy/a", "nvie/Happy/a") == PAIR
    assert group_kind("emer/p3", "emer/3_film") == NAMED


def test_one_group_kind_function() -> None:
    defined = [name for name in modules() for node in ast.walk(tree(name))
               if isinstance(node, ast.FunctionDef) and node.name == "group_kind"]
    assert defined == ["curator.record.group"]


def test_the_licence_rule() -> None:
    verdicts = {name: recipe.INFO.redistributable for name, recipe in all_recipes().items()}
    allow, deny = SimpleNamespace(allow_public_push=True), SimpleNamespace(allow_public_push=False)
    for name, verdict in verdicts.items():
        assert public_allowed(name, None) is (verdict == "yes")
        assert public_allowed(name, deny) is (verdict == "yes")
        assert public_allowed(name, allow) is (verdict in ("yes", "opt-in"))
    assert set(verdicts.values()) == {"yes", "opt-in", "no"}  # every branch above was taken


def test_the_licence_rule_is_written_once() -> None:
    found = [f"{name}:{line}" for name in modules() for value, line in _constants(name)
             if value == "opt-in" and name != "curator.sources.licensing"]
    assert not found, f"the licence rule restated (use curator.sources.licensing.public_allowed): {found}"
