"""HallyuForecaster and baselines on synthetic feature matrices (no real data needed)."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from hallyu_forecast.baselines import CountryMean, Persistence, PersistenceDrift, RidgeBaseline, make_baseline
from hallyu_forecast.errors import ConfigError, DataError, ModelError
from hallyu_forecast.features import FeatureMatrix, Specs, TargetSpec, take_rows
from hallyu_forecast.forecaster import HallyuForecaster
from hallyu_forecast.model_base import LGBM_DEFAULTS, conformal_quantile
from hallyu_forecast.new_market_model import NewMarketModel

FEATURES = {"target_last": "history", "target_change_1y": "history", "global_change_1y": "history",
            "x_static": "local_conditions", "x_policy": "government_support", "x_shock": "regime"}


def synthetic_panel(n_countries=12, years=range(2005, 2023), seed=0, covid=True, new_markets=("ZZA",)):
    """A country-year frame: persistent levels, country growth tied to covariates, a COVID collapse."""
    rng = np.random.default_rng(seed)
    codes = [f"S{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(n_countries)]
    rows = []
    for c in list(codes) + list(new_markets):
        level = rng.normal(0, 1.5)
        x_static = rng.normal()
        growth = 0.08 + 0.03 * x_static
        policy = 0.0
        noise = 0.0
        for t in years:
            noise = 0.5 * noise + rng.normal(0, 0.08)
            policy += rng.normal(0, 0.2)
            y = level + growth * (t - years[0]) + 0.05 * policy + noise + 0.3 * x_static
            if covid and t in (2020, 2021):
                y -= 2.0 if t == 2020 else 2.5
            if covid and t == 2022:
                y -= 1.0
            rows.append({"iso3": c, "year": t, "y": np.nan if c in new_markets else y, "x_static": x_static,
                         "x_policy": policy, "x_shock": float(covid and t >= 2020)})
    return pd.DataFrame(rows)


def synthetic_feature_matrix(panel=None, horizons=(1, 2, 3), **kw) -> FeatureMatrix:
    """A FeatureMatrix built by hand from :func:`synthetic_panel` (causal features at each origin)."""
    p = (synthetic_panel(**kw) if panel is None else panel).sort_values(["iso3", "year"]).reset_index(drop=True)
    g = p.groupby("iso3")["y"]
    p["target_last"] = p["y"]
    p["target_change_1y"] = p["y"] - g.shift(1)
    p["global_change_1y"] = p.groupby("year")["target_change_1y"].transform("mean")
    parts = []
    for h in horizons:
        part = p.rename(columns={"year": "origin", "y": "y_origin"}).copy()
        part["horizon"] = h
        part["target_year"] = part["origin"] + h
        part = part.merge(p[["iso3", "year", "y"]].rename(columns={"year": "target_year"}),
                          on=["iso3", "target_year"], how="left")
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    frame = frame[["iso3", "origin", "horizon", "target_year", "y", "y_origin", *FEATURES]]
    frame = frame.sort_values(["horizon", "origin", "iso3"]).reset_index(drop=True)
    return FeatureMatrix(frame=frame, features=list(FEATURES), groups={f: "synthetic" for f in FEATURES},
                         roles=dict(FEATURES), target=TargetSpec(name="synthetic_target", description="synthetic"),
                         specs=Specs((), {}, ""))


def until(fm, t):
    return replace(fm, frame=fm.frame[fm.frame["target_year"] <= t].reset_index(drop=True))


def at(fm, origin):
    return replace(fm, frame=fm.frame[fm.frame["origin"] == origin].reset_index(drop=True))


@pytest.fixture(scope="module")
def synthetic_fm():
    return synthetic_feature_matrix()


@pytest.fixture(scope="module")
def fitted(synthetic_fm):
    return HallyuForecaster().fit(until(synthetic_fm, 2016))


# ------------------------------------------------------------------------------- sklearn rules
def test_init_only_stores_params():
    model = HallyuForecaster(target_mode="level", n_estimators=7)
    assert model.target_mode == "level" and model.n_estimators == 7
    assert not [k for k in vars(model) if k.endswith("_")]


def test_lgbm_defaults_are_the_forecasters_defaults():
    # NewMarketModel(params=None) falls back to LGBM_DEFAULTS: they must stay HallyuForecaster's defaults.
    defaults = HallyuForecaster().get_params()
    assert {k: defaults[k] for k in LGBM_DEFAULTS} == LGBM_DEFAULTS
    assert HallyuForecaster()._lgbm_params() == NewMarketModel()._params()


def test_clone_and_get_set_params(fitted):
    twin = clone(fitted)
    assert twin.get_params() == fitted.get_params()
    assert not hasattr(twin, "models_")
    twin.set_params(learning_rate=0.1, target_mode="change")
    assert twin.get_params()["learning_rate"] == 0.1 and twin.target_mode == "change"
    assert "HallyuForecaster(" in repr(twin)


def test_fit_returns_self_and_learned_attributes(synthetic_fm):
    model = HallyuForecaster()
    assert model.fit(until(synthetic_fm, 2015)) is model
    assert set(model.models_) == {1, 2, 3}
    assert model.max_target_year_ <= 2015
    assert 0.0 <= model.shrinkage_ <= 1.0 and 0.0 <= model.covid_rho_ <= 1.0
    params = model.models_[1].get_params()
    assert params["deterministic"] is True and params["force_row_wise"] is True
    assert params["n_jobs"] == 1 and params["random_state"] == 0


def test_same_seed_identical_predictions(synthetic_fm):
    a = HallyuForecaster(random_state=3, shrinkage=1.0).fit(until(synthetic_fm, 2016)).predict(at(synthetic_fm, 2016))
    b = HallyuForecaster(random_state=3, shrinkage=1.0).fit(until(synthetic_fm, 2016)).predict(at(synthetic_fm, 2016))
    pd.testing.assert_frame_equal(a, b)


# -------------------------------------------------------------------------------- validation
def test_bad_target_mode_message(synthetic_fm):
    with pytest.raises(ConfigError, match=re.escape(
            "`target_mode` must be 'level', 'change' or 'change_over_drift'. Got 'diff'.")):
        HallyuForecaster(target_mode="diff").fit(synthetic_fm)


def test_horizon_outside_1_3_rejected(synthetic_fm):
    fm = synthetic_feature_matrix(horizons=(1, 4))
    with pytest.raises(ConfigError, match=re.escape("`horizon` must be 1, 2 or 3. Got 4.")):
        HallyuForecaster().fit(fm)


def test_predict_before_fit(synthetic_fm):
    with pytest.raises(ModelError, match=re.escape("This HallyuForecaster is not fitted yet. Call `fit(fm)` first.")):
        HallyuForecaster().predict(synthetic_fm)


def test_not_a_feature_matrix():
    with pytest.raises(DataError, match=re.escape(
            "`fm` must be a FeatureMatrix from hallyu_forecast.build_features(). Got DataFrame.")):
        HallyuForecaster().fit(pd.DataFrame({"a": [1]}))


def test_unknown_feature_rejected(synthetic_fm):
    with pytest.raises(DataError, match=re.escape("Feature(s) ['nope'] are not in the FeatureMatrix")):
        HallyuForecaster(features=["nope"]).fit(synthetic_fm)


def test_no_training_rows(synthetic_fm):
    with pytest.raises(DataError, match=re.escape("No training rows: every target `y`")):
        HallyuForecaster().fit(until(synthetic_fm, 2004))


# --------------------------------------------------------------------------------- predictions
def test_prediction_frame(fitted, synthetic_fm):
    out = fitted.predict(at(synthetic_fm, 2016))
    assert list(out.columns) == ["iso3", "origin", "horizon", "target_year", "prediction", "lower_80", "upper_80",
                                 "lower_95", "upper_95", "model", "covid_adjusted"]
    assert out["prediction"].notna().all()
    assert (out["lower_95"] <= out["lower_80"]).all() and (out["lower_80"] <= out["prediction"]).all()
    assert (out["prediction"] <= out["upper_80"]).all() and (out["upper_80"] <= out["upper_95"]).all()
    assert set(out.loc[out["iso3"] == "ZZA", "model"]) == {"new_market"}
    assert set(out.loc[out["iso3"] != "ZZA", "model"]) == {"history"}
    assert not out["covid_adjusted"].any()


@pytest.mark.parametrize("mode", ["level", "change", "change_over_drift"])
def test_target_modes(synthetic_fm, mode):
    objective = "l2" if mode == "level" else "huber"  # huber_delta is on the scale of yearly changes
    out = HallyuForecaster(target_mode=mode, objective=objective, n_estimators=200, learning_rate=0.1).fit(
        until(synthetic_fm, 2016)).predict(at(synthetic_fm, 2016))
    truth = at(synthetic_fm, 2016).frame["y"].to_numpy()
    history = (out["model"] == "history").to_numpy()
    rmse = np.sqrt(np.nanmean((truth[history] - out["prediction"].to_numpy()[history]) ** 2))
    assert rmse < (1.0 if mode == "level" else 0.4)


def test_shrinkage_zero_is_persistence_plus_drift(synthetic_fm):
    model = HallyuForecaster(shrinkage=0.0, drift="mean").fit(until(synthetic_fm, 2016))
    out = model.predict(at(synthetic_fm, 2016))
    naive = PersistenceDrift().fit(until(synthetic_fm, 2016)).predict(at(synthetic_fm, 2016))
    history = out["model"] == "history"
    np.testing.assert_allclose(out.loc[history, "prediction"], naive.loc[history, "prediction"])


def test_new_market_model_alone(synthetic_fm):
    nm = NewMarketModel().fit(until(synthetic_fm, 2016))
    assert nm.features_ == ["x_static", "x_policy", "x_shock"]
    out = nm.predict(at(synthetic_fm, 2016))
    assert out["prediction"].notna().all() and set(out["model"]) == {"new_market"}


def test_conformal_quantile_finite_sample():
    scores = np.arange(1, 20, dtype=float)  # n = 19
    assert conformal_quantile(scores, 0.95) == 19.0  # ceil(20 * 0.95) = 19
    assert conformal_quantile(scores, 0.80) == 16.0  # ceil(20 * 0.80) = 16
    assert conformal_quantile(np.array([1.0, 2.0]), 0.95) == 2.0  # too few scores: the largest
    assert np.isnan(conformal_quantile(np.array([]), 0.8))


# --------------------------------------------------------------------------------------- COVID
def test_covid_origin_anchors_on_2019(synthetic_fm):
    model = HallyuForecaster().fit(until(synthetic_fm, 2021))
    test = at(synthetic_fm, 2021)
    out = model.predict(test)
    hist = out["model"] == "history"
    assert out.loc[hist, "covid_adjusted"].all()
    anchor = model.covid_anchor(test.frame)
    y_o = test.frame["y_origin"]
    h = test.frame["horizon"]
    full = anchor + (test.frame["target_year"] - 2019) * model.drift_
    none = y_o + h * model.drift_
    p = out["prediction"]
    assert ((p[hist] >= np.minimum(full, none)[hist] - 1e-9) & (p[hist] <= np.maximum(full, none)[hist] + 1e-9)).all()
    assert ((out["lower_80"] <= np.minimum(full, none)) & (out["upper_80"] >= np.maximum(full, none)))[hist].all()
    model.set_params(covid_method="back_to_2019")
    np.testing.assert_allclose(model.predict(test).loc[hist, "prediction"], anchor[hist])
    model.set_params(covid_method="none")
    assert not model.predict(test)["covid_adjusted"].any()


def test_bad_covid_method():
    with pytest.raises(ConfigError, match=re.escape(
            "`covid_method` must be 'anchor_recovery', 'back_to_2019' or 'none'. Got 'x'.")):
        HallyuForecaster(covid_method="x")._check_params()


# ------------------------------------------------------------------------------------ baselines
def test_persistence_and_drift(synthetic_fm):
    train, test = until(synthetic_fm, 2016), at(synthetic_fm, 2016)
    p = Persistence().fit(train).predict(test)
    np.testing.assert_array_equal(p["prediction"], test.frame["y_origin"])
    d = PersistenceDrift().fit(train)
    one = train.frame[(train.frame["horizon"] == 1) & train.frame["y"].notna() & train.frame["y_origin"].notna()]
    assert d.drift_ == pytest.approx((one["y"] - one["y_origin"]).mean())
    np.testing.assert_allclose(d.predict(test)["prediction"],
                               test.frame["y_origin"] + test.frame["horizon"] * d.drift_)


def test_country_mean_uses_years_up_to_origin(synthetic_fm):
    out = CountryMean().fit(until(synthetic_fm, 2012)).predict(at(synthetic_fm, 2012))
    panel = synthetic_panel()
    c = panel["iso3"].iloc[0]
    expected = panel[(panel["iso3"] == c) & (panel["year"] <= 2012)]["y"].mean()
    assert out.loc[out["iso3"] == c, "prediction"].iloc[0] == pytest.approx(expected)


def test_ridge_imputer_fitted_on_training_rows(synthetic_fm):
    train = until(synthetic_fm, 2016)
    ridge = RidgeBaseline().fit(train)
    rows = train.frame[train.frame["y"].notna() & train.frame["y_origin"].notna() & (train.frame["horizon"] == 1)]
    medians = rows[ridge.features_].median().to_numpy()
    np.testing.assert_allclose(ridge.models_[1][0].statistics_, medians)
    test = at(synthetic_fm, 2016)
    test.frame.loc[:, "x_policy"] = np.nan  # missing at predict time: imputed with the training median
    assert ridge.predict(test).loc[lambda d: d["iso3"] != "ZZA", "prediction"].notna().all()


def test_make_baseline_unknown():
    with pytest.raises(ConfigError, match=re.escape("Unknown baseline `naive`;")):
        make_baseline("naive")


# ------------------------------------------------------------------------------- momentum term
def _synthetic_momentum_fm(beta=0.4, seed=3):
    """Synthetic rows whose h-year change is drift + beta * (month_q4_yoy - target_change_1y) + noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(30):
        for origin in range(2005, 2019):
            signal = rng.normal(0, 0.2)
            change_1y = rng.normal(0.05, 0.1)
            y0 = rng.normal(3, 1)
            for h in (1, 2, 3):
                rows.append({"iso3": f"S{i:02d}", "origin": origin, "horizon": h, "target_year": origin + h,
                             "y_origin": y0, "y": y0 + 0.05 * h + beta * signal + rng.normal(0, 0.02),
                             "target_change_1y": change_1y, "month_q4_yoy": change_1y + signal,
                             "x_static": rng.normal()})
    frame = pd.DataFrame(rows)
    feats = {"target_change_1y": "history", "month_q4_yoy": "history", "x_static": "local_conditions"}
    return FeatureMatrix(frame=frame, features=list(feats), groups={f: "synthetic" for f in feats}, roles=feats,
                         target=TargetSpec(name="synthetic_target", description="synthetic"), specs=Specs((), {}, ""))


