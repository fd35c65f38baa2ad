"""Which sources of a published folder may not go to a public Hub repo."""

from __future__ import annotations

from pathlib import Path

from curator.config import Config
from curator.io.card import read_card_header
from curator.record.schema import config_specs
from curator.sources.licensing import public_allowed


def included_sources(folder: Path) -> list[str]:
    """The sources a published folder holds: its per-source configs."""
    names = {c["config_name"] for c in read_card_header(folder).get("configs", [])}
    return sorted(names - set(config_specs()))


def restricted_sources(folder: Path, config: Config) -> list[str]:
    """Included sources whose licence forbids a public push: "no", or "opt-in" without
    `sources.<name>.allow_public_push: true` in params."""
    restricted = []
    for name in included_sources(folder):
        if not public_allowed(name, config.source(name)):
            restricted.append(name)
    return restricted
