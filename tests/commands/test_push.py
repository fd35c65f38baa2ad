"""`curator push` through the real CLI on a full sample build: the licence gate names the
restricted sources, --private uploads exactly the dataset files, and the token never shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.testing.hub import serve_hub
from tests.conftest import run_cli

TOKEN = "hf_FAKE_cli_secret_789"


@pytest.fixture
def hub(tmp_path):
    seed = tmp_path / "seed"
    seed.mkdir()
    with serve_hub(seed, token=TOKEN) as stub, stub.client_env(tmp_path / "hf-home") as env:
        yield stub, {**env, "HF_TOKEN": TOKEN}


def test_public_push_is_refused_naming_restricted_sources(sample_build, hub, tmp_path):
    stub, env = hub
    proc = run_cli("push", str(sample_build["pub"]), "--repo-id", "me/emotions", env=env, cwd=tmp_path, check=False)
    assert proc.returncode == 1
    line = proc.stderr.strip().splitlines()[-1]
    assert "emer" in line and "nvie" in line and "viri" in line and "--private" in line
    assert not stub.commits  # nothing uploaded


def test_private_push_uploads_exactly_the_dataset_files(sample_build, hub, tmp_path):
    stub, env = hub
    folder: Path = sample_build["pub"]
    proc = run_cli("push", str(folder), "--repo-id", "me/emotions", "--private", env=env, cwd=tmp_path)
    received = stub.repo_files("me/emotions")
    expected = {p.relative_to(folder).as_posix() for p in folder.rglob("*")
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)}
    assert {"README.md", "croissant.json", "taxonomy.yaml"} <= expected
    assert set(received) - {".gitattributes"} == expected
    assert not any(name.startswith(".curator") for name in received)
    # the card and Croissant name the repo they were pushed to; every other file is byte-identical
    named = {"README.md", "croissant.json"}
    assert all(received[name] == (folder / name).read_bytes() for name in expected - named)
    for name in named:
        local = (folder / name).read_text(encoding="utf-8")
        assert "REPO_ID" in local and received[name].decode() == local.replace("REPO_ID", "me/emotions")
    assert 'load_dataset("me/emotions", "faces")' in received["README.md"].decode()
    assert stub.is_private("me/emotions")
    assert stub.sha("me/emotions") in proc.stdout and "/datasets/me/emotions" in proc.stdout
    assert TOKEN not in proc.stdout + proc.stderr


def test_dry_run_lists_files_and_sends_nothing(sample_build, hub, tmp_path):
    stub, env = hub
    proc = run_cli("push", str(sample_build["pub"]), "--repo-id", "me/emotions", "--private", "--dry-run",
                   env=env, cwd=tmp_path)
    assert "README.md" in proc.stdout and "croissant.json" in proc.stdout
    assert not stub.requests
