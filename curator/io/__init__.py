"""Safe I/O primitives: image validation, atomic writes, Parquet shards, rejects, downloads."""
