"""publish: write the Hub-ready folder (HF layout) from the split shards.

    <out>/README.md                          dataset card (YAML header the Hub parses)
    <out>/croissant.json                     Croissant 1.1 metadata, a record set per modality config
    <out>/data/<source>/<facets>/<split>-NNNNN-of-NNNNN.parquet
    <out>/taxonomy.yaml, standardization.json[, augment.yaml]

Each record is stored once (publish_layout.py); configs are unions of those files through the
card's `data_files`. Splits: train / validation / test hold the originals as the split stage cut
them; augmented copies are the `train_augmented` split. Image bytes are copied, never re-encoded.
What the card and Croissant say of the split, augment settings and policy comes from the inputs'
lineage.json (BuildFacts), never from the current params.yaml.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from curator.config import BuildFacts, Publish, SourceParams
from curator.errors import CuratorError
from curator.io.atomic import atomic_write_text
from curator.io.parquet import iter_batches
from curator.pipeline.lineage import Input, check_built_from
from curator.pipeline.progress import track
from curator.pipeline.run import StageRun
from curator.pipeline.stages import AUGMENTED_SPLIT, SPLITS, TRAIN
from curator.reasons import Reason
from curator.record.schema import arrow_schema, image_columns, schemas_dir
from curator.resources import policy_path
from curator.sources.licensing import public_allowed
from curator.stages.publish.card import render_card, render_license
from curator.stages.publish.croissant import write_croissant
from curator.stages.publish.filelist import hash_published, write_sums
from curator.stages.publish.layout import Part, facet_columns, part_keys, plan_configs
from curator.stages.publish.unread import prepared_metrics


def _included(table: pa.Table, include: list[str] | None) -> pa.Array:
    if include is None:
        return pa.array([True] * table.num_rows, pa.bool_())  # typed: an empty list would be of type null
    return pc.is_in(table.column("source"), pa.array(include, pa.string()))


class _Router:
    """Routes batches to their parts; keeps train images' digests to check augmented copies."""

    def __init__(self, run: StageRun, conf: Publish, source_params: dict[str, SourceParams]):
        self.run, self.conf, self.source_params = run, conf, source_params
        self.facets = facet_columns()
        self.parts: dict[tuple[str, str], Part] = {}
        # train ids and one digest of each record's images, as Arrow arrays: ~70 bytes a record where
        # a dict of str -> tuple of bytes took ~230 (42 MiB at 183k train records, tracemalloc)
        self._train_ids: list[pa.Array] = []
        self._train_digests: list[pa.Array] = []
        self._train: tuple[pa.Array, pa.Array] | None = None

    def route(self, table: pa.Table, split: str) -> None:
        self.run.count_input(table.num_rows)
        keep = _included(table, self.conf.include)
        dropped = table.filter(pc.invert(keep))
        for rid, source in zip(dropped.column("id").to_pylist(), dropped.column("source").to_pylist(), strict=True):
            self.run.reject(id=rid, source=source, reason=Reason.EXCLUDED,
                            detail="publish.include does not list this source")
        table = self._with_redistributable(table.filter(keep))
        if split == TRAIN:
            self._remember(table)
        elif split == AUGMENTED_SPLIT:
            table = self._drop_unchanged(table)
        keys = part_keys(table, self.facets)
        for source in pc.unique(table.column("source")).to_pylist():
            of_source = table.filter(pc.equal(table.column("source"), source))
            source_keys = keys.filter(pc.equal(table.column("source"), source))
            for name in pc.unique(source_keys).to_pylist():
                rows = of_source.filter(pc.equal(source_keys, name))
                self._part(source, name).note_filled(rows)
                self._writer(source, name, split).write_table(rows)

    def _part(self, source: str, name: str) -> Part:
        if (source, name) not in self.parts:
            self.parts[(source, name)] = Part(source, tuple(f for f in name.split(".") if f))
        return self.parts[(source, name)]

    def _writer(self, source: str, name: str, split: str) -> Any:
        part = self._part(source, name)
        if split not in part.writers:
            part.writers[split] = self.run.writer(
                part.folder, schema=arrow_schema(), prefix=split,
                max_bytes=self.conf.shard_max_bytes, close_kwargs={"numbered_of_total": True})
        return part.writers[split]

    def _with_redistributable(self, table: pa.Table) -> pa.Table:
        sources = table.column("source")
        verdicts = {s: public_allowed(s, self.source_params.get(s)) for s in pc.unique(sources).to_pylist()}
        column = pa.array([verdicts[s] for s in sources.to_pylist()], pa.bool_())
        index = table.schema.get_field_index("redistributable")
        if index < 0:  # shards written before the column existed: publish is what fills it anyway
            return table.append_column("redistributable", column)
        return table.set_column(index, "redistributable", column)

    @staticmethod
    def _image_digests(table: pa.Table, *, stored: bool = False) -> pa.Array:
        """Per row, one sha256 over its images' sha256 digests (a missing image counted as missing).

        `stored`: take an image's sha256 from the record's `hashes` (prepare took it over these very
        bytes; nothing after prepare changes them) and hash the bytes only where it is absent.
        Augmented copies have no `hashes`: their bytes are always hashed.
        """
        per_column = []
        for column in image_columns():
            data = pc.struct_field(table.column(column).combine_chunks(), "bytes")
            hexed = (pc.struct_field(table.column("hashes").combine_chunks(), f"{column}_sha256").to_pylist()
                     if stored else [None] * table.num_rows)
            # an image's bytes become a Python object only when they must be hashed here
            per_column.append([b"\0" if not present else b"\1" + (
                bytes.fromhex(known) if known else hashlib.sha256(data[row].as_py()).digest())
                for row, (present, known) in enumerate(zip(pc.is_valid(data).to_pylist(), hexed, strict=True))])
        return pa.array([hashlib.sha256(b"".join(parts)).digest() for parts in zip(*per_column, strict=True)],
                        pa.binary(32))

    def _remember(self, table: pa.Table) -> None:
        self._train_ids.append(table.column("id").combine_chunks())
        self._train_digests.append(self._image_digests(table, stored=True))

    def _drop_unchanged(self, table: pa.Table) -> pa.Table:
        """An augmented copy whose every image equals its parent's teaches nothing new: rejected."""
        if self._train is None:  # train is routed first: its ids and digests are complete now
            self._train = (pa.concat_arrays(self._train_ids or [pa.array([], pa.string())]),
                           pa.concat_arrays(self._train_digests or [pa.array([], pa.binary(32))]))
            self._train_ids, self._train_digests = [], []
        ids, digests = self._train
        parent_digest = digests.take(pc.index_in(table.column("augmented_from"), value_set=ids))
        same = pc.fill_null(pc.equal(parent_digest, self._image_digests(table)), False)
        unchanged = table.filter(same)
        for rid, source, parent in zip(unchanged.column("id").to_pylist(), unchanged.column("source").to_pylist(),
                                       unchanged.column("augmented_from").to_pylist(), strict=True):
            self.run.reject(id=rid, source=source, reason=Reason.AUGMENT_UNCHANGED,
                            detail=f"image bytes equal those of its parent {parent}")
        return table.filter(pc.invert(same))


