"""Hostile archives through the real CLI: `curator prepare viri` over a raw folder holding one
per-class archive. Each is refused by name (archive and member) in one line; nothing is written
outside the extraction target, no output appears, and the scratch extraction is cleaned up.

The extraction rules themselves are unit-tested in tests/io/test_extract.py (every format and
variant); this is the user-visible outcome of one case per kind.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.io.test_extract import make_7z, make_tar, make_zip
from tests.robustness.helpers import assert_one_line_error, outcome, parallel

JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 64  # a member's content; never decoded: the archive is refused first
ABSOLUTE = "/{case}/abs-escaped.jpg"  # formatted with the case folder, so an escape would land there


def _tar_link(path: Path, name: str, kind: bytes, target: str) -> Path:
    with tarfile.open(path, "w:gz") as t:
        ok = tarfile.TarInfo("Angry-Vis/ok.jpg")
        ok.size = len(JPEG)
        t.addfile(ok, io.BytesIO(JPEG))
        link = tarfile.TarInfo(name)
        link.type, link.linkname = kind, target
        t.addfile(link)
    return path


def _zip_symlink(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("Angry-Vis/ok.jpg", JPEG)
        info = zipfile.ZipInfo("Angry-Vis/link.jpg")
        info.external_attr = 0o120777 << 16  # S_IFLNK: the content is the link target
        z.writestr(info, "/etc/passwd")
    return path


def _nested(path: Path, depth: int) -> Path:
    """An archive holding an archive ... `depth` levels down, the innermost holding an image."""
    data = make_zip(path.with_name("level.zip"), {"Angry-Vis/deep.jpg": JPEG}).read_bytes()
    for level in range(depth, 0, -1):
        data = make_zip(path.with_name("level.zip"), {f"Angry-Vis/level{level}.zip": data}).read_bytes()
    path.with_name("level.zip").unlink()
    path.write_bytes(data)
    return path


# case -> (builder(raw folder, case folder) -> archive, member named in the error, reason fragment)
CASES: dict[str, tuple[Any, str, str]] = {
    "zip_slip": (lambda raw, case: make_zip(raw / "VIRI-Angry-Vis.zip", {
        "Angry-Vis/ok.jpg": JPEG, "Angry-Vis/../../../escaped.jpg": JPEG}),
        "Angry-Vis/../../../escaped.jpg", "'..' in path"),
    "absolute_path": (lambda raw, case: make_tar(raw / "VIRI-Angry-Vis.tar.gz", {
        "Angry-Vis/ok.jpg": JPEG, ABSOLUTE.format(case=str(case).strip("/")): JPEG}),
        "abs-escaped.jpg", "absolute path"),
    "symlink": (lambda raw, case: _zip_symlink(raw / "VIRI-Angry-Vis.zip"), "Angry-Vis/link.jpg",
                "symlink members are not allowed"),
    "hardlink": (lambda raw, case: _tar_link(raw / "VIRI-Angry-Vis.tar.gz", "Angry-Vis/hard.jpg", tarfile.LNKTYPE,
                                             "/etc/passwd"), "Angry-Vis/hard.jpg", "hardlink members are not allowed"),
    "zip_bomb": (lambda raw, case: make_zip(raw / "VIRI-Angry-Vis.zip", {"Angry-Vis/zeros.jpg": bytes(32 * 2**20)}),
                 "Angry-Vis/zeros.jpg", "a zip bomb?"),
    "deeply_nested": (lambda raw, case: _nested(raw / "VIRI-Angry-Vis.zip", 4), "Angry-Vis/level4.zip",
                      "deeper than max_depth=3"),
    "encrypted_7z": (lambda raw, case: make_7z(raw / "VIRI-Angry-Vis.7z", {"Angry-Vis/face.jpg": JPEG},
                                               password="secret"), "Angry-Vis/face.jpg", "encrypted"),
}


def refuse(case: Path, build: Any) -> dict[str, Any]:
    raw, tmp = case / "raw", case / "tmp" / "a" / "b"
    raw.mkdir(parents=True)
    tmp.mkdir(parents=True)
    archive = build(raw, case)
    before = {p for p in case.rglob("*")}
    proc = run_cli("prepare", "viri", "--raw", "raw", "--out", "prepared", cwd=case, env={"TMPDIR": str(tmp)},
                   check=False)
    new = sorted(str(p.relative_to(case)) for p in case.rglob("*") if p not in before and p.suffix != ".lock")
    return {"proc": proc, "archive": archive.name, "new": new, "tmp": sorted(p.name for p in tmp.iterdir()),
            "links": [str(p) for p in case.rglob("*") if p.is_symlink()]}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("archives")
    return parallel({name: (lambda n=name: refuse(root / n, CASES[n][0])) for name in CASES})


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_archive_is_refused_by_name_and_writes_nothing(runs: dict, case: str) -> None:
    seen = outcome(runs, case)
    _, member, reason = CASES[case]
    assert_one_line_error(seen["proc"], "error: refused ", f"raw/{seen['archive']}", member, reason)
    assert seen["new"] == []  # no output folder, no escaped file, nothing anywhere in the case folder
    assert seen["tmp"] == []  # the scratch extraction is gone
    assert seen["links"] == []
