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
    # annotations for an image that cannot be matched to any record (EmoNet-Face hq.csv rows whose
    # content signature matches no Parquet row): deliberately left out, counted
    UNJOINED_ANNOTATION = "unjoined_annotation"
    # taxonomy (normalize)
    UNKNOWN_LABEL = "unknown_label"
    # publish
    EXCLUDED = "excluded"  # publish.include in params.yaml leaves the source out
    # dedup (split)
    DUPLICATE_CONTENT = "duplicate_content"

    def __str__(self) -> str:
        return self.value
