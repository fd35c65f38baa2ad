"""Regular expressions a user writes in params (`*_pattern`), compiled for RE2: a linear-time engine.

Python's `re` backtracks: a pattern like `(a+)+$` takes time doubling with each character of a file
name (71 s for one name of ~30 characters was seen), so a typo in params.yaml could hang a stage.
RE2 matches in time linear in the text whatever the pattern; the price is no backreferences or
lookarounds, which an id-extracting pattern does not need (such a pattern is refused in one line).
"""

from __future__ import annotations

from typing import Any

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print its own parse errors to stderr besides ours


def compile_pattern(pattern: str) -> Any:
    """`pattern` compiled by RE2 (its `search`/`match` give `re`-style match objects), or ValueError."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        detail = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(f"not a regular expression RE2 can run in linear time ({detail})") from None
