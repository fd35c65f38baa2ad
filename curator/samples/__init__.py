"""Miniature, seeded copies of every source in its real on-disk format.

Tests and the offline demo serve these files from a loopback HTTP server and run the real
download/prepare/normalize code on them, so each builder mirrors SOURCES.md exactly.
`dirty=True` adds one set of known-bad items per source on top of the clean ones; the
manifest states what prepare/normalize must keep and reject, so tests can compare.

Determinism: every random choice comes from generators seeded by (seed, source); archives
use fixed timestamps; nothing reads the wall clock. Label names come from schemas/ (the
taxonomy); the EmoNet-Face rows used ship in samples/data/, so no ../shared checkout is read.

Modules: faces + paircode draw the images, writers encode files reproducibly, one module
per source family builds its files (kaggle, emonet, thermal, emer), manifest ties them up.
"""

from curator.samples.emer import EMER_CLASSES, EMER_EYE_COLUMNS, EMER_LABEL_COLUMNS
from curator.samples.faces import EXPRESSIONS, draw_face
from curator.samples.kaggle import KAGGLE_CLASSES, KAGGLE_COLUMNS
from curator.samples.manifest import SOURCES, build_samples
from curator.samples.paircode import read_pair_code
from curator.samples.reference import binary_label_names, emonet_labels, shared_dir

__all__ = [
    "EMER_CLASSES",
    "EMER_EYE_COLUMNS",
    "EMER_LABEL_COLUMNS",
    "EXPRESSIONS",
    "KAGGLE_CLASSES",
    "KAGGLE_COLUMNS",
    "SOURCES",
    "binary_label_names",
    "build_samples",
    "draw_face",
    "emonet_labels",
    "read_pair_code",
    "shared_dir",
]
