"""Resumable, verified, lock-protected downloads (standard library HTTP only).

`download()` streams into `<dest>.part`, resumes it with a Range request, retries transient
failures with exponential backoff, verifies size and SHA-256, then renames into place and
writes a `<dest>.completed` marker. A second call with the marker in place makes no request.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import re
import ssl
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import unquote, urlsplit, urlunsplit

from curator import __version__
from curator.errors import DownloadError
from curator.io.atomic import atomic_write_json, file_lock
from curator.io.checksums import Checksum, load_registry, record, sha256_file
from curator.io.secrets import basic_credentials, redact, redact_url

log = logging.getLogger(__name__)

_CHUNK = 256 * 1024
_RETRY_STATUSES = frozenset({408, 425, 429})  # plus every 5xx
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
# Transient network failures (connect errors arrive wrapped in URLError, read errors bare).
_NETWORK_ERRORS = (
    urllib.error.URLError,
    http.client.HTTPException,
    ConnectionError,
    TimeoutError,
    ssl.SSLError,
)
RECORD_HINT = ("re-run with `--record-checksums` (or `download.record_checksums: true` in params.yaml) "
               "to download it and record its checksum")


class _Retryable(Exception):
    """A transient failure: worth another attempt after a backoff."""


def download(
    url: str,
    dest: Path,
    *,
    expected: Checksum | None = None,
    timeout: float = 30,
    retries: int = 4,
    backoff: float = 0.5,
    progress: bool | None = None,
) -> Path:
    """Download `url` to `dest` once; `retries` counts attempts after the first.

    Raises DownloadError (one line) on a client error (4xx), on a checksum or size mismatch
    (the bad bytes are deleted), or when the retries are exhausted.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if _is_complete(dest, expected):
        return dest
    with _locked(dest):
        if _is_complete(dest, expected):  # another process finished it while we waited
            return dest
        part = _part_path(dest)
        _fetch_with_retries(url, part, timeout=timeout, retries=retries, backoff=backoff, progress=progress)
        actual = _verify(part, expected, url)
        os.replace(part, dest)
        _write_marker(dest, actual, url)
    log.info("downloaded %s -> %s (%d bytes)", redact_url(url), dest, actual.size)
    return dest


def download_with_registry(
    url: str,
    dest: Path,
    source: str,
    filename: str,
    registry_path: Path,
    *,
    record_new: bool = False,
    timeout: float = 30,
    retries: int = 4,
    backoff: float = 0.5,
    progress: bool | None = None,
) -> Path:
    """Download verified against the registry; with `record_new`, trust and record a new file."""
    expected = load_registry(registry_path).get((source, filename))
    if expected is None and not record_new:
        raise DownloadError(f"no checksum recorded for {source}/{filename} in {registry_path}; {RECORD_HINT}")
    path = download(url, dest, expected=expected, timeout=timeout, retries=retries, backoff=backoff, progress=progress)
    if expected is None:
        marker = _read_marker(path)
        record(registry_path, source, filename, marker.size, marker.sha256)
        log.info("recorded checksum of %s/%s in %s", source, filename, registry_path)
    return path


# --- completion marker and lock -------------------------------------------------------------


def _part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def _marker_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".completed")


def _read_marker(dest: Path) -> Checksum:
    data = json.loads(_marker_path(dest).read_text(encoding="utf-8"))
    return Checksum(int(data["size"]), str(data["sha256"]))


def _is_complete(dest: Path, expected: Checksum | None) -> bool:
    """Marker present and consistent with dest (and with the expected checksum, if any)."""
    try:
        marker = _read_marker(dest)
        size = dest.stat().st_size
    except (OSError, ValueError, KeyError, TypeError):
        return False  # no marker, no file, or a marker we cannot trust: download again
    return marker.size == size and (expected is None or expected == marker)


def _write_marker(dest: Path, checksum: Checksum, url: str) -> None:
    marker = {"size": checksum.size, "sha256": checksum.sha256, "url": redact_url(url)}
    atomic_write_json(_marker_path(dest), marker)


def _locked(dest: Path) -> contextlib.AbstractContextManager[None]:
    """One writer at a time across processes (waits for the other to finish)."""
    return file_lock(dest.with_name(dest.name + ".lock"))


# --- verification ---------------------------------------------------------------------------


def _verify(part: Path, expected: Checksum | None, url: str) -> Checksum:
    """Checksum of the finished .part; on mismatch delete it and raise."""
    actual = Checksum(part.stat().st_size, sha256_file(part))
    if expected is None or actual == expected:
        return actual
    part.unlink(missing_ok=True)
    if actual.size != expected.size:
        what = f"size mismatch: expected {expected.size} bytes, got {actual.size}"
    else:
        what = "checksum mismatch"
    raise DownloadError(
        f"{what} for {redact_url(url)}: expected sha256 {expected.sha256} ({expected.size} bytes), "
        f"got sha256 {actual.sha256} ({actual.size} bytes); the downloaded bytes were deleted"
    )


# --- HTTP with retries ----------------------------------------------------------------------

