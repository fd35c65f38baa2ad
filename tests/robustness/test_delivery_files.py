"""Any file a raw folder holds, through the real CLI: every file name (bytes that are not UTF-8, newlines,
255 bytes, leading dashes) and every link is a record, a reject or counted as not read, never a traceback;
a link to a file or folder outside the delivery is never followed, whatever layout the recipe walks
(curator.io.paths.delivery)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from curator.sources.thermal.samples import build_viri
from curator.sources.thermal.samples_figshare import ROOT, build_figshare
from curator.testing.samples.writers import png
from tests.robustness.workspace import cli
from tests.sources.junk import counted_in_metrics


def _png(color: tuple[int, int, int]) -> bytes:
    return png(Image.new("RGB", (32, 32), color))


PARAMS = {"sources": {"viri": {}}, "prepare": {"workers": 1}}
MAX_NAME = 255  # bytes in one name on Linux file systems


def _workspace(root: Path, delivery: Path) -> Path:
    """A project whose data/raw/viri was downloaded from `delivery` with the real CLI."""
    root.mkdir(parents=True)
    (root / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    done = cli(root, "download", "viri", "--from", str(delivery))
    assert done.returncode == 0, done.stderr
    return root


def _outcome(ws: Path) -> tuple[dict, dict[str, str], list[dict]]:
    """metrics.json, the records (id -> sha256 of the visible image) and rejects.jsonl, each read as a strict
    UTF-8 JSON reader would."""
    out = ws / "data" / "prepared" / "viri"
    metrics = json.loads((out / "metrics.json").read_bytes().decode("utf-8"))
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_bytes().decode("utf-8").splitlines()]
    import pyarrow.parquet as pq

    records = {r["id"]: hashlib.sha256(r["image"]["bytes"]).hexdigest()
               for f in sorted(out.glob("*.parquet")) for r in pq.read_table(f).to_pylist()}
    return metrics, records, rejects


def _prepared(ws: Path) -> tuple[dict, dict[str, str], list[dict]]:
    done = cli(ws, "prepare", "viri")
    assert done.returncode == 0 and "Traceback" not in done.stderr and "internal error" not in done.stderr, \
        done.stderr
    return _outcome(ws)


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[dict, dict[str, str], list[dict]]]:
    """VIRI's per-class archives downloaded and prepared: the baseline every name is added to."""
    base = tmp_path_factory.mktemp("names")
    build_viri(base / "samples", 0, False)
    ws = _workspace(base / "ws", base / "samples" / "viri")
    return ws, _prepared(ws)


# --------------------------------------------------------------------------- file names


@st.composite
def file_names(draw: st.DrawFn) -> bytes:
    """One file name as bytes: random bytes (mostly not UTF-8) or odd text, with a leading dash or newline,
    an image or a notes suffix, up to the 255 bytes a name may have."""
    lead = draw(st.sampled_from([b"", b"-", b"--", b"\n", b" "]))
    body = draw(st.one_of(
        st.binary(min_size=1, max_size=300),
        st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=80).map(str.encode)))
    tail = draw(st.sampled_from([b"", b".jpg", b".txt", b"\n.png"]))
    name = ((lead + body).replace(b"/", b"_").replace(b"\0", b"_"))[:MAX_NAME - len(tail)] + tail
    assume(name not in (b".", b".."))
    return name


