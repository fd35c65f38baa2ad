"""Storage plans (prepare with `--executor ray`) give, unit by unit, exactly the pool path's items.

No Ray here: each unit is read the way a Ray Data task reads it (`plan.unit_items`), in order, and the
items plus `plan.finish` are compared with the recipe's prepare(), item by item, logged notes included.
tests/pipeline/test_raydata_cluster.py runs the same plans on a two-node cluster through the CLI.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curator.sources import emonet_big, emonet_binary, emonet_hq
from curator.sources.emonet.strays import CARD_WHY
from curator.sources.emonet_big import samples as big_samples
from curator.sources.emonet_binary import samples as binary_samples
from curator.sources.emonet_hq import samples as hq_samples
from curator.sources.recipe import NotRead


def _on_units(plan: Any) -> list[Any]:
    pairs = [pair for unit in plan.units() for pair in plan.unit_items(unit)]
    return [item for item, _ in pairs] + list(plan.finish([note for _, note in pairs]))


def _both(recipe: Any, raw: Path, caplog: pytest.LogCaptureFixture) -> tuple[list[Any], list[Any], list[str]]:
    with caplog.at_level(logging.INFO):
        pool = list(recipe.prepare(raw))
        pool_log, _ = caplog.messages[:], caplog.clear()
        units = _on_units(recipe.storage_plan(raw))
    assert caplog.messages == pool_log  # the counts the recipe logs at the end, too
    return pool, units, pool_log


@pytest.mark.parametrize("layout", ["webdataset", "parquet"])
def test_emonet_big_units_give_the_pool_items(layout: str, tmp_path: Path, caplog) -> None:
    big_samples.build(tmp_path, 3, True, layout)
    pool, units, _ = _both(emonet_big, tmp_path / "emonet_big", caplog)
    samples = [i for i in pool if not isinstance(i, NotRead)]
    assert len(samples) == big_samples.IMAGES + 2 and units == pool
    assert [i for i in pool if isinstance(i, NotRead)] == [NotRead("file README.md", CARD_WHY)]  # on both engines
    assert len(emonet_big.storage_plan(tmp_path / "emonet_big").units()) == 2  # two tars / two row groups


def test_emonet_big_left_out_ratings_are_counted_alike(tmp_path: Path, caplog) -> None:
    big_samples.build(tmp_path, 3, False, "parquet")
    shard = sorted((tmp_path / "emonet_big").rglob("*.parquet"))[1]
    table = pq.read_table(shard)
    cells = table.column("annotations").to_pylist()
    answer = json.loads(cells[2])
    answer["emotions"] = dict(list(answer["emotions"].items())[:-3])  # three names left out
    cells[2] = json.dumps(answer)
    pq.write_table(table.set_column(table.schema.get_field_index("annotations"), "annotations", pa.array(cells)),
                   shard)
    pool, units, logged = _both(emonet_big, tmp_path / "emonet_big", caplog)
    assert units == pool and any("3 emotion rating(s) left out of 1 model output(s)" in m for m in logged)


def test_emonet_big_image_folder_has_no_storage_plan(tmp_path: Path) -> None:
    big_samples.build(tmp_path, 3, True, "imagefolder")
    assert emonet_big.storage_plan(tmp_path / "emonet_big") is None  # prepare() from the driver, as before


def test_emonet_hq_units_give_the_pool_ids_and_joins(tmp_path: Path, caplog) -> None:
    """Repeated signatures across row groups: the suffixes and hq.csv's join follow file order."""
    hq_samples.build(tmp_path, 3, True)
    raw = tmp_path / "emonet_hq"
    (shard,) = raw.rglob("*.parquet")
    table = pq.read_table(shard)
    # rows 0 and 1 again at the end, row 0 a third time: ids -2, -3 in later row groups than the first
    pq.write_table(pa.concat_tables([table, table.slice(0, 2), table.slice(0, 1)]), shard, row_group_size=7)
    pool, units, logged = _both(emonet_hq, raw, caplog)
    assert units == pool
    assert any("repeat an earlier row" in m for m in logged) and any("joined" in m for m in logged)
    ids = [item["id"] for item in pool if isinstance(item, dict)]
    assert sum(i.endswith("-2") for i in ids) == 2 and sum(i.endswith("-3") for i in ids) == 1
    assert len(emonet_hq.storage_plan(raw).units()) > 3


def test_emonet_binary_units_give_the_pool_items(tmp_path: Path, caplog) -> None:
    binary_samples.build(tmp_path, 3, True)
    pool, units, logged = _both(emonet_binary, tmp_path / "emonet_binary", caplog)
    assert units == pool and any("without votes" in m for m in logged)


@pytest.mark.parametrize(("name", "content"), [("train-00000.parquet", b"not parquet"), ("00000.tar", b"junk")])
def test_a_damaged_big_shard_is_the_same_one_line_error_on_both_engines(name: str, content: bytes,
                                                                         tmp_path: Path) -> None:
    """A file that is not what its name says fails listing the Ray Data units as it fails prepare():
    one CuratorError naming the source, never a pyarrow or tarfile exception."""
    from curator.errors import CuratorError

    (tmp_path / name).write_bytes(content)
    with pytest.raises(CuratorError) as pool:
        list(emonet_big.prepare(tmp_path))
    with pytest.raises(CuratorError) as units:
        emonet_big.storage_plan(tmp_path)
    assert str(units.value) == str(pool.value) and str(pool.value).startswith("emonet_big: ")
