"""The prepare stage: raw files of one source -> unified records. Read stage.py first (the driver);
items.py holds the per-item rules both engines share, worker.py the image work done in worker processes,
raydata.py the `--executor ray` path for raw data on storage."""
