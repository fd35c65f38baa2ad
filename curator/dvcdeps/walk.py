"""The walk: from a stage's `curator` command to the modules and data files it reads (see the
package docstring for the rules)."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent  # the curator package (a checkout's or an installed one)
SOURCES = "curator.sources"
RECIPE_LOOKUPS = {"get_recipe", "all_recipes", "recipe_samples"}
POLICY_READERS = {"policy_path": "${augment.policy}"}
FAMILY_DIR = "dvcdeps/family"  # per source: a symlink to the family package its recipe imports
MAP_DIR = "dvcdeps/map"  # per source: a symlink to the label map its recipe's code reads
NEUTRAL = "curator/sources/__init__.py"  # what a link points at when there is nothing to point at
CONTRACT = {"INFO", "Params", "download", "prepare", "layout"}  # what the stages call in a recipe
OWN_MAP_READERS = {"label_map", "map_path"}  # taxonomy functions given a source name
ITEM = "${item}"


def module_file(name: str) -> Path | None:
    """The file of module `curator.x.y`, or None when it is not a curator module."""
    parts = name.split(".")
    if parts[0] != "curator":
        return None
    base = PKG.parent.joinpath(*parts)
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return base.with_suffix(".py") if base.with_suffix(".py").is_file() else None


def rel(name: str) -> str:
    """A module's path as dvc.yaml spells it (relative to the project root)."""
    path = module_file(name)
    assert path is not None, name
    return path.relative_to(PKG.parent).as_posix()


@cache
def _tree(name: str) -> ast.Module:
    path = module_file(name)
    assert path is not None, name
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _package_of(name: str) -> str:
    return name if module_file(name).name == "__init__.py" else name.rpartition(".")[0]  # type: ignore[union-attr]


def imports_in(module: str, nodes: Iterable[ast.AST]) -> set[str]:
    """The curator modules the import statements among `nodes` (and inside them) load."""
    found: set[str] = set()
    for top in nodes:
        for node in ast.walk(top):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = _package_of(module).split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                found.add(base)
                found |= {f"{base}.{a.name}" for a in node.names if module_file(f"{base}.{a.name}")}
    return {m for m in found if module_file(m)}


@cache
def _module_imports(module: str) -> frozenset[str]:
    return frozenset(imports_in(module, [_tree(module)]))


@cache
def _module_names(module: str) -> frozenset[str]:
    """Every name a module uses or imports."""
    return frozenset(_names_used([_tree(module)]) | _imported_names(module))


@cache
def _facts(module: str) -> tuple[dict[str, tuple[frozenset[str], frozenset[str]]], frozenset[str], frozenset[str]]:
    """(per top-level def: (names it uses, its string constants)), and the same for the module's other
    statements: computed once per module."""
    tree = _tree(module)
    defs = {}
    rest: list[ast.AST] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defs[node.name] = (frozenset(_names_used([node])), frozenset(_constants([node])))
        else:
            rest.append(node)
    return defs, frozenset(_names_used(rest)), frozenset(_constants(rest))


def closure(roots: Iterable[str], opaque: Iterable[str] = ()) -> set[str]:
    """Every curator module that importing `roots` runs (parent packages included); the imports of
    `opaque` modules are not followed (the caller accounts for them)."""
    seen: set[str] = set()
    opaque = set(opaque)
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen or not module_file(name):
            continue
        seen.add(name)
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        if name not in opaque:
            todo += _module_imports(name)
    return seen


def _cli_functions() -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in _tree("curator.cli").body if isinstance(n, ast.FunctionDef)}


def cli_command(command: str) -> ast.FunctionDef:
    """The function behind `curator <command>` (typer: the function name, or the name given to app.command)."""
    for func in _cli_functions().values():
        for deco in func.decorator_list:
            if isinstance(deco, ast.Call) and getattr(deco.func, "attr", None) == "command":
                given = deco.args[0].value if deco.args and isinstance(deco.args[0], ast.Constant) else None
                if (given or func.name) == command:
                    return func
    raise KeyError(f"curator/cli.py has no command {command!r}")


def _cli_reach(func: ast.FunctionDef) -> list[ast.FunctionDef]:
    """The command function and the cli.py helpers it calls, transitively."""
    helpers = _cli_functions()
    reached: dict[str, ast.FunctionDef] = {}
    todo = [func]
    while todo:
        f = todo.pop()
        if f.name in reached:
            continue
        reached[f.name] = f
        todo += [helpers[n.func.id] for n in ast.walk(f)
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in helpers]
    return list(reached.values())


