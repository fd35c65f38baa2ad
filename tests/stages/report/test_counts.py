"""The report's overview counts what `datasets.load_dataset` gives, per config and split, augmented copies
included (they were shown as 0 while the `faces` config loads with its `train_augmented` rows)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from curator.commands.validate import read_card_header
from curator.stages.report.stage import run_report


def _data(root: Path) -> Path:
    """The data/ folder the report reads, pointing at the sample build's stage outputs."""
    data = root / "report-data"
    data.mkdir(exist_ok=True)
    for name, target in (("prepared", "prepared"), ("normalized", "normalized"), ("split", "split"),
                         ("augmented", "augmented"), ("raw", "samples")):
        if not (data / name).exists():
            (data / name).symlink_to(root / target)
    return data


def _overview_table(page: str) -> dict[str, dict[str, int]]:
    """Config -> split -> rows, read off the overview's "Records per config and split" table."""
    overview = page.split("<section id='overview'>", 1)[1].split("</section>", 1)[0]
    table = overview.split("Records per config and split", 1)[1].split("</table>", 1)[0]
    header = re.findall(r"<th>([^<]*)</th>", table)
    assert header[0] == "config"
    rows = re.findall(r"<tr>((?:<td>[^<]*</td>)+)</tr>", table)
    out = {}
    for row in rows:
        config, *cells = re.findall(r"<td>([^<]*)</td>", row)
        out[config] = {split: int(n) for split, n in zip(header[1:], cells, strict=True)}
    return out


@pytest.mark.slow
def test_the_overview_counts_equal_the_published_dataset_per_config_and_split(sample_build, tmp_path):
    import datasets

    pub = sample_build["pub"]
    page = run_report(_data(sample_build["root"]), pub, tmp_path / "reports").read_text()
    shown = _overview_table(page)
    configs = [c["config_name"] for c in read_card_header(pub)["configs"]]
    assert sorted(shown) == sorted(configs)
    augmented = 0
    for config in configs:
        loaded = datasets.load_dataset(str(pub), config)
        expected = {split: loaded[split].num_rows for split in loaded}
        assert {s: n for s, n in shown[config].items() if n or s in expected} == expected, config
        augmented += expected.get("train_augmented", 0)
    assert shown["faces"]["train_augmented"] > 0 and augmented > 0  # the copies are there, and counted