def run_publish(
    split_dir: Path, out: Path, conf: Publish | None = None, *,
    source_params: dict[str, SourceParams] | None = None, checksums: str | None = None,
    augmented: Path | None = None,
    metrics_copy: Path | None = None,
) -> dict[str, Any]:
    """`source_params` (params.yaml's `sources.<name>`: the licence opt-in, the revisions the card names)
    and `checksums` (the registry the card lists) are this publish's choices; how the data was split and
    augmented is read from the inputs' lineage.json."""
    conf, source_params = conf or Publish(), source_params or {}
    split_dir = Path(split_dir)
    folders = [Input(split_dir, "split")]
    if augmented is not None:
        folders.append(Input(Path(augmented), "augmented", "--augmented"))
    params = conf.model_dump(mode="json", include={"name", "include", "shard_max_bytes"})

    # bookkeeping stays out of the dataset's own files (and out of what push uploads)
    with StageRun("publish", out, metrics_copy=metrics_copy, inputs=folders, params=params) as run:
        inputs = {s: run.shards(split_dir, s) for s in SPLITS}  # train first: augmented rows need it
        if augmented is not None:
            check_built_from(Path(augmented), run.manifest(Path(augmented)), split_dir)
            inputs[AUGMENTED_SPLIT] = run.shards(Path(augmented))
        facts = BuildFacts.from_lineage(run.manifest(split_dir),
                                        run.manifest(Path(augmented)) if augmented is not None else None)
        policy = _policy(facts) if augmented is not None else None
        sources = _sources_present(inputs, conf.include)
        if not sources:
            raise CuratorError(_nothing_to_publish(inputs, conf.include))
        router = _Router(run, conf, source_params)
        for split, shards in inputs.items():
            for batch in track(iter_batches(shards), desc=f"publish {split}", unit="batch"):
                router.route(pa.Table.from_batches([batch]), split)
        standardization = Path(split_dir) / "standardization.json"
        if standardization.is_file():
            shutil.copyfile(standardization, run.dir / standardization.name)
        shutil.copyfile(schemas_dir() / "taxonomy.yaml", run.dir / "taxonomy.yaml")
        if policy is not None:
            shutil.copyfile(policy, run.dir / "augment.yaml")
        # sizes and the card need the final shard names: close the writers first
        parts = sorted(router.parts.values(), key=lambda p: (p.source, p.name))
        for part in parts:
            for writer in part.writers.values():
                writer.close(numbered_of_total=True)
        published = plan_configs(parts, list(inputs))
        run.metrics["configs"] = {c.name: c.split_sizes() for c in published}
        atomic_write_text(run.dir / "LICENSE.md", render_license(sources, source_params))
        sums = hash_published(run.dir)  # every file written so far: all but the card and Croissant
        prepared = prepared_metrics(split_dir, run.manifest(split_dir))
        atomic_write_text(run.dir / "README.md", render_card(
            published, sources, conf, facts, run.dir, source_params=source_params, checksums=checksums,
            prepared=prepared))
        write_croissant(run.dir, published, sources, conf, facts, sums)
        write_sums(run.dir, sums)
    return {"inputs": run.inputs, "kept": run.kept, "configs": run.metrics["configs"]}


