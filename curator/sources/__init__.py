"""One module per source ("recipe"), each with download() and prepare()."""
