"""Reject reason codes: the one list every stage, recipe and test uses, each with its meaning.

A reject is never silent: each carries one of these codes plus a free-text detail. A code has one
meaning; a new kind of problem gets a new code here (`curator reasons` prints this table). Whether a
code is an exclusion (left out on purpose: not a problem to fix) is a property of the code,
`Reason.X.excluded`, which the report, the card, the metrics and inspect read.
"""

from __future__ import annotations

from enum import Enum

EXCLUSION = True  # the third item of a member: the code names something left out on purpose


class Reason(str, Enum):
    meaning: str
    excluded: bool

    def __new__(cls, code: str, meaning: str, excluded: bool = False) -> Reason:
        member = str.__new__(cls, code)
        member._value_ = code
        member.meaning = meaning
        member.excluded = excluded
        return member

    # image validation (curator.io.images)
    EMPTY_FILE = "empty_file", "the image file has no bytes"
    NOT_AN_IMAGE = "not_an_image", "the bytes are not an image format Pillow can open"
    TRUNCATED_IMAGE = "truncated_image", "the image stops before its end"
    CORRUPT_IMAGE = "corrupt_image", "the image decodes partly: a bad chunk or a broken stream"
    TOO_MANY_PIXELS = "too_many_pixels", "more pixels than prepare.max_image_pixels (a decompression bomb)"
    UNSUPPORTED_PIXELS = "unsupported_pixels", "pixels with no agreed 8-bit form: 32-bit integers beyond 0-65535, " \
        "floats outside [0, 1] or not finite, a mode Pillow cannot turn into RGB (io/images.py upright_8bit)"
    IMAGE_TOO_SMALL = "image_too_small", "under 8 px wide or high (io/images.py MIN_SIDE): no face, and fewer " \
        "pixels than its own fingerprint"
    UNSUPPORTED_IMAGE = "unsupported_image", "an image Pillow opens but in a mode we cannot store faithfully"
    # record-level problems found by recipes
    BAD_VALUE = "bad_value", "a value missing, not a number, or NaN where a number is required"
    MISSING_FIELD = "missing_field", "a record lacks a required column (id, source, group_id, license)"
    DUPLICATE_ID = "duplicate_id", "a second record with an id already kept; the first one stays"
    INVALID_RECORD = "invalid_record", "a record with a key the schema lacks, or a value its column cannot store"
    UNPAIRED = "unpaired", "a visible image without its infrared image, or the reverse"
    AMBIGUOUS_PAIR = "ambiguous_pair", "one pairing key matched several files"
    MALFORMED_ANNOTATION = "malformed_annotation", "an annotation row or cell that cannot be parsed"
    MISSING_IMAGE = "missing_image", "the labels name an image that is not in the download"
    MISSING_LABEL = "missing_label", "a sample's files are there but the label table has no row for it"
    MISSING_EYE_DATA = "missing_eye_data", "a labelled sample has no (or an empty) eye-tracking file"
    MISSING_FACE_FRAMES = "missing_face_frames", "a labelled sample has no frame folder, or one without images"
    STRAY_FILE = "stray_file", "a file where the source's layout has none (e.g. a non-image in a frame folder)"
    UNREADABLE_FILE = "unreadable_file", "a data file (not an image) that cannot be opened, e.g. a corrupt .xlsx"
    OUTSIDE_DELIVERY = "outside_delivery", "a link in the raw folder to a file or folder outside it: never " \
        "followed (copy the file in to read it)"
    UNDECODABLE_NAME = "undecodable_name", "a file name (or a name inside an archive) that is not UTF-8, shown " \
        "escaped: rename the file to read it"
    UNEXPECTED_COLUMNS = "unexpected_columns", "a data file has two columns for one required field (EMER's gaze " \
        "pair spelled with and without [DACS px]); other unknown columns are read generically or listed as not read"
    # deliberately left out by recipes (excluded, not lost): each counts as an input and a reject
    SOURCE_AUGMENTED_COPY = "source_augmented_copy", "the source's own augmented or re-saved copy of an original", \
        EXCLUSION
    UNSUPPORTED_MODALITY = "unsupported_modality", "an image view or a subset the record has no column for (VIRI's " \
        "MSX, EMER's eye fixation maps)", EXCLUSION
    WORKING_FILE = "working_file", "a file of the authors' working folder beside the data (model weights, plots, " \
        "confusion matrices, notebooks, another project's folder): not a sample, left out, counted", EXCLUSION
    OTHER_DATASET = "other_dataset", "an image of the other study in a shared download (VIRI in NVIE's or the " \
        "reverse): left out here, that study's recipe reads it", EXCLUSION
    UNJOINED_ANNOTATION = "unjoined_annotation", "annotation rows for an image no record matches (EmoNet hq.csv rows " \
        "whose content signature matches no Parquet row): left out, counted", EXCLUSION
    # taxonomy (normalize)
    UNKNOWN_LABEL = "unknown_label", "a source label its label map (curator/sources/<name>/labels.yaml) lacks"
    # publish
    EXCLUDED = "excluded", "left out on purpose: publish.include does not list the record's source", EXCLUSION
    UNPUBLISHABLE = "unpublishable", "a record that no published config takes (it has no image, infrared or physio)"
    AUGMENT_UNCHANGED = "augment_unchanged", "an augmented copy whose image bytes equal its parent's"
    # augment
    AUGMENT_FAILED = "augment_failed", "the parent image decodes, but the policy could not produce its copies"
    # split: dedup and standardization
    DUPLICATE_CONTENT = "duplicate_content", "same or near-same image as a record kept (dedup.drop_within_split)"
    PHYSIO_OUT_OF_RANGE = "physio_out_of_range", "a physio value not finite, or beyond ±1e100: standardizing it " \
        "would overflow float64"

    def __str__(self) -> str:
        return self.value


def is_exclusion(code: str) -> bool:
    """Whether a reason code as written in rejects.jsonl or metrics names an exclusion (an unknown code: no)."""
    try:
        return Reason(code).excluded
    except ValueError:
        return False
