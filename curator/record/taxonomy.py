"""The label taxonomy (schemas/taxonomy.yaml) and the per-source label maps (each source folder's labels.yaml).

`LabelMap.resolve(text)` turns a source's own label into (basic, fine) class indices, or
returns None for a label the map does not know — callers turn that into a reject carrying
the text. Nothing here guesses.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from curator.errors import SchemaError
from curator.record.schema import load_yaml, safe_load
from curator.resources import packaged, source_file


@dataclass(frozen=True)
class Taxonomy:
    basic: tuple[str, ...]
    fine: tuple[str, ...]
    fine_to_basic: dict[str, str | None]
    families: dict[str, tuple[str, ...]]  # EmoNet-Face family -> its fine classes (guide.json options.buttons)

    @property
    def family(self) -> tuple[str, ...]:
        """Family names in ClassLabel order."""
        return tuple(self.families)

    def family_of(self, fine: str) -> str:
        return next(name for name, members in self.families.items() if fine in members)

    def basic_index(self, name: str | None) -> int | None:
        return None if name is None else self.basic.index(name)

    def fine_index(self, name: str | None) -> int | None:
        return None if name is None else self.fine.index(name)


@dataclass(frozen=True)
class Mapping:
    """Where one original label goes, and why."""

    basic: str | None
    fine: str | None
    reason: str


@dataclass(frozen=True)
class Resolved:
    original: str  # the text as the source wrote it
    canonical: str  # the map entry it matched (after alias resolution)
    basic: int | None
    fine: int | None


def _key(text: str) -> str:
    """Lookup key: labels arrive padded and in varying case ('  happy ', 'Happy')."""
    return " ".join(str(text).split()).casefold()


@cache
def taxonomy() -> Taxonomy:
    raw = load_yaml("taxonomy.yaml")
    fine_to_basic = {name: entry["basic"] for name, entry in raw["fine_to_basic"].items()}
    families = {name: tuple(members) for name, members in raw["families"].items()}
    tax = Taxonomy(tuple(raw["basic"]), tuple(raw["fine"]), fine_to_basic, families)
    listed = [m for members in families.values() for m in members]
    if sorted(listed) != sorted(tax.fine):
        raise SchemaError("taxonomy.yaml families must list every fine class exactly once")
    missing = set(tax.fine) - set(fine_to_basic)
    extra = set(fine_to_basic) - set(tax.fine)
    if missing or extra:
        raise SchemaError(f"taxonomy.yaml fine_to_basic: missing {sorted(missing)}, unknown {sorted(extra)}")
    bad = {b for b in fine_to_basic.values() if b is not None and b not in tax.basic}
    if bad:
        raise SchemaError(f"taxonomy.yaml fine_to_basic names unknown basic classes {sorted(bad)}")
    return tax


class LabelMap:
    """One source's map: original label -> (basic, fine), with aliases."""

    def __init__(self, source: str, raw: dict[str, Any]):
        self.source = source
        self.label_kind: str = raw.get("label_kind", "expressed")
        self.entries: dict[str, Mapping] = {}
        self.aliases: dict[str, str] = {}
        tax = taxonomy()
        if inherit := raw.get("labels_from_taxonomy"):
            level = inherit["level"]
            for name in getattr(tax, level):
                self.entries[name] = Mapping(tax.fine_to_basic[name], name, inherit["reason"])
        for name, entry in (raw.get("labels") or {}).items():
            self.entries[name] = self._mapping(name, entry)
        for alias, entry in (raw.get("aliases") or {}).items():
            if entry["to"] not in self.entries:
                raise SchemaError(f"{map_name(source)}: alias {alias!r} points to unknown label {entry['to']!r}")
            if not entry.get("reason"):
                raise SchemaError(f"{map_name(source)}: alias {alias!r} has no reason")
            self.aliases[alias] = entry["to"]
        self._lookup = {_key(name): name for name in self.entries}
        self._lookup.update({_key(alias): target for alias, target in self.aliases.items()})

    def _mapping(self, name: str, entry: dict[str, Any]) -> Mapping:
        tax = taxonomy()
        if not entry.get("reason"):
            raise SchemaError(f"{map_name(self.source)}: label {name!r} has no reason")
        fine = entry.get("fine")
        if fine is not None and fine not in tax.fine:
            raise SchemaError(f"{map_name(self.source)}: {name!r} -> unknown fine class {fine!r}")
        # basic omitted: inherit from the fine class; basic: null drops that level explicitly
        basic = entry["basic"] if "basic" in entry else (tax.fine_to_basic[fine] if fine else None)
        if basic is not None and basic not in tax.basic:
            raise SchemaError(f"{map_name(self.source)}: {name!r} -> unknown basic class {basic!r}")
        return Mapping(basic, fine, entry["reason"])

    def known(self) -> list[str]:
        """Every label text this map accepts (entries and aliases)."""
        return [*self.entries, *self.aliases]

    def resolve(self, text: str | None) -> Resolved | None:
        if text is None:
            return None
        canonical = self._lookup.get(_key(text))
        if canonical is None:
            return None
        entry = self.entries[canonical]
        tax = taxonomy()
        return Resolved(str(text), canonical, tax.basic_index(entry.basic), tax.fine_index(entry.fine))


def map_path(source: str) -> Path:
    """A source's label map: labels.yaml in its own folder (curator/sources/<source>/; resources.source_file)."""
    return source_file(source, "labels.yaml")


@cache
def label_map(source: str) -> LabelMap:
    if not map_path(source).is_file():
        raise SchemaError(f"no label map for source {source!r} (expected {map_name(source)})")
    name = map_name(source)
    try:
        with open(map_path(source), encoding="utf-8") as fh:
            raw = safe_load(fh)
        if not isinstance(raw, dict):
            raise SchemaError(f"{name}: expected a mapping at the top level")
        if raw.get("source") != source:
            raise SchemaError(f"{name} declares source {raw.get('source')!r}")
        return LabelMap(source, raw)
    except yaml.YAMLError as exc:  # a broken map is the user's file: one line, with where
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise SchemaError(f"{name}{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise SchemaError(f"{name}: an entry does not have the expected shape ({type(exc).__name__}: {exc}); "
                          "each label needs `reason` and `basic`/`fine`, each alias `to` and `reason`") from None


def map_name(source: str) -> str:
    """How messages name a source's label map."""
    return f"curator/sources/{source}/labels.yaml"


def all_sources_with_maps() -> list[str]:
    return sorted(p.parent.name for p in packaged("sources").glob("*/labels.yaml"))
