"""What the three EmoNet-Face recipes (emonet_hq, emonet_binary, emonet_big) share.

Not a recipe (no INFO). It holds:
- download: a snapshot of the Hub dataset repo at a pinned commit (huggingface_hub, which
  honours HF_ENDPOINT and HF_TOKEN), plus the annotation CSV hq and binary keep on GitHub;
- the pieces every record needs: the base record, demographics, the `Family|Name` keys of the
  annotation guide, the tie rule, 0-7 intensities as scores, and the spread-based agreement.
The Parquet reader hq and binary use is curator.sources.emonet.parquet; big reads its
layouts with `datasets` (curator.sources.emonet_big.layouts).
"""

from __future__ import annotations

import ast
import csv
import math
import os
import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from pydantic import Field

from curator.config import Download, SourceParams
from curator.errors import CuratorError, SchemaError
from curator.io.secrets import first_line, scrub
from curator.reasons import Reason
from curator.record.record import empty_record
from curator.record.taxonomy import taxonomy
from curator.sources.fetch import copy_manual, download_files
from curator.sources.recipe import Reject

LICENSE = "CC-BY-4.0"  # every record's licence: LAION gives all three repos this one (source.yaml says it too)
INTENSITY_MAX = 7  # hq experts and the big VLM rate each category 0-7
# LAION-AI/emonet-face: data/ last changed in this commit; annotation URLs are pinned to it, not to main
GITHUB_DATA = "https://raw.githubusercontent.com/LAION-AI/emonet-face/a788945dd78253a9a5ef8f36e72743c6d975d473/data"
EXTRA = "Extra Dimensions|"  # the annotation guide's prefix for non-emotion dimensions (Valence, Arousal...)
MAX_LITERAL_CHARS = 1_000_000  # a longer annotation cell is refused before it is parsed
_SHA = re.compile(r"[0-9a-f]{40}")



# --------------------------------------------------------------------------- download


class HubParams(SourceParams):
    """Where one EmoNet-Face source lives: its Hub repo at a pinned commit (and the CSV on GitHub)."""

    repo: str = Field(description="Hub dataset repo")
    revision: str | None = Field(None, description="pin the Hub commit sha (40 hex) you build from")


class AnnotatedHubParams(HubParams):
    annotations_url: str | None = Field(description="the annotation CSV on LAION's GitHub, pinned to a commit")


MANUAL_PATTERNS = ("*.parquet", "*.csv", "*.md")


@dataclass(frozen=True)
class Hub:
    """One EmoNet-Face source's name and its params (and what a manual download may hold)."""

    source: str
    conf: HubParams
    manual_patterns: tuple[str, ...] = MANUAL_PATTERNS

    @property
    def repo(self) -> str:
        return self.conf.repo

    def annotations(self) -> str | None:
        return getattr(self.conf, "annotations_url", None)


def download(hub: Hub, fetch: Download, out: Path, from_: str | None = None) -> Path:
    """Fetch the Hub snapshot (or copy a manual download from `from_`) and the annotation CSV into `out`."""
    repo = hub.repo
    revision = None if from_ else pinned_revision(hub, repo, hub.conf.revision)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if from_:
        _copy_manual(hub, from_, out)
    url = hub.annotations()
    # the CSV first: small and checksummed, it fails fast before a multi-GB snapshot; a manual
    # download that brought it along needs nothing more
    if url and not (from_ and find_named(out, file_name(url))):
        download_files(hub.source, [url], out, fetch)
    if revision:
        snapshot(hub, repo, revision, out)
    return out


def file_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]


def find_named(raw: Path, name: str) -> list[Path]:
    """Files called `name` under `raw`, outside hidden folders (huggingface_hub's .cache)."""
    raw = Path(raw)
    return sorted(p for p in raw.rglob(name) if p.is_file() and not hidden(p, raw))


def hidden(path: Path, root: Path) -> bool:
    """Under a hidden folder (huggingface_hub's .cache) or macOS's archive metadata (`__MACOSX/`, `._x`)."""
    return any(part.startswith(".") or part == "__MACOSX" for part in path.relative_to(root).parts)


