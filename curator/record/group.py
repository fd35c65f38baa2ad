"""The group id convention: `<source>/<kind>:<key>` or `<source>/<key>`, one type and one parser.

A record's `group_id` is the unit the split never divides. A recipe that knows what its group is
names the kind (`nvie/subject:12`, `viri/pair:happy/img_3`); a group the source names without a
kind (`emer/p3`) has none; a record that is its own group carries its own id as group id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SUBJECT = "subject"  # a person, from the subject id the source's file names carry
PAIR = "pair"  # one visible/infrared pair: no subject id is known
RECORD = "record"  # the record itself: no better group is known
NAMED = "named"  # a group the source names without a kind (e.g. EMER's participant)
SUBJECT_LEVEL = (SUBJECT, NAMED)  # kinds that keep one person's records in one split

_KIND = re.compile(r"([A-Za-z_]+):(.*)", re.DOTALL)


@dataclass(frozen=True)
class GroupId:
    """One parsed group id; `str()` gives it back as a record stores it."""

    source: str
    key: str
    kind: str | None = None  # None: the source names the group without a kind

    @classmethod
    def parse(cls, text: str) -> GroupId:
        """Read `<source>/<kind>:<key>` (a kind is letters and underscores) or `<source>/<key>`."""
        source, sep, rest = text.partition("/")
        if not sep:  # no source prefix: the whole text is the rest
            source, rest = "", text
        found = _KIND.fullmatch(rest)
        return cls(source, found.group(2), found.group(1)) if found else cls(source, rest)

    def __str__(self) -> str:
        return f"{self.source}/{self.kind}:{self.key}" if self.kind else f"{self.source}/{self.key}"


def group_kind(group_id: str, record_id: str) -> str:
    """What a record's group is: RECORD when the record is its own group, else the kind its id names
    (subject, pair...), else NAMED (the source names the group without a kind)."""
    if group_id == record_id:
        return RECORD
    return GroupId.parse(group_id).kind or NAMED
