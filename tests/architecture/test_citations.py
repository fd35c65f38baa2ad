"""Nothing in the repository cites a file a user's clone does not have."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.architecture.imports import ROOT

OUTSIDE = re.compile(r"\.\./shared|SOURCES\.md|DESIGN\.md")
# The only files that may name them: the tests that read the real data files beside the repository
# (conftest.py's EMONET_DIR, test_samples.py's fixture for it), the benchmark history, which records
# what was known when each round was measured, and the tests that name them to find them.
READ_REAL_DATA = {"tests/conftest.py", "tests/sources/test_samples.py"}
ALLOWED = {*READ_REAL_DATA, "benchmarks/RESULTS.md", "tests/architecture/test_citations.py",
           "tests/sources/test_readmes.py"}


def _tracked() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: no list of tracked files")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [name for name in out.decode().split("\0") if name]


def citing(names: list[str], root: Path = ROOT) -> dict[str, list[int]]:
    """file -> the lines that name a file outside the repository (binary files left out)."""
    found: dict[str, list[int]] = {}
    for name in names:
        path = root / name
        if not path.is_file() or path.is_symlink():
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue
        lines = [i for i, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1) if OUTSIDE.search(line)]
        if lines:
            found[name] = lines
    return found


def test_the_check_finds_a_citation(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text('x = 1\n"""see ../shared/SOURCES.md section 5"""\n')
    (tmp_path / "b.md").write_text("nothing outside\n")
    (tmp_path / "c.txt").write_text("as DESIGN.md says\n")
    assert citing(["a.py", "b.md", "c.txt"], tmp_path) == {"a.py": [2], "c.txt": [1]}


def test_nothing_cites_a_file_outside_the_repository() -> None:
    found = citing(_tracked())
    extra = {name: lines for name, lines in found.items() if name not in ALLOWED}
    assert not extra, f"files citing ../shared, SOURCES.md or DESIGN.md (name the public source instead): {extra}"


def test_the_allowed_tests_read_the_real_data() -> None:
    """An allowance stays only while the test it covers reads the files beside the repository."""
    for name in READ_REAL_DATA:
        text = (ROOT / name).read_text(encoding="utf-8")
        assert "EMONET_DIR" in text or "shared_dir(" in text, f"{name} no longer reads the real data: drop it"
