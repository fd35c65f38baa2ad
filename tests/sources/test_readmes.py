"""Each source folder's README.md records where its knowledge of the real format comes from (a public
repository and a commit), and nothing in the folder cites a file outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SOURCES = Path(__file__).resolve().parents[2] / "curator" / "sources"
FOLDERS = ["emer", "kaggle_physio", "nvie", "thermal", "viri"]


@pytest.mark.parametrize("name", FOLDERS)
def test_readme_cites_its_evidence_and_says_what_is_unverified(name: str) -> None:
    text = (SOURCES / name / "README.md").read_text(encoding="utf-8")
    sections = (r"## What is known", r"## What the recipes? reads?", r"## What (it|they) tolerates?", r"## Unverified")
    for heading in sections:
        assert re.search(heading, text), f"{name}/README.md lacks a section {heading!r}"
    if name != "kaggle_physio":  # the Kaggle facts come from the Hub mirror's data, not from code
        assert re.search(r"\b[0-9a-f]{40}\b", text), f"{name}/README.md names no commit"


@pytest.mark.parametrize("name", FOLDERS)
def test_nothing_in_the_folder_cites_a_file_outside_the_repository(name: str) -> None:
    for path in sorted((SOURCES / name).rglob("*")):
        if path.is_file() and path.suffix in (".py", ".md", ".yaml"):
            text = path.read_text(encoding="utf-8")
            assert "SOURCES.md" not in text and "../shared" not in text, path