def _names_used(nodes: Iterable[ast.AST]) -> set[str]:
    out = set()
    for top in nodes:
        for n in ast.walk(top):
            if isinstance(n, ast.Name):
                out.add(n.id)
            elif isinstance(n, ast.Attribute):
                out.add(n.attr)
    return out


def _constants(nodes: Iterable[ast.AST]) -> set[str]:
    return {n.value for top in nodes for n in ast.walk(top) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


@cache
def recipe_packages() -> dict[str, str]:
    """Every package under curator/sources/ -> 'recipe' (defines INFO) or 'family' (code recipes share)."""
    out = {}
    for init in sorted((PKG / "sources").glob("*/__init__.py")):
        name = f"{SOURCES}.{init.parent.name}"
        defines_info = any(isinstance(n, (ast.Assign, ast.AnnAssign)) and "INFO" in _names_used([n])
                           for n in _tree(name).body)
        out[name] = "recipe" if defines_info else "family"
    return out


def _package_modules(package: str) -> list[str]:
    folder = module_file(package).parent  # type: ignore[union-attr]
    return [f"{package}.{p.relative_to(folder).with_suffix('').as_posix().replace('/', '.')}".removesuffix(".__init__")
            for p in sorted(folder.rglob("*.py"))]


def _owner(module: str) -> str | None:
    """The curator/sources package a module belongs to, if any."""
    return next((p for p in recipe_packages() if module == p or module.startswith(p + ".")), None)


def family_of(recipe: str) -> str | None:
    """The sibling package (a family: emonet, thermal) the recipe's modules import, if any."""
    package = f"{SOURCES}.{recipe}"
    imported = {_owner(m) for mod in _package_modules(package) for m in _module_imports(mod)}
    siblings = sorted(p for p in imported - {None, package} if p is not None)
    if len(siblings) > 1:
        raise ValueError(f"{recipe} imports several sibling packages {siblings}: dvc.yaml has one family slot")
    return siblings[0].rsplit(".", 1)[1] if siblings else None


def recipes() -> list[str]:
    return [p.rsplit(".", 1)[1] for p, kind in recipe_packages().items() if kind == "recipe"]


@dataclass(frozen=True)
class StageCode:
    modules: frozenset[str]  # what the static walk reaches
    recipe_use: str | None  # None, "package" (per-source stage) or "info" (reads every recipe's INFO)


def stage_code(command: str, per_source: bool) -> StageCode:
    func = cli_command(command)
    reach = _cli_reach(func)
    cli_imports = imports_in("curator.cli", [n for n in _tree("curator.cli").body
                                             if isinstance(n, (ast.Import, ast.ImportFrom))])
    roots = {"curator.cli"} | cli_imports | imports_in("curator.cli", reach)
    modules = closure(roots, opaque={"curator.cli"})  # cli.py: only what the command reaches
    # config's all_recipes() loads Params (tracked as params), curator.sources is the lookup itself
    lookups = bool(RECIPE_LOOKUPS & _names_used(reach)) or any(
        RECIPE_LOOKUPS & _module_names(m) for m in modules
        if m not in ("curator.cli", "curator.config", SOURCES) and _owner(m) is None)
    use = ("package" if per_source else "info") if lookups else None
    return StageCode(frozenset(modules), use)


def _schema_entries() -> set[str]:
    from curator.resources import packaged

    return {p.name for p in packaged("schemas").iterdir()}


def _run_code(module: str, used_elsewhere: frozenset[str] | set[str]) -> tuple[set[str], set[str]]:
    """(names used, string constants) of the parts of a module a stage can run: its module-level
    statements, and the functions and classes other modules name or those parts call (by name: an
    over-approximation, never an under-one)."""
    defs, names, constants = _facts(module)
    names, constants = set(names), set(constants)
    todo = [n for n in defs if n in used_elsewhere or n in names]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        used, consts = defs[name]
        names |= used
        constants |= consts
        todo += [n for n in used if n in defs]
    return names, constants


def resources_read(modules: set[str], cli_code: list[ast.AST], entry: set[str] | None = None,
                   import_only: frozenset[str] = frozenset()) -> set[str]:
    """Data files the stage reads: `schemas/<entry>` for each schema entry named in code it can run,
    and the policy params name when it can call a POLICY_READERS function. `entry`: names called
    from outside `modules` (besides what cli_code names); of `import_only` modules only what runs on
    import counts (a stage that reads recipes' INFO never calls their functions)."""
    others = [m for m in modules if m != "curator.cli"]
    outside = _names_used(cli_code) | (entry or set())
    entries = _schema_entries()
    found: set[str] = set()

    def contributed(k: str) -> frozenset[str]:
        return _facts(k)[1] if k in import_only else _module_names(k)

    for m in others:
        elsewhere = set() if m in import_only else outside.union(*(contributed(k) for k in others if k != m))
        names, constants = _run_code(m, elsewhere)
        if m != "curator.config":  # its string constants are param defaults, tracked as params
            found |= {f"schemas/{e}" for c in constants for e in entries if c == e or c.startswith(e + "/")}
        if m != "curator.resources":
            found |= {dep for fn, dep in POLICY_READERS.items() if fn in names}
    return found


def _own_code(recipe: str) -> list[str]:
    """The modules of a recipe's package and of its family."""
    family = family_of(recipe)
    return _package_modules(f"{SOURCES}.{recipe}") + (_package_modules(f"{SOURCES}.{family}") if family else [])


def _names_its_own_map(recipe: str, module: str, call: ast.Call) -> bool:
    """Whether a label_map(...) call names the recipe's own source: `"<recipe>"` or a module-level
    constant of the module, or of the recipe's __init__, that holds it."""
    if not call.args:
        return False
    arg = call.args[0]
    if isinstance(arg, ast.Constant):
        return arg.value == recipe
    if not isinstance(arg, ast.Name):
        return False
    for mod in (module, f"{SOURCES}.{recipe}"):
        for node in _tree(mod).body:
            if (isinstance(node, ast.Assign) and any(getattr(t, "id", None) == arg.id for t in node.targets)
                    and isinstance(node.value, ast.Constant)):
                return node.value.value == recipe
    return False


def map_target(recipe: str) -> str:
    """What dvcdeps/map/<recipe> points at: the recipe's own label map when its code reads only that
    (every label_map call names its own source), the whole maps folder when it may read others,
    else NEUTRAL (it reads none)."""
    if "schemas/maps" not in resources_read(closure([f"{SOURCES}.{recipe}"]), [], entry=CONTRACT):
        return NEUTRAL
    calls = [(m, n) for m in _own_code(recipe) for n in ast.walk(_tree(m))
             if isinstance(n, ast.Call) and (getattr(n.func, "id", None) or getattr(n.func, "attr", None))
             in OWN_MAP_READERS]
    if calls and all(_names_its_own_map(recipe, m, c) for m, c in calls):
        return f"schemas/maps/{recipe}.yaml"
    return "schemas/maps"


def _imported_names(module: str) -> set[str]:
    return {a.name for n in ast.walk(_tree(module)) if isinstance(n, ast.ImportFrom) for a in n.names}


def stage_deps(command: str, per_source: bool) -> list[str]:
    """The code and resource deps a stage running `curator <command>` needs, as dvc.yaml spells them."""
    code = stage_code(command, per_source)
    modules = set(code.modules)
    extra: set[str] = set()
    if code.recipe_use == "package":
        modules |= closure([f"{SOURCES}.{r}" for r in recipes()])
        extra |= {f"curator/sources/{ITEM}", f"{FAMILY_DIR}/{ITEM}"}
    info: frozenset[str] = frozenset()
    if code.recipe_use == "info":
        inits = closure([f"{SOURCES}.{r}" for r in recipes()])
        info = frozenset(m for m in inits if _owner(m) is not None)
        modules |= {m for m in inits if m.startswith(SOURCES + ".")}
    cli_code = [n for n in _tree("curator.cli").body if not isinstance(n, ast.FunctionDef)]
    cli_code += _cli_reach(cli_command(command))
    extra |= resources_read(modules, cli_code, import_only=info)
    if code.recipe_use == "package":  # recipe and family modules: the folder and link deps cover them
        if "schemas/maps" not in resources_read(set(code.modules), cli_code):
            extra.discard("schemas/maps")  # only recipes read maps: each its own, through the map link
            if any("schemas/maps" in resources_read(set(code.modules) | closure([f"{SOURCES}.{r}"]), cli_code)
                   for r in recipes()):
                extra.add(f"{MAP_DIR}/{ITEM}")
        modules = {m for m in modules if _owner(m) is None}
    # an empty __init__.py runs nothing (and DVC warns about empty deps); once it has code, it is listed
    return sorted({rel(m) for m in modules if module_file(m).stat().st_size} | extra)  # type: ignore[union-attr]
