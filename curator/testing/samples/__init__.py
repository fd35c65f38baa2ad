"""The sample kit: miniature, seeded copies of every source in its real on-disk format.

Tests and the offline demo serve these files from a loopback HTTP server and run the real
download/prepare/normalize code on them, so each builder mirrors the real format as each source
folder's README.md describes it.
`dirty=True` adds one set of known-bad items per source on top of the clean ones; the
manifest states what prepare/normalize must keep and reject, so tests can compare.

Each source's builder lives beside its recipe (curator/sources/<name>/samples.py); this kit holds
what they share: faces and paircode draw the images, writers encode files reproducibly, seeds
derive every random choice from (seed, source), and manifest runs every builder. Nothing reads
the wall clock; label names come from schemas/ (the taxonomy).
"""

from curator.testing.samples.manifest import build_samples, builders
from curator.testing.samples.paircode import read_pair_code

__all__ = ["build_samples", "builders", "read_pair_code"]
