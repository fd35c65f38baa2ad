"""What one source's builder wrote, and what prepare/normalize must make of it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from curator.reasons import Reason


@dataclass
class Built:
    files: list[Path]
    items: int
    prepare_rejects: Counter[Reason] = field(default_factory=Counter)
    normalize_rejects: Counter[Reason] = field(default_factory=Counter)

    def add_bad(self, *, prepare: Iterable[Reason] = (), normalize: Iterable[Reason] = ()) -> None:
        """Count known-bad items added by dirty=True: each is one more item, rejected for its reason."""
        prepare, normalize = list(prepare), list(normalize)
        self.prepare_rejects.update(prepare)
        self.normalize_rejects.update(normalize)
        self.items += len(prepare) + len(normalize)

    def expected(self) -> dict:
        kept = self.items - sum(self.prepare_rejects.values()) - sum(self.normalize_rejects.values())
        return {"records": kept,
                "prepare_rejects": {str(k): v for k, v in sorted(self.prepare_rejects.items())},
                "normalize_rejects": {str(k): v for k, v in sorted(self.normalize_rejects.items())}}


@dataclass(frozen=True)
class Served:
    """Where the demo serves the built samples: what a recipe's demo_params() points params at."""

    samples: Path  # the folder build_samples wrote
    files_url: str  # a static server whose root is `samples`
    hub_sha: Callable[[str], str]  # Hub stand-in: repo id -> the commit sha it serves
