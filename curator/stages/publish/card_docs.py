"""Card sections a trainer reads before loading: label coverage, fields, grouping, citation.

All derived: fields from schemas/record.yaml, counts from what publish wrote, citations from the
recipes' INFO.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from curator.pipeline.stages import AUGMENTED_SPLIT
from curator.record.group import NAMED, PAIR, RECORD, SUBJECT, SUBJECT_LEVEL, group_kind
from curator.record.schema import column_docs, load_yaml, record_spec
from curator.sources import get_recipe

_GROUP_KINDS = {
    SUBJECT: "a person (the subject id the source's file names carry)",
    PAIR: "one visible/infrared pair: no subject id is known, so one person's pairs may straddle splits",
    RECORD: "the record itself: no subject id is known, so one person's records may straddle splits",
    NAMED: "a group the source names (e.g. EMER's participant), shared by that group's records",
}


def level_section(configs: list[Any]) -> list[str]:
    lines = ["## Label coverage", "",
             "Rows per config, split and label level. Each modality config's default label column is set on",
             "every row: rows with no basic label (EmoNet classes with no basic counterpart) are in `faces_fine`",
             "and in their source's config, not in `faces`.", "",
             "| config | default label | split | rows | `label` set | `label_fine` set |", "|---|---|---|---|---|---|"]
    for c in configs:
        for split, sizes in c.split_sizes().items():
            levels = c.level_counts(split)
            lines.append(f"| `{c.name}` | {f'`{c.label}`' if c.label else '—'} | {split} | {sizes['num_examples']} "
                         f"| {levels['label']} | {levels['label_fine']} |")
    return lines


def _type_name(spec: Any) -> str:
    if isinstance(spec, str):
        return spec
    if "class_label" in spec:
        return f"class label ({spec['class_label']} level)"
    if "list" in spec:
        return f"list of {_type_name(spec['list'])}"
    if "struct" in spec:
        return "struct {" + ", ".join(spec["struct"]) + "}"
    return str(spec)


def fields_section(configs: list[Any]) -> list[str]:
    columns = record_spec()["columns"]
    docs = column_docs()
    lines = ["## Fields", "",
             "Generated from `schemas/record.yaml`. A config leaves out the columns it drops and those null in",
             "every one of its rows; what one source alone records is in that source's own config only.",
             "`physio` and `physio_z` are structs of every source's features",
             "(`schemas/physio.yaml`); only the members of the row's own source are set.", "",
             "| field | type | meaning | configs |", "|---|---|---|---|"]
    for name in columns:
        having = [c.name for c in configs if name in c.columns]
        where = ", ".join(f"`{n}`" for n in having) or "none in this build"
        meaning = docs[name].replace("|", "\\|")
        required = " (always set)" if columns[name].get("required") else ""
        lines.append(f"| `{name}` | {_type_name(columns[name]['type'])}{required} | {meaning} | {where} |")
    if any("dimensions" in c.columns for c in configs):
        lines += ["", *_dimensions_table()]
    return lines


def _dimensions_table() -> list[str]:
    """The `dimensions` names, the common scale, and how each source states them (schemas/dimensions.yaml)."""
    spec = load_yaml("dimensions.yaml")
    low, high = spec["scale"]
    stated: dict[str, list[str]] = defaultdict(list)
    for source, given in spec["given"].items():
        for original, (name, lo, hi) in given.items():
            stated[name].append(f"{source} `{original}` {lo:g}..{hi:g}")
    lines = ["### `dimensions`", "",
             f"One name per dimension and one scale, {low:g}..{high:g}: each value is mapped linearly from the range",
             "the source states (its low end to the scale's low end). `original_name`, `original_value`,",
             "`original_min` and `original_max` keep what the source gave.", "",
             "| name | meaning (low to high) | as the sources state it |", "|---|---|---|"]
    lines += [f"| `{name}` | {meaning} | {'; '.join(stated[name])} |" for name, meaning in spec["dimensions"].items()]
    return lines


def group_counts(folder: Path, sources: list[str]) -> dict[str, Counter]:
    """Per source: records per group kind, and groups per kind (originals only)."""
    counts: dict[str, Counter] = defaultdict(Counter)
    for source in sources:
        seen: set[str] = set()
        for shard in sorted((folder / "data" / source).glob("*/*.parquet")):
            if shard.name.startswith(AUGMENTED_SPLIT):
                continue
            table = pq.read_table(shard, columns=["id", "group_id"])
            for rid, gid in zip(table.column("id").to_pylist(), table.column("group_id").to_pylist(), strict=True):
                kind = group_kind(gid, rid)
                counts[source][("records", kind)] += 1
                if gid not in seen:
                    seen.add(gid)
                    counts[source][("groups", kind)] += 1
    return counts


def grouping_section(folder: Path, sources: list[str]) -> list[str]:
    counts = group_counts(folder, sources)
    lines = ["## Grouping", "",
             "The split keeps every `group_id` within one split. What a group is differs by source; only a",
             "subject-level group rules out one person in two splits.", "",
             "| source | group kind | what a group is | groups | records |", "|---|---|---|---|---|"]
    for source in sources:
        kinds = sorted({k for (_, k) in counts[source]})
        for kind in kinds:
            lines.append(f"| `{source}` | {kind} | {_GROUP_KINDS.get(kind, kind)} | "
                         f"{counts[source][('groups', kind)]} | {counts[source][('records', kind)]} |")
    lines.append("")
    for source in sources:
        total = sum(v for (what, _), v in counts[source].items() if what == "records")
        real = sum(counts[source][("records", k)] for k in SUBJECT_LEVEL)
        lines.append(f"- `{source}`: {real} of {total} records have a subject-level group.")
    return [*lines, "", *source_facts_section(sources)]


def source_facts_section(sources: list[str]) -> list[str]:
    """Per source, from its recipe's INFO: what `label` means, what a group is, what is still unverified."""
    lines = ["### What each source's label and groups mean", "",
             "| source | `label` means | a group is | not yet verified on the real files |", "|---|---|---|---|"]
    for source in sources:
        info = get_recipe(source).INFO
        cells = [info.label_meaning, info.grouping, info.unverified]
        lines.append(f"| `{source}` | " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return lines


def _bibtex_key(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", text)


def _bib(text: str) -> str:
    return re.sub(r"([&%$#_])", r"\\\1", text)  # BibTeX's special characters, escaped


def citation_section(sources: list[str], name: str, version: str) -> list[str]:
    lines = ["## Citation", "", "Cite each source you use, and this build:", "", "```bibtex"]
    for source in sources:
        info = get_recipe(source).INFO
        lines += [f"@misc{{{_bibtex_key(source)},", f"  title = {{{_bib(info.title)}}},",
                  f"  howpublished = {{\\url{{{info.homepage}}}}},", f"  note = {{{_bib(info.citation)}}}", "}", ""]
    lines += [f"@misc{{{_bibtex_key(name)}Build,", f"  title = {{{name}: curated facial-emotion data}},",
              f"  note = {{Built with emotion-curator {version} from: {', '.join(sources)}}}", "}", "```"]
    return lines
