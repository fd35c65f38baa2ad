"""emonet_big through the real CLI on LAION's own VLM output: `<image>.json` mirrored or side by side."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from curator.io.parquet import iter_records
from curator.io.rejects import read_rejects
from curator.sources.emonet_big import samples as big_samples
from tests.conftest import run_cli
from tests.sources.emonet import oracle

NOTEBOOK = ("answer_tree", "side_by_side")
FOLDER = big_samples.NOTEBOOK_FOLDER


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("big")
    for layout in NOTEBOOK:
        big_samples.build(out / layout, 0, False, layout)
    return {layout: out / layout / "emonet_big" for layout in NOTEBOOK}


def _prepare(raw: Path, cwd: Path) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]], str]:
    cwd.mkdir(parents=True, exist_ok=True)
    proc = run_cli("prepare", "emonet_big", "--raw", str(raw), "--out", "out", cwd=cwd)
    records = {r["id"]: r for r in iter_records(cwd / "out")}
    return records, read_rejects(cwd / "out" / "rejects.jsonl"), proc.stderr


def _answers(raw: Path) -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in raw.rglob("*.json")}


def _expected_label(doc: dict[str, Any]) -> str | None:
    ratings = {n: e["rating"] for n, e in doc["predictions"]["emotions"].items()}
    return oracle.top(ratings)


@pytest.mark.parametrize("layout", NOTEBOOK)
def test_notebook_output_is_read_answer_by_image(built: dict[str, Path], layout: str, tmp_path: Path) -> None:
    raw = built[layout]
    records, rejects, _ = _prepare(raw, tmp_path)
    answers = _answers(raw)
    assert not rejects and len(records) == big_samples.IMAGES == len(answers)
    images = {p.stem: p for p in raw.rglob("*.png")}
    for rid, record in records.items():
        key = rid.removeprefix("emonet_big/")
        assert record["image"]["bytes"] == images[key].read_bytes()
        assert record["image"]["path"] == images[key].relative_to(raw).as_posix()
        assert record["label_original"] == _expected_label(answers[key])
        assert {a["annotator"] for a in record["annotations"]} == {"claude.3.7.sonnet.latest"}
        assert len(record["annotations"]) == 44
    shown = run_cli("inspect", "emonet_big", str(raw), cwd=tmp_path).stdout
    assert shown.startswith(f"emonet_big: answers: {big_samples.IMAGES} *.json file(s) beside or mirroring")
    assert "not read" not in shown


def test_both_notebook_layouts_give_the_same_records(built: dict[str, Path], tmp_path: Path) -> None:
    tree, _, _ = _prepare(built["answer_tree"], tmp_path / "tree")
    side, _, _ = _prepare(built["side_by_side"], tmp_path / "side")
    assert tree.keys() == side.keys()
    for rid in tree:
        assert tree[rid]["image"]["bytes"] == side[rid]["image"]["bytes"]
        assert {k: v for k, v in tree[rid].items() if k != "image"} == \
            {k: v for k, v in side[rid].items() if k != "image"}


def test_the_key_is_checked_and_every_odd_file_is_an_item(built: dict[str, Path], tmp_path: Path) -> None:
    raw = shutil.copytree(built["answer_tree"], tmp_path / "raw")
    answers = raw / "json" / FOLDER
    doc = json.loads((answers / "000001.json").read_text())
    doc["key"][2] = "000002.png"  # an answer filed under another image's name
    (answers / "000001.json").write_text(json.dumps(doc))
    moved = json.loads((answers / "000003.json").read_text())
    moved["key"][0] = "stance-detection-part-9"  # the tree was renamed: the file name still matches
    (answers / "000003.json").write_text(json.dumps(moved))
    (answers / "000004.json").unlink()  # the VLM failed on this image
    (raw / "images" / FOLDER / "000005.png").unlink()  # an answer whose image is gone
    (answers / "000006.json").write_text('{"key": ["x", "m", "000006.png"], "predictions": ')  # cut short
    records, rejects, log = _prepare(raw, tmp_path)
    assert len(records) == big_samples.IMAGES - 4 and "emonet_big/000003" in records
    found = {(r["reason"], r["id"]): r["detail"] for r in rejects}
    assert found.keys() == {("malformed_annotation", "emonet_big/000001"), ("missing_field", "emonet_big/000004"),
                            ("missing_image", None), ("malformed_annotation", "emonet_big/000006")}
    assert "its key names the file '000002.png', not '000001.png'" in found["malformed_annotation",
                                                                            "emonet_big/000001"]
    assert "no 000004.json beside it" in found["missing_field", "emonet_big/000004"]
    assert found["missing_image", None].startswith(f"json/{FOLDER}/000005.json: a VLM answer for an image")
    assert "is not valid JSON" in found["malformed_annotation", "emonet_big/000006"]
    assert "1 answer key(s) name another folder than their image's (e.g. stance-detection-part-9 (1))" in log


def test_download_from_a_folder_keeps_the_answers(built: dict[str, Path], tmp_path: Path) -> None:
    src = built["answer_tree"]
    run_cli("download", "emonet_big", "--from", str(src), "--out", "raw", cwd=tmp_path)
    copied = sorted(p.relative_to(tmp_path / "raw").as_posix() for p in (tmp_path / "raw").rglob("*") if p.is_file())
    assert copied == sorted(p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file())
    assert sum(name.endswith(".json") for name in copied) == big_samples.IMAGES
    records, rejects, _ = _prepare(tmp_path / "raw", tmp_path / "run")
    assert len(records) == big_samples.IMAGES and not rejects


def test_nothing_readable_says_what_it_found_and_what_it_expected(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    (raw / "plots").mkdir(parents=True)
    (raw / "README.md").write_text("# notes\n")
    (raw / "plots" / "loss.txt").write_text("0.1\n")
    (raw / "plots" / "acc.txt").write_text("0.9\n")
    proc = run_cli("prepare", "emonet_big", "--raw", "raw", "--out", "out", cwd=tmp_path, check=False)
    (line,) = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "found 3 file(s) (2 *.txt, 1 *.md); expected *.parquet shards, WebDataset *.tar shards" in line
    assert "LAION's VLM answers (<image>.json beside each image, or a *.json tree mirroring the image tree)" in line


def test_the_join_names_ambiguous_second_and_foreign_json(tmp_path: Path) -> None:
    from curator.reasons import Reason
    from curator.sources.emonet_big import answers
    from curator.sources.recipe import NotRead, Reject

    doc = json.dumps({"key": ["a", "m", "x.png"], "predictions": {"emotions": {"Anger": 3}}})
    files = {"a/x.png": b"i", "b/x.png": b"i", "x.json": doc, "a/y.png": b"i", "a/y.json": doc,
             "json/a/y.json": doc, "other/config.json": '{"lr": 0.1}'}
    for rel, data in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data if isinstance(data, bytes) else data.encode())
    images = sorted(tmp_path.rglob("*.png"))
    jsons = sorted(tmp_path.rglob("*.json"))
    items = list(answers.join(tmp_path, images, jsons))
    joined = {i.image.relative_to(tmp_path).as_posix(): i.answer for i in items if isinstance(i, answers.Joined)}
    assert joined["a/y.png"] == tmp_path / "a/y.json" and joined["a/x.png"] is None  # its folder has answers
    assert "b/x.png" not in joined  # no answer in b/: not part of the layout
    rejects = sorted((r.reason, r.path) for r in items if isinstance(r, Reject))
    assert rejects == [(Reason.AMBIGUOUS_PAIR, "x.json"), (Reason.MALFORMED_ANNOTATION, "json/a/y.json")]
    assert sorted(n.why for n in items if isinstance(n, NotRead)) == [answers.NOT_AN_ANSWER, answers.NO_ANSWER_FOLDER]
