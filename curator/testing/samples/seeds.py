"""Seeded random streams: one independent, reproducible stream per (seed, name)."""

from __future__ import annotations

import hashlib
import random

import numpy as np


def seed_int(seed: int, name: str) -> int:
    """A stable 64-bit seed per (seed, stream name): Python's hash() is salted per process."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:8], "big")


def rand(seed: int, name: str) -> random.Random:
    return random.Random(seed_int(seed, name))


def np_rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng(seed_int(seed, name))
