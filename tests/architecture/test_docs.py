"""The README is the map and docs/ the rest: short, and every path, link and generated table in them true.

A repository path is an inline-code span such as `curator/pipeline/run.py` or `schemas/` whose first
part is an entry at the repository's top level; placeholders (`curator/sources/<name>/`) and what a run
produces (RUN_OUTPUTS) are not checked. Test files are named by their base name (`test_contracts.py`),
which stays true when they move between tests/ folders. Links are checked relative to their file,
anchors against the target's headings.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from curator.sources import markdown_table

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
MAX_README_LINES = 200
BEGIN, END = "<!-- sources:begin -->", "<!-- sources:end -->"
# produced by a run, never in the repository: the stages' outputs, DVC's lock, a venv, the demo
RUN_OUTPUTS = ("data/", "reports/", "metrics/", "demo/", "dvc.lock", ".venv", ".curator/")
PLACEHOLDER = re.compile(r"[<>{}*…]|\.\.\.")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
CODE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# a link to the guide `curator new-source` comes with, while that command has not landed yet
PENDING = {ROOT / "docs" / "adding-a-source.md": "new-source"}


def _prose(page: Path) -> str:
    """The page without its fenced code blocks (commands, not references)."""
    return FENCE.sub("", page.read_text(encoding="utf-8"))


def _top_level() -> set[str]:
    return {p.name for p in ROOT.iterdir() if p.name != ".git"}


def _repo_paths(text: str) -> set[str]:
    top = _top_level()
    found = set()
    for span in CODE.findall(text):
        span = span.strip().removeprefix("./")
        if (" " in span or "://" in span or PLACEHOLDER.search(span) or span.startswith(RUN_OUTPUTS)
                or span.split("/")[0] not in top):
            continue
        found.add(span)
    return found


def _slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", _prose(page), re.M)}


def _cli_has(command: str) -> bool:
    from curator.cli import app

    names = {c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands}
    return command in names


def test_the_readme_is_at_most_200_lines() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines; move detail to docs/"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_repository_path_named_exists(page: Path) -> None:
    missing = sorted(p for p in _repo_paths(_prose(page)) if not (ROOT / p).exists())
    assert not missing, f"{page.relative_to(ROOT)} names paths that do not exist: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in LINK.findall(_prose(page)):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            if dest in PENDING and not _cli_has(PENDING[dest]):
                continue
            broken.append(target)
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)} has links that do not resolve: {broken}"


def test_the_path_check_sees_paths_and_skips_placeholders_and_outputs() -> None:
    text = ("`curator/pipeline/run.py` `schemas/` `params.yaml` `curator/sources/<name>/` `data/raw/viri/` "
            "`reports/index.html` `test_contracts.py` `curator prepare SRC` `s3://bucket/x`")
    assert _repo_paths(text) == {"curator/pipeline/run.py", "schemas/", "params.yaml"}
    assert _slug("What happens when…") == "what-happens-when" and _slug("Consume and push") == "consume-and-push"


def test_the_readme_source_table_is_markdown_table() -> None:
    readme = README.read_text(encoding="utf-8")
    assert readme.count(BEGIN) == 1 and readme.count(END) == 1, "the README needs one pair of table markers"
    table = readme[readme.index(BEGIN) + len(BEGIN) + 1:readme.index(END)]
    assert table == markdown_table(), "the README's source table is stale: run `curator sync`"


def test_the_readme_test_command_is_what_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    (command,) = [line for line in ci if "pytest" in line and not line.startswith("#")]
    assert command in README.read_text(encoding="utf-8").splitlines()
