"""VIRI: 566 visible/infrared face pairs in five posed classes (Naseem et al., PeerJ CS 2025).

The authors' raw-data repository holds one zip per class and modality,
`VIRI-{Angry,Happy,Neutral,Sad,Surprise}-{Ir,Vis}.zip` (the default download). Their training
layout, as their deleted Code.zip reads it (`tran_val_test/{Visible,IR}/{train,val,test}/<Class>/`,
presumably what figshare's `Dataset.zip` holds: `--from URL`), is read too, its split kept in
`official_split`; their augmented copies (`{Vis,IR}/train_aug_images/`) and the MSX view are
excluded with their own reason codes. VIRI file names carry no subject id: each pair is its own
group (`viri/pair:<Class>/<stem>`). Layouts and pairing: curator/sources/thermal/. See README.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import Field

from curator.config import Download
from curator.sources import thermal
from curator.sources.recipe import Reject, SourceInfo

NAME = "viri"
CLASSES = ("Angry", "Happy", "Neutral", "Sad", "Surprise")
INFO = SourceInfo.read(__file__)  # the facts: source.yaml beside this file
SPEC = thermal.ThermalSource(
    name=NAME,
    prefix="VIRI",
    files=tuple(f"VIRI-{c}-{m}.zip" for c in CLASSES for m in ("Ir", "Vis")),
    base_url=thermal.BASE_URL,
    license=INFO.license,
    example_class="Angry",
)


class Params(thermal.ArchiveParams):
    allow_public_push: bool = Field(False, description="VIRI's licence is 'as published on figshare': push publicly "
                                    "only if you checked it")


def download(conf: Params, fetch: Download, out: Path, from_: str | None = None) -> Path:
    """Fetch the ten archives (params sources.viri.base_url/files), or copy a manual download."""
    return thermal.download(SPEC, conf, fetch, out, from_)


def prepare(raw: Path, conf: Params | None = None) -> Iterator[dict[str, Any] | Reject]:
    return thermal.prepare(SPEC, raw, conf or Params())


def layout(raw: Path, conf: Params | None = None) -> str:
    """The layout found under `raw`, in one line (curator inspect)."""
    return thermal.describe(SPEC, raw)
