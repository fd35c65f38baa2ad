"""The augmentation policy: two serialized albumentations 2.0.8 pipelines, loaded, checked and written.

`geometric` holds only spatial (dual) transforms, run once on visible and IR together; `photometric`
only image transforms, run on the visible image alone. Anything else is refused when loaded.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

# Importing albumentations otherwise asks PyPI for a newer release (a network call of up to 2 s per
# process, every worker included). setdefault keeps an explicit user choice.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from curator.lazy import hidden

# albumentations imports huggingface_hub (~0.15 s, with httpx and asyncio) for its optional Hub
# mixin (Compose.save_pretrained/from_pretrained), which curator never calls; without the package it
# defines the same transforms. A process that has huggingface_hub already keeps it as it is.
with hidden("huggingface_hub"):
    import albumentations as A
import numpy as np
import yaml

from curator.errors import SchemaError

_MAX_RECORDED_ARRAY = 16  # larger params (e.g. GridDistortion's full-size remap grids) are summarised
_POLICY_HEADER = """\
# emotion-curator augmentation policy: two serialized albumentations 2.0.8 pipelines.
#
# Each part below is a complete `A.to_dict` document, loadable by albumentations' own deserializer,
# so the policy can also be applied on the fly in your own training code:
#
#   import yaml, albumentations as A
#   doc = yaml.safe_load(open("pipelines/augment/default.yaml"))
#   geometric = A.from_dict(doc["geometric"])      # spatial: visible AND IR in one call (same draw)
#   photometric = A.from_dict(doc["photometric"])  # colour/intensity: visible image only
#   out = geometric(image=visible, infrared=ir)    # "infrared" is declared in additional_targets
#   visible, ir = photometric(image=out["image"])["image"], out["infrared"]
#
# (`A.load(path, data_format="yaml")` expects a file holding ONE pipeline, so use A.from_dict per part.)
# Seeding: in 2.0.8, Compose(seed=s) gives every transform its own identically seeded generator, so
# their p-coin flips coincide; seed with compose.set_random_state(np.random.default_rng(s),
# random.Random(s)) instead, which shares one stream across the transforms.
# geometric: HorizontalFlip; one Affine for rotation, zoom (uniform scale) and shear (a single
# resampling blurs small faces less than three); mild GridDistortion. interpolation 1 =
# cv2.INTER_LINEAR, border_mode 0 = cv2.BORDER_CONSTANT with fill 0 (black, in both images).
# photometric: mild brightness/contrast, hue/saturation and gamma; never applied to IR.
# emotion-curator (curator/stages/augment/worker.py) applies it with one seed per record and copy, reproducibly.
"""



@dataclass(frozen=True)
class Policy:
    """Two serialized albumentations pipelines (A.to_dict documents), validated on construction."""

    geometric: dict[str, Any]
    photometric: dict[str, Any]

    def __post_init__(self) -> None:
        # Normalise (tuples -> lists, enums -> values) so equal policies have equal fingerprints.
        object.__setattr__(self, "geometric", jsonable(self.geometric))
        object.__setattr__(self, "photometric", jsonable(self.photometric))
        _check_part("geometric", self.geometric, A.DualTransform)
        _check_part("photometric", self.photometric, A.ImageOnlyTransform)

    @functools.cached_property
    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of both parts; recorded with every augmentation."""
        doc = {"geometric": self.geometric, "photometric": self.photometric}
        return hashlib.sha256(_canonical_json(doc).encode()).hexdigest()

    def __hash__(self) -> int:  # the generated one would fail on the dict fields
        return hash(self.fingerprint)


def load_policy(path: Path | str) -> Policy:
    """Read a policy YAML with `geometric:` and `photometric:` parts."""
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SchemaError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(doc, dict) or not {"geometric", "photometric"} <= doc.keys():
        raise SchemaError(f"{path}: a policy needs top-level 'geometric' and 'photometric' parts")
    return Policy(geometric=doc["geometric"], photometric=doc["photometric"])


def policy_to_yaml(policy: Policy) -> str:
    """The policy as YAML (with the explanatory header), in the format `load_policy` reads."""
    body = yaml.safe_dump(
        {"geometric": policy.geometric, "photometric": policy.photometric},
        sort_keys=True,
        default_flow_style=False,
    )
    return _POLICY_HEADER + "\n" + body


def policy_from_composes(geometric: A.Compose, photometric: A.Compose) -> Policy:
    """Build a Policy from live pipelines (e.g. to write a new policy file or in tests)."""
    return Policy(geometric=A.to_dict(geometric), photometric=A.to_dict(photometric))


def _check_part(name: str, part: dict[str, Any], leaf_kind: type) -> None:
    compose = _compose_from_dict(name, part)
    for leaf in _leaves(compose):
        if not isinstance(leaf, leaf_kind):
            # A spatial transform in `photometric` would misalign visible/IR; an image-only one in
            # `geometric` would alter IR intensities.
            raise SchemaError(
                f"policy part {name!r}: {type(leaf).__name__} is not a {leaf_kind.__name__}",
            )


def _compose_from_dict(name: str, part: dict[str, Any]) -> A.Compose:
    try:
        compose = A.from_dict(copy.deepcopy(part))
    except Exception as exc:  # albumentations raises KeyError/TypeError/ValidationError here
        raise SchemaError(f"policy part {name!r} is not an albumentations pipeline: {exc}") from exc
    if type(compose) is not A.Compose:
        raise SchemaError(f"policy part {name!r} must be a Compose, got {type(compose).__name__}")
    return compose


def _leaves(transform: Any) -> Iterator[Any]:
    if isinstance(transform, A.BaseCompose):
        for child in transform.transforms:
            yield from _leaves(child)
    else:
        yield transform


def jsonable(value: Any) -> Any:
    """Plain JSON types only: tuples -> lists, numpy -> Python, big arrays -> shape summary."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        if value.size <= _MAX_RECORDED_ARRAY:
            return value.tolist()
        return {"omitted_array": {"shape": list(value.shape), "dtype": str(value.dtype)}}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Enum):
        return jsonable(value.value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _canonical_json(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))
