"""Keeping secrets out of everything we write: messages, logs, metrics, manifests, the card.

Tokens come from the environment or the tools' own login files; a configured URL may carry a
password (`https://user:pass@host/…`) or a token in its query (`?token=…`, `?sig=…`). None of it
may reach a log, a metric, a lineage.json, a card or an error (tests/robustness/test_secrets.py
checks it end to end). The download itself keeps the real URL: only what is written is redacted.

A redacted URL keeps its scheme, host, port and path (which server, which file: the provenance a
reader needs) and masks the whole user part, every query value and the fragment. The user name
goes too, because services put the token there (`https://TOKEN@host`, `oauth2:TOKEN@host`); query
names stay (`?token=***`), but no list of secret names could be complete, so every value goes.
"""

from __future__ import annotations

import base64
import logging
import re
from typing import Any
from urllib.parse import urlsplit

MASK = "***"
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]+")
# `user:password@host` without a scheme (an ssh-like address, a value typed without `https://`)
_USERINFO = re.compile(r"(?<![\w.+-])[^\s:/@'\"<>`]+:[^\s/'\"<>`]*@(?=[\w\[])")
# the shapes of well-known tokens: Hugging Face, GitHub, GitLab, Slack
_TOKEN = re.compile(r"\b(hf_|gh[pousr]_)[A-Za-z0-9]{6,}|\b(github_pat_|glpat-|xox[abprs]-)[A-Za-z0-9_-]{6,}")
# `name=value` where the name says secret, outside a URL too (a query string pasted alone)
_SECRET_PAIR = re.compile(r"(?i)\b((?:access_|refresh_|id_|security[_-])?token|sig|signature|password|passwd|"
                          r"secret|client_secret|api_?key|x-amz-(?:signature|credential))=[^&\s'\"<>`#]+")
# an HTTP Authorization value: an 8+ character credential (not a lowercase word: "basic classes")
_AUTH_HEADER = re.compile(r"\b((?i:bearer)|Basic|Token)(\s+)(?=\S*[A-Z0-9+/=_.~-])[A-Za-z0-9+/=_.~-]{8,}")


def redact_url(url: str) -> str:
    """`url` safe to print or store: user part, query values and fragment masked; scheme, host, port
    and path kept. A URL with none of those comes back unchanged."""
    scheme, sep, _ = url.partition("://")
    if not sep:
        return url
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:  # not parseable: keep only the scheme
        return f"{scheme}://{MASK}"
    if "@" not in parts.netloc and not parts.query and not parts.fragment and not url.endswith(("?", "#")):
        return url
    host = parts.netloc.rpartition("@")[2]
    out = f"{scheme}://{f'{MASK}@' if '@' in parts.netloc else ''}{host}{parts.path}"
    if parts.query:
        out += "?" + "&".join(f"{p.partition('=')[0]}={MASK}" if "=" in p else MASK for p in parts.query.split("&"))
    return out + (f"#{MASK}" if parts.fragment else "")


def redact(text: str) -> str:
    """`text` with every URL redacted (redact_url) and anything shaped like a credential masked: a bare
    `user:pass@`, a `token=`/`sig=`/`password=` value, a Hub/GitHub token, an Authorization value."""
    text = _URL.sub(lambda m: redact_url(m.group()), text)
    text = _USERINFO.sub(f"{MASK}@", text)
    text = _SECRET_PAIR.sub(lambda m: f"{m.group(1)}={MASK}", text)
    text = _AUTH_HEADER.sub(rf"\1\2{MASK}", text)
    return _TOKEN.sub(lambda m: f"{m.group(1) or m.group(2)}{MASK}", text)


def scrub(text: str, *secrets: str | None) -> str:
    """`text` with each given secret masked, and everything `redact` masks."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return redact(text)


def redact_values(value: Any) -> Any:
    """The same structure (params, metrics) with every string redacted: what a lineage.json, a metrics
    file, a card or a report may record."""
    if isinstance(value, dict):
        return {k: redact_values(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_values(v) for v in value]
    return redact(value) if isinstance(value, str) else value


class RedactingFormatter(logging.Formatter):
    """Log lines pass `redact` (a message built from a URL or a library's error text)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def basic_credentials(user: str, key: str) -> str:
    """How `user:key` appears in an HTTP Basic header, so that it can be scrubbed too."""
    return base64.b64encode(f"{user}:{key}".encode()).decode()


def first_line(exc: BaseException) -> str:
    """`Type: first non-empty line of the message`: library messages run over many lines."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return f"{type(exc).__name__}: {lines[0] if lines else 'no message'}"
