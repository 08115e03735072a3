"""normal_years and _gaps (numpy, issue 16) equal the row-by-row definitions they replaced."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hallyu_forecast import monthly
from hallyu_forecast.monthly import MAX_REFERENCE_AGE, SHOCK_RATIO, _gaps, _last_normal_before, _log_ratio, normal_years


def _reference_normal_years(w):
    out = {}
    for iso3, part in w.groupby(level="iso3", sort=False):
        normal, last, last_q = [], None, None
        for (_, year), row in part.iterrows():
            values = row.to_numpy(float)
            if np.isnan(values).any():
                continue
            q = values.reshape(4, 3).sum(axis=1)
            if last is None or year - last > MAX_REFERENCE_AGE or not (q < SHOCK_RATIO * last_q).any():
                normal.append(int(year))
                last, last_q = int(year), q
        out[str(iso3)] = normal
    return out


def _reference_gaps(w, normal):
    rows = []
    for (iso3, year), row in w.iterrows():
        ref_year = _last_normal_before(normal.get(str(iso3), []), int(year))
        if ref_year is None or (iso3, ref_year) not in w.index:
            continue
        gap = _log_ratio(row.to_numpy(float), w.loc[(iso3, ref_year)].to_numpy(float))
        for m in range(12):
            if np.isfinite(gap[m]):
                rows.append((str(iso3), int(year) * 12 + m, float(gap[m])))
    return pd.DataFrame(rows, columns=["iso3", "stamp", "gap"])


def _synthetic_wide(seed: int) -> pd.DataFrame:
    # synthetic monthly arrivals: seasonal levels, random shocks (some years at 5-40% of normal),
    # missing months and missing years, so that every branch of the rule is reached
    rng = np.random.default_rng(seed)
    rows, index = [], []
    for c in range(6):
        for year in range(2008, 2024):
            if rng.random() < 0.1:
                continue  # a year absent from the data
            v = 1000 * (1 + c) * (1 + 0.3 * np.sin(np.arange(12))) * rng.uniform(0.8, 1.2, 12)
            if rng.random() < 0.25:
                v[rng.integers(0, 12):] *= rng.uniform(0.05, 0.4)  # a shock from some month on
            v[rng.random(12) < 0.05] = np.nan
            rows.append(v)
            index.append((f"C{c}", year))
    return pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=["iso3", "year"]), columns=range(1, 13))


@pytest.mark.parametrize("seed", range(8))
def test_equal_to_the_row_by_row_definitions(seed):
    w = _synthetic_wide(seed)
    normal = normal_years(w)
    assert normal == _reference_normal_years(w)
    fast, slow = _gaps(w, normal), _reference_gaps(w, normal)
    assert fast["iso3"].tolist() == slow["iso3"].tolist() and fast["stamp"].tolist() == slow["stamp"].tolist()
    # the same logs of the same numbers; a tolerance only for a libm that vectorises differently
    np.testing.assert_allclose(fast["gap"].to_numpy(), slow["gap"].to_numpy(), rtol=1e-12, atol=1e-15)


def test_on_the_embedded_monthly_panel_at_an_in_year_origin():
    w = monthly.wide(monthly._truncate(monthly.load_monthly(), 2022, 6))
    normal = normal_years(w)
    assert normal == _reference_normal_years(w)
    assert len(_gaps(w, normal)) == len(_reference_gaps(w, normal)) > 1000
