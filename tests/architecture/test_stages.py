"""The table of stages (curator.pipeline.stages) is what the packages, the CLI and lineage follow."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from curator import cli
from curator.pipeline import lineage
from curator.pipeline.stages import DATA, STAGES, folder
from tests.architecture.imports import ROOT


def _commands() -> dict[str, object]:
    return {c.name or c.callback.__name__.replace("_", "-"): c.callback for c in cli.app.registered_commands}


@pytest.mark.parametrize("stage", [s for s in STAGES if s.name != "download"], ids=lambda s: s.name)
def test_every_stage_but_download_is_a_package_with_a_driver(stage) -> None:
    package = ROOT / "curator" / "stages" / stage.name
    assert (package / "__init__.py").is_file() and (package / "stage.py").is_file()


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.name)
def test_every_stage_is_a_cli_command(stage) -> None:
    assert stage.name in _commands()


def test_every_stage_package_has_its_row() -> None:
    packages = {p.name for p in (ROOT / "curator" / "stages").iterdir() if (p / "stage.py").is_file()}
    assert packages == {s.name for s in STAGES if s.name != "download"}


def test_the_stages_chain_each_reads_what_one_before_it_makes() -> None:
    made = set()
    for stage in STAGES:
        assert stage.reads is None or stage.reads in made, f"{stage.name} reads {stage.reads}, made by no stage before"
        made.add(stage.makes)
    assert len({s.makes for s in STAGES}) == len(STAGES)  # one stage per kind


def test_lineage_kinds_come_from_the_table() -> None:
    assert set(lineage.MAKES) == {s.makes for s in STAGES}
    assert lineage.MAKES["prepared"] == "curator prepare SRC" and lineage.MAKES["split"] == "curator split"
    assert lineage.KIND_OF_STAGE["augment"] == "augmented"
    assert lineage.META_SUBDIR == {"published": ".curator"}
    assert {"normalized", "split", "augmented", "published"} == lineage.LABELLED


def test_default_folders() -> None:
    assert folder("prepare", "viri") == Path("data/prepared/viri")
    assert folder("split") == Path("data/split")
    assert folder("augment", data=Path("elsewhere")) == Path("elsewhere/augmented")
    assert folder("report", data=Path("elsewhere")) == Path("reports")  # not under the data folder
    with pytest.raises(ValueError, match="per source"):
        folder("prepare")


def test_cli_defaults_are_the_table_folders() -> None:
    """`--in` defaults of the stages that take one folder, and report's data and output folders."""
    def default(command: str, parameter: str) -> object:
        return inspect.signature(_commands()[command]).parameters[parameter].default

    assert default("split", "inputs") == folder("normalize")
    assert default("augment", "inputs") == folder("split")
    assert default("publish", "inputs") == folder("split")
    assert default("report", "data") == DATA
    assert default("report", "out") == folder("report")
