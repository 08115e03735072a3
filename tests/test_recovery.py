"""The recovery model learned from episodes (hallyu_forecast.recovery): leakage and estimation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hallyu_forecast.errors import ConfigError
from hallyu_forecast.monthly import load_monthly
from hallyu_forecast.recovery import fit_closing, recovery_forecast, training_points


@pytest.fixture(scope="module")
def monthly():
    return load_monthly()


COLUMNS = ["prediction", "lower", "upper", "lower_95", "upper_95", "c", "anchor"]


@pytest.mark.parametrize("origin", [2020, "2021-12", "2017-12"])
def test_months_after_the_origin_never_change_a_forecast(monthly, origin):
    base = recovery_forecast(origin, monthly)
    assert len(base)  # countries in or just after an episode at every one of these origins
    year, month = (origin, 12) if isinstance(origin, int) else map(int, origin.split("-"))
    after = monthly["year"] * 12 + monthly["month"] > year * 12 + month
    rng = np.random.default_rng(0)
    for change in ("scale", "drop"):
        moved = monthly.copy()
        if change == "scale":  # every later month multiplied by a random factor (ends or starts episodes)
            moved.loc[after, "arrivals_0_30"] *= rng.uniform(0.01, 5.0, int(after.sum()))
        else:
            moved = moved[~after]
        out = recovery_forecast(origin, moved)
        pd.testing.assert_frame_equal(base[["iso3", *COLUMNS]], out[["iso3", *COLUMNS]])


def test_an_episode_ending_after_the_origin_is_not_a_training_episode(monthly):
    cut = monthly[monthly["year"] * 12 + monthly["month"] <= 2015 * 12 + 12]
    points = training_points(cut, 2015 * 12 + 11, 12)
    # at 2015-12 the MERS episodes of TWN and THA (ending 2016-01) are still open: not learned from
    assert not points["episode"].isin(["TWN 2015-06", "THA 2015-06"]).any()
    assert (points["origin_stamp"] // 12 + 1 <= 2015).all()  # every target year complete at the origin (2015-12)


def test_annual_origin_is_december(monthly):
    a = recovery_forecast(2021, monthly)
    b = recovery_forecast("2021-12", monthly)
    pd.testing.assert_frame_equal(a.drop(columns="origin"), b.drop(columns="origin"))
    assert (a["target_year"] == 2022).all()


def test_fit_closing_recovers_a_known_share():
    # SYNTHETIC points: half of every gap is left a year later, plus small noise
    rng = np.random.default_rng(1)
    g0 = -rng.uniform(0.2, 3.0, 40)
    pts = pd.DataFrame({"episode": [f"E{i}" for i in range(40)], "g0": g0, "G": 0.5 * g0 + rng.normal(0, 0.01, 40)})
    for est in ("share", "ls"):
        assert fit_closing(pts, est)["c"] == pytest.approx(0.5, abs=0.02)  # noise 0.01 on gaps >= 0.2
    assert fit_closing(pts.head(2))["fallback"]
    with pytest.raises(ConfigError, match="`estimator` must be one of"):
        fit_closing(pts, "mean")


def test_bad_origin_is_refused(monthly):
    with pytest.raises(ConfigError, match="'YYYY-MM'"):
        recovery_forecast("2021-13", monthly)
