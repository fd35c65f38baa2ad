"""The card's "What this build did not read": per source, what prepare saw in the download and did not
read (its metrics' `not_read`, which recipes yield as NotRead) and what it left out on purpose (its
rejects whose reason code is an exclusion).

Publish reads the split, not the prepared folders; it finds them where the pipeline puts them, beside
the split (`<split>/../prepared/<source>`), and takes one only when the lineage says this split was
made from it: `<split>/../normalized` is the split's input (same fingerprint) and the prepared folder
one of normalize's inputs. A source whose prepared folder is not found so is said to be unknown, never
guessed from another build.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from curator.pipeline import lineage
from curator.reasons import Reason, is_exclusion


def made_from(manifest: dict[str, Any], kind: str) -> set[str]:
    """The fingerprints of a manifest's inputs of `kind` (a hand-edited entry of another shape names none)."""
    inputs = manifest.get("inputs")
    return {i["fingerprint"] for i in inputs if isinstance(i, dict) and i.get("kind") == kind
            and isinstance(i.get("fingerprint"), str)} if isinstance(inputs, list) else set()


def prepared_metrics(split_dir: Path, split_manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Source -> prepare's metrics.json, for each prepared folder this split was really made from."""
    base = Path(split_dir).parent
    normalized = base / "normalized"
    if not lineage.manifest_path(normalized).is_file():
        return {}
    if lineage.fingerprint(normalized) not in made_from(split_manifest, "normalized"):
        return {}  # normalize ran again since split: its inputs are not this build's
    try:
        prepared = made_from(lineage.read(normalized, "normalized", role="normalized folder"), "prepared")
    except lineage.LineageError:
        return {}
    found: dict[str, dict[str, Any]] = {}
    for folder in sorted((base / "prepared").glob("*")):
        metrics = folder / "metrics.json"
        if not metrics.is_file() or lineage.fingerprint(folder) not in prepared:
            continue
        try:
            data = json.loads(metrics.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue  # unreadable: the section says the source's counts are unknown
        if isinstance(data, dict) and isinstance(data.get("source"), str):
            found[data["source"]] = data
    return found


def unread_section(sources: list[str], prepared: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["## What this build did not read", "",
             "Per source: what prepare saw in the download and did not read (never a record: a column, a file or a",
             "folder the recipe does not read, with why), and the items it left out on purpose (excluded: each",
             "counted with its reason code, not a problem to fix). The counts are prepare's.", ""]
    for source in sources:
        lines.append(f"### `{source}`")
        lines.append("")
        metrics = prepared.get(source)
        if metrics is None:
            lines += ["Not known: its prepare output was not found beside the split folder, or it was rebuilt "
                      "after this split was made.", ""]
            continue
        not_read = [e for e in metrics.get("not_read", []) if isinstance(e, dict)]
        excluded = {code: n for code, n in (metrics.get("rejected_by_reason") or {}).items() if is_exclusion(code)}
        for entry in not_read:
            lines.append(f"- not read: {_one_line(entry.get('what'))}: {entry.get('count')} "
                         f"({_one_line(entry.get('why'))})")
        for code, n in sorted(excluded.items()):
            lines.append(f"- excluded `{code}`: {n} ({Reason(code).meaning})")
        if not not_read and not excluded:
            lines.append("Everything prepare saw was read; nothing was excluded.")
        lines.append("")
    return lines[:-1]  # the card puts one blank line after each section


def _one_line(text: Any) -> str:
    """A recipe's text as one Markdown line (a newline would end the list item)."""
    return " ".join(str(text).split())
