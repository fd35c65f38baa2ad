"""Size limits that io functions default to and params.yaml can change (curator.config reads them here,
so importing the config does not import Pillow or pyarrow)."""

DEFAULT_MAX_PIXELS = 50_000_000  # ~7000x7000: far above any face image, far below a bomb
DEFAULT_SHARD_BYTES = 500 * 1000**2  # the Hub's advice: Parquet shards of at most ~500 MB
