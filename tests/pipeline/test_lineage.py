"""lineage.json in process (the fast tier; through the CLI: tests/robustness/test_manifests.py): the
checked loader turns any bytes into a manifest or one ManifestError line, and `read` compares a
folder's shards with the listing `stamp` and the stages write."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curator.errors import CuratorError
from curator.pipeline import lineage
from curator.record.schema import arrow_schema

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
                    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=6), kids, max_size=4),
                    max_leaves=12)
FIELDS = ["format", "kind", "stage", "source", "schema", "taxonomy", "params", "inputs", "shards"]


def _split_folder(root: Path) -> Path:
    folder = root / "split"
    for split in ("train", "validation", "test"):  # empty shards: the listing is about files, not rows
        (folder / split).mkdir(parents=True)
        pq.write_table(arrow_schema().empty_table(), folder / split / "part-00000.parquet")
    lineage.stamp(folder, "split")
    return folder


@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=st.dictionaries(st.sampled_from(FIELDS), JSON), raw=st.none() | st.binary(max_size=40))
def test_any_manifest_is_a_dict_or_one_line(tmp_path: Path, fields: dict, raw: bytes | None) -> None:
    path = tmp_path / "lineage.json"
    path.write_bytes(raw if raw is not None else json.dumps(fields).encode())
    try:
        manifest = lineage.load(path, rerun="curator split")
    except lineage.ManifestError as exc:
        assert "\n" not in str(exc) and str(exc).endswith("re-run `curator split`")
    else:
        assert isinstance(manifest["kind"], str) and manifest["format"] == lineage.FORMAT


def test_stamp_lists_the_shards_and_read_accepts_them(tmp_path: Path) -> None:
    folder = _split_folder(tmp_path)
    manifest = lineage.read(folder, "split", role="--in")
    assert [(s["path"], s["rows"]) for s in manifest["shards"]] == [
        ("test/part-00000.parquet", 0), ("train/part-00000.parquet", 0), ("validation/part-00000.parquet", 0)]


@pytest.mark.parametrize(("change", "words"), [
    (lambda f: shutil.rmtree(f / "test"), "no test shards left (test/part-00000.parquet missing)"),
    (lambda f: shutil.copyfile(f / "train/part-00000.parquet", f / "train/part-00001.parquet"),
     "train/part-00001.parquet not written by it"),
    (lambda f: (f / "test/part-00000.parquet").write_bytes(b"PAR1"), "test/part-00000.parquet is 4 bytes"),
    (lambda f: [p.unlink() for p in f.rglob("*.parquet")], "holds none of the 3 listed (0 rows): emptied"),
])
def test_read_names_what_differs_from_the_listing(tmp_path: Path, change, words: str) -> None:
    folder = _split_folder(tmp_path)
    change(folder)
    with pytest.raises(CuratorError, match=r"does not hold the shards its lineage\.json lists") as caught:
        lineage.read(folder, "split", role="--in")
    assert words in str(caught.value) and "re-run `curator split`" in str(caught.value)
