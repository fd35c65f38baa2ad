"""curator.commands.push.push and curator.testing.hub, with the real huggingface_hub client on loopback only."""

from __future__ import annotations

import hashlib
import logging
import socket
import traceback
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curator.commands.push import NO_TOKEN, REJECTED_TOKEN, push
from curator.errors import CuratorError
from curator.pipeline.lineage import stamp
from curator.testing.hub import serve_hub

TOKEN = "hf_FAKE_secret_123"
WRONG_TOKEN = "hf_FAKE_wrong_456"
REPO = "me/emotions"
SHARD = "data/faces/train-00000-of-00001.parquet"
UPLOADED = ["README.md", SHARD, "taxonomy.yaml"]
CARD = "---\nlicense: mit\nconfigs:\n- config_name: faces\n  data_files: data/faces/*.parquet\n---\n# Emotions\n"


def _write_dataset(folder: Path, card: str = CARD) -> Path:
    (folder / "data" / "faces").mkdir(parents=True)
    (folder / "README.md").write_text(card)
    table = pa.table({"id": ["a", "b", "c"], "label": [0, 3, 5], "image": [b"\x89PNG\0fake"] * 3})
    pq.write_table(table, folder / SHARD)
    (folder / "taxonomy.yaml").write_text("labels: [neutral, happy, sad, surprise, fear, disgust, anger]\n")
    # never uploaded: bookkeeping, a hidden file, a temp file
    (folder / ".curator").mkdir()
    (folder / ".curator" / "metrics.json").write_text('{"rows": 3}')
    stamp(folder, "published")  # what push uploads: a publish output
    (folder / ".DS_Store").write_bytes(b"\0junk")
    (folder / "data" / "faces" / "train-00001.parquet.tmp").write_bytes(b"partial")
    return folder


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return _write_dataset(tmp_path / "published")


@pytest.fixture
def stub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    seed = tmp_path / "seed"
    seed.mkdir()
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    # client_env sets HF_ENDPOINT / HF_HOME / HF_HUB_DISABLE_XET, unsets HF_HUB_OFFLINE, and patches the
    # constants huggingface_hub derived from them at import (so no real login file can be read)
    with serve_hub(seed, token=TOKEN) as hub, hub.client_env(tmp_path / "hf-home"):
        yield hub


def _leaks(secret: str, exc: BaseException | None, capsys: pytest.CaptureFixture, caplog) -> list[str]:
    out, err = capsys.readouterr()
    texts = {"stdout": out, "stderr": err, "logs": "\n".join(r.getMessage() for r in caplog.records)}
    if exc is not None:
        texts["exception"] = "".join(traceback.format_exception(exc))
    return [where for where, text in texts.items() if secret in text]


def test_push_uploads_exactly_the_dataset_files(stub, dataset: Path, capsys) -> None:
    result = push(dataset, REPO)

    assert result.files == UPLOADED
    assert [sorted(c.paths) for c in stub.commits] == [UPLOADED]
    remote = stub.repo_files(REPO)
    assert set(remote) == {".gitattributes", *UPLOADED}  # .gitattributes: the repo's initial commit, as on the Hub
    for path in UPLOADED:
        assert remote[path] == (dataset / path).read_bytes(), path
    assert result.commit == stub.sha(REPO) == stub.commits[-1].sha
    assert result.url == f"{stub.url}/datasets/{REPO}"
    out = capsys.readouterr().out
    assert result.commit in out and result.url in out
    # whoami first; the parquet went through LFS to the storage origin; nothing touched Xet
    assert stub.requests[0] == ("GET", "/api/whoami-v2")
    assert ("PUT", f"/lfs-upload/{hashlib.sha256((dataset / SHARD).read_bytes()).hexdigest()}") in stub.requests
    assert not [path for _, path in stub.requests if "xet" in path]
    assert not stub.is_private(REPO)


def test_push_to_a_revision_branch(stub, dataset: Path) -> None:
    first = push(dataset, REPO, revision="v1")
    assert first.commit == stub.sha(REPO, "v1")
    assert set(stub.repo_files(REPO, "v1")) == {".gitattributes", *UPLOADED}
    assert set(stub.repo_files(REPO)) == {".gitattributes"}  # main untouched

    (dataset / "taxonomy.yaml").write_text("labels: [neutral, happy]\n")
    second = push(dataset, REPO, revision="v1")  # the branch exists now: exist_ok, one more commit
    assert second.commit == stub.sha(REPO, "v1") != first.commit
    assert stub.commits[-1].paths == ["taxonomy.yaml"]  # unchanged files are skipped
    assert stub.repo_files(REPO, "v1")["taxonomy.yaml"] == b"labels: [neutral, happy]\n"


