"""Keeping secrets out of messages: every error we print about a download or an upload passes here.

Tokens come from the environment or the tools' own login files and must never reach a log, a
metric, a card or an exception (tests/robustness/test_secrets.py checks it end to end).
"""

from __future__ import annotations

import base64
import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
_HF_TOKEN = re.compile(r"hf_[A-Za-z0-9]{6,}")  # the shape of a Hugging Face token
_AUTH_HEADER = re.compile(r"(?i)\b(bearer|basic)(\s+)\S+")


def scrub(text: str, *secrets: str | None) -> str:
    """`text` with each given secret masked, and anything shaped like a Hub token or an HTTP
    Authorization value masked whatever it is."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    text = _HF_TOKEN.sub(f"hf_{MASK}", text)
    return _AUTH_HEADER.sub(rf"\1\2{MASK}", text)


def basic_credentials(user: str, key: str) -> str:
    """How `user:key` appears in an HTTP Basic header, so that it can be scrubbed too."""
    return base64.b64encode(f"{user}:{key}".encode()).decode()


def first_line(exc: BaseException) -> str:
    """`Type: first non-empty line of the message`: library messages run over many lines."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return f"{type(exc).__name__}: {lines[0] if lines else 'no message'}"


def redact_url(url: str) -> str:
    """The URL without credentials, query or fragment: safe to print or store."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
