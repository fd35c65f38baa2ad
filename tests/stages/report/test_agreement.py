"""Annotator agreement: Krippendorff's alpha for ratings, majority share for votes, models left out."""

from __future__ import annotations

import math

import pandas as pd

from curator.stages.report.agreement import agreement_by_source


def _frame(source: str, rows: dict[str, list[tuple[str, bool, str, float]]], given=None) -> pd.DataFrame:
    return pd.DataFrame({
        "id": list(rows),
        "source": source,
        "annotations": [[{"annotator": a, "is_model": m, "target": t, "value": v, "note": None} for a, m, t, v in r]
                        for r in rows.values()],
        "agreement": [(given or {}).get(k) for k in rows],
    })


def test_ratings_alpha_per_category_and_the_most_disagreed_image():
    rows = {
        f"r{i}": [("e1", False, "Anger", a), ("e2", False, "Anger", b), ("e1", False, "Awe", 3.0),
                  ("e2", False, "Awe", 3.0), ("vlm", True, "Anger", 7.0 - a)]
        for i, (a, b) in enumerate([(0, 0), (3, 3), (5, 5), (7, 1)])
    }
    (found,) = agreement_by_source(_frame("emonet_hq", rows))
    assert found.kind == "ratings" and found.annotators == 2  # the model is not an annotator here
    perfect = agreement_by_source(_frame("x", {k: v for k, v in rows.items() if k != "r3"}))[0]
    assert perfect.per_category["Anger"] == 1.0  # experts agree on every image
    assert found.per_category["Anger"] < 1.0
    assert math.isnan(found.per_category["Awe"]) and found.undefined == ["Awe"]  # one value only: undefined
    assert found.most_disagreed[0] == ("r3", 1.5)  # ratings 7 and 1 → population sd 3, mean over its 2 targets


def test_votes_use_the_given_agreement_or_the_majority_share():
    rows = {"a": [("h1", False, "Anger", 1.0), ("h2", False, "Anger", 1.0), ("h3", False, "Anger", 0.0)],
            "b": [("h1", False, "Anger", 1.0), ("h2", False, "Anger", 1.0), ("h3", False, "Anger", 1.0)],
            "c": [("h1", False, "Fear", 1.0), ("h2", False, "Fear", 0.0)]}
    (found,) = agreement_by_source(_frame("emonet_binary", rows, given={"c": 0.25}))
    assert found.kind == "votes"
    assert math.isclose(found.per_category["Anger"], (2 / 3 + 1) / 2)
    assert [r for r, _ in found.most_disagreed] == ["c", "a"]  # given 0.25 beats computed 2/3; b agrees fully


def test_a_single_annotator_is_no_agreement_to_report():
    rows = {"a": [("h1", False, "Anger", 1.0)], "b": [("h1", False, "Anger", 0.0)]}
    assert agreement_by_source(_frame("one", rows)) == []
