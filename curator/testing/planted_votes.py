"""Planted binary.csv votes with a known truth, shaped like EmoNet-Face Binary's real file.

Every image has two judged emotions: first the prompted one (present with probability
`prompted_prior`, ~0.65 on the real file), then a distractor (~0.08). The prompted emotion is judged
mostly by an always-yes annotator plus one or two of three annotators of differing accuracy (or by
one of those alone); the
distractor by one (sometimes two) of four others, in the real file's proportions of 1, 2 and 3 votes
per task.
Annotators are (sensitivity, specificity) pairs; ANNOTATORS ranks them best first by
sensitivity + specificity, which is what a reliability estimate must recover.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curator.record.taxonomy import taxonomy
from curator.sources.emonet_binary.votes import Vote

# name -> (sensitivity, specificity); the always-yes one says present to everything
PROMPTED_ANNOTATORS = {"human-6": (0.95, 0.9), "human-2": (0.85, 0.75), "human-4": (0.85, 0.5),
                       "human-1": (1.0, 0.0)}
DISTRACTOR_ANNOTATORS = {"human-5": (0.9, 0.99), "human-7": (0.85, 0.96), "human-3": (0.6, 0.99),
                         "human-4": (0.9, 0.9)}


@dataclass(frozen=True)
class Planted:
    votes: dict[str, list[Vote]]  # stem -> votes, prompted emotion's first
    truth: dict[str, dict[str, bool]]  # stem -> fine emotion -> present

    def csv(self) -> str:
        """The votes as binary.csv text."""
        rows = [f"{stem},{v.annotator},{v.present},{v.emotion}" for stem, vs in self.votes.items() for v in vs]
        return "path,annotator,value,emotion\n" + "\n".join(rows) + "\n"


def plant(n_images: int, seed: int = 0, prompted_prior: float = 0.65, distractor_prior: float = 0.08) -> Planted:
    """`n_images` images of planted votes (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    fine = taxonomy().fine
    careful = [a for a in PROMPTED_ANNOTATORS if PROMPTED_ANNOTATORS[a][1] > 0]
    votes: dict[str, list[Vote]] = {}
    truth: dict[str, dict[str, bool]] = {}
    for i in range(n_images):
        stem = f"{i:05d}"
        first, second = (fine[j] for j in rng.choice(len(fine), size=2, replace=False))
        present = {first: bool(rng.random() < prompted_prior), second: bool(rng.random() < distractor_prior)}
        shape = rng.random()  # the real file's prompted tasks: ~55% 3 votes, ~16% 2, ~29% 1; human-1 on ~79%
        n_careful = 2 if shape < 0.55 else 1 if shape < 0.71 or shape >= 0.79 else 0
        judges = [str(a) for a in rng.choice(careful, size=n_careful, replace=False)]
        if shape < 0.79:
            judges.insert(0, "human-1")
        others = [str(a) for a in rng.choice(list(DISTRACTOR_ANNOTATORS), size=1 + int(rng.random() < 0.1),
                                             replace=False)]
        votes[stem] = [*(_vote(rng, a, first, present[first], PROMPTED_ANNOTATORS[a]) for a in judges),
                       *(_vote(rng, a, second, present[second], DISTRACTOR_ANNOTATORS[a]) for a in others)]
        truth[stem] = present
    return Planted(votes, truth)


def _vote(rng: np.random.Generator, annotator: str, emotion: str, present: bool, skill: tuple[float, float]) -> Vote:
    sensitivity, specificity = skill
    says = rng.random() < sensitivity if present else rng.random() >= specificity
    return Vote(annotator, emotion, bool(says))


def label_accuracy(labels: dict[str, str | None], truth: dict[str, dict[str, bool]]) -> float:
    """Share of images whose label is right: one of the emotions present, or none when neither is."""
    right = sum((labels.get(stem) in {e for e, p in present.items() if p}) if any(present.values())
                else labels.get(stem) is None for stem, present in truth.items())
    return right / len(truth)
