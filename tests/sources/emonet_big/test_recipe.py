"""emonet_big: the three layouts through `datasets`, the VLM output shapes, and what is refused;
plus the download and INFO rules the three EmoNet-Face recipes share."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curator.config import Download
from curator.errors import CuratorError
from curator.reasons import Reason
from curator.record.taxonomy import taxonomy
from curator.sources import all_recipes, emonet_big, emonet_hq, recipe_samples
from curator.sources.emonet_big import layouts, vlm
from curator.sources.emonet_big import samples as big_samples
from curator.sources.recipe import Reject
from curator.testing.hub import serve_hub
from tests.conftest import run_cli
from tests.sources.emonet import oracle

FINE = taxonomy().fine


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("big")
    for layout in big_samples.LAYOUTS:
        big_samples.build(out / layout, 0, False, layout)
    return {layout: out / layout / "emonet_big" for layout in big_samples.LAYOUTS}


def _items(raw: Path) -> tuple[dict[str, dict[str, Any]], list[Reject]]:
    return oracle.split_items(emonet_big.prepare(raw))


def _expected_from_rows(rows: list[dict[str, Any]]) -> dict[str, tuple[str | None, int, float | None]]:
    """key -> (label, models, agreement) from Parquet or metadata rows, by the oracle's rules."""
    out = {}
    for row in rows:
        doc = row["annotations"] if isinstance(row["annotations"], list) else json.loads(row["annotations"])
        pairs = oracle.answers(doc)
        names = list(dict.fromkeys(n for _, a in pairs for n in a["emotions"]))
        rate = [{n: e["rating"] if isinstance(e, dict) else e for n, e in a["emotions"].items()} for _, a in pairs]
        label = oracle.top({n: sum(r.get(n, 0) for r in rate) / len(rate) for n in names})
        out[Path(row.get("file_name") or row["image"]["path"]).stem] = (
            label, len(pairs), oracle.agreement([r[label] for r in rate]) if label else None)
    return out


@pytest.mark.parametrize("layout", ["parquet", "imagefolder"])
def test_other_layouts_give_the_records_their_files_say(built: dict[str, Path], layout: str) -> None:
    raw = built[layout]
    if layout == "parquet":
        rows = oracle.parquet_rows(raw)
    else:
        rows = [json.loads(ln) for ln in (raw / "data" / "train" / "metadata.jsonl").read_text().splitlines()]
    expected = _expected_from_rows(rows)
    records, rejects = _items(raw)
    assert not rejects and {r.removeprefix("emonet_big/") for r in records} == set(expected) and len(records) == 30
    for rid, record in records.items():
        label, models, agreement = expected[rid.removeprefix("emonet_big/")]
        assert record["label_original"] == label
        assert record["agreement"] == (pytest.approx(agreement) if agreement is not None else None)
        assert record["demographics"].keys() == {"ethnicity", "gender", "age"} and record["prompt"]
        assert len(record["annotations"]) == 44 * models and record["image"]["bytes"][:2] == b"\xff\xd8"
        assert record["image"]["path"] == f"{rid.removeprefix('emonet_big/')}.jpg"
    assert emonet_big.layout(raw, emonet_big.Params()).startswith(layout)
    two = [r for r in records.values() if len({a["annotator"] for a in r["annotations"]}) == 2]
    assert len(two) == (layout == "imagefolder") and all(r["agreement"] is not None for r in two)


def test_webdataset_is_the_default_sample(built: dict[str, Path], tmp_path: Path) -> None:
    files = recipe_samples("emonet_big").build(tmp_path, 0, False).files  # what the demo serves
    assert sorted(p.relative_to(tmp_path).as_posix() for p in files) == [
        "emonet_big/README.md", "emonet_big/data/00000.tar", "emonet_big/data/00001.tar"]
    assert "path: data/*.tar" in (tmp_path / "emonet_big" / "README.md").read_text()
    assert emonet_big.layout(built["webdataset"], emonet_big.Params()).startswith(
        "webdataset: 2 WebDataset tar(s); unverified: that the Hub repo uses this layout")


