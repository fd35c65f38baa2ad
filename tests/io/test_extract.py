"""Safe extraction: normal archives of every format, nested ones, and each hostile case."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import py7zr
import pytest

from curator.errors import ExtractionError
from curator.io import archive_readers
from curator.io.extract import extract

FILES = {
    "a.txt": b"alpha\n",
    "sub/b.bin": bytes(range(256)),
    "sub/deeper/c.jpg": b"\xff\xd8\xff" + b"x" * 100,
}


# --- archive builders -----------------------------------------------------------------------


def make_zip(path: Path, files: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in files.items():
            z.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return path


def make_tar(path: Path, files: dict[str, bytes], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return path


def make_7z(path: Path, files: dict[str, bytes], password: str | None = None) -> Path:
    with py7zr.SevenZipFile(path, "w", password=password) as z:
        for name, data in files.items():
            z.writestr(data, name)
    return path


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def listing(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def assert_refused(archive: Path, target: Path, member: str, **kwargs: object) -> ExtractionError:
    """Refused with a one-line message naming archive and member; nothing written anywhere."""
    before = listing(archive.parent)
    with pytest.raises(ExtractionError) as info:
        extract(archive, target, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert archive.name in message and (member in message or repr(member) in message), message
    assert "\n" not in message
    assert not target.exists()
    # atomic_dir leaves its lock file beside the target; nothing else may appear.
    assert listing(archive.parent) - before <= {f".{target.name}.lock"}
    return info.value


# --- normal archives ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda p: make_zip(p / "a.zip", FILES),
        lambda p: make_zip(p / "stored.zip", FILES, compression=zipfile.ZIP_STORED),
        lambda p: make_7z(p / "a.7z", FILES),
        lambda p: make_tar(p / "a.tar", FILES, "w"),
        lambda p: make_tar(p / "a.tar.gz", FILES, "w:gz"),
        lambda p: make_tar(p / "a.tar.bz2", FILES, "w:bz2"),
        lambda p: make_tar(p / "a.tar.xz", FILES, "w:xz"),
    ],
    ids=["zip", "zip-stored", "7z", "tar", "tar.gz", "tar.bz2", "tar.xz"],
)
def test_normal_archives(tmp_path: Path, build) -> None:
    archive = build(tmp_path)
    target = tmp_path / "out"
    files = extract(archive, target)
    assert tree(target) == FILES
    assert files == sorted(target / name for name in FILES)


@pytest.mark.parametrize("fmt", ["zip", "7z", "tar"])
def test_relative_paths(tmp_path: Path, monkeypatch, fmt: str) -> None:
    monkeypatch.chdir(tmp_path)
    make = {"zip": make_zip, "7z": make_7z, "tar": make_tar}[fmt]
    files = extract(make(Path(f"a.{fmt}"), FILES), Path("out"))
    assert tree(tmp_path / "out") == FILES
    assert files == sorted(Path("out") / name for name in FILES)


def test_format_detected_by_magic_not_extension(tmp_path: Path) -> None:
    archive = make_7z(tmp_path / "misnamed.zip", FILES)
    extract(archive, tmp_path / "out")
    assert tree(tmp_path / "out") == FILES


def test_not_an_archive(tmp_path: Path) -> None:
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"just text, not a zip")
    with pytest.raises(ExtractionError, match=r"fake\.zip: not a zip, 7z or tar"):
        extract(fake, tmp_path / "out")


def test_empty_file_and_directory_members(tmp_path: Path) -> None:
    archive = tmp_path / "dirs.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("empty/", b"")
        z.writestr("empty.txt", b"")
    extract(archive, tmp_path / "out")
    assert (tmp_path / "out" / "empty").is_dir()
    assert (tmp_path / "out" / "empty.txt").read_bytes() == b""


def test_existing_target_is_replaced_on_success_and_kept_on_refusal(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    extract(make_zip(tmp_path / "good.zip", {"new.txt": b"new"}), target)
    assert tree(target) == {"new.txt": b"new"}
    with pytest.raises(ExtractionError):
        extract(make_zip(tmp_path / "bad.zip", {"ok.txt": b"1", "../evil": b"2"}), target)
    assert tree(target) == {"new.txt": b"new"}


# --- nested archives ------------------------------------------------------------------------


def test_nested_zip_in_zip(tmp_path: Path) -> None:
    inner = make_zip(tmp_path / "inner.zip", {"img/x.jpg": b"jpeg"}).read_bytes()
    inner_7z = make_7z(tmp_path / "inner.7z", {"y.png": b"png"}).read_bytes()
    outer = make_zip(tmp_path / "outer.zip", {"top.txt": b"t", "VIRI-Angry-Ir.zip": inner, "d/h.7z": inner_7z})
    files = extract(outer, tmp_path / "out")
    expected = {"top.txt": b"t", "VIRI-Angry-Ir/img/x.jpg": b"jpeg", "d/h/y.png": b"png"}
    assert tree(tmp_path / "out") == expected
    assert files == sorted(tmp_path / "out" / name for name in expected)


def test_zip_based_documents_are_not_exploded(tmp_path: Path) -> None:
    xlsx = make_zip(tmp_path / "book.xlsx", {"[Content_Types].xml": b"<x/>"}).read_bytes()
    extract(make_zip(tmp_path / "emer.zip", {"new_label.xlsx": xlsx}), tmp_path / "out")
    assert tree(tmp_path / "out") == {"new_label.xlsx": xlsx}


def test_nesting_deeper_than_max_depth(tmp_path: Path) -> None:
    level2 = make_zip(tmp_path / "l2.zip", {"x.txt": b"x"}).read_bytes()
    level1 = make_zip(tmp_path / "l1.zip", {"l2.zip": level2}).read_bytes()
    outer = make_zip(tmp_path / "outer.zip", {"l1.zip": level1})
    assert_refused(outer, tmp_path / "out", "l2.zip", max_depth=1)
    extract(outer, tmp_path / "ok", max_depth=2)
    assert tree(tmp_path / "ok") == {"l1/l2/x.txt": b"x"}


def test_nested_refused_when_off(tmp_path: Path) -> None:
    inner = make_zip(tmp_path / "inner.zip", {"x.txt": b"x"}).read_bytes()
    outer = make_zip(tmp_path / "outer.zip", {"inner.zip": inner})
    error = assert_refused(outer, tmp_path / "out", "inner.zip", nested=False)
    assert "nested" in str(error)


def test_hostile_member_inside_nested_archive(tmp_path: Path) -> None:
    inner = make_zip(tmp_path / "inner.zip", {"../../evil": b"x"}).read_bytes()
    outer = make_zip(tmp_path / "outer.zip", {"inner.zip": inner})
    error = assert_refused(outer, tmp_path / "out", "../../evil")
    assert "inner.zip" in str(error)


# --- hostile names and member types ---------------------------------------------------------


ESCAPES = ["../evil", "sub/../../evil", "/etc/x", "C:\\x", "c:x", "\\evil", "a\\..\\..\\b"]


@pytest.mark.parametrize("name", ESCAPES)
@pytest.mark.parametrize("fmt", ["zip", "tar"])
def test_path_escapes(tmp_path: Path, name: str, fmt: str) -> None:
    files = {"ok.txt": b"ok", name: b"payload"}
    make = make_zip if fmt == "zip" else make_tar
    archive = make(tmp_path / f"evil.{fmt}", files)
    assert_refused(archive, tmp_path / "out", name)
    assert not (tmp_path / "evil").exists() and not (tmp_path.parent / "evil").exists()


@pytest.mark.parametrize("name", ["../evil", "/etc/x", "C:\\x"])
def test_7z_path_escapes(tmp_path: Path, name: str) -> None:
    archive = tmp_path / "evil.7z"
    with py7zr.SevenZipFile(archive, "w") as z:
        z.writestr(b"ok", "ok.txt")
        z._writestr(b"payload", name)  # the public writestr() refuses such names
    assert_refused(archive, tmp_path / "out", name.replace("\\", "/"))


def test_7z_symlink_member(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to("/etc/passwd")
    archive = tmp_path / "link.7z"
    with py7zr.SevenZipFile(archive, "w") as z:
        z.write(tmp_path / "link", "link")
    (tmp_path / "link").unlink()
    error = assert_refused(archive, tmp_path / "out", "link")
    assert "symlink" in str(error)


def test_zip_symlink_member(tmp_path: Path) -> None:
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as z:
        info = zipfile.ZipInfo("link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(info, "/etc/passwd")
    error = assert_refused(archive, tmp_path / "out", "link")
    assert "symlink" in str(error)


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE])
def test_tar_link_and_special_members(tmp_path: Path, kind: bytes) -> None:
    archive = tmp_path / "links.tar"
    with tarfile.open(archive, "w") as t:
        info = tarfile.TarInfo("innocent")
        info.type = kind
        info.linkname = "/etc/passwd"
        t.addfile(info)
    error = assert_refused(archive, tmp_path / "out", "innocent")
    expected = {tarfile.SYMTYPE: "symlink", tarfile.LNKTYPE: "hardlink", tarfile.FIFOTYPE: "special"}[kind]
    assert expected in str(error)


def test_duplicate_member(tmp_path: Path) -> None:
    archive = tmp_path / "dup.tar"
    with tarfile.open(archive, "w") as t:
        for name, data in [("a.txt", b"1"), ("./a.txt", b"2")]:  # same file once normalised
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    error = assert_refused(archive, tmp_path / "out", "a.txt")
    assert "duplicate" in str(error)


# --- encryption -----------------------------------------------------------------------------


def test_7z_encrypted_member(tmp_path: Path) -> None:
    archive = make_7z(tmp_path / "secret.7z", {"face.jpg": b"jpeg"}, password="pw")
    error = assert_refused(archive, tmp_path / "out", "face.jpg")
    assert "encrypted" in str(error)


def test_7z_encrypted_headers(tmp_path: Path) -> None:
    archive = tmp_path / "hidden.7z"
    with py7zr.SevenZipFile(archive, "w", password="pw", header_encryption=True) as z:
        z.writestr(b"jpeg", "face.jpg")
    before = listing(tmp_path)
    with pytest.raises(ExtractionError, match=r"hidden\.7z: encrypted archive \(password required\)"):
        extract(archive, tmp_path / "out")
    assert listing(tmp_path) - before <= {".out.lock"}


def test_zip_encrypted_member(tmp_path: Path) -> None:
    data = bytearray(make_zip(tmp_path / "plain.zip", {"face.jpg": b"jpeg"}).read_bytes())
    # zipfile cannot write encrypted members: set the "encrypted" flag bit in both headers.
    data[data.index(b"PK\x03\x04") + 6] |= 1
    data[data.index(b"PK\x01\x02") + 8] |= 1
    archive = tmp_path / "secret.zip"
    archive.write_bytes(bytes(data))
    error = assert_refused(archive, tmp_path / "out", "face.jpg")
    assert "encrypted" in str(error)


# --- bombs and caps -------------------------------------------------------------------------


def test_zip_bomb_by_ratio(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "bomb.zip", {"small.txt": b"hi", "zeros.bin": bytes(5 * 2**20)})
    error = assert_refused(archive, tmp_path / "out", "zeros.bin")
    assert "max_ratio" in str(error)


def test_7z_and_targz_bombs_by_ratio(tmp_path: Path) -> None:
    zeros = {"zeros.bin": bytes(5 * 2**20)}
    assert_refused(make_7z(tmp_path / "bomb.7z", zeros), tmp_path / "o1", "zeros.bin")
    assert_refused(make_tar(tmp_path / "bomb.tgz", zeros), tmp_path / "o2", "zeros.bin")


def test_bomb_with_lying_headers_is_stopped_while_streaming(tmp_path: Path, monkeypatch) -> None:
    archive = make_zip(tmp_path / "liar.zip", {"zeros.bin": bytes(5 * 2**20)})
    real_members = archive_readers._ZipReader.members

    def lying_members(self):  # headers that declare nothing: the up-front check passes
        for m in real_members(self):
            yield archive_readers.Member(m.name, m.kind, 0, m.encrypted)

    monkeypatch.setattr(archive_readers._ZipReader, "members", lying_members)
    error = assert_refused(archive, tmp_path / "out", "zeros.bin")
    assert "uncompressed data" in str(error)


def test_too_many_members(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "many.zip", {f"f{i:02}.txt": b"x" for i in range(10)})
    error = assert_refused(archive, tmp_path / "out", "f05.txt", max_members=5)
    assert "max_members=5" in str(error)


def test_too_many_bytes(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "big.tar", {"a.bin": bytes(1000), "b.bin": bytes(1000)}, "w")
    error = assert_refused(archive, tmp_path / "out", "b.bin", max_total_bytes=1500)
    assert "max_total_bytes=1500" in str(error)


def test_caps_count_nested_archives_too(tmp_path: Path) -> None:
    inner = make_zip(tmp_path / "inner.zip", {f"f{i}.txt": b"x" for i in range(4)}).read_bytes()
    outer = make_zip(tmp_path / "outer.zip", {"a.txt": b"a", "inner.zip": inner})
    assert_refused(outer, tmp_path / "out", "f", max_members=4)
