"""The normalize stage: every source's labels into the taxonomy (stage.py)."""