def _answer(**ratings: Any) -> dict[str, Any]:
    return {"emotions": {n: {"rating": v, "reasoning": f"r{v}"} for n, v in ratings.items()},
            "extra_dimensions": {"Valence": {"rating": -2, "reasoning": "low"}, "Arousal": 5}}


def test_vlm_shapes_give_the_same_answer() -> None:
    answer = _answer(Anger=4, Fear=1)
    shapes = [answer, {"key": ["f", "gemini.2.5", "a.jpg"], "predictions": answer},
              [{"model": "gemini.2.5", "predictions": answer}], json.dumps([{"model": "m", "predictions": answer}])]
    parsed = [vlm.parse(s) for s in shapes]
    assert [p[0].model for p in parsed] == ["vlm", "gemini.2.5", "gemini.2.5", "m"]
    assert all(p[0].emotions == {"Anger": (4.0, "r4"), "Fear": (1.0, "r1")} for p in parsed)
    assert parsed[0][0].extra == {"Valence": (-2.0, "low"), "Arousal": (5.0, None)}


def test_two_models_average_and_agree() -> None:
    outputs = vlm.parse([{"model": "a", "predictions": _answer(Anger=6, Fear=2)},
                         {"model": "b", "predictions": _answer(Anger=2, Fear=3)}])
    fields = emonet_big.vlm_fields(outputs)
    assert fields["label_original"] == "Anger" and fields["scores"][FINE.index("Anger")] == pytest.approx(4 / 7)
    assert fields["agreement"] == pytest.approx(1 - 2 / 3.5)
    assert fields["dimensions"] == [  # EmoNet's guide: Valence -3..3, Arousal 0..7, mapped onto 0..1
        {"name": "valence", "value": pytest.approx(1 / 6), "original_name": "Valence", "original_value": -2.0,
         "original_min": -3.0, "original_max": 3.0},
        {"name": "arousal", "value": pytest.approx(5 / 7), "original_name": "Arousal", "original_value": 5.0,
         "original_min": 0.0, "original_max": 7.0}]


@pytest.mark.parametrize("cell", [
    "{broken", json.dumps([]), json.dumps({"extra_dimensions": {}}), json.dumps([{"model": "a"}]),
    json.dumps({"emotions": {"Anger": {"rating": "high", "reasoning": "x"}}}),
    json.dumps({"emotions": {"Anger": {"rating": 9}}}),
    json.dumps({"emotions": {"Anger": {"rating": 3, "reasoning": 7}}}),
    json.dumps({"emotions": {"Anger": 3}, "extra_dimensions": {"Arousal": "hi"}}),
    json.dumps({"emotions": {"Anger": 3}, "extra_dimensions": {"Valence": 5}}),  # outside the stated -3..3
])
def test_malformed_vlm_output_is_rejected(cell: str) -> None:
    item = layouts.Item("000001", {"bytes": b"x", "path": "000001.jpg"}, "t", None, None, cell)
    reject = emonet_big.image_record(item)
    assert isinstance(reject, Reject) and reject.reason == Reason.MALFORMED_ANNOTATION
    assert reject.id == "emonet_big/000001" and "\n" not in reject.detail


def test_missing_emotion_keys_count_as_zero_and_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    missing = [0, 0]
    item = layouts.Item(None, {"bytes": b"img", "path": None}, "t", None, None, json.dumps(_answer(Anger=3)))
    record = emonet_big.image_record(item, missing)
    assert isinstance(record, dict) and missing == [39, 1] and sum(record["scores"]) == pytest.approx(3 / 7)
    assert record["id"].startswith("emonet_big/sha256-")  # no name at all: the bytes decide


