"""Per-expert standardisation of hq's 0-7 ratings: each expert's z-scores mapped back onto the pooled scale.

Experts differ in how high they rate: one's 3 may be another's 5. Standardising each expert's
ratings (z = (rating - their mean) / their sd, over every emotion of every image they rated, a key
left out counting 0 as in the mean) and mapping z back with the pooled mean and sd of all
ratings, clipped to 0-7, removes that offset and spread before the mean over experts. Only the
scores and the label use it: annotations keep the ratings as given, so agreement and
Krippendorff's alpha are unchanged.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from curator.record.taxonomy import taxonomy
from curator.sources import emonet
from curator.sources.emonet_hq.label import Expert


@dataclass(frozen=True)
class Scale:
    raters: dict[str, tuple[float, float]]  # rater -> (mean, sd) of their ratings
    mean: float  # of every rating, pooled
    sd: float

    def ratings(self, expert: Expert) -> dict[str, float]:
        """One expert's 40 ratings (left out = 0) on the pooled scale; as given for a rater without spread."""
        raw = {name: expert.emotions.get(name, 0.0) for name in taxonomy().fine}
        mean, sd = self.raters.get(expert.rater, (0.0, 0.0))
        if sd <= 0 or self.sd <= 0:
            return raw
        return {name: min(emonet.INTENSITY_MAX, max(0.0, self.mean + (v - mean) / sd * self.sd))
                for name, v in raw.items()}


def fit(experts: Iterable[Expert]) -> Scale:
    """Each rater's mean and sd over all their ratings, and the pooled ones."""
    fine = taxonomy().fine
    per: dict[str, list[float]] = {}
    for e in experts:
        per.setdefault(e.rater, []).extend(e.emotions.get(name, 0.0) for name in fine)
    pooled = [v for vs in per.values() for v in vs]
    if not pooled:
        return Scale({}, 0.0, 0.0)
    return Scale({r: (statistics.fmean(vs), statistics.pstdev(vs)) for r, vs in per.items()},
                 statistics.fmean(pooled), statistics.pstdev(pooled))
