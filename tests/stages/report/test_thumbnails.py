"""Report thumbnails: a rejected file is found where its reject says (also inside a zip) and drawn as far
as it decodes."""

from __future__ import annotations

import io
import zipfile

from PIL import Image

from curator.stages.report.thumbnails import raw_file, thumb_uri


def _jpeg(size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.effect_noise(size, 60).convert("RGB").save(buf, "JPEG")
    return buf.getvalue()


def test_a_rejected_file_inside_a_zip_is_found_and_a_truncated_one_drawn_partly(tmp_path):
    whole = _jpeg()
    truncated = whole[: len(whole) // 2]
    with zipfile.ZipFile(tmp_path / "VIRI-Sad-Vis.zip", "w") as zf:
        zf.writestr("Sad-Vis/IMG_1.JPG", truncated)
    (tmp_path / "plain.jpg").write_bytes(whole)
    assert raw_file(tmp_path, "VIRI-Sad-Vis.zip/Sad-Vis/IMG_1.JPG") == truncated
    assert raw_file(tmp_path, "plain.jpg") == whole
    assert raw_file(tmp_path, "VIRI-Sad-Vis.zip/Sad-Vis/missing.JPG") is None
    assert raw_file(tmp_path, "gone.jpg") is None and raw_file(tmp_path, None) is None
    assert thumb_uri(truncated) is None  # a record's image must decode whole
    assert thumb_uri(truncated, partial=True).startswith("data:image/jpeg;base64,")
    assert thumb_uri(b"not an image", partial=True) is None
