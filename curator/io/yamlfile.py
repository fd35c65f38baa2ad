"""YAML a person wrote (params.yaml): safe, bounded, and strict where silence would mislead.

- a key given twice in one mapping is an error naming both lines (PyYAML keeps the last one silently;
  DVC refuses such a params.yaml too), so `sources:` written twice cannot drop `enabled` to defaults;
- keys must be strings: a params key is a name;
- aliases may not expand the document past MAX_VALUES values (a 1 kB "billion laughs" file otherwise
  builds a structure that no later step, error messages included, can walk in bounded time).
"""

from __future__ import annotations

from typing import Any

import yaml

from curator.errors import CuratorError

MAX_VALUES = 100_000
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML was built with it


class _StrictLoader(_Base):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                raise _KeyProblem(line, f"key {_short(key_node)} is not a name (quote it, or fix the indentation)")
            if key_node.value in seen:
                raise _KeyProblem(line, f"key {key_node.value!r} is given twice (lines {seen[key_node.value]} and "
                                        f"{line}); keep one")
            seen[key_node.value] = line
        return super().construct_mapping(node, deep=deep)


class _KeyProblem(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def _short(node: yaml.Node) -> str:
    value = node.value if isinstance(node, yaml.ScalarNode) else f"<{node.id}>"
    return repr(value)[:40]


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values `node` stands for once every alias is expanded (shared nodes counted each time)."""
    if id(node) in sizes:
        return sizes[id(node)]
    sizes[id(node)] = 1  # a recursive alias points back here: counted once, refused by the constructor
    if isinstance(node, yaml.SequenceNode):
        total = 1 + sum(_expanded_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total = 1 + sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
    else:
        total = 1
    sizes[id(node)] = min(total, MAX_VALUES + 1)
    return sizes[id(node)]


def load_user_yaml(data: bytes, where: str) -> Any:
    """The document in `data` (UTF-8 YAML), or a one-line CuratorError that starts with `where`."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CuratorError(f"{where}: not UTF-8 text (byte {exc.start} is {data[exc.start]:#04x}); "
                           "save it as UTF-8") from None
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}) > MAX_VALUES:
            raise CuratorError(f"{where}: its aliases expand to more than {MAX_VALUES:,} values; write the "
                               "values out instead")
        return loader.construct_document(node)
    except _KeyProblem as exc:
        raise CuratorError(f"{where}:{exc.line}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise CuratorError(f"{where}{at}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    finally:
        loader.dispose()
