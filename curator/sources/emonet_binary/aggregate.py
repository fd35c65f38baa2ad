"""Per (image, emotion) posterior of "present" from binary.csv's votes: Dawid-Skene or majority vote.

Dawid-Skene (crowd-kit's DawidSkene, imported only here and only when asked for) learns each
annotator's confusion matrix, so an annotator who says present to everything weighs little.
Each task group (curator.sources.emonet_binary.votes: prompted / distractor) is fitted apart, and
each fit is checked for a degenerate solution before it is used; a degenerate fit, a failed one,
or crowd-kit not installed falls back to majority vote for that group, with a warning and the
reason kept in `Aggregation.fallback` (the prepare metrics show it).

Majority's posterior is the share of present votes (a tie is 0.5, not above the 0.5 threshold:
unlabelled, as before).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from curator.pipeline.progress import log
from curator.sources.emonet_binary.votes import GROUPS, NAME, PROMPTED, Vote, frame, groups

if TYPE_CHECKING:
    import pandas as pd

Method = Literal["dawid_skene", "majority"]
EXTRA = "annotators"  # the pyproject extra that brings crowd-kit
# A fit is degenerate when it overrules this share of the tasks whose 2+ votes are unanimous
# (a sound fit overrules ~0: no reliability model beats two annotators who agree), ...
UNANIMOUS_OVERRULED = 0.05
COLLAPSED = 0.01  # ... or calls all but this share of tasks one way while majority does not


@dataclass(frozen=True)
class Reliability:
    """One annotator in one task group, measured against the posteriors: sensitivity = expected share
    of present tasks they call present, specificity = of absent tasks they call absent (for
    Dawid-Skene, its confusion matrix)."""

    annotator: str
    group: str
    votes: int
    yes_rate: float
    sensitivity: float | None  # None: no task in the group is (softly) present
    specificity: float | None


@dataclass
class Aggregation:
    requested: str
    used: dict[str, str] = field(default_factory=dict)  # group -> method that gave its posteriors
    fallback: dict[str, str] = field(default_factory=dict)  # group -> why it fell back to majority
    posterior: dict[str, float] = field(default_factory=dict)  # task id -> P(present)
    majority: dict[str, float] = field(default_factory=dict)  # task id -> share of present votes
    reliability: list[Reliability] = field(default_factory=list)


def aggregate(votes: Mapping[str, list[Vote]], method: Method = "dawid_skene", *,
              apart: bool = True) -> Aggregation:
    """Posteriors for every task of `votes` (already one vote per annotator and task: votes.dedupe).

    `apart`: fit the prompted and distractor groups apart (False: as one group, PROMPTED, which is
    how a degenerate fit comes about; kept to show it)."""
    out = Aggregation(requested=method)
    group_of = groups(votes) if apart else dict.fromkeys(groups(votes), PROMPTED)
    table = frame(votes, group_of)
    if table.empty:
        return out
    share = table.groupby("task")["label"].mean()
    out.majority = {str(k): float(v) for k, v in share.items()}
    for group in GROUPS:
        part = table[table["group"] == group]
        if part.empty:
            continue
        posterior, used, why = _fit(part, method, share)
        out.used[group] = used
        if why:
            out.fallback[group] = why
            log.warning("%s: %s aggregation of the %s emotions fell back to majority vote: %s", NAME, method,
                        group, why)
        out.posterior.update({str(k): float(v) for k, v in posterior.items()})
        out.reliability += reliability(part, posterior, group)
    return out


def _fit(part: pd.DataFrame, method: Method, share: pd.Series) -> tuple[pd.Series, str, str | None]:
    """(posterior per task, the method used, why it fell back to majority or None)."""
    majority = share[part["task"].unique()]
    if method == "majority":
        return majority, "majority", None
    try:  # the extra, imported only here: `curator --help` and majority never pay for it
        from crowdkit.aggregation import DawidSkene
    except ImportError:
        return majority, "majority", f"crowd-kit is not installed (pip install 'emotion-curator[{EXTRA}]')"
    try:
        posterior = dawid_skene(part, DawidSkene)
    except (ValueError, ArithmeticError, KeyError) as exc:  # crowd-kit's own failure, said in one line
        return majority, "majority", f"the fit failed: {type(exc).__name__}: {exc}"
    why = degenerate(part, posterior, majority)
    return (majority, "majority", f"degenerate fit: {why}") if why else (posterior, method, None)


def dawid_skene(part: pd.DataFrame, model: Any) -> pd.Series:
    """P(present) per task from crowd-kit's Dawid-Skene (`model`: its DawidSkene class)."""
    with warnings.catch_warnings():  # crowd-kit 1.4.2 calls pandas APIs that newer pandas deprecates
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        probas = model(n_iter=100, tol=1e-5).fit(part[["task", "worker", "label"]]).probas_
    if 1 in probas.columns:
        return probas[1].astype(float)
    return probas.iloc[:, 0] * 0.0  # nobody in the group said present: every task absent


def degenerate(part: pd.DataFrame, posterior: pd.Series, majority: pd.Series) -> str | None:
    """Why a fit looks degenerate (one line), or None: it overrules unanimous votes, collapses to
    all-present / all-absent where majority does not, or reads the annotators as inverted
    (vote-weighted mean of sensitivity + specificity - 1 below 0: present and absent swapped)."""
    counts = part.groupby("task").size()
    unanimous = majority[(counts[majority.index] >= 2) & ((majority == 0) | (majority == 1))]
    if len(unanimous):
        overruled = float(((posterior[unanimous.index] > 0.5) != (unanimous == 1)).mean())
        if overruled > UNANIMOUS_OVERRULED:
            return f"it overrules {overruled:.0%} of the {len(unanimous)} tasks whose votes are unanimous"
    present, voted = float((posterior > 0.5).mean()), float((majority > 0.5).mean())
    for side, share, theirs in (("present", present, voted), ("absent", 1 - present, 1 - voted)):
        if share >= 1 - COLLAPSED and theirs < 1 - COLLAPSED:
            return f"all-{side}: {share:.1%} of tasks {side} against {theirs:.1%} by majority vote"
    rows = reliability(part, posterior, "")
    scored = [(r.votes, r.sensitivity + r.specificity - 1) for r in rows
              if r.sensitivity is not None and r.specificity is not None]
    if scored and sum(n * j for n, j in scored) / sum(n for n, _ in scored) < 0:
        return "inverted annotators: on average they vote against the classes it found"
    return None


def reliability(part: pd.DataFrame, posterior: pd.Series, group: str) -> list[Reliability]:
    """Per annotator: votes, yes-rate and sensitivity/specificity against the posteriors, as soft counts."""
    p = part["task"].map(posterior).astype(float)
    yes = part["label"].astype(float)
    sums = part.assign(p=p, q=1 - p, yes_p=yes * p, no_q=(1 - yes) * (1 - p)).groupby("worker")
    totals = sums[["label", "p", "q", "yes_p", "no_q"]].sum()
    sizes = sums.size()
    return [Reliability(str(w), group, int(sizes[w]), float(row.label / sizes[w]),
                        float(row.yes_p / row.p) if row.p > 1e-9 else None,
                        float(row.no_q / row.q) if row.q > 1e-9 else None)
            for w, row in totals.sort_index().iterrows()]
