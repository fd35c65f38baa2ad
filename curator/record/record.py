"""The unified record as code builds it: a dict that refuses keys and values the schema does not have.

`pa.Table.from_pylist(rows, schema=...)` silently drops a key the schema lacks, so a typo such as
`label_orignal=` would publish a null. Two guards stop that:
- `Record` (what `empty_record()` returns) raises at once on an unknown key when records are
  strict (tests set CURATOR_STRICT_RECORDS=1), naming the closest column;
- `record_problem()` checks a finished record (unknown keys at any depth, values Arrow cannot
  store in the column's type); the prepare stage turns a problem into an `invalid_record` reject
  in a run, and raises in strict mode. Shard writers refuse unknown top-level keys always.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from curator.errors import CuratorError

if TYPE_CHECKING:  # pyarrow is loaded when a record is built or checked, not when a recipe is imported
    import pyarrow as pa

STRICT_ENV = "CURATOR_STRICT_RECORDS"


class RecordError(CuratorError):
    """A record that does not fit the schema: a bug in the code that built it."""


def strict() -> bool:
    return os.environ.get(STRICT_ENV, "") not in ("", "0")


@cache
def _schema() -> pa.Schema:
    from curator.record.schema import arrow_schema

    return arrow_schema()


def _unknown(key: object, known: list[str], prefix: str = "") -> str:
    close = difflib.get_close_matches(str(key), known, n=1)
    return f"unknown field {prefix}{key}" + (f" (did you mean {prefix}{close[0]}?)" if close else "")


class Record(dict):
    """A record under construction: every schema column present (null until filled)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(dict.fromkeys(_schema().names))
        self.update(*args, **kwargs)

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in self and strict():  # the environment is read only for an unknown key
            raise RecordError(_unknown(key, list(self)))
        super().__setitem__(key, value)

    def update(self, *args: Any, **kwargs: Any) -> None:  # dict.update bypasses __setitem__
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]


def empty_record(**fields: Any) -> Record:
    """A record with every column present and null: recipes fill in what they have."""
    return Record(**fields)


def unknown_keys(row: dict[str, Any], schema: pa.Schema | None = None) -> str | None:
    """The first top-level key of `row` the schema lacks, described; None when all are known."""
    known = _names(schema or _schema())
    if row.keys() <= known:  # the common case, per row of every shard written: one set comparison
        return None
    names = (schema or _schema()).names
    return _unknown(next(k for k in row if k not in known), names)


_NAMES: dict[int, tuple[pa.Schema, frozenset[str]]] = {}


def _names(schema: pa.Schema) -> frozenset[str]:
    """The schema's column names as a set, cached by identity (hashing a pa.Schema takes ~0.5 ms)."""
    entry = _NAMES.get(id(schema))
    if entry is None or entry[0] is not schema:
        if len(_NAMES) > 64:
            _NAMES.clear()
        entry = _NAMES[id(schema)] = (schema, frozenset(schema.names))
    return entry[1]


def record_problem(row: dict[str, Any]) -> str | None:
    """What keeps `row` from being stored as it is: an unknown key (at any depth) or a value of the
    wrong type for its column; None when it fits."""
    import pyarrow as pa

    schema = _schema()
    problem = unknown_keys(row, schema)
    if problem:
        return problem
    for field, fits, nested in _field_checks():
        value = row.get(field.name)
        if value is None:
            continue
        if nested is not None and not (type(value) is dict and value.keys() <= nested):
            found = _nested_unknown(value, field.type, field.name)
            if found:
                return found
        if fits is not None and fits(value):
            continue  # surely storable: no need to ask Arrow (a pa.array per value was most of prepare's driver time)
        try:
            pa.array([value], type=field.type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as exc:
            return f"{field.name}: {type(value).__name__} value does not fit {field.type} ({str(exc).splitlines()[0]})"
    return None


_INT64 = range(-(2**63), 2**63)


def _fits_check(kind: pa.DataType) -> Callable[[Any], bool] | None:
    """A quick test that accepts only values Arrow surely stores in `kind` (a subset of what it accepts);
    None where every value goes to Arrow (lists: their lengths and items vary)."""
    import pyarrow as pa

    if pa.types.is_string(kind):
        return lambda v: type(v) is str
    if pa.types.is_binary(kind):
        return lambda v: type(v) is bytes
    if pa.types.is_boolean(kind):
        return lambda v: type(v) is bool
    if pa.types.is_int64(kind):
        return lambda v: type(v) is int and v in _INT64
    if pa.types.is_float32(kind) or pa.types.is_float64(kind):
        exact = range(-(2**24), 2**24 + 1) if pa.types.is_float32(kind) else range(-(2**53), 2**53 + 1)
        return lambda v: type(v) is float or (type(v) is int and v in exact)  # Arrow refuses an int it would round
    if pa.types.is_struct(kind):
        subs = [(kind.field(i).name, _fits_check(kind.field(i).type)) for i in range(kind.num_fields)]
        if any(check is None for _, check in subs):
            return None
        return lambda v: type(v) is dict and all(v.get(n) is None or check(v[n]) for n, check in subs)
    return None


@cache
def _field_checks() -> list[tuple[pa.Field, Callable[[Any], bool] | None, frozenset[str] | None]]:
    """Per schema field: its quick check, and for a field that nests (structs, lists), where unknown
    keys must be looked for, the keys a dict value may have without a closer look (a struct of plain
    values; empty where any dict needs the full walk)."""
    import pyarrow as pa

    def keys(kind: pa.DataType) -> frozenset[str] | None:
        if pa.types.is_struct(kind):
            children = [kind.field(i) for i in range(kind.num_fields)]
            flat = all(keys(c.type) is None for c in children)
            return frozenset(c.name for c in children) if flat else frozenset()
        if pa.types.is_list(kind) or pa.types.is_fixed_size_list(kind) or pa.types.is_large_list(kind):
            return frozenset()
        return None

    return [(f, _fits_check(f.type), keys(f.type)) for f in _schema()]


def _nested_unknown(value: Any, kind: pa.DataType, where: str) -> str | None:
    """Struct keys Arrow would silently drop, inside structs and lists of structs."""
    import pyarrow as pa

    if pa.types.is_struct(kind) and isinstance(value, dict):
        names = [kind.field(i).name for i in range(kind.num_fields)]
        extra = [k for k in value if k not in names]
        if extra:
            return _unknown(extra[0], names, prefix=f"{where}.")
        for i in range(kind.num_fields):
            sub = kind.field(i)
            found = _nested_unknown(value.get(sub.name), sub.type, f"{where}.{sub.name}")
            if found:
                return found
    if (pa.types.is_list(kind) or pa.types.is_fixed_size_list(kind) or pa.types.is_large_list(kind)) \
            and isinstance(value, list):
        for item in value:
            found = _nested_unknown(item, kind.value_type, f"{where}[]")
            if found:
                return found
    return None
