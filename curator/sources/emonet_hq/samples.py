"""emonet_hq samples: the Hub Parquet as the readout authors describe it, and LAION's hq.csv.

Parquet (`data/train-00000-of-00001.parquet`):
- `path`: HF Image whose path field is None — the real file kept no name;
- `label`: the Python repr of a list of one-key dicts, `[{'human-3': {'Family|Name': 0-7, ...}}]`,
  2-4 raters of human-1...human-8, every rater scoring all 40 keys with ints;
- the 8 columns of LAION's own table of these images (statistics/descriptive.ipynb at f4d4dab):
  `ind` (int64, the file number + 1), `Prompt`, `Age` (int64), `Ethnicity` (one of the 14 strings
  the notebook lists), `Gender` (man / woman / non-binary person), `Emotion` (the prompted emotion's
  words, comma-separated), `image_metadata` (JSON text `{"path": "<n>.jpg", "has_image": true}`);
  `columns="readout"` writes the older guess instead: `prompt`, `ethnicity` (an integer ClassLabel),
  `gender`, `age`.
hq.csv: `image, annotator, annotations, human`, image names like `flux_dev_one_0-0_s458430295.png`;
expert rows repeat the Parquet's dicts (so the signature join holds), model rows use the
real baseline names, each on its own scale: Hume Face* 0-1, Empathic Insight Face Large
mean-subtracted (negatives), GPT-4o ZS 25 keys 1-7, Random Baseline, Gemini 2.5 Flash MS with
`Extra Dimensions|` keys. Dirty: an empty image, a cut-short expert row, and an hq.csv image
whose expert ratings match no Parquet row (unjoined_annotation).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from curator.reasons import Reason
from curator.sources.emonet.samples import guide_keys, image_cell, sparse_ratings, write_parquet_repo
from curator.sources.emonet_hq import HUB
from curator.testing.samples.built import Built, Served
from curator.testing.samples.portraits import face
from curator.testing.samples.reference import emonet_labels, emonet_synonyms
from curator.testing.samples.seeds import rand
from curator.testing.samples.writers import csv_bytes, png, write_bytes

HUB_REPO = HUB.repo  # the demo serves out/emonet_hq/ (data/ + README.md) as this repo on the Hub stand-in
IMAGES = 24
EXPERTS = tuple(f"human-{i}" for i in range(1, 9))
MODELS = ("Hume Face*", "GPT-4o ZS", "Empathic Insight Face Large", "Random Baseline", "Gemini 2.5 Flash MS")
ETHNICITIES = ("American Indian or Alaska Native", "white caucasian north american", "Middle Eastern", "North African",
               "Asian", "White", "South Asian", "white caucasian european", "Hispanic or Latino", "Southeast Asian",
               "arabic", "Native Hawaiian or Other Pacific Islander", "Black or African American", "Indian")
GENDERS = ("man", "woman", "non-binary person")
CSV_HEADER = ("image", "annotator", "annotations", "human")


COLUMNS = ("laion", "readout")


def _features(columns: str):
    import datasets

    text, number = datasets.Value("string"), datasets.Value("int64")
    if columns == "readout":
        return datasets.Features({"path": datasets.Image(), "label": text, "prompt": text,
                                  "ethnicity": datasets.ClassLabel(names=list(ETHNICITIES)), "gender": text,
                                  "age": number})
    return datasets.Features({"path": datasets.Image(), "ind": number, "Prompt": text, "Age": number,
                              "Ethnicity": text, "Gender": text, "Emotion": text, "image_metadata": text,
                              "label": text})


def _laion_row(row: dict, i: int, words: list[str]) -> dict:
    """The readout-shaped row in LAION's 8 columns (and `label`)."""
    number = 1000 + 7 * i  # LAION's file numbers are sparse; ind is the number + 1
    return {"path": row["path"], "ind": number + 1, "Prompt": row["prompt"], "Age": row["age"],
            "Ethnicity": ETHNICITIES[row["ethnicity"]], "Gender": row["gender"], "Emotion": ", ".join(words),
            "image_metadata": json.dumps({"path": f"{number}.jpg", "has_image": True}), "label": row["label"]}


def expert_dict(top: str, rnd: random.Random) -> dict[str, int]:
    keys = guide_keys()
    return {keys[name]: value for name, value in sparse_ratings(list(keys), top, rnd).items()}


