"""The licence rule, written once: which sources' records a build may share publicly.

Publish writes it into each record's `redistributable` and LICENSE.md; push refuses a public
upload of any source it does not allow.
"""

from __future__ import annotations

from typing import Any

from curator.sources import get_recipe


def public_allowed(source: str, params: Any) -> bool:
    """The source's licence verdict (its INFO.redistributable) says "yes", or "opt-in" and the build's
    params for it set `allow_public_push: true`; "no" never. `params` may be None (no params given)."""
    verdict = get_recipe(source).INFO.redistributable
    return verdict == "yes" or (verdict == "opt-in" and bool(getattr(params, "allow_public_push", False)))
