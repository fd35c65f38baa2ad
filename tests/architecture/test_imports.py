"""How curator's modules import each other and their libraries: no cycle, no private name across modules,
no private API of a library."""

from __future__ import annotations

import ast
import sys

from tests.architecture.imports import cycles, graph, imports, modules, target, tree

# Private library API still in use, each line with the branch that removes it (none left: the
# serialise branch replaced them). The test fails when one is added, and when a listed one is gone.
ALLOWED_PRIVATE_LIBRARY_API: set[str] = set()


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_the_graph_sees_function_level_package_and_relative_imports() -> None:
    """The checker must see what the tests below rely on, or an empty answer would prove nothing."""
    edges = graph()
    # inside a function: augment imports its Ray Data path only when it runs on Ray
    assert "curator.stages.augment.raydata" in edges["curator.stages.augment.stage"]
    # `from curator.sources.emonet_big import layouts`: the submodule, from the package's __init__
    assert "curator.sources.emonet_big.layouts" in edges["curator.sources.emonet_big"]
    # `from curator.sources import emonet`: a package (its __init__)
    assert "curator.sources.emonet" in edges["curator.sources.emonet_hq"]


def test_cycles_finds_a_strongly_connected_component() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set(), "f": {"e"}}
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles({"pkg": {"pkg.sub"}, "pkg.sub": {"pkg"}}) == [["pkg", "pkg.sub"]]


def test_no_import_cycle_inside_curator() -> None:
    found = cycles(graph())
    assert not found, "import cycles (break each by moving the shared part to a module both import): " + "; ".join(
        " <-> ".join(c) for c in found)


def test_no_private_name_imported_across_curator_modules() -> None:
    found = []
    for name in modules():
        bound = {}  # alias -> curator module, to catch `module._name` as well
        for imp in imports(name):
            loaded = target(imp)
            if loaded is None:
                continue
            if imp.name is None or loaded != imp.module:  # the alias is a module
                bound[imp.alias] = loaded
            if (imp.name and _private(imp.name)) or _private(imp.alias):
                found.append(f"{name}:{imp.line}: from {imp.module} import {imp.name} as {imp.alias}")
        for node in ast.walk(tree(name)):
            if (isinstance(node, ast.Attribute) and _private(node.attr) and isinstance(node.value, ast.Name)
                    and node.value.id in bound and bound[node.value.id] != name):
                found.append(f"{name}:{node.lineno}: {node.value.id}.{node.attr}")
    assert not found, "private names used across modules (make them public or move them): " + "; ".join(found)


def _third_party(module: str) -> bool:
    top = module.split(".")[0]
    return bool(top) and top != "curator" and top not in sys.stdlib_module_names


def _dotted(node: ast.AST) -> list[str] | None:
    """`a.b.c` as ["a", "b", "c"]; None when the chain does not start at a plain name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


def private_library_uses(name: str, module: ast.Module | None = None) -> set[str]:
    """`from lib import _x`, `import lib._x`, and `lib_alias. ... ._x` in one module (`module`, else
    the file of `name`)."""
    module = module or tree(name)
    found = set()
    library_names = set()  # names bound to a third-party module or to a name imported from one
    for imp in imports(name, module):
        if not _third_party(imp.module):
            continue
        library_names.add(imp.alias)
        path = [*imp.module.split("."), *([imp.name] if imp.name else [])]
        if any(_private(p) for p in path):
            found.add(f"{name}: import {'.'.join(path)}")
    for node in ast.walk(module):
        if not isinstance(node, ast.Attribute):
            continue
        chain = _dotted(node)
        if chain and chain[0] in library_names and _private(chain[-1]):
            found.add(f"{name}: {'.'.join(chain)}")
    return found


def test_the_library_check_sees_aliases_chains_and_imported_names() -> None:
    code = """
import pyarrow as pa
import numpy._core
from datasets import Features
from yaml import _private_loader

def f(table, own):
    pa.lib._pandas_api.is_data_frame(table)
    Features._from_yaml_list([])
    own._cache.clear()  # not a library: a local name
    return pa.__version__  # dunder: public
"""
    assert private_library_uses("m", ast.parse(code)) == {
        "m: pa.lib._pandas_api", "m: Features._from_yaml_list", "m: import numpy._core",
        "m: import yaml._private_loader"}


def test_no_private_api_of_a_library() -> None:
    found = set().union(*(private_library_uses(name) for name in modules()))
    assert found == ALLOWED_PRIVATE_LIBRARY_API, (
        f"new private library API: {sorted(found - ALLOWED_PRIVATE_LIBRARY_API)}; "
        f"gone (delete from the allow-list): {sorted(ALLOWED_PRIVATE_LIBRARY_API - found)}")


def test_no_stage_imports_another_stage_or_a_command() -> None:
    """What two stages share lives in the core (curator.pipeline, curator.io, curator.record): a stage
    importing another would make it re-run (dvc.yaml deps) and break when that one changes."""
    found = []
    for name, loaded in graph().items():
        parts = name.split(".")
        if parts[:2] != ["curator", "stages"] or len(parts) < 3:
            continue
        for other in loaded:
            theirs = other.split(".")
            another_stage = theirs[:2] == ["curator", "stages"] and len(theirs) > 2 and theirs[2] != parts[2]
            if another_stage or theirs[:2] == ["curator", "commands"]:
                found.append(f"{name} -> {other}")
    assert not found, f"stages importing another stage or a command: {found}"