def test_momentum_recovers_a_known_run_rate_slope_and_survives_serialisation():
    fm = _synthetic_momentum_fm(beta=0.4)
    train = replace(fm, frame=fm.frame[fm.frame["target_year"] <= 2015].reset_index(drop=True))
    model = HallyuForecaster(momentum="q4_run_rate", shrinkage=0.0, exclude_covid_targets=False,
                             new_market=False).fit(train)
    for h in (1, 2, 3):
        beta, lo, hi = model.momentum_[h]
        assert beta == pytest.approx(0.4, abs=0.03) and lo < 0 < hi
    test = replace(fm, frame=fm.frame[fm.frame["origin"] == 2015].reset_index(drop=True))
    with_m = model.predict(test)["prediction"]
    without = HallyuForecaster(shrinkage=0.0, exclude_covid_targets=False, new_market=False).fit(train).predict(test)
    err = lambda p: float(np.sqrt(((test.frame["y"] - p) ** 2).mean()))  # noqa: E731
    assert err(with_m) < 0.5 * err(without["prediction"])
    again = HallyuForecaster.from_dict(model.to_dict())
    assert again.momentum_ == model.momentum_
    np.testing.assert_allclose(again.predict(test)["prediction"], with_m, rtol=0, atol=1e-12)


def test_momentum_off_or_without_its_columns_changes_nothing(synthetic_fm):
    # the default synthetic matrix has no month_q4_yoy: the term is empty and predictions are unchanged
    base = HallyuForecaster().fit(until(synthetic_fm, 2016))
    mom = HallyuForecaster(momentum="q4_run_rate").fit(until(synthetic_fm, 2016))
    assert mom.momentum_ == {} and base.momentum_ == {}
    np.testing.assert_allclose(mom.predict(at(synthetic_fm, 2016))["prediction"],
                               base.predict(at(synthetic_fm, 2016))["prediction"])


def test_momentum_bad_values(synthetic_fm):
    with pytest.raises(ConfigError, match=r"^`momentum` must be None or 'q4_run_rate'. Got 'q3'."):
        HallyuForecaster(momentum="q3").fit(synthetic_fm)
    with pytest.raises(ConfigError, match=r"^`momentum` needs target_mode='change_over_drift'"):
        HallyuForecaster(momentum="q4_run_rate", target_mode="level").fit(synthetic_fm)


def test_take_rows_keeps_the_masked_rows_in_order():
    fm = synthetic_feature_matrix()
    mask = (fm.frame["origin"] >= 2015).to_numpy()
    sub = take_rows(fm, mask)
    assert list(sub.frame.index) == list(range(int(mask.sum())))
    pd.testing.assert_frame_equal(sub.frame, fm.frame[mask].reset_index(drop=True))
    assert sub.features == fm.features and sub.target is fm.target and len(fm.frame) > len(sub.frame)
