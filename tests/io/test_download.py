"""Downloads against a loopback server with injected faults: resume, retries, checksums, locks."""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import multiprocessing
import os
import time
from pathlib import Path

import pytest

from curator.errors import CuratorError, DownloadError
from curator.io.checksums import Checksum, load_registry, record, sha256_file
from curator.io.download import download, download_with_registry
from curator.testing.files import Fault, serve_directory
from tests.conftest import EMONET_DIR, needs_shared

SIZE = 300_000  # several read chunks, so a drop lands mid-body
FAST = {"timeout": 2.0, "backoff": 0.01}  # every test stays bounded in time


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    (root / "data.bin").write_bytes(os.urandom(SIZE))
    return root


@pytest.fixture
def source(root: Path) -> bytes:
    return (root / "data.bin").read_bytes()


def checksum_of(data: bytes) -> Checksum:
    return Checksum(len(data), hashlib.sha256(data).hexdigest())


def gets(url) -> list:
    return [r for r in url.requests if r.method == "GET"]


def leftovers(dest: Path) -> set[str]:
    """Files for `dest` other than its lock (which stays on purpose)."""
    return {p.name for p in dest.parent.glob(dest.name + "*")} - {dest.name + ".lock"}


# --- the test server itself ----------------------------------------------------------------


