"""rejects.jsonl: one line per record a stage did not keep, with a reason code and detail."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import IO

from curator.reasons import Reason


class RejectsWriter:
    """Append-only JSON-lines writer that also counts rejects per reason."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[str] = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.by_reason: Counter[str] = Counter()

    def add(self, *, id: str | None, source: str, reason: Reason | str, detail: str, path: str | None = None) -> None:
        code = str(reason)
        line = {"id": id, "source": source, "reason": code, "detail": detail, "path": path}
        self._fh.write(json.dumps(line, ensure_ascii=False) + "\n")
        self.by_reason[code] += 1

    @property
    def total(self) -> int:
        return sum(self.by_reason.values())

    def close(self) -> None:
        self._fh.close()


def read_rejects(path: Path) -> list[dict]:
    if not Path(path).is_file():
        return []
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
