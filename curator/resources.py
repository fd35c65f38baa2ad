"""Where curator finds its data files. This is the one place the order is decided (first match wins):

    schemas (record, taxonomy, physio, dims)    $CURATOR_SCHEMAS > ./schemas > the package's schemas
    a source's label map (labels.yaml)          ./curator/sources/<source>/ > the package's
    augmentation policy (params augment.policy,  $CURATOR_PIPELINES (for a path under pipelines/)
      e.g. pipelines/augment/default.yaml)      > the path as given > that path in the package
    params                                      --params FILE > ./params.yaml > defaults (curator/config.py)
    checksum registry                           the project's (params download.checksums, else
                                                ./checksums.tsv) > each source folder's, read only

`./` is the current folder: DVC runs every stage from the project root, so a DVC project's own
`schemas/` and `pipelines/` (the files its dvc.yaml tracks) are what its stages read. A folder
overrides as a whole (a project's `schemas/` must hold record.yaml and everything else). Checksums
recorded with `curator download --record-checksums` go to the project's registry, never into the
installed package; the packaged registry is only looked up.

In this repository `schemas/` and `pipelines/` live at the top level and the package
reaches them through symlinks (`curator/schemas -> ../schemas` ...), which a wheel stores as files.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

from curator.errors import CuratorError, SchemaError
from curator.io.checksums import Checksum, load_registry

SCHEMAS_ENV = "CURATOR_SCHEMAS"
PIPELINES_ENV = "CURATOR_PIPELINES"
PROJECT_REGISTRY = Path("checksums.tsv")


def packaged(*parts: str) -> Path:
    """A data file or folder the installed package ships (`packaged("schemas", "maps")`)."""
    root = files("curator")
    if not isinstance(root, Path):  # a zipped install: resources would need extracting first
        raise CuratorError(f"curator is installed as {root}; install it as a folder (pip install)")
    return root.joinpath(*parts)


def schemas_dir() -> Path:
    """$CURATOR_SCHEMAS, else ./schemas, else the packaged schemas (each must hold record.yaml)."""
    env = os.environ.get(SCHEMAS_ENV)
    if env:
        path, why = Path(env), f"${SCHEMAS_ENV}"
    elif (Path.cwd() / "schemas" / "record.yaml").is_file():
        path, why = Path.cwd() / "schemas", "the project"
    else:
        path, why = packaged("schemas"), "the installed package"
    if not (path / "record.yaml").is_file():
        raise SchemaError(f"schemas folder from {why} has no record.yaml: {path}")
    return path


def source_file(source: str, name: str) -> Path:
    """A data file of a source folder (its labels.yaml): the project's copy under ./curator/sources/<source>/
    when there is one (DVC runs stages from the project root and tracks that copy), else the package's."""
    project = Path.cwd() / "curator" / "sources" / source / name
    return project if project.is_file() else packaged("sources", source, name)


def policy_path(given: str | Path) -> Path:
    """An augmentation policy named in params: for `pipelines/...`, under $CURATOR_PIPELINES when it is
    set; else the path as given (relative to the current folder), else the same path in the package."""
    given = Path(given)
    inside = given.parts[0] == "pipelines" and not given.is_absolute() and len(given.parts) > 1
    env = os.environ.get(PIPELINES_ENV)
    if env and inside:
        candidates = [Path(env).joinpath(*given.parts[1:])]
    else:
        candidates = [given, packaged(*given.parts)] if inside else [given]
    for path in candidates:
        if path.is_file():
            return path
    tried = ", ".join(str(p) for p in candidates)
    raise CuratorError(f"augment policy {given} not found (looked at {tried}); set augment.policy in params.yaml")


def project_registry(checksums: str | None) -> Path:
    """Where checksums are recorded: params download.checksums, else ./checksums.tsv."""
    return Path(checksums) if checksums else PROJECT_REGISTRY


def packaged_registry(source: str) -> Path:
    """The checksums a source folder ships with (looked up, never written; may not exist)."""
    return packaged("sources", source, "checksums.tsv")


def known_checksums(checksums: str | None) -> dict[tuple[str, str], Checksum]:
    """Every checksum a build trusts: each source folder's, then the project's (which win)."""
    shipped = {key: value for path in sorted(packaged("sources").glob("*/checksums.tsv"))
               for key, value in load_registry(path).items()}
    return {**shipped, **load_registry(project_registry(checksums))}
