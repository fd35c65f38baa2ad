"""The dataset card (README.md of a published folder): a YAML header the Hub parses + a body.

Everything in it is derived: features from schemas/, licences and citations from the recipes'
INFO, split sizes from what publish wrote, provenance from params and installed versions.
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path
from typing import Any

import yaml

from curator.sources import get_recipe
from curator.split import SPLITS
from curator.taxonomy import taxonomy

_HUB_LICENSES = {"MIT": "mit", "CC-BY-4.0": "cc-by-4.0"}
PACKAGES = ("emotion-curator", "datasets", "pyarrow", "pillow", "albumentations", "huggingface-hub", "dvc")


def _versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def card_header(configs: list[Any], sources: list[str], params: dict[str, Any]) -> dict[str, Any]:
    infos = [get_recipe(s).INFO for s in sources]
    licenses = sorted({i.license for i in infos})
    header: dict[str, Any] = {"pretty_name": params.get("publish", {}).get("name", "emotion-curator")}
    if len(licenses) == 1 and licenses[0] in _HUB_LICENSES:
        header["license"] = _HUB_LICENSES[licenses[0]]
    else:  # sources differ: the Hub's convention is `other` plus a name for the mix
        header["license"] = "other"
        header["license_name"] = "mixed-per-source"
        header["license_details"] = "; ".join(f"{i.name}: {i.license}" for i in infos)
    names = {c.name for c in configs}
    header["task_categories"] = ["image-classification"] * bool(names & {"faces", "thermal"}) + [
        "tabular-classification"
    ] * ("physio" in names)
    header["tags"] = ["emotion-recognition", "facial-expression", "affective-computing", "emotion-curator"]
    header["configs"] = [
        {
            "config_name": c.name,
            "data_files": [
                {"split": s, "path": f"data/{c.name}/{s}-*.parquet"} for s in SPLITS if s in c.split_sizes()
            ],
            **({"default": True} if c is configs[0] else {}),
        }
        for c in configs
    ]
    header["dataset_info"] = [
        {
            "config_name": c.name,
            "features": c.features._to_yaml_list(),
            "splits": [{"name": s, **sizes} for s, sizes in c.split_sizes().items()],
        }
        for c in configs
    ]
    return header


def render_card(configs: list[Any], sources: list[str], params: dict[str, Any], folder: Path) -> str:
    header = card_header(configs, sources, params)
    name = header["pretty_name"]
    lines = [
        "---",
        yaml.safe_dump(header, sort_keys=False, allow_unicode=True).rstrip(),
        "---",
        "",
        f"# {name}",
        "",
        "Facial-emotion data curated by emotion-curator: every source's labels mapped into",
        "one taxonomy, split 70/15/15 without subject leakage, published as Parquet in the Hugging Face layout.",
        "",
        "## Configs",
        "",
        "| config | what | " + " | ".join(SPLITS) + " |",
        "|---|---|" + "---|" * len(SPLITS),
    ]
    for c in configs:
        sizes = c.split_sizes()
        lines.append(f"| `{c.name}` | {c.doc} | " + " | ".join(str(sizes.get(s, {}).get("num_examples", 0))
                                                            for s in SPLITS) + " |")
    lines += ["", "```python", "from datasets import load_dataset", "",
              f'ds = load_dataset("<this repo or folder>", "{configs[0].name}")', "```", "", "## Sources", ""]
    for s in sources:
        info = get_recipe(s).INFO
        lines += [f"### {info.title} (`{s}`)", "", f"- Licence: {info.license}",
                  f"- Homepage: {info.homepage}", f"- Citation: {info.citation}", ""]
    tax = taxonomy()
    lines += [
        "## Taxonomy",
        "",
        f"- `label` (basic, {len(tax.basic)} classes): {', '.join(tax.basic)}.",
        f"- `label_fine` (EmoNet-Face, {len(tax.fine)} classes): see `taxonomy.yaml` for the list and for how",
        "  each fine class rolls up to a basic one (with a reason per entry; unmapped ones are null).",
        "",
        "## How it was split",
        "",
        "Per source and class, groups (subject, pair or image) are ordered by a seeded hash and cut at the",
        "target ratios: no group appears in two splits. Physiological features are z-scored with",
        "statistics fitted on `train` only (`standardization.json`; raw values are kept in `physio`).",
        "",
        "## Build provenance",
        "",
        "```json",
        json.dumps({"params": {k: params.get(k) for k in ("sources", "split", "augment", "publish") if k in params},
                    "versions": _versions()}, indent=2, sort_keys=True, default=str),
        "```",
        "",
    ]
    return "\n".join(lines)
