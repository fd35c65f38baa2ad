"""Publish and report state how the data was really made: the split and augment settings and the policy
from the inputs' lineage.json, never from params.yaml as it is now; exclusions counted as exclusions;
what prepare did not read, per source, in the card.

One workspace, driven through the real CLI: VIRI's sample (plus an NVIE image in its download, which
the recipe excludes as `other_dataset`) prepared, normalized, split 80/10/10 with seed 11 and augmented
once per train record; then params.yaml is set back to 70/15/15, seed 99, three copies, and publish and
report run.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from curator.testing.samples import build_samples
from tests.conftest import ROOT, run_cli

BUILT = {"split": {"seed": 11, "ratios": {"train": 0.8, "validation": 0.1, "test": 0.1}},
         "augment": {"policy": "policy.yaml", "copies": 1, "seed": 0, "workers": 1}}
NOW = {"split": {"seed": 99, "ratios": {"train": 0.7, "validation": 0.15, "test": 0.15}},
       "augment": {"policy": "policy.yaml", "copies": 3, "seed": 5, "workers": 1}}
NOT_READ = [{"what": "folder VIRI/models (12 files)", "why": "weights and plots beside the data", "count": 1},
            {"what": "column 'Pupil diameter [mm]'", "why": "not in the evidenced format", "count": 4}]
PUBLISHED = "data/publish/emotion-curator"


def _params(work: Path, settings: dict) -> None:
    params = {"sources": {"enabled": ["viri"]}, "prepare": {"workers": 1}, **settings}
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("provenance")
    samples = work / "samples"
    build_samples(samples)
    raw = work / "data" / "raw" / "viri"
    shutil.copytree(samples / "viri", raw)
    (raw / "NVIE" / "IR" / "train" / "fear").mkdir(parents=True)
    (raw / "NVIE" / "IR" / "train" / "fear" / "S001_fear_01.JPG").write_bytes(b"not ours")
    shutil.copyfile(ROOT / "pipelines" / "augment" / "default.yaml", work / "policy.yaml")
    _params(work, BUILT)
    for args in (["prepare", "viri"], ["normalize"], ["split"], ["augment"]):
        run_cli(*args, cwd=work)
    # what a recipe yielding NotRead leaves in prepare's metrics (metrics.json is no part of a fingerprint)
    metrics_file = work / "data" / "prepared" / "viri" / "metrics.json"
    metrics = json.loads(metrics_file.read_text())
    metrics_file.write_text(json.dumps({**metrics, "not_read": NOT_READ}))
    _params(work, NOW)  # params.yaml edited since: publish and report must not believe it
    run_cli("publish", "--augmented", "data/augmented", cwd=work)
    run_cli("report", cwd=work)
    return work


def _card(work: Path) -> str:
    return (work / PUBLISHED / "README.md").read_text()


def _section(text: str, title: str) -> str:
    return text.split(f"## {title}", 1)[1].split("\n## ", 1)[0]


def _provenance(card: str) -> dict:
    return json.loads(_section(card, "Build provenance").split("```json", 1)[1].split("```", 1)[0])


RATIO_TRIPLE = re.compile(r"(\d+(?:\.\d+)?) ?/ ?(\d+(?:\.\d+)?) ?/ ?(\d+(?:\.\d+)?)")


@pytest.mark.slow
def test_card_croissant_and_report_state_the_ratios_and_seed_the_split_used(work: Path) -> None:
    card = _card(work)
    triples = RATIO_TRIPLE.findall(card)
    assert triples and set(triples) == {("80", "10", "10")}, triples  # every mention, none of the params' 70/15/15
    assert "Ratios {'train': 0.8, 'validation': 0.1, 'test': 0.1} with seed 11." in _section(card, "How it was split")
    params = _provenance(card)["params"]
    assert params["split"] == BUILT["split"]
    assert {k: params["augment"][k] for k in ("copies", "seed")} == {"copies": 1, "seed": 0}
    assert "up to 1 augmented copies" in _section(card, "Augmentation")

    croissant = (work / PUBLISHED / "croissant.json").read_text()
    assert set(RATIO_TRIPLE.findall(croissant)) == {("80", "10", "10")}
    assert "split 80/10/10 (train/validation/test)" in json.loads(croissant)["description"]

    page = html.unescape((work / "reports" / "index.html").read_text())
    assert "Target split ratios 80 / 10 / 10 %" in page
    cells = dict(re.findall(r"<tr><td>((?:split|augment)\.\w+)</td><td>([^<]*)</td></tr>", page))
    assert cells["split.seed"] == "11" and "'train': 0.8" in cells["split.ratios"]
    assert cells["augment.copies"] == "1" and cells["augment.seed"] == "0"
    assert not RATIO_TRIPLE.search(page.replace("80 / 10 / 10", "")), "another ratio triple in the report"


@pytest.mark.slow
def test_the_published_policy_is_the_one_augment_read(work: Path) -> None:
    published = (work / PUBLISHED / "augment.yaml").read_bytes()
    assert published == (work / "policy.yaml").read_bytes()
    digest = _provenance(_card(work))["params"]["augment"]["policy_sha256"]
    lineage = json.loads((work / "data" / "augmented" / "lineage.json").read_text())
    assert digest == lineage["params"]["policy_sha256"]


@pytest.mark.slow
def test_a_policy_edited_since_augment_is_refused(work: Path, tmp_path: Path) -> None:
    copy = tmp_path / "w"
    shutil.copytree(work, copy, symlinks=True)
    with open(copy / "policy.yaml", "a") as fh:
        fh.write("# edited after augment ran\n")
    proc = run_cli("publish", "--augmented", "data/augmented", "--out", "again", cwd=copy, check=False)
    assert proc.returncode == 1 and not (copy / "again").exists()
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "changed since `curator augment` read it" in lines[0], proc.stderr


@pytest.mark.slow
def test_other_dataset_is_an_exclusion_in_metrics_report_and_card(work: Path) -> None:
    metrics = json.loads((work / "data" / "prepared" / "viri" / "metrics.json").read_text())
    assert metrics["rejected_by_reason"] == {"other_dataset": 1} and metrics["excluded"] == 1

    funnel = (work / "reports" / "plots" / "funnel.csv").read_text().splitlines()
    assert "viri,excluded,1" in funnel and "viri,rejected,0" in funnel
    page = (work / "reports" / "index.html").read_text()
    assert re.search(r"<tr><td>other_dataset</td><td>excluded</td><td>prepare</td><td>viri</td><td>1</td>", page)
    prepared = re.search(r"<tr><td>prepare/viri</td>((?:<td>\d+</td>){4})</tr>", page)
    assert prepared and re.findall(r"\d+", prepared.group(1))[2:] == ["1", "1"]  # rejected 1, of which excluded 1

    unread = _section(_card(work), "What this build did not read")
    assert "- excluded `other_dataset`: 1 (an image of the other study" in unread


@pytest.mark.slow
def test_the_card_lists_what_prepare_did_not_read(work: Path) -> None:
    unread = _section(_card(work), "What this build did not read")
    viri = unread.split("### `viri`", 1)[1]
    for entry in NOT_READ:
        assert f"- not read: {entry['what']}: {entry['count']} ({entry['why']})" in viri


@pytest.mark.slow
def test_a_prepared_folder_rebuilt_since_the_split_is_not_taken_for_this_build(work: Path, tmp_path: Path) -> None:
    copy = tmp_path / "w"
    shutil.copytree(work, copy, symlinks=True)
    shutil.rmtree(copy / "data" / "raw" / "viri" / "NVIE")  # another download: prepare makes another folder
    run_cli("prepare", "viri", cwd=copy)
    run_cli("publish", "--augmented", "data/augmented", "--out", "again", cwd=copy)
    viri = _section((copy / "again" / "README.md").read_text(), "What this build did not read")
    assert "Not known: its prepare output was not found beside the split folder, or it was rebuilt" in viri
    assert "other_dataset" not in viri and "not read:" not in viri


@pytest.mark.slow
def test_a_report_on_a_split_made_after_publish_is_refused(work: Path, tmp_path: Path) -> None:
    copy = tmp_path / "w"
    shutil.copytree(work, copy, symlinks=True)
    run_cli("split", cwd=copy)  # now 70/15/15: the published folder no longer comes from data/split
    proc = run_cli("report", "--out", "r2", cwd=copy, check=False)
    assert proc.returncode == 1 and not (copy / "r2" / "index.html").exists()
    assert "data/split is not the split folder" in proc.stderr and "re-run `curator publish`" in proc.stderr


def test_the_sample_builds_card_names_every_not_read_entry_prepare_counted(sample_build) -> None:
    """The recipes' own NotRead items, through the real prepare: every entry of every source's metrics is
    in that source's part of the card, with its count."""
    unread = _section((sample_build["pub"] / "README.md").read_text(), "What this build did not read")
    parts = dict(re.findall(r"### `(\w+)`\n\n(.*?)(?=\n### |\Z)", unread, re.S))
    entries = 0
    for metrics_file in sorted((sample_build["root"] / "prepared").glob("*/metrics.json")):
        metrics = json.loads(metrics_file.read_text())
        for entry in metrics.get("not_read", []):
            entries += 1
            line = f"- not read: {' '.join(entry['what'].split())}: {entry['count']} ({' '.join(entry['why'].split())})"
            assert line in parts[metrics["source"]], (metrics["source"], line)
        if not metrics.get("not_read") and not metrics.get("excluded"):
            assert parts[metrics["source"]].strip() == "Everything prepare saw was read; nothing was excluded."
    assert entries > 0  # the EmoNet samples hold files and columns their recipes do not read
