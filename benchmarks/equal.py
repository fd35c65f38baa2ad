"""Equal output: the naive `datasets` pipeline and curator publish the same rows.

"The same rows" means, per published split (train, validation, test, train_augmented): the same
number of rows and the same set of ids; every augmented row names the same parent
(`augmented_from`); and every row carries encoded image bytes. Ids are `<source>/<label>/<stem>` (the
label folder is in the id, so equal ids mean equal `label_original`), children `<parent>#aug<k>`.
Pixels of augmented children differ (each pipeline draws its own random parameters), as do the
columns only curator fills (hashes, licence, taxonomy labels...).

Only pyarrow here: the benchmark's runner process stays small (see measure.py on maxrss).
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from curator.pipeline.stages import PUBLISHED_SPLITS as PUBLISHED
from curator.pipeline.stages import SPLITS


def write_assignment(split_dir: Path, target: Path) -> int:
    """id -> split from curator's split output: what the naive pipeline is given in place of a split step."""
    assignment = {}
    for split in SPLITS:
        for path in sorted((split_dir / split).rglob("*.parquet")):
            for rid in pq.read_table(path, columns=["id"]).column("id").to_pylist():
                assignment[rid] = split
    target.write_text(json.dumps(assignment))
    return len(assignment)


def _rows(files: list[Path]) -> tuple[dict[str, str | None], int]:
    """id -> augmented_from over `files`, and the number of rows; raises if a row has no image bytes."""
    rows: dict[str, str | None] = {}
    count = 0
    for path in files:
        names = pq.read_schema(path).names
        columns = ["id", "image", *(["augmented_from"] if "augmented_from" in names else [])]
        table = pq.read_table(path, columns=columns)
        missing = pc.sum(pc.is_null(pc.struct_field(table.column("image"), "bytes"))).as_py() or 0
        if missing:
            raise AssertionError(f"{path}: {missing} row(s) without image bytes")
        parents = table.column("augmented_from").to_pylist() if "augmented_from" in columns else [None] * len(table)
        rows.update(zip(table.column("id").to_pylist(), parents, strict=True))
        count += len(table)
    return rows, count


def compare(publish_dir: Path, naive_dir: Path) -> dict[str, object]:
    """Per split: curator's rows (every source folder of the published layout) against the naive ones."""
    report: dict[str, object] = {}
    equal = True
    for split in PUBLISHED:
        ours, n_ours = _rows(sorted((publish_dir / "data").rglob(f"{split}-*.parquet")))
        theirs, n_theirs = _rows([naive_dir / f"{split}.parquet"])
        same = ours == theirs and n_ours == len(ours) == n_theirs  # no id twice on either side
        equal &= same
        report[split] = {"curator": n_ours, "naive": n_theirs, "same_ids_and_parents": same}
    report["equal"] = equal
    return report


def describe(report: dict[str, object]) -> str:
    counts = ", ".join(f"{s} {report[s]['curator']}/{report[s]['naive']}" for s in PUBLISHED)  # type: ignore[index]
    return (f"Equal output (rows per split, curator/naive: {counts}; same ids and parents in every split): "
            f"{report['equal']}")
