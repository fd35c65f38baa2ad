"""EmoNet-Face hq / binary / big through the real CLI: download from a loopback Hub, prepare,
normalize, checked record by record against tests/sources/emonet/oracle.py (the documented rules
restated) and against the samples' manifest; then the published build (conftest sample_build).

The CLI runs are slow to start (datasets + pandas imports), so the module fixture runs the
independent ones side by side in a small thread pool.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml

from curator.io.parquet import iter_records
from curator.io.rejects import read_rejects
from curator.record.taxonomy import taxonomy
from curator.testing.files import serve_directory
from curator.testing.hub import serve_hub
from tests.conftest import run_cli
from tests.sources.emonet import oracle

SOURCES = ("emonet_hq", "emonet_binary", "emonet_big")
REPOS = {"emonet_hq": "emonet-face-hq", "emonet_binary": "emonet-face-binary", "emonet_big": "emonet-face-big"}
CSVS = {"emonet_hq": "hq.csv", "emonet_binary": "binary.csv"}
TOKEN = "hf_test_token"  # the stub's token (serve_hub's default)
FINE = taxonomy().fine


def _parallel(jobs: list[Callable[[], Any]]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=3) as pool:
        return [f.result() for f in [pool.submit(job) for job in jobs]]


def _workspace(root: Path, hub: Any, files_url: str) -> Path:
    """A cwd with params.yaml: the samples' checksum registry, pinned revisions, CSVs on loopback."""
    ws = root / "ws"
    ws.mkdir()
    sources: dict[str, Any] = {"enabled": list(SOURCES)}
    for src, name in REPOS.items():
        conf = {"revision": hub.sha(f"laion/{name}")}  # repo: the recipes' defaults
        if src in CSVS:
            conf["annotations_url"] = f"{files_url}/clean/{src}/{CSVS[src]}"
        sources[src] = conf
    params = {"download": {"checksums": str(root / "clean" / "checksums.tsv")}, "sources": sources}
    (ws / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    return ws


def _seed_hub(root: Path) -> Path:
    """Hub repos hold the data folder and the card; the CSVs live on 'GitHub' (serve_directory)."""
    for src, name in REPOS.items():
        repo = root / "hub" / "laion" / name
        shutil.copytree(root / "clean" / src / "data", repo / "data")
        shutil.copy(root / "clean" / src / "README.md", repo / "README.md")
    return root / "hub"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Clean: samples -> download (Hub stub + CSV server) -> prepare -> normalize. Dirty: samples ->
    prepare straight from the samples folder (the download path is the same code) -> normalize."""
    root = tmp_path_factory.mktemp("emonet")
    _parallel([lambda: run_cli("samples", "--out", str(root / "clean")),
               lambda: run_cli("samples", "--out", str(root / "dirty"), "--dirty")])
    dirty = root / "ws-dirty"
    dirty.mkdir()
    with serve_hub(_seed_hub(root)) as hub, hub.client_env(root / "hf-home") as env, serve_directory(root) as url:
        env = {**env, "HF_TOKEN": TOKEN}
        clean = _workspace(root, hub, url)

        def chain(src: str) -> None:
            run_cli("download", src, cwd=clean, env=env)
            run_cli("prepare", src, cwd=clean, env=env)

        def prepare_dirty(src: str) -> None:
            run_cli("prepare", src, "--raw", str(root / "dirty" / src), "--out", f"data/prepared/{src}", cwd=dirty)

        _parallel([*(lambda s=s: chain(s) for s in SOURCES), *(lambda s=s: prepare_dirty(s) for s in SOURCES)])
        hub_requests = list(hub.requests)
    _parallel([lambda: run_cli("normalize", cwd=clean),
               lambda: run_cli("normalize", *[a for s in SOURCES for a in ("--in", f"data/prepared/{s}")], cwd=dirty)])
    return {"root": root, "ws": {"clean": clean, "dirty": dirty}, "hub_requests": hub_requests}


def _manifest(run: dict[str, Any], variant: str) -> dict[str, Any]:
    return json.loads((run["root"] / variant / "manifest.json").read_text())


def _records(folder: Path) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in iter_records(folder)}


def _prepared(run: dict[str, Any], src: str, variant: str = "clean") -> dict[str, dict[str, Any]]:
    return _records(run["ws"][variant] / "data" / "prepared" / src)


def _normalized(run: dict[str, Any], src: str, variant: str = "clean") -> dict[str, dict[str, Any]]:
    return {k: r for k, r in _records(run["ws"][variant] / "data" / "normalized").items() if r["source"] == src}


# --------------------------------------------------------------------------- accounting


@pytest.mark.parametrize("variant", ["clean", "dirty"])
@pytest.mark.parametrize("src", SOURCES)
def test_prepare_counts_match_the_manifest(run: dict[str, Any], src: str, variant: str) -> None:
    expected = _manifest(run, variant)[src]
    metrics = json.loads((run["ws"][variant] / "data" / "prepared" / src / "metrics.json").read_text())
    assert metrics["inputs"] == expected["items"] == metrics["kept"] + sum(metrics["rejected_by_reason"].values())
    assert metrics["rejected_by_reason"] == expected["expected"]["prepare_rejects"]


def test_normalize_keeps_what_the_manifest_expects(run: dict[str, Any]) -> None:
    normalized = run["ws"]["dirty"] / "data" / "normalized"
    manifest = _manifest(run, "dirty")
    kept = Counter(r["source"] for r in iter_records(normalized, columns=["source"]))
    assert kept == {s: manifest[s]["expected"]["records"] for s in SOURCES}
    rejects = read_rejects(normalized / "rejects.jsonl")
    assert [r["detail"] for r in rejects] == ["label 'Boredom' is not in curator/sources/emonet_big/labels.yaml"]
    metrics = json.loads((normalized / "metrics.json").read_text())
    assert metrics["inputs"] == metrics["kept"] + len(rejects)


def test_download_pins_the_revision_and_fetches_csv_from_github(run: dict[str, Any]) -> None:
    raw = run["ws"]["clean"] / "data" / "raw"
    assert (raw / "emonet_hq" / "hq.csv").is_file() and (raw / "emonet_binary" / "binary.csv").is_file()
    assert sorted(p.name for p in (raw / "emonet_big" / "data").iterdir()) == ["00000.tar", "00001.tar"]
    resolves = [path for method, path in run["hub_requests"] if "/resolve/" in path]
    assert resolves and all("/resolve/main/" not in p for p in resolves)  # by sha, never a branch
    assert any(p.startswith("/datasets/laion/emonet-face-big/") for p in resolves)  # the default repo id


# --------------------------------------------------------------------------- hq


def test_hq_records_are_the_experts_of_the_parquet_label(run: dict[str, Any]) -> None:
    expected = oracle.hq_expected(run["root"] / "clean" / "emonet_hq")
    records = _prepared(run, "emonet_hq")
    assert records.keys() == expected.keys() and len(records) == 24  # ids: the label's content signature
    for rid, want in expected.items():
        got = records[rid]
        assert got["scores"] == pytest.approx(want["scores"], abs=1e-6)
        assert got["label_original"] == want["label"] and got["agreement"] == pytest.approx(want["agreement"])
        experts = [a for a in got["annotations"] if not a["is_model"]]
        assert {a["annotator"] for a in experts} == set(want["experts"]) and all(
            a["annotator"].startswith("human-") for a in experts)
        assert len(experts) == sum(map(len, want["experts"].values()))
        assert got["image"]["bytes"] == want["image"] and got["group_id"] == rid


def test_hq_csv_joins_by_signature_and_adds_models_on_their_own_scale(run: dict[str, Any]) -> None:
    expected = oracle.hq_expected(run["root"] / "clean" / "emonet_hq")
    records = _prepared(run, "emonet_hq")
    assert all(w["joined"] for w in expected.values())  # every clean image has its hq.csv rows
    for rid, want in expected.items():
        got = records[rid]
        assert got["image"]["path"] == want["joined"]  # the file name the Parquet lost
        models = [a for a in got["annotations"] if a["is_model"]]
        assert Counter(a["annotator"] for a in models) == Counter(
            {m: len(d) for m, d in want["models"]})
        given = sorted(v for _, d in want["models"] for v in d.values())
        assert sorted(a["value"] for a in models) == pytest.approx(given, abs=1e-5)  # as given, never rescaled
    models = [a for r in records.values() for a in r["annotations"] if a["is_model"]]
    assert any(a["value"] < 0 for a in models if a["annotator"] == "Empathic Insight Face Large")
    assert {a["note"] for a in models if a["annotator"] == "Hume Face*"} == {"Hume Face* 0-1 scale"}
    assert any(a["target"].startswith("Extra Dimensions|") for a in models)
    assert all(a["target"] in FINE or a["target"].startswith("Extra Dimensions|") for a in models)


def test_hq_dirty_rejects_name_the_unjoined_image(run: dict[str, Any]) -> None:
    rejects = read_rejects(run["ws"]["dirty"] / "data" / "prepared" / "emonet_hq" / "rejects.jsonl")
    unjoined = [r for r in rejects if r["reason"] == "unjoined_annotation"]
    assert len(unjoined) == 1 and unjoined[0]["path"].startswith("flux_dev_one_")
    assert "matches no Parquet row" in unjoined[0]["detail"]
    malformed = next(r for r in rejects if r["reason"] == "malformed_annotation")
    assert malformed["detail"].startswith("hq.csv:") and "not a Python literal" in malformed["detail"]


# --------------------------------------------------------------------------- binary


def test_binary_labels_come_from_the_votes(run: dict[str, Any]) -> None:
    expected = oracle.binary_expected(run["root"] / "clean" / "emonet_binary" / "binary.csv")
    records = _prepared(run, "emonet_binary")
    assert len(records) == 40
    rows = {Path(r["path"]["path"]).stem: r for r in oracle.parquet_rows(run["root"] / "clean" / "emonet_binary")}
    names = json.loads(pq.read_schema(next((run["root"] / "clean" / "emonet_binary" / "data").glob("*.parquet")))
                       .metadata[b"huggingface"])["info"]["features"]["emotion"]["names"]
    for rid, got in records.items():
        stem = rid.removeprefix("emonet_binary/")
        label, share = expected[stem]
        assert got["label_original"] == label
        assert got["agreement"] == (pytest.approx(share) if share is not None else None)
        assert got["label_provided"] == names[rows[stem]["emotion"]]  # the Parquet's own label, beside
        assert all(not a["is_model"] and a["value"] in (0.0, 1.0) for a in got["annotations"])
    unlabelled = [r for r in records.values() if r["label_original"] is None]
    assert {r["id"] for r in unlabelled} >= {"emonet_binary/00005", "emonet_binary/00010"}  # no majority
    # 02026: Intoxication 3 of 3 True, Concentration 1 of 1: the same share, so more True votes wins
    assert records["emonet_binary/02026"]["label_original"] == "Intoxication/Altered States of Consciousness"
    assert any(r["label_original"] != r["label_provided"] for r in records.values() if r["label_original"])


# --------------------------------------------------------------------------- big


def test_big_webdataset_records_are_the_vlm_json(run: dict[str, Any]) -> None:
    expected = oracle.big_expected_wds(run["root"] / "clean" / "emonet_big")
    records = _prepared(run, "emonet_big")
    assert {r.removeprefix("emonet_big/") for r in records} == set(expected)
    assert {w["shape"] for w in expected.values()} == {"key"}  # the list shape: tests/sources/emonet_big/test_recipe.py
    for rid, got in records.items():
        want = expected[rid.removeprefix("emonet_big/")]
        assert got["label_original"] == want["label"] and got["prompt"] == want["prompt"]
        assert got["agreement"] is None  # one model: nothing to agree with
        assert {a["annotator"] for a in got["annotations"]} == set(want["models"])
        assert all(a["is_model"] for a in got["annotations"])
        for model, answer in want["answers"]:
            notes = {a["target"]: a["note"] for a in got["annotations"] if a["annotator"] == model}
            assert all(notes[n] == e["reasoning"] for n, e in answer["emotions"].items())
            assert notes["Extra Dimensions|Valence"] == answer["extra_dimensions"]["Valence"]["reasoning"]
        assert [d["name"] for d in got["dimensions"]] == ["arousal", "valence", "dominance", "emotional_vulnerability"]
        given = answer["extra_dimensions"]  # one model: its ratings are the record's
        assert {d["original_name"]: d["original_value"] for d in got["dimensions"]} == {
            n: pytest.approx(e["rating"]) for n, e in given.items()}
        assert all(0 <= d["value"] <= 1 for d in got["dimensions"])


# --------------------------------------------------------------------------- normalize and publish


@pytest.mark.parametrize("src", SOURCES)
def test_normalize_maps_labels_and_keeps_the_new_columns(run: dict[str, Any], src: str) -> None:
    prepared, normalized = _prepared(run, src), _normalized(run, src)
    assert normalized.keys() == prepared.keys()
    aliases = {"Hopelessness": "Helplessness"} if src == "emonet_binary" else {}
    for rid, got in normalized.items():
        original = prepared[rid]["label_original"]
        assert (FINE[got["label_fine"]] if got["label_fine"] is not None else None) == aliases.get(original, original)
        before = prepared[rid]
        assert (got["agreement"], got["label_provided"]) == (before["agreement"], before["label_provided"])
        if got["label_fine"] is not None:
            assert taxonomy().family[got["label_family"]] == taxonomy().family_of(FINE[got["label_fine"]])


def test_published_build_keeps_unlabelled_binary_images_and_agreement(sample_build: dict) -> None:
    shards = sorted((sample_build["pub"] / "data" / "emonet_binary").glob("*/*.parquet"))  # <facets>/<split>-*
    rows = [r for s in shards for r in pq.read_table(s, columns=["id", "label_fine", "label_provided",
                                                                 "agreement", "augmented_from"]).to_pylist()]
    originals = [r for r in rows if not r["augmented_from"]]
    assert len(originals) == 40 and all(r["label_provided"] for r in originals)
    assert any(r["label_fine"] is None and r["agreement"] is None for r in originals)
    assert all(0 < r["agreement"] <= 1 for r in originals if r["label_fine"] is not None)
