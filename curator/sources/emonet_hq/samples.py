"""emonet_hq samples: a miniature Hub repo in the real repo's format (builder: curator.sources.emonet.samples)."""

from __future__ import annotations

from pathlib import Path

from curator.sources.emonet.samples import build_hq
from curator.sources.emonet_hq import HUB
from curator.testing.samples.built import Built, Served

HUB_REPO = HUB.repo  # the demo serves out/emonet_hq/ (data/ + README.md) as this repo on the Hub stand-in


def build(out: Path, seed: int, dirty: bool) -> Built:
    return build_hq(out, seed, dirty)


def demo_params(served: Served) -> dict:
    """params.yaml sources.emonet_hq pointing at the Hub stand-in (and the annotation CSV's server)."""
    params = {"repo": HUB_REPO, "revision": served.hub_sha(HUB_REPO)}
    params["annotations_url"] = f"{served.files_url}/emonet_hq/hq.csv"
    return params
