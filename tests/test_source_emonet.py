"""EmoNet-Face hq / binary / big: download from a loopback Hub, prepare and normalize through
the real CLI, checked against the samples' manifest; plus unit tests of the parsing rules.

The CLI runs are slow to start (datasets + pandas imports), so the module fixture runs the
independent ones side by side in a small thread pool.
"""

from __future__ import annotations

import ast
import csv
import json
import os
import shutil
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from curator.config import Download
from curator.errors import CuratorError, SchemaError
from curator.io.parquet import iter_records
from curator.io.rejects import read_rejects
from curator.reasons import Reason
from curator.record.taxonomy import taxonomy
from curator.sources import all_recipes, emonet, emonet_big, emonet_binary, emonet_hq
from curator.sources.recipe import Reject
from curator.stages.prepare import run_prepare
from curator.testing.files import serve_directory
from curator.testing.hub import serve_hub
from tests.conftest import run_cli

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
    """Hub repos hold the Parquet shards and the card; the CSVs live on 'GitHub' (serve_directory)."""
    for src, name in REPOS.items():
        repo = root / "hub" / "laion" / name
        shutil.copytree(root / "clean" / src / "data", repo / "data")
        shutil.copy(root / "clean" / src / "README.md", repo / "README.md")
    return root / "hub"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Clean: samples -> download (Hub stub + CSV server) -> prepare. Dirty: samples -> prepare
    straight from the samples folder (the download path is the same code) -> normalize."""
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
    run_cli("normalize", *[a for s in SOURCES for a in ("--in", f"data/prepared/{s}")], cwd=dirty)
    return {"root": root, "ws": {"clean": clean, "dirty": dirty}, "hub_requests": hub_requests}


def _manifest(run: dict[str, Any], variant: str) -> dict[str, Any]:
    return json.loads((run["root"] / variant / "manifest.json").read_text())


def _records(folder: Path, columns: list[str] | None = None) -> list[dict[str, Any]]:
    return list(iter_records(folder, columns=columns))


# --------------------------------------------------------------------------- through the CLI


@pytest.mark.parametrize("variant", ["clean", "dirty"])
@pytest.mark.parametrize("src", SOURCES)
def test_prepare_counts_match_the_manifest(run: dict[str, Any], src: str, variant: str) -> None:
    expected = _manifest(run, variant)[src]
    prepared = run["ws"][variant] / "data" / "prepared" / src
    metrics = json.loads((prepared / "metrics.json").read_text())
    assert metrics["inputs"] == expected["items"]
    assert metrics["rejected_by_reason"] == expected["expected"]["prepare_rejects"]
    assert metrics["kept"] == expected["items"] - sum(expected["expected"]["prepare_rejects"].values())


def test_normalize_keeps_what_the_manifest_expects(run: dict[str, Any]) -> None:
    normalized = run["ws"]["dirty"] / "data" / "normalized"
    manifest = _manifest(run, "dirty")
    kept = Counter(r["source"] for r in _records(normalized, ["source"]))
    assert kept == {s: manifest[s]["expected"]["records"] for s in SOURCES}
    rejects = read_rejects(normalized / "rejects.jsonl")
    for src in SOURCES:
        got = Counter(r["reason"] for r in rejects if r["source"] == src)
        assert got == manifest[src]["expected"]["normalize_rejects"]
    # big's top-rated name outside the taxonomy is rejected with its text
    assert [r["detail"] for r in rejects] == ["label 'Boredom' is not in schemas/maps/emonet_big.yaml"]


def test_download_pins_the_revision_and_fetches_csv_from_github(run: dict[str, Any]) -> None:
    raw = run["ws"]["clean"] / "data" / "raw"
    assert (raw / "emonet_hq" / "hq.csv").is_file() and (raw / "emonet_binary" / "binary.csv").is_file()
    assert sorted(p.name for p in (raw / "emonet_binary" / "data").glob("*.parquet")) == [
        "train-00000-of-00002.parquet", "train-00001-of-00002.parquet"]
    resolves = [path for method, path in run["hub_requests"] if "/resolve/" in path]
    assert resolves and all("/resolve/main/" not in p for p in resolves)  # by sha, never a branch
    assert any(p.startswith("/datasets/laion/emonet-face-big/") for p in resolves)  # the default repo id


def test_hq_scores_are_the_expert_mean_over_7_for_one_image(run: dict[str, Any]) -> None:
    rows = [r for r in csv.DictReader((run["root"] / "clean" / "emonet_hq" / "hq.csv").open())
            if r["image"] == "00000.jpg"]
    experts = [ast.literal_eval(r["annotations"]) for r in rows if not r["annotator"].startswith("Hume Face")]
    record = next(r for r in _records(run["ws"]["clean"] / "data" / "prepared" / "emonet_hq")
                  if r["id"] == "emonet_hq/00000")
    by_hand = [sum(e[name] for e in experts) / len(experts) / 7 for name in FINE]
    assert record["scores"] == pytest.approx(by_hand, abs=1e-6)
    assert len(record["annotations"]) == sum(len(ast.literal_eval(r["annotations"])) for r in rows)
    assert record["demographics"].keys() == {"ethnicity", "gender", "age"} and record["prompt"]


def test_binary_records_carry_votes_and_shares(run: dict[str, Any]) -> None:
    records = _records(run["ws"]["clean"] / "data" / "prepared" / "emonet_binary")
    assert len(records) == 40 and all(r["annotations"] and r["scores"] is None for r in records)
    first = records[0]
    assert first["group_id"] == first["id"] == "emonet_binary/00000" and first["image"]["path"] == "00000.png"
    shares = {d["name"]: d["value"] for d in first["dimensions"]}
    votes = Counter((a["target"], a["value"]) for a in first["annotations"])
    for target in {a["target"] for a in first["annotations"]}:
        n_yes, n_no = votes[(target, 1.0)], votes[(target, 0.0)]
        assert shares[f"present:{target}"] == pytest.approx(n_yes / (n_yes + n_no))


def test_big_stringified_demographics_and_vlm_annotations(run: dict[str, Any]) -> None:
    record = _records(run["ws"]["clean"] / "data" / "prepared" / "emonet_big")[0]
    assert set(record["demographics"]) == {"ethnicity", "gender", "age"}
    assert len(record["annotations"]) == 40 and all(a["annotator"] == "vlm" and a["is_model"]
                                                    for a in record["annotations"])
    assert [d["name"] for d in record["dimensions"]] == ["Arousal", "Valence", "Dominance", "Emotional Vulnerability"]
    top = max(record["annotations"], key=lambda a: a["value"])
    assert record["label_original"] == top["target"] and record["license"] == "CC-BY-4.0"


def test_unknown_parquet_schema_is_one_clear_line(tmp_path: Path) -> None:
    raw = tmp_path / "raw" / "data"
    raw.mkdir(parents=True)
    pq.write_table(pa.table({"picture": [b"\x89PNG"], "label": ["Anger"]}), raw / "train-00000-of-00001.parquet")
    proc = run_cli("prepare", "emonet_big", "--raw", "raw", "--out", "out", cwd=tmp_path, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: emonet_big: train-00000-of-00001.parquet")
    assert "expected an Image struct column (image or path" in lines[0] and "annotations or emotion" in lines[0]
    assert "found picture (binary), label (string)" in lines[0]
    assert not (tmp_path / "out").exists()


def test_binary_alias_hopelessness_survives_to_normalize(run: dict[str, Any], tmp_path: Path) -> None:
    raw = shutil.copytree(run["root"] / "clean" / "emonet_binary", tmp_path / "raw")
    shard = raw / "data" / "train-00000-of-00002.parquet"
    table = pq.read_table(shard)
    names = json.loads(table.schema.metadata[b"huggingface"])["info"]["features"]["emotion"]["names"]
    emotion = pa.array([names.index("Hopelessness")] * table.num_rows, table.schema.field("emotion").type)
    pq.write_table(table.set_column(table.schema.get_field_index("emotion"), "emotion", emotion), shard)
    run_prepare("emonet_binary", emonet_binary.prepare, raw, tmp_path / "prepared")
    run_cli("normalize", "--in", "prepared", "--out", "normalized", cwd=tmp_path)
    relabelled = [r for r in _records(tmp_path / "normalized") if r["label_original"] == "Hopelessness"]
    assert len(relabelled) == 20
    assert {FINE[r["label_fine"]] for r in relabelled} == {"Helplessness"}


# --------------------------------------------------------------------------- hq rules


def _row(stem: str = "00007", demographics: Any = None) -> emonet.Row:
    return emonet.Row(stem, {"bytes": b"", "path": f"{stem}.jpg"}, "test row 0", "a prompt", demographics, None, None)


EXPERT_1 = emonet_hq.Rating("expert-1", {"Anger": 6.0, "Fear": 2.0, "Extra Dimensions|Valence": -2.0})
EXPERT_2 = emonet_hq.Rating("expert-2", {"Anger": 3.0, "Fear": 4.0, "Extra Dimensions|Valence": 1.0,
                                         "Extra Dimensions|Arousal": 5.0})
MODEL = emonet_hq.Rating("Hume Face (v2)", {"Anger": 0.0, "Fear": 7.0, "Extra Dimensions|Valence": 3.0})


def test_hq_scores_by_hand_and_model_rows_left_out() -> None:
    record = emonet_hq.image_record(_row(), [EXPERT_1, MODEL, EXPERT_2])
    assert isinstance(record, dict)
    scores = dict(zip(FINE, record["scores"], strict=True))
    assert scores["Anger"] == pytest.approx((6 + 3) / 2 / 7)
    assert scores["Fear"] == pytest.approx((2 + 4) / 2 / 7)  # the model's 7 does not count
    assert sum(scores.values()) == pytest.approx(scores["Anger"] + scores["Fear"])  # absent = 0
    assert record["label_original"] == "Anger"
    by_annotator = Counter((a["annotator"], a["is_model"]) for a in record["annotations"])
    assert by_annotator == {("expert-1", False): 3, ("expert-2", False): 4, ("Hume Face (v2)", True): 3}


def test_hq_extra_dimensions_split_from_categories() -> None:
    record = emonet_hq.image_record(_row(), [EXPERT_1, MODEL, EXPERT_2])
    assert isinstance(record, dict)
    # mean over the experts that have the key; the model's Valence 3 is left out
    assert record["dimensions"] == [{"name": "Valence", "value": -0.5}, {"name": "Arousal", "value": 5.0}]
    targets = {a["target"] for a in record["annotations"]}
    assert "Extra Dimensions|Valence" in targets and "Valence" not in FINE


def test_tie_goes_to_the_earliest_in_taxonomy_order() -> None:
    assert FINE.index("Fear") < FINE.index("Anger")
    tied = emonet_hq.Rating("expert-1", {"Anger": 5.0, "Fear": 5.0})
    record = emonet_hq.image_record(_row(), [tied])
    assert isinstance(record, dict) and record["label_original"] == "Fear"
    assert emonet.top_label({"Anger": 5, "Fear": 5}) == emonet.top_label({"Fear": 5, "Anger": 5}) == "Fear"
    assert emonet.top_label({"Boredom": 5, "Anger": 5}) == "Anger"  # unknown names rank after the taxonomy
    assert emonet.top_label({"Boredom": 6, "Anger": 5}) == "Boredom"
    assert emonet.top_label({"Anger": 0, "Fear": 0}) is None  # nothing rated: no label, not a guess


def test_hq_image_without_expert_rows_is_missing_field() -> None:
    reject = emonet_hq.image_record(_row(), [MODEL])
    assert isinstance(reject, Reject) and reject.reason == Reason.MISSING_FIELD
    assert reject.id == "emonet_hq/00007" and "Hume Face (v2)" in reject.detail


@pytest.mark.parametrize("text", [
    "{'Anger': 3, 'Fear':",  # cut short
    "['Anger', 3]",  # not a dict
    "{'Anger': 'high'}",  # not a number
    "{'Anger': 9}",  # outside 0-7
    "{3: 1}",  # not a str key
])
def test_hq_malformed_annotations_raise_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        emonet_hq.parse_ratings(text)


def _append_csv(path: Path, rows: list[list[str]]) -> None:
    with open(path, "a", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def test_python_expression_payload_is_rejected_and_never_runs(
    run: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = shutil.copytree(run["root"] / "clean" / "emonet_hq", tmp_path / "raw")
    _append_csv(raw / "hq.csv", [
        ["00003.jpg", "expert-9", "__import__('os').system('touch PWNED')"],
        ["00004.jpg", "expert-9", "{'Anger': __import__('os').system('touch PWNED')}"],
        ["99999.jpg", "expert-1", "{'Anger': 3}"],  # an image the Parquet does not have
    ])
    calls: list[str] = []
    monkeypatch.setattr(os, "system", lambda cmd: calls.append(cmd) or 0)
    monkeypatch.chdir(tmp_path)
    result = run_prepare("emonet_hq", emonet_hq.prepare, raw, tmp_path / "out")
    assert result == {"inputs": 27, "kept": 24, "rejected": 3}
    rejects = read_rejects(tmp_path / "out" / "rejects.jsonl")
    malformed = [r for r in rejects if r["reason"] == "malformed_annotation"]
    assert [(r["id"], r["path"]) for r in malformed] == [("emonet_hq/00003", "00003.jpg"),
                                                         ("emonet_hq/00004", "00004.jpg")]
    assert all("annotator 'expert-9'" in r["detail"] for r in malformed)
    assert [r["id"] for r in rejects if r["reason"] == "missing_image"] == ["emonet_hq/99999"]
    assert not calls and not list(tmp_path.rglob("PWNED"))


# --------------------------------------------------------------------------- binary and big rules


def test_binary_join_that_matches_nothing_is_a_schema_error(run: dict[str, Any], tmp_path: Path) -> None:
    raw = shutil.copytree(run["root"] / "clean" / "emonet_binary", tmp_path / "raw")
    lines = (raw / "binary.csv").read_text().splitlines()
    (raw / "binary.csv").write_text("\n".join([lines[0], *(f"img-{ln}" for ln in lines[1:])]) + "\n")
    with pytest.raises(SchemaError, match="join on file stems"):
        list(emonet_binary.prepare(raw))


def test_binary_image_without_votes_is_kept_with_empty_annotations(run: dict[str, Any], tmp_path: Path) -> None:
    raw = shutil.copytree(run["root"] / "clean" / "emonet_binary", tmp_path / "raw")
    lines = (raw / "binary.csv").read_text().splitlines()
    (raw / "binary.csv").write_text("\n".join(ln for ln in lines if not ln.startswith("00007,")) + "\n")
    items = list(emonet_binary.prepare(raw))
    assert len(items) == 40 and not any(isinstance(i, Reject) for i in items)
    unvoted = next(i for i in items if i["id"] == "emonet_binary/00007")
    assert unvoted["annotations"] == [] and unvoted["dimensions"] == [] and unvoted["label_original"]


@pytest.mark.parametrize("cell", [
    "{broken",
    json.dumps(["not", "an", "object"]),
    json.dumps({"extra_dimensions": {}}),
    json.dumps({"emotions": {"Anger": {"rating": "high", "reasoning": "x"}}}),
    json.dumps({"emotions": {"Anger": {"rating": 3, "reasoning": "x"}}, "extra_dimensions": {"Arousal": "hi"}}),
])
def test_big_malformed_annotations_are_rejected(cell: str) -> None:
    row = emonet.Row("000001", {"bytes": b"", "path": "000001.jpg"}, "t row 1", None, None, cell, "annotations")
    reject = emonet_big.image_record(row)
    assert isinstance(reject, Reject) and reject.reason == Reason.MALFORMED_ANNOTATION
    assert reject.id == "emonet_big/000001"


def test_big_scores_and_unknown_top_name() -> None:
    cell = json.dumps({"emotions": {"Anger": {"rating": 3.5, "reasoning": "brows"},
                                    "Boredom": {"rating": 6, "reasoning": "yawn"}},
                       "extra_dimensions": {"Valence": -2}})
    record = emonet_big.image_record(emonet.Row("000002", {"bytes": b"", "path": "000002.jpg"}, "t", None,
                                                "{'ethnicity': 'Asian', 'gender': 'male', 'age': 30}", cell,
                                                "annotations"))
    assert isinstance(record, dict)
    assert record["scores"][FINE.index("Anger")] == pytest.approx(0.5) and sum(record["scores"]) == pytest.approx(0.5)
    assert record["label_original"] == "Boredom"  # kept: normalize rejects it with its text
    assert record["demographics"] == {"ethnicity": "Asian", "gender": "male", "age": "30"}
    assert record["annotations"][1] == {"annotator": "vlm", "is_model": True, "target": "Boredom", "value": 6.0,
                                        "note": "yawn"}
    assert record["dimensions"] == [{"name": "Valence", "value": -2.0}]


def test_demographics_payload_is_not_evaluated() -> None:
    reject = emonet.base_record("emonet_big", _row(demographics="__import__('os').getcwd()"))
    assert isinstance(reject, Reject) and reject.reason == Reason.MALFORMED_ANNOTATION


# --------------------------------------------------------------------------- Parquet layouts


def _parquet(path: Path, columns: dict[str, pa.Array], hf_features: dict | None = None) -> Path:
    table = pa.table(columns)
    if hf_features is not None:
        meta = {b"huggingface": json.dumps({"info": {"features": hf_features}}).encode()}
        table = table.replace_schema_metadata(meta)
    pq.write_table(table, path)
    return path


IMAGE = pa.array([{"bytes": b"x", "path": "00001.png"}])


def test_layout_variants_are_detected(tmp_path: Path) -> None:
    names = {"emotion": {"names": ["Anger", "Hopelessness"], "_type": "ClassLabel"}}
    binary = emonet.detect_layout("s", _parquet(tmp_path / "a.parquet", {"path": IMAGE, "emotion": [1]}, names),
                                  ("emotion",))
    assert (binary.image, binary.label, binary.class_names) == ("path", "emotion", ("Anger", "Hopelessness"))
    big = emonet.detect_layout("s", _parquet(tmp_path / "b.parquet", {"image": IMAGE, "annotations": ["{}"]}),
                               ("annotations", "emotion"))
    assert (big.image, big.label, big.class_names) == ("image", "annotations", None)
    image3 = pa.array([{"bytes": b"x", "path": f"images/0000{i}.png"} for i in range(3)])
    _parquet(tmp_path / "c.parquet", {"path": image3, "emotion": [1, -1, 5]}, names)
    rows = list(emonet.read_rows("s", tmp_path / "c.parquet", ("emotion",)))
    assert [(r.stem, r.label) for r in rows[:2]] == [("00000", "Hopelessness"), ("00001", None)]  # -1: no label
    assert isinstance(rows[2], Reject) and rows[2].reason == Reason.BAD_VALUE and rows[2].id == "s/00002"


@pytest.mark.parametrize(("columns", "message"), [
    ({"picture": pa.array([b"x"]), "emotion": pa.array([0])}, "expected an Image struct column"),
    ({"image": IMAGE}, "and a label column (emotion); found image"),
    ({"path": IMAGE, "emotion": pa.array([0])}, "gives no ClassLabel names"),
    ({"path": IMAGE, "emotion": pa.array([0.5])}, "expected an integer ClassLabel or a string"),
])
def test_unknown_layouts_are_schema_errors(tmp_path: Path, columns: dict, message: str) -> None:
    with pytest.raises(SchemaError, match=r"^[^\n]*$") as err:
        emonet.detect_layout("emonet_binary", _parquet(tmp_path / "x.parquet", columns), ("emotion",))
    assert message in str(err.value)


# --------------------------------------------------------------------------- download and INFO


@pytest.mark.parametrize(("revision", "message"), [(None, "pin a revision"), ("main", "not a 40-hex commit sha")])
def test_download_needs_a_pinned_revision(tmp_path: Path, revision: str | None, message: str) -> None:
    with pytest.raises(CuratorError, match=message) as err:
        emonet_big.download(emonet_big.Params(revision=revision), Download(), tmp_path / "out")
    assert "sources.emonet_big.revision" in str(err.value)


def test_hub_error_is_one_line_without_the_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "hf_SecretValueNeverPrinted42"
    with serve_hub(tmp_path / "empty") as hub, hub.client_env(tmp_path / "hf-home"):
        monkeypatch.setenv("HF_TOKEN", secret)  # wrong for the stub: it answers 401
        with pytest.raises(CuratorError) as err:
            emonet_big.download(emonet_big.Params(revision="0" * 40), Download(), tmp_path / "out")
    message = str(err.value)
    assert "\n" not in message and secret not in message and message.startswith("emonet_big: could not download")


def test_from_folder_copies_a_manual_download(run: dict[str, Any], tmp_path: Path) -> None:
    out = emonet_hq.download(emonet_hq.Params(), Download(), tmp_path / "out", str(run["root"] / "clean" / "emonet_hq"))
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "README.md", "data/train-00000-of-00001.parquet", "hq.csv"]
    with pytest.raises(CuratorError, match="--from takes a folder"):
        emonet_hq.download(emonet_hq.Params(), Download(), tmp_path / "out", "https://example.org/hq.csv")


def test_info_of_the_three_recipes() -> None:
    recipes = all_recipes()
    assert "emonet" not in recipes  # the shared helper is not a recipe
    for src, size in (("emonet_hq", "2,500"), ("emonet_binary", "19,999"), ("emonet_big", "203,201")):
        info = recipes[src].INFO
        assert info.license == "CC-BY-4.0" and info.redistributable == "yes" and size in info.size
        assert "2505.20033" in info.citation and "pin a revision" in info.needs and info.attribution