def annotation_csv(hub: Hub, raw: Path, default_name: str, *, required: bool) -> Path | None:
    """The annotation CSV in the raw folder (at most one); None when optional and absent,
    otherwise a CuratorError saying how to get it."""
    url = hub.annotations()
    name = file_name(url) if url else default_name
    raw = Path(raw)
    found = [raw] if raw.is_file() and raw.name == name else [] if raw.is_file() else find_named(raw, name)
    if len(found) == 1 or (not found and not required):
        return found[0] if found else None
    what = "none" if not found else ", ".join(str(p) for p in found)
    how = f"run `curator download {hub.source}` (it fetches {url})" if url else \
        f"set sources.{hub.source}.annotations_url in params.yaml"
    raise CuratorError(f"{hub.source}: expected one {name} under {raw}, found {what}; {how}")


def _copy_manual(hub: Hub, from_: str, out: Path) -> None:
    if "://" in from_:
        raise CuratorError(f"{hub.source}: --from takes a folder holding a manual download of {hub.repo} "
                           f"({', '.join(hub.manual_patterns)}); the Hub snapshot itself is fetched by its "
                           "pinned revision")
    copy_manual(hub.source, Path(from_), out, patterns=hub.manual_patterns)


def pinned_revision(hub: Hub, repo: str, revision: Any) -> str:
    """The commit sha from params; a branch name or nothing is refused (downloads must be reproducible)."""
    where = f"sources.{hub.source}.revision in params.yaml"
    if not revision:
        raise CuratorError(f"{hub.source}: pin a revision: set {where} to a commit sha of {repo} "
                           f"(see https://huggingface.co/datasets/{repo}/commits/main)")
    if not _SHA.fullmatch(str(revision)):
        raise CuratorError(f"{hub.source}: {where} is {revision!r}, not a 40-hex commit sha; pin a commit of {repo}")
    return str(revision)


def snapshot(hub: Hub, repo: str, revision: str, out: Path) -> Path:
    """snapshot_download of the dataset repo at its pinned revision into `out`."""
    try:
        from huggingface_hub import snapshot_download  # heavy: only when a snapshot is fetched

        snapshot_download(repo_id=repo, repo_type="dataset", revision=revision, local_dir=out)
    except Exception as exc:  # the client raises many types; keep one line, never a traceback or token
        hint = _HINTS.get(type(exc).__name__, "").format(source=hub.source)
        raise CuratorError(f"{hub.source}: could not download {repo}@{revision[:12]}: {one_line(exc)}{hint}") from None
    return out


_HINTS = {  # what to check for the client's commonest failures
    "RepositoryNotFoundError": " (check sources.{source}.repo, and HF_TOKEN for a private repo)",
    "RevisionNotFoundError": " (check sources.{source}.revision: a commit sha of that repo)",
    "GatedRepoError": " (accept the repo's terms on the Hub and set HF_TOKEN)",
}


def one_line(exc: BaseException) -> str:
    """The exception's first line, with anything that looks like a Hub token masked."""
    return scrub(first_line(exc), os.environ.get("HF_TOKEN"))


# --------------------------------------------------------------------------- records


def base_record(source: str, rid: str, image: dict[str, Any], prompt: Any, demographics: Any,
                where: str) -> dict[str, Any] | Reject:
    """A record with what every EmoNet-Face item has: id, image, prompt, demographics, licence."""
    try:
        parsed = parse_demographics(demographics)
    except ValueError as exc:
        return Reject(rid, Reason.MALFORMED_ANNOTATION, f"{where}: demographics {exc}", image.get("path"))
    record = empty_record()
    record.update(id=rid, source=source, group_id=rid,  # each synthetic image is its own group
                  image=image, prompt=None if prompt is None else str(prompt), demographics=parsed,
                  label_kind="expressed", license=LICENSE)
    return record


