"""A published folder's dataset card header (the YAML the Hub parses): read by validate, report and push."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huggingface_hub import DatasetCard
from huggingface_hub.repocard import REGEX_YAML_BLOCK

from curator.errors import CuratorError
from curator.io.yamlfile import load_user_yaml


class CardError(CuratorError, ValueError):
    """The card's header cannot be read: one line saying why (a ValueError, as huggingface_hub raises)."""


def read_card_header(folder: Path) -> dict[str, Any]:
    """The card's YAML header, read as `huggingface_hub` (and `load_dataset`) read it, after the checks a
    hand-edited header needs first: UTF-8, no key twice, keys that are names, aliases bounded (a small
    alias bomb would otherwise expand without end), nesting within Python's recursion limit."""
    path = Path(folder) / "README.md"
    data = path.read_bytes()
    if not data.startswith(b"---\n"):
        raise CardError("README.md has no YAML header")
    try:
        text = data.decode("utf-8")
        block = REGEX_YAML_BLOCK.search(text)
        if block is None:
            raise CardError("README.md: the YAML header has no closing `---` line")
        header = load_user_yaml(block.group(2).encode("utf-8"), "README.md header")
        if not isinstance(header, dict):
            raise CardError(f"README.md header: a mapping of keys is needed, not {type(header).__name__}")
        return DatasetCard.load(path).data.to_dict()  # ValueError when the header is not a mapping
    except UnicodeDecodeError as exc:
        raise CardError(f"README.md: not UTF-8 text (byte {exc.start} is {data[exc.start]:#04x}); "
                        "save it as UTF-8") from None
    except CuratorError as exc:
        raise CardError(str(exc)) from None
    except RecursionError:
        raise CardError("README.md header: nested too deeply to read") from None
