"""New markets from the drivers model and the blend (hallyu_forecast.new_markets): weights, intervals, leakage."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from hallyu_forecast.config import load_config
from hallyu_forecast.new_markets import (
    WEIGHTS,
    choose_weight,
    coverage_interval,
    half_widths,
    inner_errors,
    score_comparison,
)
from hallyu_forecast.panel import load_panel


def _synthetic_inner(weight: float, n_countries: int = 12, seed: int = 0) -> pd.DataFrame:
    """Synthetic inner out-of-fold forecasts whose best blend is exactly ``weight``."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_countries):
        for h in (1, 2, 3):
            for year in range(4):
                a, b = rng.normal(0, 1, 2)
                rows.append({"iso3": f"S{c:02d}", "horizon": h, "new_market": a, "drivers": b,
                             "y": weight * a + (1 - weight) * b})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("weight", [0.0, 0.3, 0.7, 1.0])
def test_the_weight_minimising_inner_error_is_chosen(weight):
    assert choose_weight(_synthetic_inner(weight)) == pytest.approx(weight)
    assert weight in WEIGHTS


def test_half_widths_by_country_score_each_country_once():
    inner = _synthetic_inner(0.5)
    inner["y"] = inner["drivers"]  # the drivers model is exact ...
    bad = inner["iso3"] == "S00"
    inner.loc[bad, "drivers"] += 10.0  # ... except in one country, in every year
    by_country = half_widths(inner, 0.0, 1, by="country")["drivers"]
    by_row = half_widths(inner, 0.0, 1, by="row")["drivers"]
    # 12 countries: the 80% conformal quantile over countries is the 11th smallest country score (0)
    assert by_country[0.8] == pytest.approx(0.0, abs=1e-12)
    assert by_country[0.95] == pytest.approx(10.0)  # the 95% one is the largest: the bad country
    assert by_row[0.95] == pytest.approx(10.0)


def test_half_widths_borrow_a_shorter_horizon_scaled_by_sqrt_h():
    inner = _synthetic_inner(1.0)
    inner["y"] += np.where(inner["iso3"] < "S06", 1.0, -1.0)  # every absolute error is 1 (weight 1)
    short = inner[inner["horizon"] == 1]
    assert half_widths(short, 1.0, 3)["new_market"][0.8] == pytest.approx(np.sqrt(3.0))


def test_coverage_interval_resamples_whole_countries():
    hit = pd.Series([1.0] * 10 + [0.0] * 10)
    countries = pd.Series(["A"] * 10 + ["B"] * 10)
    share, lo, hi = coverage_interval(hit, countries, reps=500)
    assert share == 0.5 and lo == 0.0 and hi == 1.0  # two countries: either one can be drawn twice


def test_score_comparison_ratios_and_coverage_on_synthetic_rows():
    rng = np.random.default_rng(1)
    n = 60
    y = rng.normal(0, 2, n)
    pred = pd.DataFrame({"iso3": [f"C{i % 15}" for i in range(n)], "horizon": np.tile([1, 2, 3], n // 3), "y": y,
                         "global_mean": 0.0, "continent_mean": 0.0, "new_market": y / 2, "drivers": y / 2,
                         "blend": y / 2})
    for m in ("new_market", "drivers", "blend"):
        pred[f"{m}_hw80"] = pred[f"{m}_hw95"] = pred[f"{m}_hw80_row"] = pred[f"{m}_hw95_row"] = 1e9
    table = score_comparison(pred, reps=50).set_index(["horizon", "method"])
    assert table.loc[("all", "drivers"), "vs_global"] == pytest.approx(0.5)  # half the error of predicting 0
    assert table.loc[("all", "blend"), "vs_nm"] == pytest.approx(1.0)
    assert table.loc[("all", "drivers"), "cov80"] == 1.0


@pytest.fixture(scope="module")
def features():
    cfg = load_config("default")
    return cfg, cfg.build_features(load_panel())


def test_inner_cross_validation_sees_only_training_countries_and_known_years(features):
    """Changing the target of any other country, or of any target year after the origin, changes nothing."""
    cfg, fm = features
    countries = sorted(fm.frame.loc[fm.frame["y"].notna(), "iso3"].unique())[:16]
    params = cfg.make_forecaster()._new_market_lgbm_params()
    before = inner_errors(fm, countries, 2013, cfg, params, folds=3)
    assert len(before) and (before["iso3"].isin(countries)).all()
    frame = fm.frame.copy()
    outside = ~frame["iso3"].isin(countries) | (frame["target_year"] > 2013)
    frame.loc[outside, "y"] = 99.0
    later = ~frame["iso3"].isin(countries) | (frame["origin"] > 2013)
    frame.loc[later, "y_origin"] = -99.0
    after = inner_errors(dataclasses.replace(fm, frame=frame), countries, 2013, cfg, params, folds=3)
    pd.testing.assert_frame_equal(before, after)
