"""BuildFacts from lineage manifests: the values a split and an augment run recorded, `None` where a
folder records none (hand-stamped), and a hand-edited wrong value as one line naming the key."""

from __future__ import annotations

import pytest

from curator.config import BuildFacts
from curator.errors import CuratorError

SPLIT = {"kind": "split", "params": {"split": {"seed": 11, "ratios": {"train": 0.8, "validation": 0.1, "test": 0.1}},
                                     "dedup": {"max_distance": 5, "drop_within_split": True}}}
AUGMENTED = {"kind": "augmented", "params": {"policy": "p.yaml", "copies": 4, "seed": 2, "jpeg_quality": 80,
                                             "policy_sha256": "ab" * 32}}


def test_the_recorded_values_are_the_facts() -> None:
    facts = BuildFacts.from_lineage(SPLIT, AUGMENTED)
    assert facts.split is not None and facts.split.seed == 11 and facts.split.ratios.train == 0.8
    assert facts.dedup is not None and (facts.dedup.max_distance, facts.dedup.drop_within_split) == (5, True)
    assert facts.ratios_text() == "split 80/10/10"
    # what shaped the copies, never the worker count or executor of that run
    assert facts.augment_params() == AUGMENTED["params"]


def test_a_folder_that_records_nothing_says_so() -> None:
    facts = BuildFacts.from_lineage({"kind": "split", "params": {"stamped": True}})
    assert (facts.split, facts.dedup, facts.augment, facts.augment_params()) == (None, None, None, None)
    assert "not recorded" in facts.ratios_text()


@pytest.mark.parametrize(("manifest", "words"), [
    ({"params": {"split": {"seed": "eleven"}}}, "split params: seed:"),
    ({"params": {"split": {"ratios": {"train": 0.9, "validation": 0.2, "test": 0.1}}}}, "must be 1"),
    ({"params": ["split"]}, "params that are not a mapping"),
])
def test_a_hand_edited_manifest_is_one_line(manifest: dict, words: str) -> None:
    with pytest.raises(CuratorError) as caught:
        BuildFacts.from_lineage(manifest)
    message = str(caught.value)
    assert words in message and "lineage.json" in message and "\n" not in message


def test_a_policy_digest_that_is_not_text_is_one_line() -> None:
    augmented = {"kind": "augmented", "params": {**AUGMENTED["params"], "policy_sha256": ["ab"]}}
    with pytest.raises(CuratorError, match="records a policy_sha256 that is not a string"):
        BuildFacts.from_lineage(SPLIT, augmented)
