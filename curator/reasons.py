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
    IMAGE_TOO_SMALL = "image_too_small"  # under 8 px wide or high (curator.io.images.MIN_SIDE): no face, no fingerprint
    UNSUPPORTED_IMAGE = "unsupported_image"
    # record-level problems found by recipes
    BAD_VALUE = "bad_value"  # missing / non-numeric / NaN where a number is required
    MISSING_FIELD = "missing_field"
    DUPLICATE_ID = "duplicate_id"
    INVALID_RECORD = "invalid_record"  # a key the schema lacks, or a value its column cannot store
    UNPAIRED = "unpaired"  # visible without IR or IR without visible
    AMBIGUOUS_PAIR = "ambiguous_pair"  # one stem matched several files
    MALFORMED_ANNOTATION = "malformed_annotation"
    MISSING_IMAGE = "missing_image"  # labels reference an image that is not there
    # taxonomy (normalize)
    UNKNOWN_LABEL = "unknown_label"
    # publish
    EXCLUDED = "excluded"  # publish.include in params.yaml leaves the source out
    # augment
    AUGMENT_FAILED = "augment_failed"  # the parent decodes, but the policy could not produce its copies
    # split: dedup and standardization
    DUPLICATE_CONTENT = "duplicate_content"
    PHYSIO_OUT_OF_RANGE = "physio_out_of_range"  # a physio value not finite, or beyond ±1e100: z-scores would overflow

    def __str__(self) -> str:
        return self.value
