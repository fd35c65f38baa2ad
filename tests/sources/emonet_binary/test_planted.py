"""Aggregation on planted votes with a known truth, shaped like the real binary.csv."""

from __future__ import annotations

import builtins
import logging
from typing import Any

import pandas as pd
import pytest

from curator.sources.emonet_binary.aggregate import aggregate, degenerate
from curator.sources.emonet_binary.labels import label_votes
from curator.sources.emonet_binary.votes import Vote
from curator.testing.planted_votes import DISTRACTOR_ANNOTATORS, PROMPTED_ANNOTATORS, label_accuracy, plant

SEEDS = range(5)


@pytest.fixture(scope="module")
def planted() -> dict[int, Any]:
    return {seed: plant(3000, seed) for seed in SEEDS}


def _youden(skills: dict[str, tuple[float, float]]) -> list[str]:
    return sorted(skills, key=lambda a: -(skills[a][0] + skills[a][1]))


def test_estimated_reliabilities_rank_the_annotators(planted: dict[int, Any]) -> None:
    rows = aggregate(planted[0].votes).reliability
    prompted = {r.annotator: r for r in rows if r.group == "prompted"}
    ranked = sorted(prompted, key=lambda a: -(prompted[a].sensitivity + prompted[a].specificity))
    assert ranked == _youden(PROMPTED_ANNOTATORS)  # human-6 > human-2 > human-4 > the always-yes human-1
    assert prompted["human-1"].yes_rate == 1.0 and prompted["human-1"].specificity < 0.05
    distractor = {r.annotator: r for r in rows if r.group == "distractor"}
    worst = min(distractor, key=lambda a: distractor[a].sensitivity + distractor[a].specificity)
    assert worst == _youden(DISTRACTOR_ANNOTATORS)[-1]  # human-3, who misses 40% of what is there


@pytest.mark.slow  # five seeds, two methods: ~6 s on a quiet machine, 30 s on a busy one
def test_the_default_is_at_least_as_accurate_as_majority(planted: dict[int, Any]) -> None:
    accuracy: dict[str, list[float]] = {"majority": [], "dawid_skene": []}
    for seed in SEEDS:
        for method in accuracy:
            labels = label_votes(planted[seed].votes, method)  # type: ignore[arg-type]
            assert not labels.aggregation.fallback
            accuracy[method].append(label_accuracy({s: d.label for s, d in labels.decisions.items()},
                                                   planted[seed].truth))
    mean = {m: sum(a) / len(a) for m, a in accuracy.items()}
    assert mean["dawid_skene"] >= mean["majority"], accuracy


def _task_table(labels: list[int], tasks: list[str], workers: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"task": tasks, "worker": workers, "label": labels})


def test_a_fit_that_overrules_unanimous_votes_is_degenerate() -> None:
    part = _task_table([1, 1, 0, 0, 1], ["a", "a", "b", "b", "c"], ["w1", "w2", "w1", "w2", "w1"])
    majority = part.groupby("task")["label"].mean()
    assert degenerate(part, majority, majority) is None  # majority itself is never degenerate
    inverted = 1 - majority
    assert "overrules 100% of the 2 tasks whose votes are unanimous" in degenerate(part, inverted, majority)


def test_an_all_present_fit_is_degenerate() -> None:
    tasks = [f"t{i}" for i in range(200)]
    part = _task_table([i % 2 for i in range(200)], tasks, ["w1"] * 200)  # one vote each: none unanimous 2+
    majority = part.groupby("task")["label"].mean()
    why = degenerate(part, majority * 0 + 0.99, majority)
    assert why is not None and why.startswith("all-present: 100.0% of tasks present against 50.0%")


def test_inverted_annotators_are_degenerate() -> None:
    # three single-vote tasks per annotator pair, posteriors that disagree with most of what they said
    part = _task_table([1, 1, 0, 0, 1, 0], ["a", "b", "c", "d", "e", "f"], ["w1", "w1", "w1", "w2", "w2", "w2"])
    majority = part.groupby("task")["label"].mean()
    posterior = pd.Series({"a": 0.1, "b": 0.1, "c": 0.9, "d": 0.9, "e": 0.8, "f": 0.2})
    assert degenerate(part, posterior, majority) == "inverted annotators: on average they vote against the " \
                                                    "classes it found"


def test_without_crowd_kit_it_falls_back_to_majority_and_says_so(monkeypatch: pytest.MonkeyPatch,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    real_import = builtins.__import__

    def no_crowdkit(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("crowdkit"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_crowdkit)
    votes = plant(200, 1).votes
    with caplog.at_level(logging.WARNING):
        labels = label_votes(votes, "dawid_skene")
    assert labels.aggregation.used == {"prompted": "majority", "distractor": "majority"}
    assert "crowd-kit is not installed" in labels.metrics()["fallback"]["prompted"]
    assert "fell back to majority vote: crowd-kit is not installed" in caplog.text
    majority = label_votes(votes, "majority")
    assert {s: d.label for s, d in labels.decisions.items()} == {s: d.label for s, d in majority.decisions.items()}
    assert labels.counts()["changed_from_majority"] == 0


def test_a_repeated_vote_counts_once() -> None:
    # human-1 wrote its True three times; human-2 and human-3 said False: no majority, not 3 to 2
    votes = {"00001": [Vote("human-1", "Anger", True)] * 3 + [Vote("human-2", "Anger", False),
                                                              Vote("human-3", "Anger", False)]}
    labels = label_votes(votes, "majority")
    assert labels.decisions["00001"].label is None and labels.decisions["00001"].majority is None
    assert labels.counts()["repeated_votes_dropped"] == 2
    assert len(labels.votes["00001"]) == 3


def test_the_label_needs_a_posterior_above_the_threshold() -> None:
    votes = {"00001": [Vote("human-1", "Anger", True), Vote("human-2", "Anger", True), Vote("human-3", "Anger", False),
                       Vote("human-1", "Fear", False)]}
    assert label_votes(votes, "majority", 0.5).decisions["00001"].label == "Anger"  # 2/3 present
    high = label_votes(votes, "majority", 0.7).decisions["00001"]
    assert high.label is None and high.majority == "Anger"
    assert high.posterior == {"Anger": pytest.approx(2 / 3), "Fear": 0.0}
