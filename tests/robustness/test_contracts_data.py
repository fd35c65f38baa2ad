"""Stage contracts about values, sources and published folders, through the real CLI: a physio value
that would overflow standardization, a manual source that must mirror its delivery, every image format
Pillow opens (and images too small to keep), and `curator validate` on folders damaged the ways the
old pipeline could publish them. Scenarios run on copies of the session's small workspace.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml

from curator.io.parquet import iter_records
from tests.robustness import workspace
from tests.robustness.helpers import assert_accounting, assert_one_line_error, outcome
from tests.robustness.workspace import PUBLISHED, cli

# --- scenarios --------------------------------------------------------------------------------


def physio_overflow(ws: Path) -> dict[str, Any]:
    """A Kaggle CSV whose first row has hr_mean = 1e308."""
    csv = next((ws / "samples" / "kaggle_physio").glob("*.csv"))
    lines = csv.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("hr_mean")] = "1e308"
    (ws / "big.csv").write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
    steps = [("prepare", "kaggle_physio", "--raw", "big.csv", "--out", "p"),
             ("normalize", "--in", "p", "--out", "n"), ("split", "--in", "n", "--out", "s")]
    return {"procs": [cli(ws, *step) for step in steps], "split": ws / "s"}


def manual_mirror(ws: Path) -> dict[str, Any]:
    """A manual source downloaded twice; the second delivery lacks a file the first had."""
    from curator.testing.samples import builders

    builders()["emer"](ws / "delivery", 0, False)
    delivery = ws / "delivery" / "emer"
    seen = {"first": cli(ws, "download", "emer", "--from", str(delivery), "--out", "raw")}
    files = sorted(p for p in delivery.rglob("*") if p.is_file() and p.suffix.lower() in (".jpg", ".png"))
    gone = files[0].relative_to(delivery)
    seen["gone"], seen["had_it"] = gone, (ws / "raw" / gone).is_file()
    files[0].unlink()
    seen["second"] = cli(ws, "download", "emer", "--from", str(delivery), "--out", "raw")
    seen["still_there"] = (ws / "raw" / gone).exists()
    seen["rest"] = sorted(p.relative_to(delivery).as_posix() for p in delivery.rglob("*") if p.is_file())
    seen["raw"] = sorted(p.relative_to(ws / "raw").as_posix() for p in (ws / "raw").rglob("*") if p.is_file())
    return seen


def image_formats(ws: Path) -> dict[str, Any]:
    """EmoNet-Face hq rows whose images are every format Pillow writes, and some too small."""
    import io

    from PIL import Image

    from curator.testing.samples import builders

    builders()["emonet_hq"](ws / "hq", 0, False)
    shard = next((ws / "hq" / "emonet_hq" / "data").glob("*.parquet"))
    table = pq.read_table(shard)
    column = next(f.name for f in table.schema if pa.types.is_struct(f.type) and f.type.get_field_index("bytes") >= 0)
    rows = table.to_pylist()
    formats = ["WEBP", "BMP", "TIFF", "GIF", "PPM", "TGA", "JPEG2000", "PCX", "SGI", "ICO"]
    tiny = {"1x1": (1, 1), "4x4": (4, 4), "7x40": (7, 40)}
    expected = {}  # the image's path in the source -> the case it holds
    for row, case in zip(rows, [*formats, *tiny], strict=False):
        picture = Image.open(io.BytesIO(row[column]["bytes"])).convert("RGB")
        buf = io.BytesIO()
        if case in tiny:
            picture.resize(tiny[case]).save(buf, "PNG")
        else:
            picture.save(buf, case)
        row[column] = {"bytes": buf.getvalue(), "path": f"case-{case}"}  # the Hub leaves path empty: name it
        expected[f"case-{case}"] = case
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), shard)
    proc = cli(ws, "prepare", "emonet_hq", "--raw", "hq/emonet_hq", "--out", "hq-prepared")
    return {"proc": proc, "out": ws / "hq-prepared", "expected": expected, "tiny": set(tiny)}


def tampered_folders(ws: Path) -> dict[str, Any]:
    """Published folders damaged the ways the old pipeline could publish them, then validated."""
    published = ws / PUBLISHED
    seen: dict[str, Any] = {"good": cli(ws, "validate", PUBLISHED)}
    for name, damage in TAMPER.items():
        folder = ws / "tampered" / name
        shutil.copytree(published, folder)
        damage(folder)
        seen[name] = cli(ws, "validate", str(folder))
    return seen


def _rewrite(shard: Path, change: Any) -> None:
    table = pq.read_table(shard)
    pq.write_table(change(table), shard)


def _repeat_a_row(folder: Path) -> None:  # what `publish --augmented data/split/train` did
    _rewrite(next((folder / "data" / "viri").rglob("train-*.parquet")), lambda t: pa.concat_tables([t, t.slice(0, 1)]))


def _class_99(folder: Path) -> None:
    def change(t: pa.Table) -> pa.Table:
        labels = t.column("label").to_pylist()
        labels[0] = 99
        return t.set_column(t.schema.get_field_index("label"), t.schema.field("label"), pa.array(labels, pa.int64()))

    _rewrite(next((folder / "data" / "kaggle_physio").rglob("train-*.parquet")), change)


def _augmented_from_test(folder: Path) -> None:  # what augmenting another split's train did
    test_id = pq.read_table(next((folder / "data" / "viri").rglob("test-*.parquet")), columns=["id"])["id"][0].as_py()

    def change(t: pa.Table) -> pa.Table:
        parents = t.column("augmented_from").to_pylist()
        first = next(i for i, p in enumerate(parents) if p is not None)
        parents[first] = test_id
        return t.set_column(t.schema.get_field_index("augmented_from"), t.schema.field("augmented_from"),
                            pa.array(parents, pa.string()))

    _rewrite(next((folder / "data" / "viri").rglob("train_augmented-*.parquet")), change)


def _other_taxonomy(folder: Path) -> None:  # labelled under one taxonomy, published under another
    path = folder / ".curator" / "lineage.json"
    manifest = json.loads(path.read_text())
    manifest["taxonomy"] = "0123456789abcdef"
    manifest["inputs"] = [{**i, "taxonomy": "0123456789abcdef"} for i in manifest["inputs"]]
    path.write_text(json.dumps(manifest))


def _card_without(key: str) -> Any:
    def damage(folder: Path) -> None:
        card = (folder / "README.md").read_text()
        header, body = card.split("---\n", 2)[1:]
        meta = yaml.safe_load(header)
        for entry in meta["dataset_info"] if key == "features" else meta["configs"]:
            entry.pop(key)
        (folder / "README.md").write_text(f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n{body}")

    return damage


TAMPER = {
    "repeated_id": _repeat_a_row,
    "class_99": _class_99,
    "parent_not_in_train": _augmented_from_test,
    "other_taxonomy": _other_taxonomy,
    "card_without_features": _card_without("features"),
    "card_without_data_files": _card_without("data_files"),
    "no_lineage": lambda folder: (folder / ".curator" / "lineage.json").unlink(),
}


@pytest.fixture(scope="module")
def runs(pipeline_ws: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return workspace.on_copies(pipeline_ws, tmp_path_factory.mktemp("contracts-data"), {
        "physio": physio_overflow,
        "mirror": manual_mirror,
        "formats": image_formats,
        "tampered": tampered_folders,
    })


# --- values and sources -----------------------------------------------------------------------


def test_a_physio_value_that_would_overflow_is_rejected_and_json_stays_standard(runs: dict) -> None:
    seen = outcome(runs, "physio")
    assert [p.returncode for p in seen["procs"]] == [0, 0, 0], seen["procs"][-1].stderr
    split = seen["split"]
    m = assert_accounting(split)
    assert m["rejected_by_reason"] == {"physio_out_of_range": 1}
    reject = json.loads((split / "rejects.jsonl").read_text())
    assert "hr_mean=1e+308" in reject["detail"]

    def refuse(constant: str) -> None:
        raise AssertionError(f"non-standard JSON constant {constant}")

    stats = json.loads((split / "standardization.json").read_text(), parse_constant=refuse)["features"]["hr_mean"]
    assert 0 < stats["std"] < 1e6
    z = [r["physio_z"]["hr_mean"] for s in ("train", "validation", "test") for r in iter_records(split / s)]
    assert len(z) == m["kept"] and len({round(v, 6) for v in z}) > 10  # not all zeroed by an infinite std


def test_a_manual_source_mirrors_its_delivery(runs: dict) -> None:
    seen = outcome(runs, "mirror")
    assert seen["first"].returncode == 0 and seen["second"].returncode == 0, seen["second"].stderr
    assert seen["had_it"] and not seen["still_there"], f"{seen['gone']} survived its removal from the delivery"
    assert seen["raw"] == seen["rest"]


def test_every_image_format_pillow_opens_is_kept_and_tiny_images_are_rejected(runs: dict) -> None:
    seen = outcome(runs, "formats")
    assert seen["proc"].returncode == 0, seen["proc"].stderr
    m = assert_accounting(seen["out"])
    kept = {r["image"]["path"] for r in iter_records(seen["out"], columns=["image"]) if r["image"]}
    rejected = {r["path"]: r for r in (json.loads(line) for line in (seen["out"] / "rejects.jsonl").open())}
    for path, case in seen["expected"].items():
        if case in seen["tiny"]:
            assert rejected[path]["reason"] == "image_too_small" and "minimum of 8x8" in rejected[path]["detail"]
        else:
            assert path in kept, (case, rejected.get(path))
    assert m["rejected_by_reason"].get("image_too_small") == len(seen["tiny"])
    assert m["inputs"] == m["kept"] + m["rejected"]


# --- validate -----------------------------------------------------------------------------------

TAMPER_PROBLEMS = {
    "repeated_id": "split train: 1 id(s) appear more than once",
    "class_99": "label holds class index 99, outside 0..7",
    "parent_not_in_train": "split train_augmented: 1 augmented row(s) whose parent is not a train record",
    "other_taxonomy": "the card's class names are not the taxonomy the data was labelled with",
    "card_without_features": "card entry is incomplete or malformed",
    "card_without_data_files": "card entry is incomplete or malformed",
    "no_lineage": ".curator/lineage.json is missing",
}


def test_validate_passes_the_untouched_folder(runs: dict) -> None:
    good = outcome(runs, "tampered")["good"]
    assert good.returncode == 0 and good.stdout.strip().endswith("valid"), good.stderr


@pytest.mark.parametrize("case", list(TAMPER))
def test_validate_names_what_the_old_pipeline_could_publish(runs: dict, case: str) -> None:
    proc = outcome(runs, "tampered")[case]
    assert_one_line_error(proc, "problem(s)")
    problems = [line for line in proc.stderr.splitlines() if line.startswith("problem:")]
    assert any(TAMPER_PROBLEMS[case] in p for p in problems), problems


def test_class_indices_in_every_published_shard_are_in_range(pipeline_ws: Path) -> None:
    """The good folder's own values: a guard that the class_99 damage is the only way to fail."""
    for shard in (pipeline_ws / PUBLISHED / "data").rglob("*.parquet"):
        labels = pq.read_table(shard, columns=["label"]).column("label")
        assert (pc.max(labels).as_py() or 0) < 8
