"""Each image's label from the aggregated posteriors, majority vote's beside it, and the counts.

The label is the judged emotion with the highest posterior of being present, when that posterior
is above the threshold (ties: the higher share of present votes, more present votes, then the
earlier in taxonomy order, as majority vote breaks them). `summarize(binary.csv)` gives what the
report and the card show: per-annotator reliability and how many labels the model changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curator.sources.emonet_binary.aggregate import Aggregation, Method, aggregate
from curator.sources.emonet_binary.votes import (
    NAME,
    Vote,
    dedupe,
    fine_name,
    read_votes,
    task_id,
    taxonomy_order,
    vote_label,
)

EXAMPLES = 50  # changed record ids the metrics list (all of them: label_original != label_majority)


@dataclass(frozen=True)
class Decision:
    label: str | None  # the emotion as binary.csv writes it (its first present vote's spelling)
    share: float | None  # the share of present votes for it
    posterior: dict[str, float]  # fine class -> P(present), for the image's judged emotions
    majority: str | None  # what majority vote gives (vote_label)


@dataclass
class Labels:
    aggregation: Aggregation
    threshold: float
    votes: dict[str, list[Vote]] = field(default_factory=dict)  # stem -> its votes, each counted once
    decisions: dict[str, Decision] = field(default_factory=dict)  # stem -> decision
    repeated_votes: int = 0

    @property
    def changed(self) -> list[str]:
        """Stems whose label differs from majority vote's (taxonomy classes compared), in file order."""
        return [s for s, d in self.decisions.items() if _fine(d.label) != _fine(d.majority)]

    def counts(self) -> dict[str, int]:
        labelled = sum(1 for d in self.decisions.values() if d.label is not None)
        return {"labelled": labelled, "unlabelled": len(self.decisions) - labelled,
                "changed_from_majority": len(self.changed), "repeated_votes_dropped": self.repeated_votes}

    def metrics(self) -> dict[str, Any]:
        """What the prepare metrics carry: method asked and used, fallbacks, counts, annotators."""
        agg = self.aggregation
        return {"method": agg.requested, "used": dict(agg.used), "fallback": dict(agg.fallback),
                "present_threshold": self.threshold, **self.counts(),
                "changed_examples": [f"{NAME}/{stem}" for stem in self.changed[:EXAMPLES]],
                "annotators": [{"annotator": r.annotator, "group": r.group, "votes": r.votes,
                                "yes_rate": _round(r.yes_rate), "sensitivity": _round(r.sensitivity),
                                "specificity": _round(r.specificity)} for r in agg.reliability]}


def label_votes(votes: Mapping[str, list[Vote]], method: Method = "dawid_skene", threshold: float = 0.5) -> Labels:
    """Repeated votes dropped, the posteriors aggregated, and every voted image's decision."""
    once, repeated = dedupe(votes)
    out = Labels(aggregate(once, method), threshold, votes=once, repeated_votes=repeated)
    out.decisions = {stem: decide(stem, vs, out.aggregation, threshold) for stem, vs in once.items()}
    return out


def decide(stem: str, votes: list[Vote], agg: Aggregation, threshold: float) -> Decision:
    tally: dict[str, list[int]] = {}
    first: dict[str, str] = {}
    said_present: dict[str, str] = {}
    for vote in votes:
        name = fine_name(vote.emotion)
        tally.setdefault(name, [0, 0])[0 if vote.present else 1] += 1
        first.setdefault(name, vote.emotion)
        if vote.present:
            said_present.setdefault(name, vote.emotion)
    written = {**first, **said_present}  # the spelling of the first present vote, else of the first vote
    posterior = {name: agg.posterior[task_id(stem, name)] for name in tally}
    above = [(p, yes / (yes + no), yes, name) for name, p in posterior.items()
             for yes, no in [tally[name]] if p > threshold]
    best = min(above, key=lambda a: (-a[0], -a[1], -a[2], taxonomy_order(a[3])), default=None)
    label = written[best[3]] if best else None
    share = best[1] if best else None
    return Decision(label, share, posterior, vote_label(votes)[0])


def summarize(binary_csv: Path, method: Method = "dawid_skene", threshold: float = 0.5) -> Labels:
    """binary.csv -> its Labels: `.aggregation.reliability` per annotator (sensitivity, specificity,
    yes-rate), `.counts()` (labelled, unlabelled, changed from majority) and `.changed` (the stems)."""
    votes, _ = read_votes(binary_csv)
    return label_votes(votes, method, threshold)


def _fine(name: str | None) -> str | None:
    return None if name is None else fine_name(name)


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)
