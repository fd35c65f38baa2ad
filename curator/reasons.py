"""Reject reason codes: the one list every stage, recipe and test uses.

A reject is never silent: each carries one of these codes plus a free-text detail.
"""

from enum import Enum


class Reason(str, Enum):
    # image validation (curator.io.images)
    EMPTY_FILE = "empty_file"
    NOT_AN_IMAGE = "not_an_image"
    TRUNCATED_IMAGE = "truncated_image"
    CORRUPT_IMAGE = "corrupt_image"  # decodes partly: bad chunk, broken stream
    TOO_MANY_PIXELS = "too_many_pixels"  # decompression bomb
    UNSUPPORTED_IMAGE = "unsupported_image"
    # record-level problems found by recipes
    BAD_VALUE = "bad_value"  # missing / non-numeric / NaN where a number is required
    MISSING_FIELD = "missing_field"
    DUPLICATE_ID = "duplicate_id"
    UNPAIRED = "unpaired"  # visible without IR or IR without visible
    AMBIGUOUS_PAIR = "ambiguous_pair"  # one stem matched several files
    MALFORMED_ANNOTATION = "malformed_annotation"
    MISSING_IMAGE = "missing_image"  # labels reference an image that is not there
    MISSING_LABEL = "missing_label"  # a sample's files are there but the label table has no row for it
    MISSING_EYE_DATA = "missing_eye_data"  # a labelled sample has no (or an empty) eye-tracking file (EMER)
    MISSING_FACE_FRAMES = "missing_face_frames"  # a labelled sample has no frame folder, or one without images
    STRAY_FILE = "stray_file"  # a file where the source's layout has none (e.g. a non-image in a frame folder)
    UNREADABLE_FILE = "unreadable_file"  # a data file (not an image) that cannot be opened, e.g. a corrupt .xlsx
    UNEXPECTED_COLUMNS = "unexpected_columns"  # a data file has columns schemas/ does not declare, or two for one
    # taxonomy (normalize)
    UNKNOWN_LABEL = "unknown_label"
    # publish
    EXCLUDED = "excluded"  # publish.include in params.yaml leaves the source out
    # dedup (split)
    DUPLICATE_CONTENT = "duplicate_content"

    def __str__(self) -> str:
        return self.value