def literal(text: Any) -> Any:
    """A Python literal (a dict or list repr), parsed with ast.literal_eval, never eval; ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"is a {type(text).__name__}, not a string")
    if len(text) > MAX_LITERAL_CHARS:
        raise ValueError(f"is {len(text)} characters long (limit {MAX_LITERAL_CHARS})")
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise ValueError(f"is not a Python literal ({type(exc).__name__}): {short(text)}") from None


def literal_dict(text: Any) -> dict[Any, Any]:
    """A stringified Python dict; ValueError for anything else."""
    value = literal(text)
    if not isinstance(value, dict):
        raise ValueError(f"is a {type(value).__name__}, not a dict: {short(text)}")
    return value


DEMOGRAPHICS = ("ethnicity", "gender", "age")


def parse_demographics(value: Any) -> dict[str, str | None] | None:
    """{ethnicity, gender, age} from a struct or a stringified dict; None stays None."""
    if value is None:
        return None
    data = value if isinstance(value, dict) else literal_dict(value)
    return {k: None if data.get(k) is None else str(data[k]) for k in DEMOGRAPHICS}


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def short(value: Any, limit: int = 60) -> str:
    """repr() cut to `limit` characters, so a reject detail stays one short line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def guide_key(key: Any) -> tuple[str, str]:
    """A `Family|Name` key of the annotation guide -> ("emotion", Name) or ("extra", dimension name).

    The family must be one of guide.json's seven (taxonomy().families) and hold Name; keys are
    URL-unquoted first (LAION's sibling EmoNet-Voice data URL-encodes its category names).
    ValueError for anything else: a bare name, an unknown family, a name outside its family.
    """
    if not isinstance(key, str) or "|" not in key:
        raise ValueError(f"key {short(key)} is not 'Family|Name'")
    family, name = unquote(key).split("|", 1)
    if f"{family}|" == EXTRA:
        return "extra", name
    members = taxonomy().families.get(family)
    if members is None:
        raise ValueError(f"key {short(key)}: {family!r} is not a family of the annotation guide")
    if name not in members:
        raise ValueError(f"key {short(key)}: {name!r} is not in the family {family!r}")
    return "emotion", name


def top_label(ratings: Mapping[str, float]) -> str | None:
    """The highest-rated name.

    Tie rule: among equal ratings the earliest in taxonomy order wins (names outside the
    taxonomy come after it, in the order given). None when nothing is rated above 0: a face
    no one saw any emotion in gets no label rather than an arbitrary first category.
    """
    order = {name: i for i, name in enumerate(taxonomy().fine)}
    ranked = sorted(
        ((-value, order.get(name, len(order) + pos), name) for pos, (name, value) in enumerate(ratings.items()))
    )
    return ranked[0][2] if ranked and ranked[0][0] < 0 else None


def scores(intensities: Mapping[str, float]) -> list[float]:
    """The 40 taxonomy intensities (0-7, absent = 0) as [0, 1] scores in taxonomy order."""
    return [intensities.get(name, 0.0) / INTENSITY_MAX for name in taxonomy().fine]


def spread_agreement(ratings: Sequence[float]) -> float | None:
    """Agreement of several raters' 0-7 ratings of one class: 1 - population sd / 3.5.

    3.5 is the largest sd 0-7 ratings can have (half at 0, half at 7), so the value is 1 when
    every rater gave the same rating and 0 at the widest possible split. None with fewer than
    two raters: one rating agrees with nothing.
    """
    if len(ratings) < 2:
        return None
    return max(0.0, 1.0 - statistics.pstdev(ratings) / (INTENSITY_MAX / 2))


def read_grouped_csv(
    path: Path, columns: tuple[str, ...], parse: Callable[[dict[str, Any], str], tuple[str, Any] | Reject],
) -> tuple[dict[str, list[Any]], list[Reject]]:
    """An annotation CSV grouped by key, in file order (`parse` returns (key, item) or a Reject per row)."""
    grouped: dict[str, list[Any]] = defaultdict(list)
    malformed: list[Reject] = []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        try:  # the header too: a file that is not UTF-8 fails on its first line
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise SchemaError(f"{path.name}: expected columns {', '.join(columns)}; "
                                  f"found {', '.join(reader.fieldnames or [])}")
            for row in reader:
                parsed = parse(row, f"{path.name}:{reader.line_num}")
                if isinstance(parsed, Reject):
                    malformed.append(parsed)
                else:
                    grouped[parsed[0]].append(parsed[1])
        except csv.Error as exc:
            raise CuratorError(f"{path.name}:{reader.line_num}: not readable as CSV ({exc})") from None
        except UnicodeDecodeError as exc:
            raise CuratorError(f"{path.name}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                               "save it as UTF-8 and run again") from None
    return dict(grouped), malformed