def test_dry_run_lists_files_and_sizes_without_any_connection(stub, dataset: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("HF_TOKEN")  # a dry run needs no token either

    def no_network(*args, **kwargs):
        raise AssertionError("dry run opened a connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    result = push(dataset, REPO, dry_run=True)

    assert stub.requests == []
    assert result.commit == "" and result.files == UPLOADED
    out = capsys.readouterr().out
    for path in UPLOADED:
        assert f"{(dataset / path).stat().st_size:,}  {path}" in out
    assert ".curator" not in out and ".tmp" not in out and ".DS_Store" not in out

    # the dry run also previews the licence verdict of a public push (still offline)
    with pytest.raises(CuratorError, match=r"nvie.*--private"):
        push(dataset, REPO, dry_run=True, redistributable_check=lambda paths: ["nvie"])
    assert push(dataset, REPO, dry_run=True, private=True, redistributable_check=lambda paths: ["nvie"]).commit == ""
    assert stub.requests == []


def test_missing_token_is_a_clear_error(stub, dataset: Path, monkeypatch) -> None:
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(CuratorError) as info:
        push(dataset, REPO)
    assert str(info.value) == NO_TOKEN
    assert stub.requests == []


def test_wrong_token_is_rejected_after_whoami_only(stub, dataset: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_TOKEN", WRONG_TOKEN)
    with pytest.raises(CuratorError) as info:
        push(dataset, REPO)
    assert str(info.value) == REJECTED_TOKEN
    assert stub.requests == [("GET", "/api/whoami-v2")]


def test_licence_gate_refuses_public_push_and_allows_private(stub, dataset: Path) -> None:
    def restricted(paths: list[str]) -> list[str]:
        return ["nvie", "emer"]

    with pytest.raises(CuratorError) as info:
        push(dataset, REPO, redistributable_check=restricted)
    assert "emer, nvie" in str(info.value) and "--private" in str(info.value)
    assert stub.requests == []  # refused before any network call

    result = push(dataset, REPO, private=True, redistributable_check=restricted)
    assert stub.is_private(REPO)
    assert stub.sha(REPO) == result.commit


def test_private_push_into_an_existing_public_repo_is_refused(stub, dataset: Path) -> None:
    push(dataset, REPO)
    with pytest.raises(CuratorError, match="already exists and is public"):
        push(dataset, REPO, private=True, redistributable_check=lambda paths: ["nvie"])
    assert len(stub.commits) == 1


@pytest.mark.parametrize("case", ["success", "wrong token", "server error"])
def test_token_never_leaks(stub, dataset: Path, monkeypatch, capsys, caplog, case: str) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("huggingface_hub", "curator", "httpx2", "httpcore2"):
        caplog.set_level(logging.DEBUG, logger=name)
    secret = TOKEN
    if case == "wrong token":
        secret = WRONG_TOKEN
        monkeypatch.setenv("HF_TOKEN", WRONG_TOKEN)
    if case == "server error":  # the Hub refuses the card's YAML: an HTTP error from deep in upload_folder
        (dataset / "README.md").write_text("---\nlicense: [unclosed\n---\n# card\n")

    exc: BaseException | None = None
    try:
        push(dataset, REPO)
    except CuratorError as raised:
        exc = raised
    assert (exc is None) == (case == "success")
    assert caplog.records, "expected the client to log something at DEBUG"
    assert _leaks(secret, exc, capsys, caplog) == []


@pytest.mark.parametrize("revision", ["sha", "main"])
def test_snapshot_download_round_trip(tmp_path: Path, monkeypatch, revision: str) -> None:
    from huggingface_hub import snapshot_download

    repo = tmp_path / "seed" / "emonet" / "emonet-face"
    (repo / "data").mkdir(parents=True)
    pq.write_table(pa.table({"id": [f"r{i}" for i in range(500)], "valence": [i / 500 for i in range(500)]}),
                   repo / "data" / "test-00000-of-00001.parquet")
    (repo / "README.md").write_text("---\nlicense: cc-by-nc-4.0\n---\n# EmoNet-Face (fake)\n")
    monkeypatch.delenv("HF_TOKEN", raising=False)  # public repo: anonymous download

    with serve_hub(tmp_path / "seed") as hub, hub.client_env(tmp_path / "hf-home"):
        sha = hub.sha("emonet/emonet-face")
        local = Path(snapshot_download("emonet/emonet-face", repo_type="dataset",
                                       revision=sha if revision == "sha" else revision, local_dir=tmp_path / "out"))
        requests = list(hub.requests)

    for name in ("README.md", "data/test-00000-of-00001.parquet"):
        assert (local / name).read_bytes() == (repo / name).read_bytes(), name
    assert len(sha) == 40
    parquet_sha256 = hashlib.sha256((repo / "data" / "test-00000-of-00001.parquet").read_bytes()).hexdigest()
    assert ("GET", f"/lfs-objects/{parquet_sha256}") in requests  # LFS file: resolve redirected to storage
    assert (("GET", "/api/datasets/emonet/emonet-face/revision/main") in requests) == (revision == "main")


def test_seeded_sha_is_deterministic(tmp_path: Path) -> None:
    repo = tmp_path / "seed" / "o" / "n"
    repo.mkdir(parents=True)
    (repo / "README.md").write_text("# x\n")
    with serve_hub(tmp_path / "seed") as first, serve_hub(tmp_path / "seed") as second:
        assert first.sha("o/n") == second.sha("o/n")
        assert first.repo_files("o/n") == {"README.md": b"# x\n"}
