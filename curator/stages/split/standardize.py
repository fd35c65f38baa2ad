"""standardize: z-score the physio features with statistics fitted on the train split only.

Split decides which records are train; this module fits one running mean / standard deviation per
feature over them (Welford, streaming) and fills `physio_z` for every record. The statistics are
published with the data (standardization.json), and raw values stay in `physio`.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import pyarrow as pa

from curator.record.schema import physio_fields

METHOD = "z-score (x - mean) / std, std with n-1"
LIMIT = 1e100
"""The largest physio magnitude standardization takes. The fit sums squared deviations: values up to
1e100 keep every sum below 1e300 for any number of records a float64 count can hold (the largest
float is ~1.8e308), so the fit never overflows; no measured feature comes near it. A larger value
(1e308 in a CSV) or an infinite one would make the statistics infinite and every z-score of that
feature 0 or NaN: such a record is left out of the split (`physio_out_of_range`)."""


class RunningStats:
    """Streaming mean / standard deviation (Welford), one per physio feature."""

    def __init__(self) -> None:
        self.n: Counter = Counter()
        self.mean: dict[str, float] = defaultdict(float)
        self.m2: dict[str, float] = defaultdict(float)

    def add(self, physio: dict[str, float | None] | None) -> None:
        for name, value in (physio or {}).items():
            if value is None:
                continue
            self.n[name] += 1
            delta = value - self.mean[name]
            self.mean[name] += delta / self.n[name]
            self.m2[name] += delta * (value - self.mean[name])

    def result(self) -> dict[str, dict[str, float]]:
        out = {}
        for name in physio_fields():
            n = self.n[name]
            if n:
                std = math.sqrt(self.m2[name] / (n - 1)) if n > 1 else 0.0
                out[name] = {"mean": self.mean[name], "std": std, "n": n}
        return out


def out_of_range(physio: dict[str, float | None] | None) -> str | None:
    """Why standardization cannot take this record's physio values, or None."""
    for name, value in (physio or {}).items():
        if value is not None and not (math.isfinite(value) and abs(value) <= LIMIT):
            return f"physio {name}={value!r} is beyond ±{LIMIT:g}: standardizing it would overflow"
    return None


def zscore(physio: dict[str, float | None] | None, stats: dict[str, dict[str, float]]) -> dict | None:
    if physio is None:
        return None
    out: dict[str, float | None] = {}
    for name, value in physio.items():
        s = stats.get(name)
        if value is None or s is None:
            out[name] = None
        else:  # a constant feature carries no information: centre it, do not divide by 0
            out[name] = (value - s["mean"]) / s["std"] if s["std"] > 0 else 0.0
    return out


def standardize_table(table: pa.Table, stats: dict[str, dict[str, float]]) -> pa.Table:
    """`table` with `physio_z` filled from `physio` and the fitted statistics."""
    physio_z = [zscore(p, stats) for p in table.column("physio").to_pylist()]
    index = table.schema.get_field_index("physio_z")
    return table.set_column(index, "physio_z", pa.array(physio_z, type=table.schema.field("physio_z").type))
