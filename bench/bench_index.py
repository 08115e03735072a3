"""Fit time of the Hallyu index and its validation (issue 17), against the old one-factor fit as baseline.

Run: ``python bench/bench_index.py`` (embedded panel; no network, no raw data). Prints wall times (median
of 5 runs) and the ratio to the baseline: a one-factor model on the same country means (the structure
the index had before issue 17, fitted by the same EM). No targets are asserted; read the ratio.
"""

from __future__ import annotations

import numpy as np
from _timing import median_seconds  # bench/_timing.py (the script's folder is on sys.path)

import hallyu_forecast as hf
from hallyu_forecast import index as ix
from hallyu_forecast import index_validation as iv
from hallyu_forecast.measurement import FactorModel


def main() -> None:
    panel = hf.load_panel()
    fitted, values, variances = ix.fit(panel)
    x, s = fitted.standardise(values, variances)
    _, cx, cs = ix._country_means(x, s, values["iso3"].to_numpy())
    one = np.ones((len(fitted.names), 1), dtype=bool)
    baseline = median_seconds(
        lambda: FactorModel(mask=one, max_iter=5000, tol=1e-7, noise_prior=ix.NOISE_PRIOR).fit(cx, cs), 5)
    rows = [
        ("baseline: one-factor EM on country means", baseline),
        ("two-factor EM on country means (ix.fit)", median_seconds(lambda: ix.fit(panel), 5)),
        ("hf.hallyu_index() (fit + score every country-year)",
         median_seconds(lambda: ix.hallyu_index(panel), 5)),
        ("validate_index (all anchors, 2,000 bootstrap draws each)",
         median_seconds(lambda: iv.validate_index(panel), 3)),
        ("invariance screen (500 bootstrap draws)", median_seconds(lambda: iv.invariance(panel), 3)),
    ]
    print(f"{'step':60s} {'seconds':>9s} {'x baseline':>11s}")
    for name, seconds in rows:
        print(f"{name:60s} {seconds:9.3f} {seconds / baseline:11.1f}")


if __name__ == "__main__":
    main()
