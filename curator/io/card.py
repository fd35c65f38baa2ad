"""A published folder's dataset card header (the YAML the Hub parses): read by validate, report and push."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def read_card_header(folder: Path) -> dict[str, Any]:
    """The YAML header of `folder`/README.md as a mapping; ValueError when there is none."""
    text = (Path(folder) / "README.md").read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise ValueError("README.md has no YAML header")
    header = text.split("---\n", 2)[1]
    meta = yaml.safe_load(header)
    if not isinstance(meta, dict):
        raise ValueError("README.md YAML header is not a mapping")
    return meta