def test_imagefolder_images_without_rows_and_rows_without_images(built: dict[str, Path], tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    raw = shutil.copytree(built["imagefolder"], tmp_path / "raw")
    folder = raw / "data" / "train"
    (folder / "000003.jpg").unlink()
    shutil.copy(folder / "000004.jpg", folder / "unlisted.jpg")
    lines = (folder / "metadata.jsonl").read_text().splitlines()
    sparse = json.loads(lines[5])
    sparse["annotations"][0]["predictions"]["emotions"].pop("Anger")  # other rows have it: the reader fills null
    (folder / "metadata.jsonl").write_text("\n".join([*lines[:5], json.dumps(sparse), *lines[6:]]) + "\n")
    with caplog.at_level(logging.INFO, logger="curator"):
        records, rejects = _items(raw)
    assert len(records) == 29 and [(r.reason, r.id) for r in rejects] == [
        (Reason.MISSING_IMAGE, "emonet_big/000003"), (Reason.MISSING_FIELD, "emonet_big/unlisted")]
    assert "no row in metadata.jsonl names it" in rejects[1].detail
    assert "1 emotion rating(s) left out of 1 model output(s)" in caplog.text


def test_webdataset_sample_without_an_image_is_missing_field(tmp_path: Path) -> None:
    from curator.sources.emonet.samples import tar_bytes

    raw = tmp_path / "raw" / "data"
    raw.mkdir(parents=True)
    doc = json.dumps({"key": ["f", "m", "a.jpg"], "predictions": _answer(Anger=3)}).encode()
    (raw / "00000.tar").write_bytes(tar_bytes([("a.jpg", b"\xff\xd8x"), ("a.json", doc), ("b.json", doc),
                                               ("c.jpg", b"\xff\xd8y")]))
    records, rejects = _items(tmp_path / "raw")
    assert list(records) == ["emonet_big/a"] and records["emonet_big/a"]["annotations"][0]["annotator"] == "m"
    assert [(r.reason, r.id) for r in rejects] == [(Reason.MISSING_FIELD, "emonet_big/b"),
                                                   (Reason.MISSING_FIELD, "emonet_big/c")]
    assert "no image member" in rejects[0].detail and "no VLM annotations" in rejects[1].detail


def test_no_layout_or_a_mix_is_one_clear_error(built: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(CuratorError, match=r"no layout under .*: found an empty folder; expected \*\.parquet shards"):
        layouts.detect("emonet_big", tmp_path)
    raw = shutil.copytree(built["webdataset"], tmp_path / "raw")
    shutil.copytree(built["parquet"] / "data", raw / "data", dirs_exist_ok=True)
    with pytest.raises(CuratorError, match=r"found more than one of \(parquet, webdataset\)"):
        layouts.detect("emonet_big", raw)


def test_unknown_parquet_schema_is_one_clear_line(tmp_path: Path) -> None:
    raw = tmp_path / "raw" / "data"
    raw.mkdir(parents=True)
    pq.write_table(pa.table({"picture": [b"\x89PNG"], "label": ["Anger"]}), raw / "train-00000-of-00001.parquet")
    proc = run_cli("prepare", "emonet_big", "--raw", "raw", "--out", "out", cwd=tmp_path, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: emonet_big: train-00000-of-00001.parquet")
    assert "expected an Image struct column (image or path" in lines[0] and "annotations or label" in lines[0]
    assert "found picture (binary), label (string)" in lines[0]
    assert not (tmp_path / "out").exists()


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


def test_from_folder_copies_a_manual_download(built: dict[str, Path], tmp_path: Path) -> None:
    out = emonet_big.download(emonet_big.Params(), Download(), tmp_path / "big", str(built["webdataset"]))
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "README.md", "data/00000.tar", "data/00001.tar"]
    hq = tmp_path / "hq-manual"
    (hq / "data").mkdir(parents=True)
    (hq / "data" / "train-00000-of-00001.parquet").write_bytes(b"PAR1")
    out = emonet_hq.download(emonet_hq.Params(annotations_url=None), Download(), tmp_path / "hq", str(hq))
    assert [p.name for p in out.rglob("*") if p.is_file()] == ["train-00000-of-00001.parquet"]  # hq.csv optional
    with pytest.raises(CuratorError, match="--from takes a folder"):
        emonet_hq.download(emonet_hq.Params(), Download(), tmp_path / "out", "https://example.org/hq.csv")


def test_info_of_the_three_recipes() -> None:
    recipes = all_recipes()
    assert "emonet" not in recipes  # the shared helper is not a recipe
    for src, size in (("emonet_hq", "2,500"), ("emonet_binary", "19,999"), ("emonet_big", "203,201")):
        info = recipes[src].INFO
        assert info.license == "CC-BY-4.0" and info.redistributable == "yes" and size in info.size
        assert "2505.20033" in info.citation and "pin a revision" in info.needs and info.attribution
