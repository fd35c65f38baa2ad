"""What the EmoNet-Face records must be, computed from the sample files by the rules the recipes
document, restated here independently (readout authors' signature, majority of True votes,
mean of the models' ratings), so the tests compare two implementations, not one with itself."""

from __future__ import annotations

import ast
import csv
import hashlib
import io
import json
import statistics
import tarfile
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from curator.record.taxonomy import taxonomy
from curator.sources.recipe import NotRead

FINE = list(taxonomy().fine)


def parquet_rows(folder: Path) -> list[dict[str, Any]]:
    return [r for f in sorted((folder / "data").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


def top(means: dict[str, float]) -> str | None:
    """Highest mean; ties to the earliest taxonomy name, unknown names after; nothing above 0: None."""
    order = {n: i for i, n in enumerate(FINE)}
    best = sorted(means, key=lambda n: (-means[n], order.get(n, len(FINE))))
    return best[0] if best and means[best[0]] > 0 else None


def agreement(values: list[float]) -> float | None:
    return None if len(values) < 2 else 1 - statistics.pstdev(values) / 3.5


# --------------------------------------------------------------------------- hq


def signature(per_rater: dict[str, dict[str, Any]]) -> tuple:
    """saveli/emonet-readout analysis/build_image_index_map.py, verbatim in substance."""
    return tuple(sorted(
        (rater, tuple(sorted((e, round(float(v), 4)) for e, v in ratings.items())))
        for rater, ratings in per_rater.items()
    ))


def hq_expected(folder: Path) -> dict[str, dict[str, Any]]:
    """record id -> scores, label, agreement, experts, joined hq.csv name, model rows, for each Parquet row."""
    by_sig: dict[tuple, str] = {}
    models: dict[str, list[tuple[str, dict]]] = defaultdict(list)
    humans: dict[str, dict[str, dict]] = defaultdict(dict)
    with open(folder / "hq.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            try:
                ann = ast.literal_eval(row["annotations"])
            except (ValueError, SyntaxError):
                continue
            if row["human"] == "True":
                humans[row["image"]][row["annotator"]] = ann
            else:
                models[row["image"]].append((row["annotator"], ann))
    for name, per_rater in humans.items():
        by_sig.setdefault(signature(per_rater), name)
    out = {}
    for row in parquet_rows(folder):
        per_rater = {r: d for entry in ast.literal_eval(row["label"]) for r, d in entry.items()}
        sig = signature(per_rater)
        flat = [{k.split("|")[-1]: v for k, v in d.items()} for d in per_rater.values()]  # R's bare names
        means = {n: sum(d.get(n, 0) for d in flat) / len(flat) for n in FINE}
        label = top(means)
        joined = by_sig.get(sig)
        out["emonet_hq/" + hashlib.sha256(repr(sig).encode()).hexdigest()[:16]] = {
            "scores": [means[n] / 7 for n in FINE], "label": label, "experts": per_rater, "joined": joined,
            "agreement": agreement([d.get(label, 0) for d in flat]) if label else None,
            "models": models.get(joined, []), "image": row["path"]["bytes"]}
    return out


# --------------------------------------------------------------------------- binary


def binary_expected(csv_path: Path) -> dict[str, tuple[str | None, float | None]]:
    """stem -> (vote label, its share of True): the emotion with more True than False votes; two such:
    higher share, then more True votes, then taxonomy order (Hopelessness in Helplessness's place)."""
    tally: dict[str, dict[str, list[int]]] = defaultdict(dict)
    with open(csv_path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            yes_no = tally[row["path"]].setdefault(row["emotion"], [0, 0])
            yes_no[0 if row["value"] == "True" else 1] += 1
    order = {n: i for i, n in enumerate(FINE)} | {"Hopelessness": FINE.index("Helplessness")}
    out = {}
    for stem, emotions in tally.items():
        ok = [(y / (y + n), y, e) for e, (y, n) in emotions.items() if y > n]
        best = min(ok, key=lambda q: (-q[0], -q[1], order[q[2]])) if ok else None
        out[stem] = (best[2], best[0]) if best else (None, None)
    return out


# --------------------------------------------------------------------------- big


def answers(doc: Any) -> list[tuple[str, dict]]:
    """(model, answer) pairs of one VLM JSON document in any of its shapes."""
    if isinstance(doc, list):
        return [(e["model"], e["predictions"]) for e in doc]
    if "predictions" in doc:
        return [(doc["key"][1], doc["predictions"])]
    return [("vlm", doc)]


def big_expected_wds(folder: Path) -> dict[str, dict[str, Any]]:
    """key -> label, agreement, models, shape, raw json, image bytes, prompt, from the WebDataset tars."""
    members: dict[str, dict[str, bytes]] = defaultdict(dict)
    for tar_path in sorted((folder / "data").glob("*.tar")):
        with tarfile.open(tar_path) as tar:
            for m in tar.getmembers():
                key, ext = m.name.split(".", 1)
                members[key][ext] = tar.extractfile(m).read()  # type: ignore[union-attr]
    out = {}
    for key, files in members.items():
        doc = json.loads(files["json"])
        pairs = answers(doc)
        names = list(dict.fromkeys(n for _, a in pairs for n in a["emotions"]))
        means = {n: sum(a["emotions"].get(n, {"rating": 0})["rating"] for _, a in pairs) / len(pairs) for n in names}
        label = top(means)
        out[key] = {"label": label, "models": [m for m, _ in pairs], "answers": pairs,
                    "shape": "list" if isinstance(doc, list) else "key" if "key" in doc else "bare",
                    "agreement": agreement([a["emotions"][label]["rating"] for _, a in pairs]) if label else None,
                    "image": files["jpg"], "prompt": files["txt"].decode(), "valid_image": _is_image(files["jpg"])}
    return out


def _is_image(data: bytes) -> bool:
    from PIL import Image

    try:
        Image.open(io.BytesIO(data)).load()
    except OSError:
        return False
    return True


def split_items(items: Iterable[Any]) -> tuple[dict[str, dict[str, Any]], list[Any]]:
    """A recipe's prepare() output as (records by id, rejects)."""
    items = [i for i in items if not isinstance(i, NotRead)]  # counted aside, never an input sample
    return {i["id"]: i for i in items if isinstance(i, dict)}, [i for i in items if not isinstance(i, dict)]
