"""A published folder's dataset card header (the YAML the Hub parses): read by validate, report and push."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huggingface_hub import DatasetCard


def read_card_header(folder: Path) -> dict[str, Any]:
    """The card's YAML header, read as `huggingface_hub` (and `load_dataset`) read it."""
    path = Path(folder) / "README.md"
    if not path.read_text(encoding="utf-8").startswith("---\n"):
        raise ValueError("README.md has no YAML header")
    return DatasetCard.load(path).data.to_dict()  # ValueError when the header is not a mapping
