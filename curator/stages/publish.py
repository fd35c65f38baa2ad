"""publish: write the Hub-ready folder (HF layout) from the split shards.

    <out>/README.md                          dataset card (YAML header the Hub parses)
    <out>/data/<config>/<split>-NNNNN-of-NNNNN.parquet
    <out>/taxonomy.yaml, standardization.json[, augment.yaml]

One pass over each split: every batch is routed to every config it belongs to (modality
configs faces/thermal/physio and one config per source). Image bytes are copied, never
re-encoded.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from curator.config import BuildFacts, Publish
from curator.io.atomic import atomic_write_text
from curator.io.parquet import ShardWriter, iter_batches, shard_paths
from curator.progress import track
from curator.reasons import Reason
from curator.record.schema import config_features, config_specs, features, schemas_dir
from curator.resources import policy_path
from curator.stages.publish_card import render_card
from curator.stages.publish_croissant import write_croissant
from curator.stages.run import StageRun
from curator.stages.split import SPLITS

META_DIR = ".curator"


@dataclass
class ConfigOutput:
    name: str
    doc: str
    features: Any
    where: str | None = None  # modality configs: rows where this column is set
    source: str | None = None  # per-source configs: rows of this source
    writers: dict[str, ShardWriter] = field(default_factory=dict)

    def mask(self, table: pa.Table) -> pa.Array:
        if self.source is not None:
            return pc.equal(table.column("source"), self.source)
        return pc.is_valid(table.column(self.where))

    def split_sizes(self) -> dict[str, dict[str, int]]:
        return {s: {"num_examples": w.rows, "num_bytes": w.nbytes} for s, w in self.writers.items() if w.rows}


def plan_configs(sources: list[str]) -> list[ConfigOutput]:
    configs = [
        ConfigOutput(name, spec["doc"], config_features(name), where=spec["where"])
        for name, spec in config_specs().items()
    ]
    configs += [ConfigOutput(s, f"every record of {s}", features(), source=s) for s in sorted(sources)]
    return configs


def _included(table: pa.Table, include: list[str] | None) -> pa.Array:
    if include is None:
        return pa.array([True] * table.num_rows)
    return pc.is_in(table.column("source"), pa.array(include, pa.string()))


def run_publish(
    split_dir: Path, out: Path, conf: Publish | None = None, *, facts: BuildFacts | None = None,
    augmented: Path | None = None,
    metrics_copy: Path | None = None,
) -> dict[str, Any]:
    conf, facts = conf or Publish(), facts or BuildFacts()
    include, max_bytes = conf.include, conf.shard_max_bytes
    inputs = {s: shard_paths(Path(split_dir) / s) for s in SPLITS}
    if augmented is not None and Path(augmented).exists():
        inputs["train"] += shard_paths(augmented)
    sources = _sources_present(inputs, include)
    configs = plan_configs(sources)

    # bookkeeping stays out of the dataset's own files (and out of what push uploads)
    with StageRun("publish", out, metrics_copy=metrics_copy, meta_subdir=META_DIR) as run:
        for split, shards in inputs.items():
            for cfg in configs:
                cfg.writers[split] = run.writer(
                    f"data/{cfg.name}", schema=cfg.features.arrow_schema, prefix=split, counts=False,
                    max_bytes=max_bytes, close_kwargs={"numbered_of_total": True},
                )
            for batch in track(iter_batches(shards), desc=f"publish {split}", unit="batch"):
                _route(pa.Table.from_batches([batch]), configs, split, include, run)
        standardization = Path(split_dir) / "standardization.json"
        if standardization.is_file():
            shutil.copyfile(standardization, run.dir / standardization.name)
        shutil.copyfile(schemas_dir() / "taxonomy.yaml", run.dir / "taxonomy.yaml")
        if augmented is not None:  # the policy augment used, found the same way (curator.resources)
            shutil.copyfile(policy_path(facts.augment.policy), run.dir / "augment.yaml")
        # sizes and the card need the final shard names: close the writers first
        for cfg in configs:
            for writer in cfg.writers.values():
                writer.close(numbered_of_total=True)
        published = [c for c in configs if c.split_sizes()]
        run.metrics["configs"] = {c.name: c.split_sizes() for c in published}
        atomic_write_text(run.dir / "README.md", render_card(published, sources, conf, facts, run.dir))
        write_croissant(run.dir, published, sources, conf)
    return {"inputs": run.inputs, "kept": run.kept, "configs": run.metrics["configs"]}


def _sources_present(inputs: dict[str, list[Path]], include: list[str] | None) -> list[str]:
    found: set[str] = set()
    for shards in inputs.values():
        for batch in iter_batches(shards, columns=["source"], batch_rows=65536):
            found.update(pc.unique(batch.column("source")).to_pylist())
    return sorted(s for s in found if include is None or s in include)


def _route(table: pa.Table, configs: list[ConfigOutput], split: str, include: list[str] | None,
           run: StageRun) -> None:
    run.count_input(table.num_rows)
    keep = _included(table, include)
    for rid, source in zip(table.filter(pc.invert(keep)).column("id").to_pylist(),
                           table.filter(pc.invert(keep)).column("source").to_pylist(), strict=True):
        run.reject(id=rid, source=source, reason=Reason.EXCLUDED, detail="publish.include does not list this source")
    table = table.filter(keep)
    published = pa.array([False] * table.num_rows)
    for cfg in configs:
        mask = cfg.mask(table)
        cfg.writers[split].write_table(table.filter(mask))
        published = pc.or_(published, mask)
    run.kept_extra += pc.sum(published.cast(pa.int64())).as_py() or 0
    unpublished = table.filter(pc.invert(published))
    for rid, source in zip(unpublished.column("id").to_pylist(), unpublished.column("source").to_pylist(),
                           strict=True):  # only possible for a source with no config: a bug, but never silent
        run.reject(id=rid, source=source, reason=Reason.UNPUBLISHABLE, detail="no published config takes this record")
