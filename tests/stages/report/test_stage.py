"""The HTML report, checked by its content (what a person reads off the page) and in headless Chromium at
desktop and phone widths: Chromium is installed with apt when the test runs as root and it is missing,
otherwise those tests are skipped with the reason. Screenshots stay under pytest's tmp dir (paths printed)."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import shutil
import subprocess
from xml.etree import ElementTree

import pytest
from PIL import Image

from curator.pipeline.stages import SPLITS
from curator.stages.report.data import load_build
from curator.stages.report.quality import duplicates
from curator.stages.report.stage import SECTIONS, run_report


def report_data(root):
    """The data/ folder layout the report reads, pointing at the sample build's stage outputs."""
    data = root / "data"
    data.mkdir(exist_ok=True)
    for name, target in (("prepared", "prepared"), ("normalized", "normalized"), ("split", "split"),
                         ("augmented", "augmented"), ("raw", "samples")):
        if not (data / name).exists():
            (data / name).symlink_to(root / target)
    return data


@pytest.fixture(scope="session")
def page(sample_build) -> dict:
    root = sample_build["root"]
    path = run_report(report_data(root), sample_build["pub"], root / "reports")
    return {"html": path.read_text(), "path": path, "root": root}


def data_uris(html: str) -> list[tuple[str, bytes]]:
    found = re.findall(r'src="data:image/([a-z+]+);base64,([^"]+)"', html)
    return [(kind, base64.b64decode(b64)) for kind, b64 in found]


def test_every_section_is_there_and_nothing_is_fetched(page):
    html = page["html"]
    for anchor in SECTIONS:
        assert f"<section id='{anchor}'>" in html, anchor
    assert not re.search(r'(src|href)=["\']https?:', html)  # images are embedded, nothing loads from a network
    assert page["path"].stat().st_size < 5 * 1024 * 1024


def test_overview_counts_match_the_published_configs(page, sample_build):
    import datasets

    viri = datasets.load_dataset(str(sample_build["pub"]), "viri")
    row = re.search(r"<tr><td>viri</td>" + "<td>(\\d+)</td>" * 4, page["html"])
    assert row, "no viri row in the counts table"
    for split, cell in zip((*SPLITS, "train_augmented"), row.groups(), strict=True):
        assert int(cell) == viri[split].num_rows  # augmented copies are their own split, not 0 (they were)
    # every check has a verdict line; the clean sample build passes each one
    for check in ("leakage", "accounting", "duplicates"):
        assert re.search(rf"<li class='ok'><b>{check}</b>: OK", page["html"]), check


def test_pictures_are_real_images(page):
    uris = data_uris(page["html"])
    charts = [data for kind, data in uris if kind == "svg+xml"]
    photos = [Image.open(io.BytesIO(data)) for kind, data in uris if kind == "jpeg"]
    assert len(charts) >= 10 and len(photos) >= 10
    for svg in charts:
        assert ElementTree.fromstring(svg).tag.endswith("svg")
    for img in photos:
        assert img.width >= 40 and len(set(img.convert("L").tobytes())) > 20  # not blank


def test_sections_say_what_the_sample_build_holds(page):
    html = page["html"]
    agreement = html.split("<section id='agreement'>")[1].split("</section>")[0]
    assert "emonet_hq" in agreement and "Krippendorff" in agreement  # experts rate 0-7: alpha per category
    assert "emonet_binary" in agreement and "majority share of votes" in agreement
    duplicates_html = html.split("<section id='duplicates'>")[1].split("</section>")[0]
    assert "None found" in duplicates_html  # the clean samples have no duplicates: said in words
    assert "Standardization of <code>physio_z</code> (fitted on train)" in html
    augmentation = html.split("<section id='augmentation'>")[1].split("</section>")[0]
    for source in ("viri", "nvie", "emonet_hq", "emonet_big", "emonet_binary", "emer"):  # every image source
        assert f"<h3>{source}</h3><div class='pairs'>" in augmentation, source
    assert augmentation.count(">IR after<") >= 2  # thermal pairs show the infrared copy too


def test_duplicate_clusters_are_shown_as_pictures_with_their_splits(page, sample_build):
    build = load_build(page["root"] / "data", sample_build["pub"])
    first = build.records[build.records["source"] == "viri"].head(2)
    ids = list(first["id"])
    build.leakage = {"summary": {"clusters": 1, "max_distance": 3},
                     "clusters": [{"record_ids": ids, "edges": [{"distance": 2, "kind": "near"}], "split": "train",
                                   "moved": True, "kinds": ["near"]}]}
    html = duplicates(build)
    assert "None found" not in html and "moved into one split" in html
    for rid, split in zip(ids, first["split"], strict=True):
        assert f"{rid} · {split}" in html
    assert html.count("<img") == 2


