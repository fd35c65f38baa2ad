"""`curator push` through the real CLI on a full sample build: the licence gate names the
restricted sources, --private uploads exactly the dataset files, and the token never shows.

Decided from the data (issue 27): the gate reads every uploaded shard's `source` column whatever the
card says; a link, a FIFO or a folder that publish did not write is refused before any upload."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


# ---------------------------------------------------------------------------- decided from the data (issue 27)

SHARD_OF = "data/{source}/image.label_fine/train-00000-of-00001.parquet"


@pytest.fixture(scope="module")
def nvie_build(sample_build, tmp_path_factory) -> Path:
    """A real publish of NVIE (research licence: never public) beside sources that may go public."""
    from curator.config import Publish
    from curator.stages.publish.stage import run_publish

    root = sample_build["root"]
    out = tmp_path_factory.mktemp("research-build") / "pub"
    run_publish(root / "split", out, Publish(name="research-build", include=["nvie", "emonet_hq", "kaggle_physio"]),
                augmented=root / "augmented")
    return out


def _copy(build: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(build, tmp_path / "pub"))


def _card_without(folder: Path, source: str) -> None:
    """Hand-edit the card header as a careless user might: every config and path naming `source` deleted."""
    card = folder / "README.md"
    _, header, body = card.read_text(encoding="utf-8").split("---\n", 2)
    meta = yaml.safe_load(header)
    meta["configs"] = [c for c in meta["configs"] if c["config_name"] != source]
    meta["dataset_info"] = [c for c in meta["dataset_info"] if c["config_name"] != source]
    for config in meta["configs"]:
        for files in config["data_files"]:
            files["path"] = [p for p in files["path"] if f"/{source}/" not in p]
        config["data_files"] = [f for f in config["data_files"] if f["path"]]
    card.write_text(f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n{body}", encoding="utf-8")


def _refusal(proc) -> str:
    """The one line a refused push prints (asserted: exit 1, no traceback)."""
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def test_licence_gate_reads_the_shards_not_the_card(nvie_build, hub, tmp_path):
    stub, env = hub
    folder = _copy(nvie_build, tmp_path)
    _card_without(folder, "nvie")
    assert "nvie" not in (folder / "README.md").read_text(encoding="utf-8").split("---\n")[1]
    assert list((folder / "data" / "nvie").rglob("*.parquet"))

    for extra in (["--dry-run"], []):  # the plan gives the verdict a real push gets
        line = _refusal(run_cli("push", str(folder), "--repo-id", "me/emotions", *extra, env=env, cwd=tmp_path,
                                check=False))
        assert "refusing a public push" in line and "nvie" in line and "--private" in line
        assert "emonet_hq" not in line and "kaggle_physio" not in line
    assert not stub.requests  # refused before any network call

    run_cli("push", str(folder), "--repo-id", "me/emotions", "--private", env=env, cwd=tmp_path)
    assert any(name.startswith("data/nvie/") for name in stub.repo_files("me/emotions"))


@settings(max_examples=6, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(card=st.one_of(
    st.sampled_from(["", "---\n---\n# no configs\n", "---\nconfigs: [{config_name: faces}]\n---\n",
                     "---\nconfigs: nvie\n---\n", "---\n[unclosed\n---\n"]),
    st.text(max_size=200),
))
def test_no_card_header_changes_the_verdict(nvie_build, tmp_path_factory, card):
    """Whatever the card says (or fails to say), a public push of NVIE shards is refused naming nvie."""
    folder = _copy(nvie_build, tmp_path_factory.mktemp("card"))
    (folder / "README.md").write_text(card, encoding="utf-8")
    line = _refusal(run_cli("push", str(folder), "--repo-id", "me/emotions", "--dry-run", cwd=folder.parent,
                            check=False))
    assert "licence of nvie does not allow" in line


def _rewrite_shard(path: Path, change) -> None:
    pq.write_table(change(pq.read_table(path)), path)


def _renamed_nvie_shard(folder: Path) -> None:
    shards = sorted((folder / "data" / "nvie").rglob("*.parquet"))
    (folder / "extra").mkdir()
    shards[0].rename(folder / "extra" / "notes.bin")  # still Parquet, whatever its name
    shutil.rmtree(folder / "data" / "nvie")


HOSTILE_SHARDS = {
    "unknown source": (lambda f: _rewrite_shard(f / SHARD_OF.format(source="emonet_hq"), lambda t: t.set_column(
        t.schema.get_field_index("source"), "source", pa.array(["mystery"] * t.num_rows))), "'mystery'"),
    "no source column": (lambda f: _rewrite_shard(f / SHARD_OF.format(source="emonet_hq"),
                                                  lambda t: t.drop_columns(["source"])), "has no single 'source'"),
    "null source": (lambda f: _rewrite_shard(f / SHARD_OF.format(source="emonet_hq"), lambda t: t.set_column(
        t.schema.get_field_index("source"), "source", pa.nulls(t.num_rows, pa.string()))), "rows with no 'source'"),
    "not Parquet": (lambda f: (f / SHARD_OF.format(source="emonet_hq")).write_bytes(b"PAR1 not really"),
                    "cannot be read as Parquet"),
    "renamed NVIE shard": (_renamed_nvie_shard, "licence of nvie"),
}


@pytest.mark.parametrize("case", list(HOSTILE_SHARDS))
def test_a_shard_whose_sources_cannot_be_told_is_refused(nvie_build, tmp_path, case):
    folder = _copy(nvie_build, tmp_path)
    _card_without(folder, "nvie")
    if case != "renamed NVIE shard":
        shutil.rmtree(folder / "data" / "nvie")  # only shards that may go public remain
    hostile, expected = HOSTILE_SHARDS[case]
    hostile(folder)
    line = _refusal(run_cli("push", str(folder), "--repo-id", "me/emotions", "--dry-run", cwd=tmp_path, check=False))
    assert expected in line
    if case != "renamed NVIE shard":
        assert "emonet_hq/image.label_fine/train-00000-of-00001.parquet" in line


def test_a_build_of_public_sources_still_goes_public(nvie_build, tmp_path):
    folder = _copy(nvie_build, tmp_path)
    shutil.rmtree(folder / "data" / "nvie")
    _card_without(folder, "nvie")
    proc = run_cli("push", str(folder), "--repo-id", "me/emotions", "--dry-run", cwd=tmp_path)
    assert "emonet_hq" in proc.stdout and "nvie" not in proc.stdout


# ---------------------------------------------------------------------------- only regular files inside the folder

LINKS = {
    "file link out": ("notes.txt", "outside/secret.txt"),
    "folder link out": ("data/more", "outside"),
    "link inside": ("taxonomy-copy.yaml", "pub/taxonomy.yaml"),
}


@pytest.mark.parametrize("case", list(LINKS))
def test_a_link_in_the_folder_is_refused_before_any_upload(sample_build, hub, tmp_path, case):
    stub, env = hub
    folder = _copy(sample_build["pub"], tmp_path)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("not for the Hub\n")
    link, target = LINKS[case]
    (folder / link).symlink_to(tmp_path / target)
    for extra in (["--dry-run"], []):
        line = _refusal(run_cli("push", str(folder), "--repo-id", "me/emotions", "--private", *extra, env=env,
                                cwd=tmp_path, check=False))
        assert f"'{link}' is a symbolic link" in line
    assert not stub.requests


def test_a_fifo_in_the_folder_is_refused_without_blocking(sample_build, hub, tmp_path):
    stub, env = hub
    folder = _copy(sample_build["pub"], tmp_path)
    fifo = "data/emonet_hq/image.label_fine/train-00001-of-00001.parquet"
    os.mkfifo(folder / fifo)  # nothing ever writes to it: opening it would block for ever
    line = _refusal(run_cli("push", str(folder), "--repo-id", "me/emotions", "--private", env=env, cwd=tmp_path,
                            check=False, timeout=120))
    assert f"'{fifo}' is a FIFO" in line
    assert not stub.requests


def test_links_where_push_never_looks_are_left_alone(sample_build, tmp_path):
    """Bookkeeping and hidden entries are never uploaded (the same filter as upload_folder's), so never read."""
    folder = _copy(sample_build["pub"], tmp_path)
    (folder / ".cache").symlink_to("/")
    os.mkfifo(folder / ".curator" / "pipe")
    proc = run_cli("push", str(folder), "--repo-id", "me/emotions", "--private", "--dry-run", cwd=tmp_path, timeout=120)
    assert ".cache" not in proc.stdout and "pipe" not in proc.stdout


# ---------------------------------------------------------------------------- what push is pointed at

def _checkout(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "README.md").write_text("# my project\n")
    (folder / "params.yaml").write_text("publish: {name: x}\n")
    return folder


def _lineage_says(kind: str):
    def edit(tmp_path: Path, build: Path) -> Path:
        folder = _copy(build, tmp_path)
        path = folder / ".curator" / "lineage.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "kind": kind}))
        return folder
    return edit


def _lineage_fifo(tmp_path: Path, build: Path) -> Path:
    folder = _copy(build, tmp_path)
    (folder / ".curator" / "lineage.json").unlink()
    os.mkfifo(folder / ".curator" / "lineage.json")
    return folder


NOT_PUBLISHED = {
    "a project checkout": (lambda tmp_path, build: _checkout(tmp_path), "is not a publish output (no .curator/"),
    "a split folder's manifest": (_lineage_says("split"), "holds split data (made by `curator split`)"),
    "an unknown kind": (_lineage_says("\n" * 3), "is not a manifest of kind 'published'"),
    "a FIFO for a manifest": (_lineage_fifo, "is not a manifest of kind 'published'"),
}


@pytest.mark.parametrize("case", list(NOT_PUBLISHED))
def test_a_folder_that_is_not_a_publish_output_is_refused(sample_build, tmp_path, case):
    make, expected = NOT_PUBLISHED[case]
    folder = make(tmp_path, sample_build["pub"])
    line = _refusal(run_cli("push", str(folder), "--repo-id", "me/emotions", "--private", "--dry-run",
                            cwd=tmp_path, check=False, timeout=120))
    assert expected in line and "curator publish" in line


@pytest.mark.parametrize("repo_id", ["me/" + "a" * 5000, "me/" + "é" * 3000])
def test_an_odd_repo_id_is_one_short_line(sample_build, tmp_path, repo_id):
    line = _refusal(run_cli("push", str(sample_build["pub"]), "--repo-id", repo_id, "--dry-run", cwd=tmp_path,
                            check=False))
    assert "--repo-id" in line and len(line) < 300


@settings(max_examples=8, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.binary(min_size=1, max_size=24).filter(lambda b: b"/" not in b and b"\0" not in b
                                                        and b not in (b".", b"..")))
def test_any_file_name_is_listed_or_refused_in_one_line(sample_build, tmp_path_factory, name):
    folder = _copy(sample_build["pub"], tmp_path_factory.mktemp("names"))
    (folder / "data" / os.fsdecode(name)).write_bytes(b"notes")
    proc = run_cli("push", str(folder), "--repo-id", "me/emotions", "--private", "--dry-run", cwd=folder.parent,
                   check=False)
    shown = os.fsdecode(name)
    if proc.returncode:
        assert "is not printable UTF-8 text" in _refusal(proc)
        assert not (shown.isprintable() and name == shown.encode())
    elif not shown.startswith(".") and not shown.endswith(("~", ".tmp", ".temp", ".part", ".partial", ".incomplete")):
        assert f"  data/{shown}\n" in proc.stdout
