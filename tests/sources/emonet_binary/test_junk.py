"""emonet_binary: junk beside the Hub Parquet and binary.csv changes no record and is counted, file by file."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from curator.sources.emonet_binary import samples as binary_samples
from tests.sources.emonet import junk as emonet_junk


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("binary")
    binary_samples.build(out, 0, False)
    return out / "emonet_binary"


@pytest.mark.slow
@settings(max_examples=3, deadline=None, derandomize=True,  # the same examples on every run and in CI
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=emonet_junk.junk(("data",)))
def test_junk_is_counted_and_changes_no_record(clean: Path, tmp_path: Path, files: list[tuple[str, bytes]]) -> None:
    emonet_junk.check("emonet_binary", clean, files, tmp_path / "work")
