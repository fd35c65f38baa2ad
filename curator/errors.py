"""Expected failures. The CLI prints these as one line and exits 1 (no traceback)."""


class CuratorError(Exception):
    """An expected, explainable failure: bad input, missing credentials, refused archive..."""


class DownloadError(CuratorError):
    """A download failed for a reason worth one clear line (404, checksum mismatch...)."""


class ExtractionError(CuratorError):
    """An archive was refused; the message names the archive and the member."""


class SchemaError(CuratorError):
    """Input data does not have the layout or schema we know how to read."""