def test_plots_for_dvc(page):
    plots = page["root"] / "reports" / "plots"
    with open(plots / "class_distribution.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert any(r["source_class"] == "viri/happiness" and r["split"] == "train" for r in rows)
    with open(plots / "funnel.csv") as fh:
        funnel = list(csv.DictReader(fh))
    assert {r["outcome"] for r in funnel} == {"kept", "rejected", "excluded"}
    figures = page["root"] / "reports" / "figures"
    assert (figures / "funnel.svg").is_file() and (figures / "image_sizes.svg").is_file()


# --- in a browser ---------------------------------------------------------------------------------------
# After load, the report tells its host page what it holds: every <img> and whether it decoded, the sections,
# and its size. The host shows the report in an iframe of the exact width (headless Chromium's window is at
# least 500 px wide, so a phone's 390 px needs the frame) and writes the message into its DOM for --dump-dom.
PROBE = """<script>
addEventListener('load', () => {
  const imgs = [...document.images].map(i => ({alt: i.alt, ok: i.complete && i.naturalWidth > 0}));
  const sections = [...document.querySelectorAll('section')].map(s => s.id);
  parent.postMessage(JSON.stringify({imgs, sections, height: document.documentElement.scrollHeight,
                                     width: document.documentElement.scrollWidth}), '*');
});
</script>"""
HOST = """<!doctype html><body style="margin:0"><iframe src="{src}" style="width:{width}px;height:{height}px;border:0">
</iframe><script>addEventListener('message', e => {{
  const out = document.createElement('pre'); out.id = 'probe'; out.textContent = e.data; document.body.appendChild(out);
}});</script></body>"""


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], capture_output=True, timeout=900)
        return shutil.which("chromium")
    return None


def _run(browser: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--virtual-time-budget=10000", *args], capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def browser() -> str:
    found = _chromium()
    if not found:
        pytest.skip("no chromium: not installed, and apt-get is not available as root to install it")
    return found


@pytest.mark.parametrize("width", [1280, 390])
def test_report_in_chromium(page, browser, tmp_path, width):
    (tmp_path / "probed.html").write_text(page["html"].replace("</body>", PROBE + "</body>"))
    host = tmp_path / "host.html"
    host.write_text(HOST.format(src="probed.html", width=width, height=900))
    dom = _run(browser, f"--window-size={max(width, 500)},900", "--dump-dom", host.as_uri())
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout, re.S)
    assert found, f"chromium did not run the probe: {dom.stderr[-500:]}"
    probe = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert probe["sections"] == list(SECTIONS)
    broken = [i["alt"] for i in probe["imgs"] if not i["ok"]]
    assert probe["imgs"] and not broken, f"images that did not load: {broken}"
    assert probe["width"] <= width, "the page scrolls sideways"  # wide tables scroll inside their own box
    height = min(probe["height"], 30000)  # the whole page (a 390 px phone page is ~25000 px tall)
    host.write_text(HOST.format(src=page["path"].as_uri(), width=width, height=height))
    shot = tmp_path / f"report-{width}.png"
    _run(browser, f"--window-size={max(width, 500)},{height}", f"--screenshot={shot}", host.as_uri())
    with Image.open(shot) as full:
        full.crop((0, 0, width, height)).save(shot)  # the frame only: a phone's width, the whole page
    assert Image.open(shot).size == (width, height)
    print(f"screenshot at {width} px: {shot}")


def test_verdicts_name_the_problem_when_there_is_one(page, sample_build):
    from curator.stages.report.counts import verdicts

    build = load_build(page["root"] / "data", sample_build["pub"])
    train = build.records.index[build.records["split"] == "train"][:2]
    build.records.loc[train[1], "group_id"] = build.records.loc[train[0], "group_id"]
    build.records.loc[train[1], "split"] = "test"  # one group now in train and test
    build.metrics["normalize"] = {**build.metrics["normalize"], "kept": build.metrics["normalize"]["kept"] - 1}
    found = {name: (ok, text) for name, ok, text in verdicts(build)}
    assert found["leakage"] == (False, "1 group(s) appear in more than one split")
    assert not found["accounting"][0] and "normalize: " in found["accounting"][1]
    assert "normalize → split" in found["accounting"][1]


def test_annotator_reliability_and_labels_changed_from_majority(page, sample_build):
    text = page["html"]
    metrics = json.loads((sample_build["root"] / "prepared" / "emonet_binary" / "metrics.json").read_text())
    agg = metrics["aggregation"]
    assert "emonet_binary: how the votes became labels" in text
    assert f"<b>{agg['changed_from_majority']:,}</b> differ from majority vote" in text
    assert 'alt="annotator reliability: emonet_binary"' in text
    assert "Labels that differ from majority vote, with their votes" in text and " · majority: " in text
    assert 'alt="rating bias per expert: emonet_hq"' in text
