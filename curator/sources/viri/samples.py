"""viri samples: the authors' per-class archives, which the demo downloads (their raw-data
repository is the public source), and beside them the authors' training layout zipped as
figshare's Dataset.zip, which tests download with `--from URL` (builders: curator.sources.thermal)."""

from __future__ import annotations

from pathlib import Path

from curator.sources.thermal.samples import build_viri
from curator.sources.thermal.samples_figshare import build_figshare
from curator.testing.samples.built import Built, Served


def build(out: Path, seed: int, dirty: bool) -> Built:
    built = build_viri(out, seed, dirty)
    # Beside viri/, not in it: one raw folder holds one layout, and the manifest's counts (and the
    # demo) are the per-class archives'. The same in clean and dirty builds.
    build_figshare(out, seed)
    return built


def demo_params(served: Served) -> dict:
    """params.yaml sources.viri pointing at the served archives."""
    return {"base_url": f"{served.files_url}/viri"}
