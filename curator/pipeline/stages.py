"""The table of stages, and the names their outputs share: read by the CLI, lineage, the report and tests.

Each stage reads one kind of output and writes another into a default folder; a per-source
stage's folder holds one output per source. Adding a stage means its package
(curator/stages/<name>/), its row here, its CLI command and its dvc.yaml entry.

Light on purpose (no pyarrow, no pydantic): push and the CLI's argument defaults import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

DATA = Path("data")  # the pipeline's data folder, as dvc.yaml lays it out
META_FOLDER = ".curator"  # a published folder's bookkeeping (lineage, metrics, rejects): push never uploads it
REPO_PLACEHOLDER = "REPO_ID"  # publish writes it where the card and Croissant name the repo; push fills it in
TRAIN = "train"
SPLITS = (TRAIN, "validation", "test")  # the Hugging Face split names, in the order stages write them
AUGMENTED_SPLIT = "train_augmented"  # the published split of augmented copies: train's originals stay apart
PUBLISHED_SPLITS = (*SPLITS, AUGMENTED_SPLIT)


@dataclass(frozen=True)
class Stage:
    """One row of the table: a stage, what it reads and writes, and where by default."""

    name: str  # also its CLI command and, but for download, its package curator/stages/<name>/
    reads: str | None  # the kind of output it reads (None: a source's files, from outside the pipeline)
    makes: str  # the kind of output it writes (lineage.json's "kind")
    folder: str  # default output, from the project root; {source}: one output per source
    records: bool = True  # its output is Parquet records with a lineage.json (not raw files, not a report)
    meta: str = ""  # where lineage.json, metrics.json and rejects.jsonl sit inside its output
    labelled: bool = False  # its output holds taxonomy class indices (fingerprinted with the taxonomy)

    @property
    def per_source(self) -> bool:
        return "{source}" in self.folder

    @property
    def command(self) -> str:
        """How a message names the command that makes this stage's output."""
        return f"curator {self.name}" + (" SRC" if self.per_source else "")

    def default_folder(self, source: str | None = None, data: Path = DATA) -> Path:
        """The default output folder, re-rooted under `data` when it lies in the data folder; a
        per-source stage needs `source`."""
        if self.per_source and source is None:
            raise ValueError(f"{self.name} writes one folder per source: name the source")
        path = PurePosixPath(self.folder.format(source=source))
        return Path(data, *path.parts[1:]) if path.parts[0] == DATA.name else Path(path)

    def sources_folder(self, data: Path = DATA) -> Path:
        """The folder of a per-source stage's outputs (data/prepared/ holds one folder per source)."""
        if not self.per_source:
            raise ValueError(f"{self.name} writes one folder, not one per source")
        return self.default_folder("-", data).parent


STAGES = (
    Stage("download", None, "raw", "data/raw/{source}", records=False),
    Stage("prepare", "raw", "prepared", "data/prepared/{source}"),
    Stage("normalize", "prepared", "normalized", "data/normalized", labelled=True),
    Stage("split", "normalized", "split", "data/split", labelled=True),
    Stage("augment", "split", "augmented", "data/augmented", labelled=True),
    # one folder per build under it: data/publish/<publish.name>
    Stage("publish", "split", "published", "data/publish", meta=META_FOLDER, labelled=True),
    Stage("report", "published", "report", "reports", records=False),
)
BY_NAME = {s.name: s for s in STAGES}
RECORD_STAGES = tuple(s.name for s in STAGES if s.records)  # prepare ... publish: what benchmarks time


def folder(name: str, source: str | None = None, data: Path = DATA) -> Path:
    """The default output folder of stage `name` (for `source` when the stage is per source)."""
    return BY_NAME[name].default_folder(source, data)