MAX_BACKOFF_S = 10.0
"""The longest wait between two attempts: the doubling stops here, so ten retries wait at most ~1.5 min."""


def _fetch_with_retries(
    url: str, part: Path, *, timeout: float, retries: int, backoff: float, progress: bool | None
) -> None:
    for attempt in range(retries + 1):
        try:
            _fetch_once(url, part, timeout=timeout, progress=progress)
            return
        except _Retryable as e:
            if attempt == retries:
                raise DownloadError(f"giving up on {redact_url(url)} after {attempt + 1} attempts: {e}") from None
            delay = min(backoff * 2**attempt, MAX_BACKOFF_S)
            log.warning("%s: %s; retrying in %.1fs", redact_url(url), e, delay)
            time.sleep(delay)


def _fetch_once(url: str, part: Path, *, timeout: float, progress: bool | None) -> None:
    """One request: resume from the .part's size if there is one; raise _Retryable if transient."""
    offset = part.stat().st_size if part.exists() else 0
    request = _request(url)
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        with _opener(url).open(request, timeout=timeout) as response:
            offset = _resume_offset(response, offset)
            _stream(response, part, offset, progress, redact_url(url))
    except urllib.error.HTTPError as e:
        _raise_for_status(e.code, url, part)
    except _NETWORK_ERRORS as e:
        raise _Retryable(_describe(e)) from None
    except OSError as e:  # not the network: the local disk (full, read-only...)
        raise DownloadError(f"cannot write {part}: {e.strerror or e}") from None


def _request(url: str) -> urllib.request.Request:
    """The request for `url`; a user part (`https://user:pass@host/…`) becomes an HTTP Basic header
    that is not sent on to where a redirect points (urllib would put the user part in the Host)."""
    parts = urlsplit(url)
    headers = {"User-Agent": f"emotion-curator/{__version__}"}
    if "@" not in parts.netloc:
        return urllib.request.Request(url, headers=headers)
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    request = urllib.request.Request(urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2])),
                                     headers=headers)
    request.add_unredirected_header("Authorization", f"Basic {basic_credentials(user, password)}")
    return request


def _opener(url: str) -> urllib.request.OpenerDirector:
    """Loopback URLs skip any configured proxy: a proxy cannot reach our own 127.0.0.1."""
    if urlsplit(url).hostname in _LOOPBACK:
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener()


def _raise_for_status(status: int, url: str, part: Path) -> None:
    if status == 416:  # our .part is not a prefix of what the server has: start over
        part.unlink(missing_ok=True)
        raise _Retryable("HTTP 416 (range not satisfiable), restarting from byte 0")
    if status >= 500 or status in _RETRY_STATUSES:
        raise _Retryable(f"HTTP {status}")
    raise DownloadError(f"HTTP {status} for {redact_url(url)}")


def _resume_offset(response: http.client.HTTPResponse, offset: int) -> int:
    """Where the body starts: `offset` for a 206 that honours our Range, 0 for a full 200."""
    if response.status != 206:
        return 0  # the server ignored Range: rewrite the file from the start
    match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
    if not match or int(match.group(1)) != offset:
        raise _Retryable(f"unexpected Content-Range {response.headers.get('Content-Range')!r}")
    return offset


def _stream(response: http.client.HTTPResponse, part: Path, offset: int, progress: bool | None, label: str) -> None:
    """Copy the body to the .part at `offset`; a short body is a dropped connection (retryable)."""
    length = response.headers.get("Content-Length")
    remaining = int(length) if length and length.isdigit() else None
    total = offset + remaining if remaining is not None else None
    with open(part, "r+b" if offset else "wb") as f, _progress(progress, label, total, offset) as advance:
        f.seek(offset)
        f.truncate()
        received = _copy(response, f, advance)
    if remaining is not None and received < remaining:
        raise _Retryable(f"connection dropped after {offset + received} of {total} bytes")


def _copy(response: http.client.HTTPResponse, f: BinaryIO, advance: _Advance) -> int:
    received = 0
    while chunk := response.read(_CHUNK):
        f.write(chunk)
        received += len(chunk)
        advance(len(chunk))
    return received


def _describe(error: BaseException) -> str:
    """A short reason without the URL (urllib wraps the real cause in URLError.reason)."""
    reason = getattr(error, "reason", None)
    cause = reason if isinstance(reason, BaseException) else error
    if isinstance(cause, TimeoutError):
        return "timed out"
    return redact(f"{type(cause).__name__}: {cause}") if str(cause) else type(cause).__name__


# --- progress -------------------------------------------------------------------------------


class _Advance(Protocol):
    def __call__(self, n: int, /) -> None: ...


@contextlib.contextmanager
def _progress(enabled: bool | None, label: str, total: int | None, done: int) -> Iterator[_Advance]:
    """A rich bar on a terminal (or when forced); otherwise nothing but the log lines."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        log.info("downloading %s (%s bytes, from byte %d)", label, total or "unknown", done)
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    columns = (*Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label.rsplit("/", 1)[-1] or label, total=total, completed=done)
        yield lambda n: bar.advance(task, n)
