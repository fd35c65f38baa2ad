"""The published layout: each record stored once, configs as unions of shard groups.

A record goes to exactly one shard group ("part"): its source and the facets it carries (which of
the columns that configs select on are set), e.g. `data/viri/image.label.infrared/train-00000-of-00001.parquet`.
A config (schemas/record.yaml `configs:`) is the union of the parts whose facets include all of its
`where` columns, so `faces`, `thermal` and the per-source configs read the same files and no image
is stored twice. The split is the file name's prefix, as the Hub names shards (and Croissant's split
filter, which rewrites file names only, needs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from curator.io.parquet import ShardWriter
from curator.pipeline.stages import AUGMENTED_SPLIT
from curator.record.schema import columns, config_drops, config_specs, hf_features, required_columns


def facet_columns() -> list[str]:
    """The columns configs select on, in record order (derived from every config's `where`)."""
    wanted = {col for spec in config_specs().values() for col in spec["where"]}
    return [col for col in columns() if col in wanted]


@dataclass
class Part:
    source: str
    facets: tuple[str, ...]
    writers: dict[str, ShardWriter] = field(default_factory=dict)
    filled: set[str] = field(default_factory=set)  # columns set on at least one row

    @property
    def name(self) -> str:
        return ".".join(self.facets) or "none"

    @property
    def folder(self) -> str:
        return f"data/{self.source}/{self.name}"

    def glob(self, split: str) -> str:
        return f"{self.folder}/{split}-*.parquet"

    def rows(self, split: str) -> int:
        w = self.writers.get(split)
        return w.rows if w else 0

    def nbytes(self, split: str) -> int:
        w = self.writers.get(split)
        return w.nbytes if w else 0

    def note_filled(self, table: pa.Table) -> None:
        for col in table.column_names:
            if col not in self.filled and table.column(col).null_count < table.num_rows:
                self.filled.add(col)


def part_keys(table: pa.Table, facets: list[str]) -> pa.Array:
    """Per row: the names of its part, e.g. `image.label.label_fine`."""
    names = pa.array([""] * table.num_rows, pa.string())
    for col in facets:
        tag = pc.if_else(pc.is_valid(table.column(col)), pa.scalar(col + "."), pa.scalar(""))
        names = pc.binary_join_element_wise(names, tag, "")
    return pc.utf8_rtrim(names, ".")


@dataclass
class ConfigOutput:
    name: str
    doc: str
    parts: list[Part]
    label: str | None = None
    drop: tuple[str, ...] = ()
    splits: tuple[str, ...] = ()

    @property
    def columns(self) -> list[str]:
        """Columns the config carries: not dropped, and set somewhere in it (required ones always, and
        `augmented_from`: the one filter that tells originals from copies in every config)."""
        filled = set().union(*(p.filled for p in self.parts)) | {*required_columns(), "augmented_from"}
        return [c for c in columns() if c not in self.drop and c in filled]

    @property
    def features(self) -> dict[str, Any]:
        """The config's features in the dict form `datasets` writes (Features.to_dict): what the
        card's `dataset_info` and the Croissant record sets are derived from."""
        full = hf_features()
        return {c: full[c] for c in self.columns}

    def split_sizes(self) -> dict[str, dict[str, int]]:
        out = {}
        for s in self.splits:
            rows = sum(p.rows(s) for p in self.parts)
            if rows:
                out[s] = {"num_examples": rows, "num_bytes": sum(p.nbytes(s) for p in self.parts)}
        return out

    def data_files(self) -> list[dict[str, Any]]:
        return [{"split": s, "path": [p.glob(s) for p in self.parts if p.rows(s)]} for s in self.split_sizes()]

    def level_counts(self, split: str) -> dict[str, int]:
        """Rows per label level in one split (a part's facets say which levels its rows have)."""
        return {level: sum(p.rows(split) for p in self.parts if level in p.facets)
                for level in ("label", "label_fine")}

    def sources(self) -> list[str]:
        return sorted({p.source for p in self.parts})


def plan_configs(parts: list[Part], splits: list[str]) -> list[ConfigOutput]:
    """Modality configs from record.yaml, then one config per source; only those with rows."""
    configs = []
    for name, spec in config_specs().items():
        where, sources = set(spec["where"]), spec.get("sources")
        chosen = [p for p in parts if where <= set(p.facets) and (sources is None or p.source in sources)]
        configs.append(ConfigOutput(name, spec["doc"], chosen, spec.get("label"), tuple(sorted(config_drops(name)))))
    for source in sorted({p.source for p in parts}):
        configs.append(ConfigOutput(source, f"every record of {source}", [p for p in parts if p.source == source]))
    for cfg in configs:
        # augmented copies only where the image is part of the row: in a table-only config they
        # would repeat their parents' features exactly
        images = {"image", "infrared"} & set(cfg.columns)
        cfg.splits = tuple(s for s in splits if s != AUGMENTED_SPLIT or images)
    return [c for c in configs if c.split_sizes()]
