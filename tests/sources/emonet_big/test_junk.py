"""emonet_big: junk beside each layout (Hub formats and LAION's notebook output) changes no record and is
counted, file by file."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from curator.sources.emonet_big import samples as big_samples
from tests.sources.emonet import junk as emonet_junk

DATA_FOLDERS = {"webdataset": ("data",), "parquet": ("data",), "imagefolder": ("data/train",),
                "answer_tree": (f"images/{big_samples.NOTEBOOK_FOLDER}", f"json/{big_samples.NOTEBOOK_FOLDER}"),
                "side_by_side": (big_samples.NOTEBOOK_FOLDER,)}


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("big")
    for layout in big_samples.LAYOUTS:
        big_samples.build(out / layout, 0, False, layout)
    return {layout: out / layout / "emonet_big" for layout in big_samples.LAYOUTS}


@pytest.mark.slow
@pytest.mark.parametrize("layout", big_samples.LAYOUTS)
def test_junk_is_counted_and_changes_no_record(clean: dict[str, Path], tmp_path: Path, layout: str) -> None:
    @settings(max_examples=2, deadline=None, derandomize=True,  # the same examples on every run and in CI
          suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(files=emonet_junk.junk(DATA_FOLDERS[layout]))
    def run(files: list[tuple[str, bytes]]) -> None:
        emonet_junk.check("emonet_big", clean[layout], files, tmp_path / "work")

    run()
