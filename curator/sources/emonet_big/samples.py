"""emonet_big samples: a miniature Hub repo in the real repo's format (builder: curator.sources.emonet.samples)."""

from __future__ import annotations

from pathlib import Path

from curator.sources.emonet.samples import build_big
from curator.sources.emonet_big import HUB
from curator.testing.samples.built import Built, Served

HUB_REPO = HUB.repo  # the demo serves out/emonet_big/ (data/ + README.md) as this repo on the Hub stand-in


def build(out: Path, seed: int, dirty: bool) -> Built:
    return build_big(out, seed, dirty)


def demo_params(served: Served) -> dict:
    """params.yaml sources.emonet_big pointing at the Hub stand-in (and the annotation CSV's server)."""
    params = {"repo": HUB_REPO, "revision": served.hub_sha(HUB_REPO)}
    return params