def _policy(facts: BuildFacts) -> Path | None:
    """The policy file augment read (the path its lineage names, found as curator.resources finds it),
    checked against the sha256 augment recorded: an edited policy would be published as this build's."""
    if facts.augment is None:  # a hand-stamped augmented folder records none
        return None
    path = policy_path(facts.augment.policy)
    if facts.policy_sha256 is not None and hashlib.sha256(path.read_bytes()).hexdigest() != facts.policy_sha256:
        raise CuratorError(f"the augment policy {facts.augment.policy} changed since `curator augment` read it "
                           "(its sha256 differs from the augmented folder's lineage.json): re-run "
                           "`curator augment`, or restore the policy")
    return path


def _sources_present(inputs: dict[str, list[Path]], include: list[str] | None) -> list[str]:
    found: set[str] = set()
    for shards in inputs.values():
        for batch in iter_batches(shards, columns=["source"], batch_rows=65536):
            found.update(pc.unique(batch.column("source")).to_pylist())
    return sorted(s for s in found if include is None or s in include)


def _nothing_to_publish(inputs: dict[str, list[Path]], include: list[str] | None) -> str:
    if not any(inputs.values()):
        return "publish: the split holds no records; nothing to publish"
    found = _sources_present(inputs, None)
    return (f"publish.include {include} names none of the sources in the split ({', '.join(found)}); "
            "nothing to publish")
