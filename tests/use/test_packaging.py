"""What an installed package needs: every module the commands import is a core dependency (or
guarded by a one-line error naming the extra), and data files are found in the documented order
(curator/resources.py) without a checkout; recorded checksums never go into the package."""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import sys
from pathlib import Path

import pytest

from curator import resources
from curator.config import Download
from curator.errors import CuratorError, SchemaError
from curator.io.checksums import load_registry, record
from curator.sources import fetch

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "curator"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _core_requirements() -> set[str]:
    reqs = md.requires("emotion-curator") or []
    return {_norm(re.split(r"[\s<>=!~;\[(]", r, maxsplit=1)[0]) for r in reqs if "extra ==" not in r}


def _guarded(tree: ast.Module) -> set[int]:
    """ids of import statements inside a `try` that turns ImportError into a message."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
                "ImportError" in ast.dump(h.type) or "ModuleNotFoundError" in ast.dump(h.type)
                for h in node.handlers if h.type is not None):
            out |= {id(n) for stmt in node.body for n in ast.walk(stmt) if isinstance(n, (ast.Import, ast.ImportFrom))}
    return out


def _tops(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Import):
        return {a.name.split(".")[0] for a in node.names}
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return {node.module.split(".")[0]}
    return set()


def _third_party(module: Path) -> set[str]:
    """Top-level packages a module imports; one it also imports under an ImportError guard (Ray: the
    guard runs first, in RayExecutor.__enter__) counts as optional."""
    tree = ast.parse(module.read_text())
    guarded_ids = _guarded(tree)
    nodes = list(ast.walk(tree))
    optional = set().union(*(_tops(n) for n in nodes if id(n) in guarded_ids))
    tops = set().union(*(_tops(n) for n in nodes)) - optional
    return {t for t in tops if t != "curator" and t not in sys.stdlib_module_names and t != "__future__"}


def test_every_module_of_the_package_imports_only_core_dependencies():
    """Every module ships and some command runs it (the recipes and their samples are found at run time,
    `curator samples` and `curator demo` run curator/testing), so each must import only what installs."""
    provided = md.packages_distributions()
    core = _core_requirements()
    missing = {}
    for module in sorted(PACKAGE.rglob("*.py")):
        for top in _third_party(module):
            dists = {_norm(d) for d in provided.get(top, [])}
            if not dists & core:
                missing[top] = module.relative_to(ROOT).as_posix()
    assert missing == {}, f"modules import packages no core dependency provides: {missing}"


def test_mlcroissant_is_core_and_dev_only_tools_are_not_imported():
    assert "mlcroissant" in _core_requirements()
    assert not {"pytest", "hypothesis", "ruff"} & _core_requirements()


def test_ray_is_guarded_by_a_one_line_error_naming_the_extra():
    executor = ROOT / "curator" / "pipeline" / "executor.py"
    assert _guarded(ast.parse(executor.read_text())), "the Ray import is no longer inside its ImportError guard"
    assert "pip install 'emotion-curator[ray]'" in executor.read_text()


# --- data files: curator/resources.py's order --------------------------------------------------


def test_schemas_env_then_project_then_package(tmp_path, monkeypatch):
    monkeypatch.delenv(resources.SCHEMAS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert resources.schemas_dir() == resources.packaged("schemas")
    assert (resources.schemas_dir() / "taxonomy.yaml").is_file()
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "record.yaml").write_text("columns: {}\n")
    assert resources.schemas_dir() == tmp_path / "schemas"
    mine = tmp_path / "mine"
    mine.mkdir()
    monkeypatch.setenv(resources.SCHEMAS_ENV, str(mine))
    with pytest.raises(SchemaError, match=r"schemas folder from \$CURATOR_SCHEMAS has no record.yaml: .*mine"):
        resources.schemas_dir()


def test_policy_env_then_as_given_then_package(tmp_path, monkeypatch):
    monkeypatch.delenv(resources.PIPELINES_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    name = "pipelines/augment/default.yaml"
    assert resources.policy_path(name) == resources.packaged("pipelines", "augment", "default.yaml")
    (tmp_path / "pipelines" / "augment").mkdir(parents=True)
    (tmp_path / name).write_text("own")
    assert resources.policy_path(name) == Path(name)
    monkeypatch.setenv(resources.PIPELINES_ENV, str(tmp_path / "elsewhere"))
    with pytest.raises(CuratorError, match=r"augment policy pipelines/augment/default.yaml not found .*elsewhere"):
        resources.policy_path(name)
    with pytest.raises(CuratorError, match=r"augment policy nope\.yaml not found"):
        resources.policy_path("nope.yaml")


def test_the_packaged_files_are_this_checkouts_top_level_files():
    assert (resources.packaged("project", "dvc.yaml").read_text() == (ROOT / "dvc.yaml").read_text())
    taxonomy = resources.packaged("schemas", "taxonomy.yaml")
    assert taxonomy.read_text() == (ROOT / "schemas" / "taxonomy.yaml").read_text()


def test_recorded_checksums_go_to_the_project_and_packaged_ones_are_only_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    packaged = tmp_path / "site" / "curator" / "sources" / "viri" / "checksums.tsv"
    record(packaged, "viri", "a.zip", 3, "a" * 64)
    before = packaged.read_bytes()
    site = lambda *parts: tmp_path.joinpath("site", "curator", *parts)  # noqa: E731 - the installed package
    monkeypatch.setattr(resources, "packaged", site)
    conf = Download()
    assert fetch.registry_path(conf) == Path("checksums.tsv")
    assert fetch._registry_for("viri", "a.zip", conf) == packaged  # known there: looked up there
    assert fetch._registry_for("viri", "b.zip", conf) == Path("checksums.tsv")  # unknown: the project's
    record(fetch._registry_for("viri", "b.zip", conf), "viri", "b.zip", 4, "b" * 64)
    record(Path("checksums.tsv"), "viri", "a.zip", 5, "c" * 64)  # the project overrides a default
    assert packaged.read_bytes() == before
    known = resources.known_checksums(None)
    assert {k: (c.size, c.sha256[0]) for k, c in known.items()} == {("viri", "a.zip"): (5, "c"),
                                                                     ("viri", "b.zip"): (4, "b")}
    assert set(load_registry(tmp_path / "checksums.tsv")) == {("viri", "a.zip"), ("viri", "b.zip")}
    assert fetch.registry_path(Download(checksums=str(tmp_path / "x.tsv"))) == tmp_path / "x.tsv"
