"""curator's modules and every import they make (module level and inside functions), read with `ast`."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "curator"


@dataclass(frozen=True)
class Imported:
    """One name an import statement brings in: `from <module> import <name>` or `import <module>`."""

    importer: str  # the importing module's dotted name
    module: str  # the absolute module named by the statement
    name: str | None  # the imported name (None for `import module`)
    alias: str  # the name it is bound to in the importer
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of curator/, by dotted name."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


@cache
def tree(name: str) -> ast.Module:
    return ast.parse(modules()[name].read_text(encoding="utf-8"), filename=str(modules()[name]))


def _absolute(importer: str, node: ast.ImportFrom) -> str:
    """The module a `from ... import` names, relative levels resolved against the importer."""
    if not node.level:
        return node.module or ""
    if importer not in modules():
        raise ValueError(f"a relative import needs a module of curator/, not {importer}")
    package = importer if modules()[importer].name == "__init__.py" else importer.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def imports(name: str, module: ast.Module | None = None) -> Iterator[Imported]:
    """Every import statement of a module (`module`, else the file of `name`), wherever it sits:
    functions, `if TYPE_CHECKING`, try blocks."""
    for node in ast.walk(module or tree(name)):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield Imported(name, a.name, None, a.asname or a.name.split(".")[0], node.lineno)
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(name, node)
            for a in node.names:
                yield Imported(name, module, a.name, a.asname or a.name, node.lineno)


def target(imp: Imported) -> str | None:
    """The curator module an import loads: `from pkg import sub` loads the submodule `pkg.sub`."""
    if imp.name is not None and f"{imp.module}.{imp.name}" in modules():
        return f"{imp.module}.{imp.name}"
    return imp.module if imp.module in modules() else None


def graph() -> dict[str, set[str]]:
    """module -> the curator modules it imports (itself left out)."""
    edges: dict[str, set[str]] = {name: set() for name in modules()}
    for name in modules():
        for imp in imports(name):
            found = target(imp)
            if found is not None and found != name:
                edges[name].add(found)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)
