"""inspect: what a recipe makes of a real download, before anything is written.

For a user holding a source's files: the layout the recipe detected, counts per original label,
the groups it can form (a subject, or only a pair / an image), the first problems, and the params
to set when the recipe needs them. It runs the recipe's own prepare() and writes nothing; images
are not decoded (prepare does that), so it is quick on a large download.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from types import ModuleType
from typing import Any

from curator.errors import CuratorError
from curator.reasons import is_exclusion
from curator.record.group import PAIR, RECORD, group_kind
from curator.record.taxonomy import LabelMap, label_map, map_name
from curator.sources.recipe import NotRead, Reject
from curator.stages.prepare.items import delivered, name_problem, storable

MAX_PROBLEMS = 10
MAX_LABELS = 20
_SHOWN = {RECORD: "record only"}  # a record alone is no group at all: say so


@dataclass
class Inspection:
    source: str
    layout: str
    items: int = 0
    records: int = 0
    labels: Counter = field(default_factory=Counter)
    groups: Counter = field(default_factory=Counter)  # group id -> records
    group_kinds: Counter = field(default_factory=Counter)  # kind (curator.record.group) -> groups
    official_splits: Counter = field(default_factory=Counter)
    rejects: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    not_read: Counter = field(default_factory=Counter)  # (what, why) -> times the recipe saw it and did not read it

    def lines(self) -> list[str]:
        excluded = sum(n for reason, n in self.rejects.items() if is_exclusion(reason))
        out = [f"{self.source}: {self.layout}",
               f"items: {self.items} ({self.records} records, {sum(self.rejects.values()) - excluded} rejected, "
               f"{excluded} excluded)"]
        if self.labels:
            shown = self.labels.most_common(MAX_LABELS)
            more = f", and {len(self.labels) - MAX_LABELS} more" if len(self.labels) > MAX_LABELS else ""
            out.append("classes: " + ", ".join(f"{label} {n}" for label, n in shown) + more)
        if self.groups:
            sizes = sorted(self.groups.values())
            kinds = ", ".join(f"{_SHOWN.get(kind, kind)} {n}" for kind, n in self.group_kinds.most_common())
            out.append(f"groups: {len(self.groups)} ({kinds}); records per group {sizes[0]}-{sizes[-1]}")
        if self.official_splits:
            out.append("official split: " + ", ".join(f"{s} {n}" for s, n in sorted(self.official_splits.items())))
        if self.rejects:
            out.append("rejects: " + ", ".join(f"{reason} {n}" for reason, n in self.rejects.most_common()))
        out += [f"problem: {p}" for p in self.problems]
        out += [f"not read: {what} ({n}x): {why}" for (what, why), n in self.not_read.most_common(MAX_PROBLEMS)]
        if len(self.not_read) > MAX_PROBLEMS:
            out.append(f"not read: and {len(self.not_read) - MAX_PROBLEMS} more (prepare's metrics list them all)")
        return out


def _class_of(labels: LabelMap, text: str | None) -> str:
    """The label as the source's map knows it (spelling and spacing folded), or flagged as unknown."""
    if text is None:
        return "(no label)"
    resolved = labels.resolve(text)
    return resolved.canonical if resolved else f"{text.strip()} (not in {map_name(labels.source)})"


def inspect_source(name: str, recipe: ModuleType, raw: Path, conf: Any) -> Inspection:
    """Run `recipe.prepare` over `raw` and tally what it yields; nothing is written."""
    raw = Path(raw)
    if not raw.exists():
        raise CuratorError(f"{raw} does not exist")
    with delivered(raw) as (readable, left_out):  # what prepare reads of it, and what it rejects unread
        layout = recipe.layout(readable, conf) if hasattr(recipe, "layout") else "layout not described by this recipe"
        found = Inspection(name, layout.replace(str(readable), str(raw)))
        _tally(found, label_map(name), chain(left_out, recipe.prepare(readable, conf)))
    return found


def _tally(found: Inspection, labels: LabelMap, items: Iterable[Any]) -> None:
    for item in items:
        if isinstance(item, NotRead):  # not an input sample: listed apart
            found.not_read[item.what, item.why] += 1
            continue
        found.items += 1
        item = storable(item) if isinstance(item, Reject) else name_problem(item) or item
        if isinstance(item, Reject):
            found.rejects[str(item.reason)] += 1
            if not is_exclusion(str(item.reason)) and len(found.problems) < MAX_PROBLEMS:  # on purpose: no problem
                found.problems.append(f"{item.id or item.path or '?'}: {item.reason}: {item.detail}")
            continue
        found.records += 1
        found.labels[_class_of(labels, item.get("label_original"))] += 1
        found.groups[item["group_id"]] += 1
        if found.groups[item["group_id"]] == 1:  # counted once per group
            found.group_kinds[group_kind(item["group_id"], item["id"])] += 1
        if item.get("official_split"):
            found.official_splits[item["official_split"]] += 1


def hints(found: Inspection, name: str, conf: Any) -> list[str]:
    """Params worth setting, from what was found: a grouping pattern when no subject groups were formed."""
    patterns = [f for f in type(conf).model_fields if f.endswith("_pattern")]
    weak = found.group_kinds.get(RECORD, 0) + found.group_kinds.get(PAIR, 0)
    if patterns and found.groups and weak == len(found.groups):
        return [f"no subject groups were formed: set sources.{name}.{patterns[0]} in params.yaml (a regex whose "
                "first group is the subject) so that one person's records never straddle splits"]
    return []
