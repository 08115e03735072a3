"""Rolling-origin backtest: the leakage rule, metrics, bootstrap, new markets, COVID; synthetic and real data."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator

from hallyu_forecast.evaluation import BacktestResult, backtest, bootstrap_ratio
from hallyu_forecast.baselines import PersistenceDrift
from hallyu_forecast.config import BacktestSplit, ExperimentConfig, load_config
from hallyu_forecast.errors import DataError
from hallyu_forecast.forecaster import HallyuForecaster
from hallyu_forecast.model_base import output_frame
from test_forecaster import synthetic_feature_matrix

SPLIT = BacktestSplit(origins=(2011, 2012, 2013, 2014), horizons=(1, 2, 3))
CFG = ExperimentConfig(name="synthetic", split=SPLIT, bootstrap_reps=200, lco_folds=3, covid_origins=(2020, 2021))
FIT_LOG: list[tuple[int, set[int]]] = []


class SpyModel(BaseEstimator):
    """Records the latest target year it was trained on and the origins it was asked to forecast."""

    def __init__(self, tag="spy"):
        self.tag = tag

    def fit(self, fm, y=None):
        self.max_target_year_ = int(fm.frame["target_year"].max())
        self.max_y_year_ = int(fm.frame.loc[fm.frame["y"].notna(), "target_year"].max())
        return self

    def predict(self, fm):
        FIT_LOG.append((self.max_target_year_, set(fm.frame["origin"].unique())))
        return output_frame(fm.frame.reset_index(drop=True), fm.frame["y_origin"].to_numpy(), (0.8, 0.95), "spy")


@pytest.fixture(scope="module")
def synthetic_fm():
    return synthetic_feature_matrix()


@pytest.fixture(scope="module")
def synthetic_result(synthetic_fm):
    return backtest(CFG, fm=synthetic_fm)


# ------------------------------------------------------------------------------ leakage rule
def test_no_training_row_after_the_origin(synthetic_fm):
    FIT_LOG.clear()
    backtest(CFG, fm=synthetic_fm, models={"spy": SpyModel()}, new_market=False, covid=False)
    assert len(FIT_LOG) == len(SPLIT.origins)
    for max_target_year, origins in FIT_LOG:
        assert len(origins) == 1
        assert max_target_year <= min(origins)


def _perturb_future(fm, t, seed=1):
    """Change every value that is only known after year t (targets, and origin rows after t)."""
    rng = np.random.default_rng(seed)
    f = fm.frame.copy()
    future_y = f["target_year"] > t
    f.loc[future_y, "y"] = f.loc[future_y, "y"] + rng.normal(0, 1, future_y.sum())
    later = f["origin"] > t
    for col in ["y_origin", *fm.features]:
        f.loc[later, col] = f.loc[later, col] + rng.normal(0, 1, later.sum())
    return replace(fm, frame=f)


def test_future_targets_do_not_change_predictions(synthetic_fm):
    t = 2013
    cfg = replace(CFG, split=BacktestSplit(origins=(t,)))
    models = {"forecaster": HallyuForecaster(n_estimators=40), "persistence_drift": PersistenceDrift()}
    a = backtest(cfg, fm=synthetic_fm, models=models, new_market=False, covid=False, bootstrap_reps=0)
    b = backtest(cfg, fm=_perturb_future(synthetic_fm, t), models=models, new_market=False, covid=False,
                 bootstrap_reps=0)
    cols = ["model", "iso3", "origin", "horizon", "prediction", "lower_80", "upper_80", "lower_95", "upper_95"]
    pd.testing.assert_frame_equal(a.predictions[cols], b.predictions[cols])
    assert not np.allclose(a.predictions["y"], b.predictions["y"])  # the truth did change


# --------------------------------------------------------------------------------- the result
def test_result_tables(synthetic_result):
    r = synthetic_result
    assert isinstance(r, BacktestResult)
    assert set(r.metrics["model"]) == {"forecaster", "persistence", "persistence_drift", "persistence_median_drift", "country_mean", "ridge"}
    assert set(r.metrics.columns) >= {"model", "horizon", "n", "rmse", "mae", "mase"}
    s = r.summary()
    assert list(s["horizon"]) == [1, 2, 3]
    for col in ("rmse_forecaster", "rmse_persistence", "ratio_vs_persistence_drift", "ratio_vs_persistence_drift_lo",
                "coverage_80", "coverage_95"):
        assert col in s
    assert (s["ratio_vs_persistence_lo"] <= s["ratio_vs_persistence"]).all()
    assert (s["ratio_vs_persistence"] <= s["ratio_vs_persistence_hi"]).all()
    assert s["coverage_80"].between(0, 1).all() and (s["coverage_95"] >= s["coverage_80"]).all()
    frames = r.to_frames()
    assert {"summary", "metrics", "by_country", "ratios", "coverage", "predictions", "new_market", "covid"} <= set(frames)
    assert "RMSE per horizon" in r.report()
    # every model is scored on the same rows
    assert r.metrics.groupby("horizon")["n"].nunique().eq(1).all()


def test_scored_rows_exclude_covid_targets(synthetic_fm):
    cfg = replace(CFG, split=BacktestSplit(origins=(2018,)))
    r = backtest(cfg, fm=synthetic_fm, models={"persistence_drift": PersistenceDrift()}, new_market=False,
                 covid=False, bootstrap_reps=0)
    assert set(r.predictions["target_year"]) == {2019}


def test_metrics_by_hand(synthetic_result):
    p = synthetic_result.predictions
    p = p[(p["model"] == "persistence") & (p["horizon"] == 2)]
    e = p["y"] - p["prediction"]
    m = synthetic_result.metrics.set_index(["model", "horizon"]).loc[("persistence", 2)]
    assert m["rmse"] == pytest.approx(np.sqrt((e ** 2).mean()))
    assert m["mae"] == pytest.approx(e.abs().mean())
    assert m["mase"] == pytest.approx((e.abs() / p["scale"]).mean())


def test_bootstrap_ratio_seeded():
    rng = np.random.default_rng(0)
    countries = pd.Series(np.repeat(list("ABCDEFGHIJ"), 5))
    a, b = pd.Series(rng.normal(0, 1, 50)), pd.Series(rng.normal(0, 2, 50))
    r1 = bootstrap_ratio(a, b, countries, reps=500, seed=4)
    r2 = bootstrap_ratio(a, b, countries, reps=500, seed=4)
    assert r1 == r2
    assert r1[0] == pytest.approx(np.sqrt((a ** 2).sum() / (b ** 2).sum()))
    assert r1[1] < r1[0] < r1[2]


def test_new_market_and_covid_evaluations(synthetic_result):
    nm = synthetic_result.new_market
    assert set(nm["model"]) == {"new_market", "global_mean", "continent_mean"}
    assert nm.loc[nm["model"] == "new_market", "coverage_80"].between(0, 1).all()
    covid = synthetic_result.covid
    assert {"anchor_recovery", "back_to_2019", "none", "persistence", "persistence_drift"} <= set(covid["method"])
    assert set(covid["origin"]) == {2020, 2021}
    assert (covid["target_year"] <= 2022).all()


def test_origin_without_training_rows_raises(synthetic_fm):
    cfg = replace(CFG, split=BacktestSplit(origins=(2005,)))
    with pytest.raises(DataError, match=re.escape(
            "Origin 2005: no training rows with a known target (target `synthetic_target` is known in 2005-2022)")):
        backtest(cfg, fm=synthetic_fm)


# ------------------------------------------------------------------------------------ real data
@pytest.fixture(scope="module")
def panel():
    from hallyu_forecast.panel import load_panel

    return load_panel()


@pytest.mark.slow
def test_real_future_panel_values_do_not_change_predictions(panel):
    t = 2015
    cfg = replace(load_config(), split=BacktestSplit(origins=(t,)))
    models = {"forecaster": cfg.make_forecaster(), "ridge": __import__("hallyu_forecast.baselines").baselines.RidgeBaseline()}
    later = panel["year"] > t
    changed = panel.copy()
    rng = np.random.default_rng(0)
    changed.loc[later, "arrivals_0_30"] *= rng.uniform(0.2, 5.0, later.sum())
    changed.loc[later, "gdp_pc_ppp_2021"] *= rng.uniform(0.5, 2.0, later.sum())
    a = backtest(cfg, panel=panel, models=models, new_market=False, covid=False, bootstrap_reps=0)
    b = backtest(cfg, panel=changed, models=models, new_market=False, covid=False, bootstrap_reps=0)
    cols = ["model", "iso3", "horizon", "prediction", "lower_80", "upper_95"]
    pd.testing.assert_frame_equal(a.predictions[cols], b.predictions[cols])
    assert not np.allclose(a.predictions["y"], b.predictions["y"])


@pytest.mark.slow
def test_real_default_backtest(panel):
    r = backtest(load_config(), panel=panel, bootstrap_reps=200)
    s = r.summary().set_index("horizon")
    assert (s["rmse_forecaster"] < s["rmse_persistence"]).all()
    assert (s["ratio_vs_persistence_drift"] < 1.05).all()
    assert s["coverage_80"].between(0.6, 1).all() and s["coverage_95"].between(0.8, 1).all()
    assert not r.new_market.empty and not r.covid.empty
    assert set(r.timings) >= {"total_s"}  # the time itself is a bench/bench_models.py figure


def test_real_language_target_too_short(panel):
    with pytest.raises(DataError, match=re.escape(
            "Origin 2022: no training rows with a known target (target `language_students_per_capita` is known in")):
        backtest("language_students_per_capita", panel=panel)
