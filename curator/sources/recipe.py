"""The recipe contract: what a source package under curator/sources/<name>/ defines.

    INFO: SourceInfo
    download(params, out, from_) -> Path      fetch raw files into `out`
    prepare(raw, params) -> Iterator[dict | Reject]
        one item per input sample: a unified record (curator.record.record.empty_record() filled
        in) or a Reject. The prepare stage (curator.stages.prepare.stage) validates images, ids and
        required fields centrally, so each recipe only reads its own format.
    samples.py: build(out, seed, dirty) -> Built, and demo_params(...) (the offline sample kit)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curator.reasons import Reason


@dataclass(frozen=True)
class SourceInfo:
    name: str
    title: str
    license: str
    redistributable: str  # "yes", "opt-in" (only if params allow it), "no"
    size: str
    needs: str  # what a user must supply: nothing, credentials, a signed licence...
    homepage: str
    citation: str
    attribution: str = ""
    # What a user of the published data must know (the README's source table and the card show these):
    label_meaning: str = ""  # what `label` says about a record of this source
    grouping: str = ""  # what a record's group_id is (a subject, a pair, an image)
    unverified: str = ""  # which parts of the format were inferred, not seen in real files
    enabled_by_default: bool = False  # in params.yaml's default sources.enabled


@dataclass(frozen=True)
class Reject:
    id: str | None
    reason: Reason
    detail: str
    path: str | None = None


# what the prepare stage drives: a recipe's prepare() with its Params bound
PrepareFn = Callable[[Path], Iterator["dict[str, Any] | Reject"]]
