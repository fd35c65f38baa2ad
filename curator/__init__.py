"""emotion-curator: download, normalize, split, augment and publish facial-emotion datasets."""

__version__ = "0.1.0"