@settings(max_examples=5, deadline=None, derandomize=True,  # the same examples on every run and in CI
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(names=st.lists(st.tuples(file_names(), st.sampled_from([b"", b"extra/", b"\xff\xfe-dir/"]),
                                st.booleans()), min_size=1, max_size=6, unique_by=lambda t: t[1] + t[0]))
def test_any_file_name_is_a_record_a_reject_or_not_read(archives, tmp_path_factory, names) -> None:
    ws, (metrics, records, _) = archives
    work = tmp_path_factory.mktemp("names-ws")
    shutil.copytree(ws, work, dirs_exist_ok=True, symlinks=True, ignore=shutil.ignore_patterns("prepared", ".*.lock"))
    raw = os.fsencode(work / "data" / "raw" / "viri")
    for name, folder, image in names:
        os.makedirs(os.path.join(raw, folder), exist_ok=True)
        with open(os.path.join(raw, folder, name), "wb") as fh:
            fh.write(_png((9, 9, 9)) if image else b"notes\n")

    got, kept, rejects = _prepared(work)

    assert kept == records  # the delivery's records, byte for byte: a name beside them changes none
    assert got["inputs"] == got["kept"] + got["rejected"]
    assert counted_in_metrics(got) - counted_in_metrics(metrics) == len(names)  # each file counted once
    bad = [r for r in rejects if r["reason"] == "undecodable_name"]
    assert len(bad) == sum(1 for n, f, _ in names if not _utf8(f + n))
    assert all("\\x" in r["detail"] for r in bad)  # the name shown escaped
    shown = cli(work, "inspect", "viri", "data/raw/viri")
    assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr


def _utf8(name: bytes) -> bool:
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# --------------------------------------------------------------------------- links


def test_links_leaving_a_training_layout_are_rejects_never_read(tmp_path: Path) -> None:
    """The authors' working folder (VIRI's training layout) with links out of it: to one visible/IR pair
    outside, and to a folder of images outside. Download copies the links as links, prepare rejects each,
    naming it; a link inside the delivery is followed as before."""
    build_viri(tmp_path / "samples", 0, False)
    with zipfile.ZipFile(build_figshare(tmp_path / "samples", 0)) as zf:
        zf.extractall(tmp_path / "training")
    delivery = tmp_path / "training"
    clean = _workspace(tmp_path / "clean", delivery)
    _, baseline, _ = _prepared(clean)

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    secret = {"IMG_9999.JPG": _png((250, 0, 0)), "IMG_9999_IR.JPG": _png((0, 250, 0))}
    for name, data in secret.items():
        (outside / name).write_bytes(data)
    split = delivery / ROOT / "tran_val_test"
    links = {f"{ROOT}/tran_val_test/Visible/train/Angry/IMG_9999.JPG": outside / "IMG_9999.JPG",
             f"{ROOT}/tran_val_test/IR/train/Angry/IMG_9999_IR.JPG": outside / "IMG_9999_IR.JPG",
             f"{ROOT}/tran_val_test/Visible/test/Happy/more": outside}
    for rel, target in links.items():
        (delivery / rel).symlink_to(target)
    a_result = next((delivery / ROOT / "IR" / "results").iterdir())
    inside = f"{ROOT}/IR/results/again.png"
    (delivery / inside).symlink_to(a_result)  # inside the delivery: followed (a working_file, as its target)
    assert split.is_dir()

    ws = _workspace(tmp_path / "ws", delivery)
    metrics, records, rejects = _prepared(ws)

    away = {r["path"]: r for r in rejects if r["reason"] == "outside_delivery"}
    assert sorted(away) == sorted(links)
    assert all(r["detail"].startswith(r["path"]) and "not followed" in r["detail"] for r in away.values())
    assert records == baseline  # nothing read from outside
    assert not {hashlib.sha256(d).hexdigest() for d in secret.values()} & set(records.values())
    assert any(r["path"] == inside and r["reason"] == "working_file" for r in rejects)
    assert metrics["inputs"] == metrics["kept"] + metrics["rejected"]
    shown = cli(ws, "inspect", "viri", "data/raw/viri")
    assert shown.returncode == 0 and "outside_delivery 3" in shown.stdout, shown.stdout + shown.stderr


def test_a_link_in_the_raw_folder_itself_is_not_followed(archives, tmp_path: Path) -> None:
    """A user who unpacks into data/raw/<source> by hand (no download): the same rule."""
    ws, (_, records, _) = archives
    work = shutil.copytree(ws, tmp_path / "ws", symlinks=True, ignore=shutil.ignore_patterns("prepared", ".*.lock"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(work / "data" / "raw" / "viri" / "VIRI-Angry-Ir.zip", elsewhere / "copy.zip")
    (work / "data" / "raw" / "viri" / "VIRI-Happy2-Ir.zip").symlink_to(elsewhere / "copy.zip")
    os.mkfifo(work / "data" / "raw" / "viri" / "pipe")  # would block a reader for ever

    metrics, kept, rejects = _prepared(work)

    assert kept == records
    assert {(r["path"], r["reason"]) for r in rejects} >= {("VIRI-Happy2-Ir.zip", "outside_delivery"),
                                                          ("pipe", "stray_file")}
    assert metrics["inputs"] == metrics["kept"] + metrics["rejected"]


def test_a_name_inside_an_archive_that_is_not_utf8_is_a_reject(tmp_path: Path) -> None:
    """A WebDataset tar (EmoNet-Big) whose sample key is not UTF-8: that sample is an undecodable_name reject
    showing the name escaped, the others are kept; prepare and inspect end as usual."""
    import io
    import tarfile

    from curator.sources.emonet_big import samples as big_samples

    big_samples.build(tmp_path / "samples", 0, False, "webdataset")
    raw = tmp_path / "samples" / "emonet_big"
    shard = sorted(raw.rglob("*.tar"))[0]
    with tarfile.open(shard) as tar:
        first = [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()[:3]]  # one sample's files
    odd = b"\xff\xfeodd".decode("utf-8", "surrogateescape")  # as tarfile reads such a name
    with tarfile.open(shard, "a") as tar:
        for name, data in first:
            member = tarfile.TarInfo(f"{odd}.{name.rsplit('.', 1)[1]}")
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "params.yaml").write_text(yaml.safe_dump({"sources": {"emonet_big": {}}, "prepare": {"workers": 1}}))

    done = cli(ws, "prepare", "emonet_big", "--raw", str(raw), "--out", "out")

    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    rejects = [json.loads(line) for line in (ws / "out" / "rejects.jsonl").read_bytes().decode("utf-8").splitlines()]
    assert [(r["reason"], r["id"]) for r in rejects] == [("undecodable_name", "emonet_big/\\xff\\xfeodd")]
    metrics = json.loads((ws / "out" / "metrics.json").read_bytes().decode("utf-8"))
    assert metrics["inputs"] == metrics["kept"] + 1
    shown = cli(ws, "inspect", "emonet_big", str(raw))
    assert shown.returncode == 0 and "undecodable_name 1" in shown.stdout, shown.stdout + shown.stderr
