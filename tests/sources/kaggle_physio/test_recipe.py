"""kaggle_physio download: from a loopback URL (checksummed), a manual file, or kagglehub."""

from __future__ import annotations

import json

import pytest

from curator.testing.files import serve_directory
from curator.testing.samples import build_samples
from tests.conftest import run_cli

CSV = "face_emotion_physio.csv"


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    root = tmp_path_factory.mktemp("kaggle")
    build_samples(root / "s", dirty=True)
    return root / "s"


def test_download_from_a_loopback_url_then_prepare_matches_the_manifest(samples, tmp_path):
    (tmp_path / "params.yaml").write_text(f"download: {{checksums: {samples / 'checksums.tsv'}}}\n")
    with serve_directory(samples) as url:
        run_cli("download", "kaggle_physio", "--from", f"{url}/kaggle_physio/{CSV}", cwd=tmp_path)
        assert [r.path for r in url.requests] == [f"/kaggle_physio/{CSV}"]
    assert (tmp_path / "data/raw/kaggle_physio" / CSV).read_bytes() == (samples / "kaggle_physio" / CSV).read_bytes()
    run_cli("prepare", "kaggle_physio", cwd=tmp_path)
    metrics = json.loads((tmp_path / "data/prepared/kaggle_physio/metrics.json").read_text())
    expected = json.loads((samples / "manifest.json").read_text())["kaggle_physio"]
    assert metrics["inputs"] == expected["items"]
    assert metrics["rejected_by_reason"] == expected["expected"]["prepare_rejects"]


def test_a_changed_file_fails_the_checksum(samples, tmp_path):
    registry = tmp_path / "checksums.tsv"
    registry.write_text("source\tfilename\tsize\tsha256\nkaggle_physio\t" + CSV + "\t10\t" + "0" * 64 + "\n")
    (tmp_path / "params.yaml").write_text(f"download: {{checksums: {registry}, retries: 0}}\n")
    with serve_directory(samples) as url:
        proc = run_cli("download", "kaggle_physio", "--from", f"{url}/kaggle_physio/{CSV}", cwd=tmp_path,
                       check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "data/raw/kaggle_physio" / CSV).exists()


def test_manual_file_is_accepted(samples, tmp_path):
    run_cli("download", "kaggle_physio", "--from", str(samples / "kaggle_physio" / CSV), cwd=tmp_path)
    assert (tmp_path / "data/raw/kaggle_physio" / CSV).is_file()


def test_without_credentials_the_message_names_the_variables_and_from(tmp_path):
    env = {"KAGGLE_USERNAME": "", "KAGGLE_KEY": "", "KAGGLE_CONFIG_DIR": str(tmp_path / "none")}
    proc = run_cli("download", "kaggle_physio", cwd=tmp_path, env=env, check=False)
    assert proc.returncode == 1
    line = proc.stderr.strip()
    assert len(line.splitlines()) == 1
    assert "KAGGLE_USERNAME" in line and "KAGGLE_KEY" in line and "--from DIR|FILE" in line