def test_server_head_ranges_and_traversal(root: Path, source: bytes, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("outside the served root")
    with serve_directory(root) as url:
        port = int(url.rsplit(":", 1)[1])

        def fetch(method: str, path: str, **headers: str) -> tuple[int, dict, bytes]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            try:
                conn.request(method, path, headers=headers)
                response = conn.getresponse()
                return response.status, dict(response.getheaders()), response.read()
            finally:
                conn.close()

        status, headers, body = fetch("HEAD", "/data.bin")
        assert (status, headers["Content-Length"], body) == (200, str(SIZE), b"")
        status, headers, body = fetch("GET", "/data.bin", Range="bytes=10-19")
        assert (status, headers["Content-Range"], body) == (206, f"bytes 10-19/{SIZE}", source[10:20])
        assert fetch("GET", "/data.bin", Range=f"bytes={SIZE}-")[0] == 416
        assert fetch("GET", "/../secret.txt")[0] == 404
        assert fetch("GET", "/%2e%2e/secret.txt")[0] == 404
        assert [(r.method, r.range) for r in url.requests][:2] == [("HEAD", None), ("GET", "bytes=10-19")]


# --- the happy path -------------------------------------------------------------------------


def test_download_writes_file_and_marker(root: Path, source: bytes, tmp_path: Path) -> None:
    dest = tmp_path / "raw" / "data.bin"
    with serve_directory(root) as url:
        assert download(f"{url}/data.bin", dest, expected=checksum_of(source), **FAST) == dest
    assert dest.read_bytes() == source
    marker = json.loads((tmp_path / "raw" / "data.bin.completed").read_text())
    assert marker == {"size": SIZE, "sha256": checksum_of(source).sha256, "url": f"{url}/data.bin"}
    assert leftovers(dest) == {"data.bin", "data.bin.completed"}


def test_second_call_makes_no_request(root: Path, tmp_path: Path) -> None:
    dest = tmp_path / "data.bin"
    with serve_directory(root) as url:
        download(f"{url}/data.bin", dest, **FAST)
        download(f"{url}/data.bin", dest, **FAST)
        assert len(url.requests) == 1


def test_marker_not_matching_dest_downloads_again(root: Path, source: bytes, tmp_path: Path) -> None:
    dest = tmp_path / "data.bin"
    with serve_directory(root) as url:
        download(f"{url}/data.bin", dest, **FAST)
        dest.write_bytes(b"truncated by someone")
        download(f"{url}/data.bin", dest, **FAST)
        assert len(url.requests) == 2
    assert dest.read_bytes() == source


def test_query_string_never_printed_or_stored(root: Path, tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="curator")
    with serve_directory(root, faults={"/data.bin": Fault(fail_times=1)}) as url:
        download(f"{url}/data.bin?token=SECRET", tmp_path / "data.bin", **FAST)
        with pytest.raises(DownloadError) as info:
            download(f"{url}/missing.bin?token=SECRET", tmp_path / "missing.bin", **FAST)
    assert "SECRET" not in str(info.value)
    assert "SECRET" not in (tmp_path / "data.bin.completed").read_text()
    assert caplog.records and "SECRET" not in caplog.text


def test_forced_progress_bar_works_without_a_tty(root: Path, source: bytes, tmp_path: Path) -> None:
    with serve_directory(root) as url:
        download(f"{url}/data.bin", tmp_path / "data.bin", progress=True, **FAST)
    assert (tmp_path / "data.bin").read_bytes() == source


# --- resume ---------------------------------------------------------------------------------


def test_dropped_connection_is_resumed_with_range(root: Path, source: bytes, tmp_path: Path) -> None:
    dest = tmp_path / "data.bin"
    with serve_directory(root, faults={"/data.bin": Fault(drop_after=100_000)}) as url:
        download(f"{url}/data.bin", dest, expected=checksum_of(source), **FAST)
        assert [r.range for r in gets(url)] == [None, "bytes=100000-"]
    assert dest.read_bytes() == source


def test_server_ignoring_range_restarts_from_zero(root: Path, source: bytes, tmp_path: Path) -> None:
    dest = tmp_path / "data.bin"
    fault = Fault(drop_after=100_000, ignore_range=True)
    with serve_directory(root, faults={"/data.bin": fault}) as url:
        download(f"{url}/data.bin", dest, expected=checksum_of(source), **FAST)
        assert [r.range for r in gets(url)] == [None, "bytes=100000-"]
    assert dest.read_bytes() == source


def test_leftover_part_from_a_killed_run_is_resumed(root: Path, source: bytes, tmp_path: Path) -> None:
    dest = tmp_path / "data.bin"
    (tmp_path / "data.bin.part").write_bytes(source[:1234])
    with serve_directory(root) as url:
        download(f"{url}/data.bin", dest, **FAST)
        assert [r.range for r in gets(url)] == ["bytes=1234-"]
    assert dest.read_bytes() == source


def test_part_longer_than_the_file_starts_over(root: Path, source: bytes, tmp_path: Path) -> None:
    (tmp_path / "data.bin.part").write_bytes(b"x" * (SIZE + 10))
    with serve_directory(root) as url:
        download(f"{url}/data.bin", tmp_path / "data.bin", **FAST)
        assert [r.range for r in gets(url)] == [f"bytes={SIZE + 10}-", None]  # 416, then from 0
    assert (tmp_path / "data.bin").read_bytes() == source


# --- retries and failures -------------------------------------------------------------------


def test_500_twice_then_success(root: Path, source: bytes, tmp_path: Path) -> None:
    with serve_directory(root, faults={"/data.bin": Fault(fail_times=2)}) as url:
        download(f"{url}/data.bin", tmp_path / "data.bin", retries=2, **FAST)
        assert len(gets(url)) == 3
    assert (tmp_path / "data.bin").read_bytes() == source


def test_backoff_doubles_up_to_its_cap(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from curator.io import download as module

    waits: list[float] = []
    monkeypatch.setattr(module.time, "sleep", waits.append)
    with serve_directory(root, faults={"/data.bin": Fault(status=503)}) as url, \
            pytest.raises(DownloadError, match="after 8 attempts"):
        download(f"{url}/data.bin", tmp_path / "data.bin", retries=7, timeout=2.0, backoff=1.0)
    assert waits == [1.0, 2.0, 4.0, 8.0, module.MAX_BACKOFF_S, module.MAX_BACKOFF_S, module.MAX_BACKOFF_S]


def test_500_forever_gives_up_after_retries(root: Path, tmp_path: Path) -> None:
    with serve_directory(root, faults={"/data.bin": Fault(status=503)}) as url:
        with pytest.raises(DownloadError, match="after 3 attempts: HTTP 503"):
            download(f"{url}/data.bin", tmp_path / "data.bin", retries=2, **FAST)
        assert len(gets(url)) == 3


@pytest.mark.parametrize("status", [404, 403])
def test_client_error_is_one_line_and_not_retried(root: Path, tmp_path: Path, status: int) -> None:
    with serve_directory(root, faults={"/data.bin": Fault(status=status)}) as url:
        with pytest.raises(DownloadError) as info:
            download(f"{url}/data.bin", tmp_path / "data.bin", **FAST)
        assert len(url.requests) == 1
    assert str(info.value) == f"HTTP {status} for {url}/data.bin"
    assert not (tmp_path / "data.bin").exists()


def test_wrong_checksum_names_both_hashes_and_keeps_nothing(root: Path, source: bytes, tmp_path: Path) -> None:
    dest = tmp_path / "data.bin"
    served = bytes(b ^ 0xFF for b in source)
    faults = {"/data.bin": Fault(corrupt=True)}
    with serve_directory(root, faults=faults) as url, pytest.raises(DownloadError) as info:
        download(f"{url}/data.bin", dest, expected=checksum_of(source), **FAST)
    message = str(info.value)
    assert checksum_of(source).sha256 in message and checksum_of(served).sha256 in message
    assert "\n" not in message
    assert leftovers(dest) == set()


def test_wrong_size_names_both_sizes(root: Path, source: bytes, tmp_path: Path) -> None:
    expected = Checksum(SIZE + 1, checksum_of(source).sha256)
    with serve_directory(root) as url, pytest.raises(DownloadError, match=f"expected {SIZE + 1} bytes, got {SIZE}"):
        download(f"{url}/data.bin", tmp_path / "data.bin", expected=expected, **FAST)
    assert leftovers(tmp_path / "data.bin") == set()


def test_stalled_server_times_out_within_bound(root: Path, tmp_path: Path) -> None:
    timeout, retries = 0.5, 1
    with serve_directory(root, faults={"/data.bin": Fault(delay=30)}) as url:
        start = time.monotonic()
        with pytest.raises(DownloadError, match="timed out"):
            download(f"{url}/data.bin", tmp_path / "data.bin", timeout=timeout, retries=retries, backoff=0.01)
        elapsed = time.monotonic() - start
        assert len(gets(url)) == retries + 1
    assert elapsed < timeout * (retries + 1) + 1.0


def test_unreachable_server_is_a_download_error(tmp_path: Path) -> None:
    with serve_directory(tmp_path) as url:
        pass  # the server is gone: its port now refuses connections
    with pytest.raises(DownloadError, match="after 2 attempts"):
        download(f"{url}/data.bin", tmp_path / "data.bin", retries=1, **FAST)


# --- two processes, one file ----------------------------------------------------------------


def test_two_processes_download_once(root: Path, source: bytes, tmp_path: Path) -> None:
    dest = tmp_path / "data.bin"
    ctx = multiprocessing.get_context("spawn")  # no fork of a process that runs server threads
    with serve_directory(root, faults={"/data.bin": Fault(delay=1.0)}) as url:
        kwargs = {"expected": checksum_of(source), "timeout": 10.0, "backoff": 0.01, "progress": False}
        workers = [ctx.Process(target=download, args=(f"{url}/data.bin", dest), kwargs=kwargs) for _ in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=20)
        assert [w.exitcode for w in workers] == [0, 0]
        assert len(gets(url)) == 1
    assert dest.read_bytes() == source
    assert leftovers(dest) == {"data.bin", "data.bin.completed"}


# --- checksums registry ---------------------------------------------------------------------


def test_registry_record_and_load_round_trip(tmp_path: Path) -> None:
    registry = tmp_path / "checksums.tsv"
    assert load_registry(registry) == {}
    record(registry, "viri", "b.zip", 2, "b" * 64)
    record(registry, "viri", "a.zip", 1, "a" * 64)
    record(registry, "viri", "b.zip", 3, "c" * 64)  # update in place
    assert load_registry(registry) == {
        ("viri", "a.zip"): Checksum(1, "a" * 64),
        ("viri", "b.zip"): Checksum(3, "c" * 64),
    }
    lines = registry.read_text().splitlines()
    assert lines == ["source\tfilename\tsize\tsha256", f"viri\ta.zip\t1\t{'a' * 64}", f"viri\tb.zip\t3\t{'c' * 64}"]
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize(
    "text", ["wrong\theader\n", "source\tfilename\tsize\tsha256\nviri\ta.zip\tbig\tabc\n"], ids=["header", "row"]
)
def test_registry_malformed(tmp_path: Path, text: str) -> None:
    registry = tmp_path / "checksums.tsv"
    registry.write_text(text)
    with pytest.raises(CuratorError, match=r"checksums\.tsv"):
        load_registry(registry)


def test_sha256_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    assert sha256_file(tmp_path / "f") == hashlib.sha256(b"abc").hexdigest()


def test_download_with_registry(root: Path, source: bytes, tmp_path: Path) -> None:
    registry = tmp_path / "checksums.tsv"
    with serve_directory(root) as url:
        with pytest.raises(DownloadError, match="--record-checksums"):
            download_with_registry(f"{url}/data.bin", tmp_path / "a" / "data.bin", "viri", "data.bin", registry)
        assert url.requests == []
        download_with_registry(
            f"{url}/data.bin", tmp_path / "a" / "data.bin", "viri", "data.bin", registry, record_new=True, **FAST
        )
        assert load_registry(registry) == {("viri", "data.bin"): checksum_of(source)}
        # Another machine verifies against what was recorded.
        download_with_registry(f"{url}/data.bin", tmp_path / "b" / "data.bin", "viri", "data.bin", registry, **FAST)
        assert (tmp_path / "b" / "data.bin").read_bytes() == source
        # Upstream changed: the recorded checksum no longer matches.
        (root / "data.bin").write_bytes(b"changed upstream")
        with pytest.raises(DownloadError, match="mismatch"):
            download_with_registry(f"{url}/data.bin", tmp_path / "c" / "data.bin", "viri", "data.bin", registry, **FAST)


@needs_shared()
def test_the_shipped_registry_entry_for_binary_csv_matches_the_real_file() -> None:
    from curator.io.checksums import load_registry, sha256_file
    from curator.resources import packaged_registry

    entry = load_registry(packaged_registry("emonet_binary"))[("emonet_binary", "binary.csv")]
    real = EMONET_DIR / "binary.csv"
    assert (entry.size, entry.sha256) == (real.stat().st_size, sha256_file(real))
