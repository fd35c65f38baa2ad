"""params.yaml: every knob of the pipeline in one file; CLI flags override, defaults fill in.

DVC tracks the sections each stage reads, so a changed knob re-runs exactly its stages.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from curator.errors import CuratorError

DEFAULTS: dict[str, Any] = {
    "sources": {"enabled": ["kaggle_physio"]},
    "download": {"checksums": None, "record_checksums": False, "timeout": 30, "retries": 4},
    "prepare": {"max_image_pixels": 50_000_000, "workers": 2, "executor": "local"},
    "split": {"seed": 20250523, "ratios": {"train": 0.70, "validation": 0.15, "test": 0.15}},
    "dedup": {"max_distance": 3, "drop_within_split": False},
    "augment": {"policy": "pipelines/augment/default.yaml", "copies": 2, "seed": 0, "workers": 2, "jpeg_quality": 90,
                "executor": "local"},
    "publish": {"name": "emotion-curator", "shard_max_bytes": 500_000_000, "include": None},
}


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def load_params(path: Path | None = None) -> dict[str, Any]:
    """params.yaml from `path`, else ./params.yaml if present, merged over the defaults."""
    path = Path(path) if path else Path("params.yaml")
    if not path.is_file():
        return copy.deepcopy(DEFAULTS)
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise CuratorError(f"{path}: not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(loaded, dict):
        raise CuratorError(f"{path}: expected a mapping at the top level")
    return _merge(DEFAULTS, loaded)


def source_params(params: dict[str, Any], source: str) -> dict[str, Any]:
    return dict(params.get("sources", {}).get(source) or {})
