"""Fit time of the Hallyu index and its validation (issue 17), against the old one-factor fit as baseline.

Run: ``python bench/bench_index.py`` (embedded panel; no network, no raw data). Prints wall times (median
of 5 runs) and the ratio to the baseline: a one-factor model on the same country means (the structure
the index had before issue 17, fitted by the same EM). No targets are asserted; read the ratio.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

import hallyu_forecast as hf
from hallyu_forecast import index as ix
from hallyu_forecast import index_validation as iv
from hallyu_forecast.measurement import FactorModel


def _median_time(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    panel = hf.load_panel()
    fitted, values, variances = ix.fit(panel)
    x, s = fitted.standardise(values, variances)
    _, cx, cs = ix._country_means(x, s, values["iso3"].to_numpy())
    one = np.ones((len(fitted.names), 1), dtype=bool)
    baseline = _median_time(lambda: FactorModel(mask=one, max_iter=5000, tol=1e-7, noise_prior=ix.NOISE_PRIOR).fit(cx, cs))
    rows = [
        ("baseline: one-factor EM on country means", baseline),
        ("two-factor EM on country means (ix.fit)", _median_time(lambda: ix.fit(panel))),
        ("hf.hallyu_index() (fit + score every country-year)", _median_time(lambda: ix.hallyu_index(panel))),
        ("validate_index (all anchors, 2,000 bootstrap draws each)", _median_time(lambda: iv.validate_index(panel), 3)),
        ("invariance screen (500 bootstrap draws)", _median_time(lambda: iv.invariance(panel), 3)),
    ]
    print(f"{'step':60s} {'seconds':>9s} {'x baseline':>11s}")
    for name, seconds in rows:
        print(f"{name:60s} {seconds:9.3f} {seconds / baseline:11.1f}")


if __name__ == "__main__":
    main()
