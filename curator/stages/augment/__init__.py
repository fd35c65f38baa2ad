"""The augment stage: extra train records. Read stage.py first; children.py writes them in order,
policy.py loads the albumentations policy, rows.py / worker.py do one record's work, raydata.py runs it on
Ray Data, grid.py draws the before/after picture."""
