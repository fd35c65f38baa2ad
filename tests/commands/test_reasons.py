"""`curator reasons` marks the codes that are exclusions (left out on purpose), as the report and card count them."""

from __future__ import annotations

from curator.reasons import Reason, is_exclusion
from tests.conftest import run_cli


def test_the_listing_marks_exactly_the_exclusions(tmp_path) -> None:
    listed = {line.split()[0]: line for line in run_cli("reasons", cwd=tmp_path).stdout.splitlines()}
    marked = {code for code, line in listed.items() if "[exclusion]" in line}
    assert marked == {r.value for r in Reason if r.excluded}
    # VIRI's NVIE images (and the reverse) are left out on purpose; a broken image is a problem
    assert "other_dataset" in marked and "truncated_image" not in marked
    assert is_exclusion("other_dataset") and not is_exclusion("truncated_image") and not is_exclusion("no_such_code")
