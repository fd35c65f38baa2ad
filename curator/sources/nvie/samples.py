"""nvie samples: the authors' per-class archives (builder: curator.sources.thermal.samples)."""

from __future__ import annotations

from pathlib import Path

from curator.sources.thermal.samples import build_nvie
from curator.testing.samples.built import Built, Served


def build(out: Path, seed: int, dirty: bool) -> Built:
    return build_nvie(out, seed, dirty)


def demo_params(served: Served) -> dict:
    """params.yaml sources.nvie pointing at the served archives."""
    return {"base_url": f"{served.files_url}/nvie", "accept_license": True}  # synthetic stand-ins