def model_dict(model: str, top: str, rnd: random.Random) -> dict[str, float | int]:
    """One baseline's output on its own scale (shapes from the mean non-zero keys the readout reports)."""
    keys, labels = guide_keys(), emonet_labels()
    if model == "Hume Face*":  # 0-1; 31 of 40 non-zero
        zero = set(rnd.sample([n for n in labels if n != top], 9))
        return {keys[n]: 0.0 if n in zero else round(rnd.uniform(0.7, 0.95) if n == top else rnd.uniform(0.001, 0.5), 4)
                for n in labels}
    if model == "Empathic Insight Face Large":  # mean-subtracted continuous scores
        return {keys[n]: round(rnd.gauss(1.5 if n == top else -0.3, 0.5), 4) for n in labels}
    if model == "GPT-4o ZS":  # the zero-shot prompt asks for exactly 25 pairs rated 1-7
        chosen = [top, *rnd.sample([n for n in labels if n != top], 24)]
        return {keys[n]: 7 if n == top else rnd.randint(1, 5) for n in chosen}
    if model == "Random Baseline":
        return {keys[n]: rnd.randint(1, 7) for n in labels}
    values: dict[str, float | int] = {keys[n]: v for n, v in sparse_ratings(labels, top, rnd).items()}
    dims = {"Arousal": rnd.randint(0, 7), "Valence": rnd.randint(-3, 3), "Dominance": rnd.randint(-3, 3),
            "Emotional Vulnerability": rnd.randint(0, 5)}
    return values | {f"Extra Dimensions|{k}": v for k, v in dims.items()}


def _csv_name(rnd: random.Random) -> str:
    return f"flux_dev_one_{rnd.randint(0, 9)}-{rnd.randint(0, 9)}_s{rnd.randint(10**8, 10**9 - 1)}.png"


def _image(i: int, seed: int, rnd: random.Random, image_bytes: bytes | None = None) -> tuple[dict, list[list]]:
    """One Parquet row and its hq.csv rows (experts as in the label, then 2-3 baselines)."""
    top = rnd.choice(emonet_labels())
    raters = sorted(rnd.sample(EXPERTS, rnd.randint(2, 4)), key=lambda r: int(r.split("-")[1]))
    experts = {rater: expert_dict(top, rnd) for rater in raters}
    age, ethnicity, gender = rnd.randrange(20, 90, 10), rnd.randrange(len(ETHNICITIES)), rnd.choice(GENDERS)
    words = emonet_synonyms().get(top) or [top.lower()]
    prompt = f"a focused close-up photo of a {ETHNICITIES[ethnicity]} {gender} of {age} years, showing {words[0]}"
    data = png(face(top, seed, f"hq:{i}")) if image_bytes is None else image_bytes
    row = {"path": image_cell(data, None), "label": str([{r: d} for r, d in experts.items()]), "prompt": prompt,
           "ethnicity": ethnicity, "gender": gender, "age": age, "_words": words}
    name = _csv_name(rnd)
    rows = [[name, rater, str(d), "True"] for rater, d in experts.items()]
    rows += [[name, m, str(model_dict(m, top, rnd)), "False"] for m in rnd.sample(MODELS, rnd.randint(2, 3))]
    return row, rows


def _dirty(rows: list[dict], csv_rows: list[list], seed: int) -> None:
    """An empty image; a cut-short extra expert row on a clean image; an hq.csv image joining nothing."""
    rnd = rand(seed, "emonet_hq-dirty")
    empty, _ = _image(IMAGES, seed, rnd, image_bytes=b"")
    rows.append(empty)
    target = csv_rows[0][0]
    taken = {r[1] for r in csv_rows if r[0] == target}
    rater = next(e for e in EXPERTS if e not in taken)
    csv_rows.append([target, rater, "{'Positive High-Energy Emotions|Amusement': 3, 'Positive High-Energy Emotio",
                     "True"])
    _, orphan = _image(IMAGES + 1, seed, rnd)  # its Parquet row is never written
    csv_rows.extend(orphan)


def build(out: Path, seed: int, dirty: bool, columns: str = "laion") -> Built:
    rnd = rand(seed, "emonet_hq")
    rows, csv_rows = [], []
    for i in range(IMAGES):
        row, ann = _image(i, seed, rnd)
        rows.append(row)
        csv_rows.extend(ann)
    root = out / "emonet_hq"
    built = Built(files=[root / "hq.csv"], items=len(rows))
    if dirty:
        _dirty(rows, csv_rows, seed)
        built.add_bad(prepare=[Reason.EMPTY_FILE, Reason.MALFORMED_ANNOTATION, Reason.UNJOINED_ANNOTATION])
    write_bytes(root / "hq.csv", csv_bytes(CSV_HEADER, csv_rows))
    words = [row.pop("_words") for row in rows]
    if columns == "laion":
        rows = [_laion_row(row, i, w) for i, (row, w) in enumerate(zip(rows, words, strict=True))]
    built.files += write_parquet_repo(root, [rows], _features(columns), "EmoNet-Face HQ",
                                      "Expert ratings in `label`; model baselines in hq.csv (GitHub).")
    return built


def demo_params(served: Served) -> dict:
    """params.yaml sources.emonet_hq pointing at the Hub stand-in (and the annotation CSV's server)."""
    return {"repo": HUB_REPO, "revision": served.hub_sha(HUB_REPO),
            "annotations_url": f"{served.files_url}/emonet_hq/hq.csv"}
