"""The dataset card (README.md of a published folder): a YAML header the Hub parses + a body.

Everything in it is derived: features from schemas/, licences and citations from the recipes'
INFO, split sizes from what publish wrote, how the data was split and augmented from the inputs'
lineage.json (BuildFacts), what prepare did not read from its metrics, versions from the installed
packages.
"""

from __future__ import annotations

import importlib.metadata
import ipaddress
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from huggingface_hub import DatasetCard, DatasetCardData

from curator.config import BuildFacts, Publish, SourceParams
from curator.io.secrets import MASK, redact_values
from curator.pipeline.stages import AUGMENTED_SPLIT, PUBLISHED_SPLITS, REPO_PLACEHOLDER, SPLITS
from curator.record.schema import columns
from curator.record.taxonomy import label_map, taxonomy
from curator.resources import known_checksums
from curator.sources import get_recipe
from curator.sources.licensing import public_allowed
from curator.stages.publish.card_docs import citation_section, fields_section, grouping_section, level_section
from curator.stages.publish.card_labels import aggregation_section
from curator.stages.publish.unread import unread_section

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


def size_category(records: int) -> str:
    """The Hub's size_categories bucket for a record count."""
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
              (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M")]
    return next((label for bound, label in bounds if records < bound), "n>100M")


def card_header(configs: list[Any], sources: list[str], conf: Publish) -> dict[str, Any]:
    infos = [get_recipe(s).INFO for s in sources]
    licenses = sorted({i.license for i in infos})
    header: dict[str, Any] = {"pretty_name": conf.name}
    if len(licenses) == 1 and licenses[0] in _HUB_LICENSES:
        header["license"] = _HUB_LICENSES[licenses[0]]
    else:  # sources differ or are not SPDX: the Hub's convention is `other` + a name + a link
        header["license"] = "other"
        header["license_name"] = "mixed-per-source"
        header["license_link"] = "LICENSE.md"
    per_source = [c for c in configs if c.name in sources]  # every record once
    records = sum(s["num_examples"] for c in per_source for split, s in c.split_sizes().items() if split in SPLITS)
    header["size_categories"] = [size_category(records)]
    names = {c.name for c in configs}
    header["task_categories"] = ["image-classification"] * bool(names & {"faces", "thermal"}) + [
        "tabular-classification"
    ] * bool(names & {"physio", "eye"})
    header["tags"] = ["emotion-recognition", "facial-expression", "affective-computing", "emotion-curator"]
    header["configs"] = [_config_entry(c, c is configs[0]) for c in configs]
    header["dataset_info"] = dataset_info(configs)
    return header


def dataset_info(configs: list[Any]) -> Any:
    """The card's `dataset_info` (each config's features and split sizes), written by `datasets` as it
    writes its own cards (`DatasetInfosDict.to_dataset_card_data`): configs sorted by name, and a
    mapping instead of a list when there is one config."""
    import datasets
    from datasets.info import DatasetInfosDict

    infos = DatasetInfosDict({
        c.name: datasets.DatasetInfo(
            features=datasets.Features.from_dict(c.features),
            splits=datasets.SplitDict.from_split_dict([{"name": s, **sizes} for s, sizes in c.split_sizes().items()]),
        )
        for c in configs
    })
    holder = DatasetCardData()
    infos.to_dataset_card_data(holder)
    return holder["dataset_info"]


def _config_entry(c: Any, default: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"config_name": c.name, "data_files": c.data_files()}
    if len(c.columns) < len(columns()):  # the Parquet builder reads only these columns of the shared files
        entry["columns"] = c.columns
    if default:
        entry["default"] = True
    return entry


def render_license(sources: list[str], source_params: dict[str, SourceParams]) -> str:
    """LICENSE.md: each source's licence and whether this build may share it publicly."""
    lines = ["# Licences", "", "Each record carries its source's licence in `license` and, in `redistributable`,",
             "whether this build may be shared publicly.", "", "| source | licence | redistributable | homepage |",
             "|---|---|---|---|"]
    for s in sources:
        info = get_recipe(s).INFO
        lines.append(f"| `{s}` | {info.license} | {public_allowed(s, source_params.get(s))} ({info.redistributable}) "
                     f"| {info.homepage} |")
    return "\n".join(lines) + "\n"


EMONET_PROHIBITED_USES = (
    "EmoNet-Face's licence terms prohibit (in line with the EU AI Act): inferring emotions of people in "
    "workplaces or education; biometric categorisation of real people; and manipulating people's behaviour. "
    "These prohibitions apply to this dataset because it contains EmoNet-Face."
)
LIMITATIONS = (
    "Posed expressions dominate the Kaggle, VIRI and NVIE data; EmoNet-Face images are synthetic, so models "
    "trained here may not transfer to spontaneous expressions of real people.",
    "Facial expression is not felt emotion: `label` describes what the face shows (EMER's felt label is kept "
    "apart in `label_felt`).",
    "The basic level is a roll-up of the fine level; fine classes with no basic counterpart have `label` null.",
    "Class balance and demographics differ by source; check the per-config counts before training.",
    "Where no subject id is known (see Grouping), a group is a pair or a record: one person may appear in two "
    "splits there.",
)


def render_card(configs: list[Any], sources: list[str], conf: Publish, facts: BuildFacts, folder: Path, *,
                source_params: dict[str, SourceParams], checksums: str | None,
                prepared: dict[str, dict[str, Any]]) -> str:
    """The whole card: YAML header, then one section per topic, all derived from the build.
    `prepared`: each source's prepare metrics, where publish found them (publish.unread)."""
    header = card_header(configs, sources, conf)
    lines: list[str] = []
    for section in (_intro(header["pretty_name"], configs, facts), level_section(configs), _sources(sources),
                    _prohibited(sources), _taxonomy(sources),
                    aggregation_section(folder, sources, source_params, prepared),
                    _splitting(facts), grouping_section(folder, sources), _augmentation(folder, facts),
                    unread_section(sources, prepared), fields_section(configs), _limitations(),
                    citation_section(sources, conf.name, _versions()["emotion-curator"]),
                    _provenance(sources, conf, facts, source_params, checksums)):
        if section:  # a section with nothing to say (no source aggregates votes) is left out
            lines += [*section, ""]
    return str(hub_card(header, "\n".join(lines)))


def hub_card(header: dict[str, Any], body: str) -> DatasetCard:
    """The card as `huggingface_hub` writes one: the header through DatasetCardData (its YAML, keys in
    the header's order), then the body. The `---` framing is the one `datasets` gives a new card."""
    data = DatasetCardData(**header)
    return DatasetCard(f"---\n{data.to_yaml(original_order=list(header))}\n---\n\n{body}")


def _intro(name: str, configs: list[Any], facts: BuildFacts) -> list[str]:
    splits = list(PUBLISHED_SPLITS)
    lines = [f"# {name}", "",
             "Facial-emotion data curated by emotion-curator: every source's labels mapped into one taxonomy,",
             f"{facts.ratios_text()} ({'/'.join(SPLITS)}) without subject leakage, published as Parquet in the "
             "Hugging Face layout.",
             "`train`, `validation` and `test` hold the original records; augmented copies of `train` records",
             f"are the separate `{AUGMENTED_SPLIT}` split (image configs only). Each image is stored once, under",
             "`data/<source>/`; the configs are unions of those files.", "",
             "## Configs", "", "| config | what | " + " | ".join(splits) + " |", "|---|---|" + "---|" * len(splits)]
    for c in configs:
        sizes = c.split_sizes()
        counts = " | ".join(str(sizes.get(s, {}).get("num_examples", 0)) for s in splits)
        lines.append(f"| `{c.name}` | {c.doc} | {counts} |")
    first = configs[0].name
    return [*lines, "", "```python", "from datasets import load_dataset", "",
            f'ds = load_dataset("{REPO_PLACEHOLDER}", "{first}")             # originals: train / validation / test',
            f'both = load_dataset("{REPO_PLACEHOLDER}", "{first}", split="train+{AUGMENTED_SPLIT}")'
            "  # with augmented copies",
            'confident = ds["train"].filter(lambda r: r["agreement"] is None or r["agreement"] >= 0.8)',
            "```", "",
            f"`{REPO_PLACEHOLDER}` is the Hub repo id once `curator push` has uploaded this folder (push writes it",
            "into the uploaded card), or the path of this folder. `agreement` (0-1) is set where a source has",
            "several annotators (null elsewhere); the filter keeps single-label rows and the agreed",
            "multi-annotator ones."]


def _sources(sources: list[str]) -> list[str]:
    lines = ["## Sources, attribution and licences", ""]
    for s in sources:
        info = get_recipe(s).INFO
        lines += [f"### {info.title} (`{s}`)", "", f"- Licence: {info.license} (public redistribution: "
                  f"{info.redistributable})", f"- Homepage: {info.homepage}", f"- Citation: {info.citation}"]
        if info.attribution:
            lines.append(f"- Attribution: {info.attribution}")
        lines.append("")
    return lines


def _prohibited(sources: list[str]) -> list[str]:
    if not any(s.startswith("emonet") for s in sources):
        return []
    return ["## Prohibited uses", "", EMONET_PROHIBITED_USES]


def _taxonomy(sources: list[str]) -> list[str]:
    tax = taxonomy()
    lines = ["## Taxonomy and the label maps used", "",
             f"- `label` (basic, {len(tax.basic)} classes): {', '.join(tax.basic)}.",
             f"- `label_fine` (EmoNet-Face, {len(tax.fine)} classes): listed in `taxonomy.yaml`, which also says",
             "  how each fine class rolls up to a basic one, with a reason per entry (null = no basic label).", ""]
    for s in sources:
        m = label_map(s)
        if len(m.entries) > 12:  # the EmoNet sources use the 40 fine classes as they are
            lines.append(f"- `{s}`: its labels are the {len(m.entries)} EmoNet-Face classes themselves"
                         + (f"; aliases: {', '.join(f'{a} → {t}' for a, t in m.aliases.items())}" if m.aliases else ""))
            continue
        pairs = [f"{orig} → {e.basic or '—'}/{e.fine or '—'}" for orig, e in m.entries.items()]
        lines.append(f"- `{s}` (original → basic/fine): {'; '.join(pairs)}")
    return lines


def _splitting(facts: BuildFacts) -> list[str]:
    split, dedup = facts.split, facts.dedup
    cut = (f"Ratios {split.ratios.model_dump()} with seed {split.seed}" if split is not None
           else "Ratios and seed not recorded (the split folder's lineage.json names none)")
    near = f"within {dedup.max_distance} bits" if dedup is not None else "within a distance not recorded"
    return ["## How it was split", "",
            f"{cut}. Per source and class, groups (subject, "
            "pair or image) are ordered by a seeded hash and cut at the target record counts, so no group is in two "
            "splits; classes too small to reach every split are pooled per source. Images that are identical "
            f"(sha256) or near-identical (dHash {near}) are kept in one split. "
            "Physiological features are z-scored with statistics fitted on `train` only (`standardization.json`; "
            "raw values stay in `physio`)."]


def _augmentation(folder: Path, facts: BuildFacts) -> list[str]:
    policy = folder / "augment.yaml"
    if not policy.is_file():
        return ["## Augmentation", "", "No augmentation policy was published with this build."]
    doc = yaml.safe_load(policy.read_text())
    names = {part: [t["__class_fullname__"] for t in doc[part]["transform"]["transforms"]]
             for part in ("geometric", "photometric")}
    copies = facts.augment.copies if facts.augment is not None else "a number not recorded of"
    return ["## Augmentation", "",
            f"`{AUGMENTED_SPLIT}` holds up to {copies} augmented copies per `train` image record "
            "(`augmented_from` "
            "names the parent, `transform` holds the replayable parameters). It is a split of the same configs, "
            "not a config, so the originals and the copies share features and class names and load together in "
            f"one call (`split=\"train+{AUGMENTED_SPLIT}\"`). A copy whose image bytes equal its parent's is rejected "
            "(reason `augment_unchanged`). Table-only configs (`physio`, `eye`) have no copies: without the image "
            "they would repeat their parents' features. Validation and test are never augmented.",
            f"Geometric, applied identically to a visible/IR pair: {', '.join(names['geometric'])}. "
            f"Photometric, visible only: {', '.join(names['photometric'])}.",
            "The policy is `augment.yaml` (albumentations 2.0.8): leave out the augmented split and apply it "
            "on the fly instead, if you prefer."]


def _limitations() -> list[str]:
    return ["## Known limitations and biases", "", *(f"- {item}" for item in LIMITATIONS)]


def _provenance(sources: list[str], conf: Publish, facts: BuildFacts, source_params: dict[str, SourceParams],
                checksums: str | None) -> list[str]:
    registry = known_checksums(checksums)
    digests = {f"{s}/{f}": c.sha256 for (s, f), c in sorted(registry.items()) if s in sources}
    revisions = {s: {k: v for k, v in source_params[s].model_dump().items()
                     if k in ("repo", "revision", "base_url", "annotations_url", "handle")}
                 for s in sources if s in source_params}
    # split, dedup and augment as their stages ran (lineage.json); null: not recorded, or nothing augmented
    build = {"source_revisions": revisions, "checksums_sha256": digests,
             "params": {"split": facts.split and facts.split.model_dump(),
                        "dedup": facts.dedup and facts.dedup.model_dump(),
                        "augment": facts.augment_params(), "publish": conf.model_dump()},
             "versions": _versions()}
    text = json.dumps(redact_values(redact_loopback(build)), indent=2, sort_keys=True, default=str)
    return ["## Build provenance", "", "Addresses of loopback servers (a local test build) are shown as "
            f"`{LOOPBACK}`; a URL's user part, query values and fragment as `{MASK}` (they may hold a "
            "password or a token).", "", "```json", text, "```"]


LOOPBACK = "<loopback address>"


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redact_loopback(value: Any) -> Any:
    """The same structure with every URL whose host is a loopback address replaced."""
    if isinstance(value, dict):
        return {k: redact_loopback(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_loopback(v) for v in value]
    if isinstance(value, str) and "://" in value and _is_loopback(value):
        return LOOPBACK
    return value
