"""The HTML report, checked by its content: what a person reads off the page."""

from __future__ import annotations

import base64
import csv
import io
import re

import pytest
from PIL import Image

from curator.stages.report import run_report


@pytest.fixture(scope="module")
def page(sample_build) -> dict:
    root = sample_build["root"]
    data = root / "data"
    data.mkdir(exist_ok=True)
    for name in ("prepared", "normalized", "split", "augmented"):
        if not (data / name).exists():
            (data / name).symlink_to(root / name)
    html = run_report(data, sample_build["pub"], root / "reports").read_text()
    return {"html": html, "root": root}


def _images(html: str) -> list[Image.Image]:
    found = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    return [Image.open(io.BytesIO(base64.b64decode(m))) for m in found]


def test_report_is_self_contained_with_every_section(page):
    html = page["html"]
    for heading in ("Records per source, split and class", "Sample images per class",
                    "Augmentation: before and after", "Rejects", "Duplicates and leakage",
                    "Standardization (fitted on train)", "Build provenance"):
        assert heading in html, heading
    assert not re.search(r'(src|href)="https?:', html)  # nothing is fetched: images are embedded
    assert html.count("<svg") == 7  # one bar chart per source


def test_counts_table_matches_the_published_split_sizes(page, sample_build):
    import datasets

    html = page["html"]
    viri = datasets.load_dataset(str(sample_build["pub"]), "viri")
    originals = {s: sum(1 for r in viri[s] if not r["augmented_from"]) for s in viri}
    rows = re.findall(r"<tr><td>viri</td><td>([^<]+)</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>", html)
    assert rows and sum(int(r[1]) for r in rows) == originals["train"]
    assert sum(int(r[3]) for r in rows) == originals["test"]


def test_pictures_are_real_images(page):
    images = _images(page["html"])
    assert len(images) >= 7  # a grid per image source + the augmentation grid
    for img in images:
        assert img.width > 100 and img.height > 60
        assert len(set(img.convert("L").tobytes())) > 20  # not blank


def test_plots_for_dvc(page):
    with open(page["root"] / "reports" / "plots" / "class_distribution.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {"source_class", "split", "count"} == set(rows[0])
    assert any(r["source_class"] == "viri/happiness" for r in rows)
