"""NVIE: the USTC-NVIE subset (fear, disgust, happy) used by Naseem et al., visible/IR pairs.

USTC-NVIE is under a research licence and is not redistributable: fetching it needs
`sources.nvie.accept_license: true`, else the user supplies a copy with --from DIR. Archives:
`NVIE-<class>[N]-<Ir|Vis>` (zip, one 7z), a class's visible images split over numbered parts.
How file names carry the subject is unknown: `sources.nvie.subject_pattern` (a regex whose group 1
is the subject, searched in each visible stem) makes it the group (`nvie/subject:<id>`); without it,
or where it finds nothing, the pair is the group (`nvie/pair:<class>/<stem>`) and prepare says how
many. Layouts and pairing: curator/sources/thermal/. See README.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import Field

from curator.config import Download
from curator.errors import CuratorError
from curator.sources import thermal
from curator.sources.recipe import Reject, SourceInfo

NAME = "nvie"
INFO = SourceInfo.read(__file__)  # the facts: source.yaml beside this file
SPEC = thermal.ThermalSource(
    name=NAME,
    prefix="NVIE",
    files=(
        "NVIE-disgust-Ir.zip", "NVIE-disgust1-Vis.zip", "NVIE-disgust2-Vis.zip", "NVIE-fear-Ir.zip",
        "NVIE-fear-Vis.zip", "NVIE-happy-Ir.zip", "NVIE-happy1-Vis.7z", "NVIE-happy2-Vis.zip",
    ),
    base_url=thermal.BASE_URL,
    license=INFO.license,
    example_class="fear",
)


class Params(thermal.ArchiveParams):
    accept_license: bool = Field(False, description="USTC-NVIE is research-only: set true only if you hold the licence")


def download(conf: Params, fetch: Download, out: Path, from_: str | None = None) -> Path:
    """Copy the user's licensed copy (--from DIR|FILE); fetch only if the licence is accepted."""
    local = from_ is not None and "://" not in from_
    if not local and not conf.accept_license:
        raise CuratorError(
            f"{NAME}: USTC-NVIE is released under a research licence and may not be redistributed; obtain it "
            f"under that licence and run `curator download {NAME} --from DIR` with your copy (or, if you hold "
            f"the licence, set sources.{NAME}.accept_license: true in params.yaml to fetch the archives)"
        )
    return thermal.download(SPEC, conf, fetch, out, from_)


def prepare(raw: Path, conf: Params | None = None) -> Iterator[dict[str, Any] | Reject]:
    return thermal.prepare(SPEC, raw, conf or Params())


def layout(raw: Path, conf: Params | None = None) -> str:
    """The layout found under `raw`, in one line (curator inspect)."""
    return thermal.describe(SPEC, raw)
