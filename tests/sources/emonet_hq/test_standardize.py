"""hq's per-expert standardisation: an expert who rates everything higher stops outweighing the others."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curator.io.parquet import iter_records
from curator.record.taxonomy import taxonomy
from curator.sources.emonet_hq import expert_fields
from curator.sources.emonet_hq import samples as hq_samples
from curator.sources.emonet_hq.label import Expert
from curator.sources.emonet_hq.standardize import fit
from tests.conftest import run_cli

FINE = taxonomy().fine


def _expert(rater: str, ratings: dict[str, float]) -> Expert:
    return Expert(rater, dict(ratings), {})


def test_an_expert_who_rates_higher_no_longer_decides_the_label() -> None:
    # human-1 rates what it sees 7 and everything else 2; human-2 and human-3 rate 0-4 with no offset
    history = [e for i in range(30) for e in (
        _expert("human-1", {name: 2.0 for name in FINE} | {FINE[i % 40]: 7.0}),
        _expert("human-2", {FINE[i % 40]: 4.0}), _expert("human-3", {FINE[i % 40]: 4.0}))]
    scale = fit(history)
    assert scale.raters["human-1"][0] > scale.raters["human-2"][0] + 1.5
    # one image: human-1 gives Anger its 7 and Fear its floor of 2; the two others both see Fear (2)
    image = (_expert("human-1", {name: 2.0 for name in FINE} | {"Anger": 7.0}),
             _expert("human-2", {"Fear": 2.0}), _expert("human-3", {"Fear": 2.0}))
    as_rated, standard = expert_fields(image), expert_fields(image, scale)
    assert as_rated["label_original"] == "Anger"  # (7 + 0 + 0) / 3 beats (2 + 2 + 2) / 3: human-1 decides
    assert standard["label_original"] == "Fear"  # human-1's 2 is its nothing; the others' 2 is well above theirs
    assert standard["annotations"] == as_rated["annotations"]  # as rated
    assert standard["agreement"] == 1.0  # of the ratings as given on the label: 2, 2, 2
    assert all(0.0 <= s <= 1.0 for s in standard["scores"])


def test_standardised_ratings_of_two_offset_experts_are_equal() -> None:
    base = [{FINE[j]: float((i + j) % 5) for j in range(40)} for i in range(10)]
    raised = [{k: v + 2 for k, v in r.items()} for r in base]
    scale = fit([*(_expert("low", r) for r in base), *(_expert("high", r) for r in raised)])
    for r, up in zip(base, raised, strict=True):
        low, high = scale.ratings(_expert("low", r)), scale.ratings(_expert("high", up))
        assert low == pytest.approx(high)


def test_a_rater_without_spread_keeps_its_ratings() -> None:
    scale = fit([_expert("flat", {}), _expert("other", {"Anger": 5.0})])
    assert scale.ratings(_expert("flat", {})) == dict.fromkeys(FINE, 0.0)


@pytest.mark.slow  # two CLI prepares of the hq sample: ~8 s quiet, ~28 s on a busy machine
def test_prepare_with_standardized_experts_through_the_cli(tmp_path: Path) -> None:
    hq_samples.build(tmp_path / "samples", 0, False)
    raw = tmp_path / "samples" / "emonet_hq"
    runs = {}
    for scale in ("as_rated", "standardized"):
        ws = tmp_path / scale
        ws.mkdir()
        (ws / "params.yaml").write_text(f"sources:\n  emonet_hq:\n    expert_scale: {scale}\n")
        run_cli("prepare", "emonet_hq", "--raw", str(raw), "--out", "out", cwd=ws)
        runs[scale] = ({r["id"]: r for r in iter_records(ws / "out")},
                       json.loads((ws / "out" / "metrics.json").read_text()))
    (rated, rated_metrics), (standard, metrics) = runs["as_rated"], runs["standardized"]
    assert "expert_scale" not in rated_metrics
    assert set(metrics["expert_scale"]["experts"]) == {a["annotator"] for r in standard.values()
                                                      for a in r["annotations"] if not a["is_model"]}
    assert rated.keys() == standard.keys()
    assert all(standard[k]["annotations"] == rated[k]["annotations"] for k in rated)  # as rated, both ways
    assert any(standard[k]["scores"] != rated[k]["scores"] for k in rated)
