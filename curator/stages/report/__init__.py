"""The report stage: one HTML page and `dvc plots` data. Read stage.py first; data.py loads the build,
counts.py and quality.py write the sections, charts.py / thumbnails.py / agreement.py / annotators.py the
pictures and figures they show."""
