"""explain(): additivity, shares, intervals, known drivers on synthetic data, exact error messages.

Every synthetic_* object below is made up here (fake ISO3-like codes X..., no real values):
the change of the target is driven by one government-support feature only (or, in the mirror
case, by one local-conditions feature), so the attribution must find that role.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hallyu_forecast.errors import ConfigError, ModelError
from hallyu_forecast.explanation_result import Explanation
from hallyu_forecast.features import build_features
from hallyu_forecast.forecaster import HallyuForecaster

E = importlib.import_module("hallyu_forecast.explanation")  # the module (the package attribute is the function)
A = importlib.import_module("hallyu_forecast.explain_attribution")
explain = E.explain

SYNTHETIC_YEARS = range(2000, 2022)
SYNTHETIC_SPECS = {
    "cultural_policy.toml": """group = "cultural_policy"
[[feature]]
name = "cultural_centres"
columns = ["synthetic_centres"]
transform = "level"
role = "government_support"
why = "Synthetic lever."
""",
    "economic.toml": """group = "economic"
[[feature]]
name = "synthetic_income"
columns = ["synthetic_income"]
transform = "level"
role = "local_conditions"
why = "Synthetic local condition."
[[feature]]
name = "synthetic_noise"
columns = ["synthetic_noise"]
transform = "level"
role = "local_conditions"
why = "Synthetic noise."
""",
    "regime.toml": """group = "regime"
[[feature]]
name = "covid_at_origin"
transform = "indicator_since"
since = 2020
until = 2022
role = "regime"
why = "Synthetic border closures."
""",
    "target_history.toml": """group = "target_history"
[[feature]]
name = "target_last"
transform = "target_lag"
lag = 0
role = "history"
why = "Last level."
[[feature]]
name = "target_change_1y"
transform = "target_change"
periods = 1
role = "history"
why = "Momentum."
""",
    "targets.toml": """[target.synthetic_arrivals_per_capita]
default = true
description = "log of synthetic arrivals per 100,000 population"
measures = "Synthetic test data."
does_not_measure = "Anything real."
numerator = "synthetic_arrivals"
denominator = "population"
scale = 100000
transform = "log"
""",
}


def synthetic_panel(driver: str = "government_support", n: int = 30, n_new: int = 3, seed: int = 0) -> pd.DataFrame:
    """Complete country-year grid. The yearly change of log arrivals per 100k is
    0.3 * centres - 0.3 (government support) or 0.3 * income - 0.3 (local conditions) plus
    small noise; a COVID drop in 2020-2021; ``n_new`` countries have no arrivals at all."""
    rng = np.random.default_rng(seed)
    codes = [f"X{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(n + n_new)]
    rows = []
    for k, iso3 in enumerate(codes):
        openings = sorted(rng.choice(list(SYNTHETIC_YEARS), size=rng.integers(0, 4), replace=False))
        income = rng.normal(1.0, 0.8)
        level = rng.normal(3.0, 0.7)
        for year in SYNTHETIC_YEARS:
            centres = float(sum(o <= year for o in openings))
            income_t = income + rng.normal(0, 0.6)
            rows.append({"iso3": iso3, "year": year, "population": 1e6 * (1 + k % 5),
                         "synthetic_centres": centres, "synthetic_income": income_t,
                         "synthetic_noise": rng.normal(), "logy": level})
            lever = centres if driver == "government_support" else income_t
            level = level + 0.3 * lever - 0.3 + rng.normal(0, 0.02)
    panel = pd.DataFrame(rows)
    shock = panel["year"].map({2020: -2.0, 2021: -1.5}).fillna(0.0)
    panel["synthetic_arrivals"] = np.exp(panel["logy"] + shock) * panel["population"] / 1e5
    panel.loc[panel["iso3"].isin(codes[n:]), "synthetic_arrivals"] = np.nan
    return panel.drop(columns="logy")


def synthetic_specs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in SYNTHETIC_SPECS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def synthetic_model(panel: pd.DataFrame, specs: Path, **params) -> HallyuForecaster:
    fm = build_features(panel, specs=specs)
    settings = dict(n_estimators=80, learning_rate=0.1, min_child_samples=10, colsample_bytree=1.0,
                    shrinkage=1.0, calibration_origins=2, random_state=0)
    settings.update(params)
    return HallyuForecaster(**settings).fit(fm)


@pytest.fixture(scope="module")
def synthetic_case(tmp_path_factory):
    specs = synthetic_specs(tmp_path_factory.mktemp("synthetic_specs"))
    panel = synthetic_panel()
    model = synthetic_model(panel, specs)
    ex = explain(model, panel=panel, specs=specs, n_refits=4)
    return panel, specs, model, ex


# ------------------------------------------------------------------------------- additivity
def test_groups_and_roles_add_up_to_the_published_prediction(synthetic_case):
    panel, specs, model, ex = synthetic_case
    for table, names in ((ex.by_group(), ex.groups), (ex.by_role(), list(A.ROLES))):
        total = table["base_value"] + table[[c for c in names if c in table]].sum(axis=1)
        assert np.abs(total - table["prediction"]).max() < 1e-6
    # ... and the prediction is what the model publishes for those rows
    fm = build_features(panel, specs=specs, horizons=[1])
    published = model.predict(fm).merge(ex.rows[["iso3", "origin"]], on=["iso3", "origin"])
    mine = ex.rows.merge(published, on=["iso3", "origin"], suffixes=("", "_model"))
    assert len(mine) == len(ex.rows)
    assert np.abs(mine["prediction"] - mine["prediction_model"]).max() < 1e-9
    assert (mine["model"] == mine["model_model"]).all()
    assert ex.meta["max_additivity_gap"] < 1e-6


def test_explains_both_models_the_anchor_and_the_covid_rule(synthetic_case):
    _, _, model, ex = synthetic_case
    assert set(ex.rows["model"]) == {"history", "new_market"}
    hist = ex.rows["model"] == "history"
    # the anchor term is y_origin + h * drift minus its training mean
    anchor = ex.rows.loc[hist, "y_origin"] + model.drift_
    assert np.allclose(ex.contributions.loc[hist, A.LAST_LEVEL], anchor - ex.meta["anchor_mean"])
    assert (ex.contributions.loc[~hist, [A.LAST_LEVEL, A.COVID_ADJ]] == 0).all().all()
    covid = ex.rows["covid_adjusted"].astype(bool)
    assert covid.any() and (ex.contributions.loc[covid, A.COVID_ADJ] != 0).all()
    assert (ex.contributions.loc[~covid, A.COVID_ADJ] == 0).all()
    assert ex.terms.set_index("term").loc[A.LAST_LEVEL, "group"] == "target_history"
    assert set(ex.base_values) == {"history", "new_market"}


# ----------------------------------------------------------------------------------- shares
def test_shares_sum_to_one(synthetic_case):
    ex = synthetic_case[3]
    for model in ("history", "new_market"):
        for wh in (True, False):
            s = ex.shares(with_history=wh, model=model)
            assert set(s["role"]) == (set(A.ROLES) if wh else set(A.NON_HISTORY))
            assert s["share"].sum() == pytest.approx(1.0, abs=1e-9)
    cs = ex.country_shares(with_history=False)
    assert np.allclose(cs.groupby("iso3")["share"].sum(), 1.0)
    assert cs["iso3"].nunique() == len(ex.countries())
    ys = ex.year_shares(with_history=True)
    assert np.allclose(ys.groupby("origin")["share"].sum(), 1.0)


def test_intervals_contain_the_point_estimates(synthetic_case):
    ex = synthetic_case[3]
    tables = [ex.shares(True), ex.shares(False), ex.shares(False, model="new_market"),
              ex.country_shares(False), ex.country_shares(True), ex.year_shares(False)]
    imp = ex.importance(by="group").rename(columns={"mean_abs": "share"})
    for t in tables + [imp]:
        assert t[["lower", "share", "upper"]].notna().all().all()
        assert (t["lower"] <= t["share"] + 1e-12).all() and (t["share"] <= t["upper"] + 1e-12).all()
    assert ex.draws["refit"].nunique() == 4
    assert (ex.shares(False)["upper"] - ex.shares(False)["lower"]).max() > 0  # refits do vary


@pytest.mark.parametrize("driver", ["government_support", "local_conditions"])
def test_the_true_driver_dominates(tmp_path, driver):
    specs = synthetic_specs(tmp_path / "specs")
    panel = synthetic_panel(driver=driver, seed=1)
    ex = explain(synthetic_model(panel, specs), panel=panel, specs=specs, n_refits=3)
    s = ex.shares(with_history=False, model="history").set_index("role")
    assert s.loc[driver, "share"] > 0.7
    assert s.loc[driver, "lower"] > 0.5
    top_term = ex.importance(by="term").query("role != 'history'")["item"].iloc[0]
    assert top_term == ("cultural_centres" if driver == "government_support" else "synthetic_income")


def test_refit_with_the_same_seed_reproduces_the_model(synthetic_case):
    panel, specs, model, _ = synthetic_case
    fm = build_features(panel, specs=specs, horizons=[1])
    train = replace(fm, frame=fm.frame[fm.frame["y"].notna()
                                       & (fm.frame["target_year"] <= model.max_target_year_)].reset_index(drop=True))
    again = A._refit(model, train, 1, model.random_state, None)
    X = fm.frame.loc[fm.frame["y_origin"].notna(), model.features_].to_numpy(float)
    assert np.array_equal(again.models_[1].predict(X), model.models_[1].predict(X))


# ------------------------------------------------------------------------------------ tables
def test_country_table(synthetic_case):
    ex = synthetic_case[3]
    iso3 = ex.rows.loc[ex.rows["model"] == "history", "iso3"].iloc[0]
    t = ex.country_table(iso3)
    assert list(t.columns) == ["group", "role", "contribution", "top_features"]
    assert list(t["contribution"].abs()) == sorted(t["contribution"].abs(), reverse=True)
    assert t.attrs["origin"] == int(ex.rows.loc[ex.rows["iso3"] == iso3, "origin"].max())
    assert t.attrs["base_value"] + t["contribution"].sum() == pytest.approx(t.attrs["prediction"], abs=1e-6)
    assert "cultural_centres" in " ".join(t["top_features"])
    text = ex.country_table(iso3, as_text=True)
    assert iso3 in text and "associational, not causal" in text
    earlier = ex.country_table(iso3, origin=2010)
    assert earlier.attrs["target_year"] == 2011


def test_save_and_load_round_trip(synthetic_case, tmp_path):
    ex = synthetic_case[3]
    path = ex.save(tmp_path / "explanation")
    assert (path / "explanation.json").is_file() and (path / "contributions.parquet").is_file()
    back = Explanation.load(path)
    pd.testing.assert_frame_equal(back.by_group(), ex.by_group())
    pd.testing.assert_frame_equal(back.shares(False), ex.shares(False))
    frames = ex.to_frames()
    assert {"rows", "contributions", "values", "terms", "by_group", "by_role", "shares", "country_shares",
            "draws", "history"} <= set(frames)


# ------------------------------------------------------------------------------------ errors
def _raises(exc, message, *args, **kwargs):
    with pytest.raises(exc, match=f"^{re.escape(message)}$"):
        explain(*args, **kwargs)


def test_error_unknown_country(synthetic_case):
    panel, specs, model, _ = synthetic_case
    _raises(ConfigError, "Unknown country 'ZZZ'. Use ISO3 codes such as 'MEX' or English names of countries in the "
                         "panel; see hallyu_forecast.load_countries().",
            model, countries=["XAA", "ZZZ"], panel=panel, specs=specs, n_refits=0)


def test_error_korea(synthetic_case):
    panel, specs, model, _ = synthetic_case
    _raises(ConfigError, "Korea is the destination, not an origin country: remove 'KOR'.",
            model, countries="KOR", panel=panel, specs=specs, n_refits=0)


def test_error_country_without_data(synthetic_case, tmp_path):
    panel, specs, _, _ = synthetic_case
    no_new_markets = synthetic_model(panel, specs, new_market=False)
    _raises(ConfigError, "No data to explain for ['XBE'] at origins 2000-2021: no observed target (and no new-market "
                         "model for countries without one). Choose other years or countries with target history.",
            no_new_markets, countries=["XAA", "XBE"], panel=panel, specs=specs, n_refits=0)


def test_error_years_outside_the_range(synthetic_case):
    panel, specs, model, _ = synthetic_case
    _raises(ConfigError, "`years` must be origin years with target data (2000-2021). Got [1990, 2030].",
            model, years=[1990, 2010, 2030], panel=panel, specs=specs, n_refits=0)


def test_error_horizon(synthetic_case):
    panel, specs, model, _ = synthetic_case
    _raises(ConfigError, "`horizon` must be 1, 2 or 3. Got 4.", model, horizon=4, panel=panel, specs=specs)


def test_error_n_refits(synthetic_case):
    panel, specs, model, _ = synthetic_case
    _raises(ConfigError, "`n_refits` must be an integer >= 0. Got -1.", model, n_refits=-1, panel=panel, specs=specs)


def test_error_model_without_feature_groups(synthetic_case):
    panel, specs, _, _ = synthetic_case
    fm = build_features(panel, specs=specs)
    fm.frame["synthetic_custom"] = np.arange(len(fm.frame), dtype=float)
    fm = replace(fm, features=fm.features + ["synthetic_custom"])
    model = HallyuForecaster(n_estimators=10, calibration_origins=1, new_market=False).fit(fm)
    _raises(ModelError, "The model's feature(s) ['synthetic_custom'] have no feature group: explain() groups SHAP "
                        "values by the groups declared in the feature specs (features/*.toml). Fit the model on the "
                        "output of build_features(), or pass the `specs` it was trained with.",
            model, panel=panel, specs=specs, n_refits=0)


def test_error_unfitted_and_foreign_models(synthetic_case):
    panel, specs, _, _ = synthetic_case
    _raises(ModelError, "This HallyuForecaster is not fitted yet. Call `fit(fm)` first.",
            HallyuForecaster(), panel=panel, specs=specs)
    from lightgbm import LGBMRegressor

    _raises(ModelError, "`model` must be a fitted HallyuForecaster, a model bundle, an MLflow model URI or None "
                        "(the default model). Got LGBMRegressor.", LGBMRegressor(), panel=panel, specs=specs)


def test_error_country_not_in_the_explanation(synthetic_case):
    ex = synthetic_case[3]
    with pytest.raises(ConfigError, match=r"^Country 'MEX' is not in this explanation; it explains XAA, "):
        ex.country_table("MEX")
    with pytest.raises(ConfigError, match=r"^Origin 1990 is not explained for XAA; explained origins are \[2000, "):
        ex.country_table("XAA", origin=1990)


# ------------------------------------------------------------------------- default (shipped)
def test_default_explanation_is_additive():
    # speed is measured in bench/bench_drivers.py and bench/bench_models.py, not asserted here
    ex = explain()
    table = ex.by_role()
    total = table["base_value"] + table[list(A.ROLES)].sum(axis=1)
    assert np.abs(total - table["prediction"]).max() < 1e-6
    assert {"JPN", "MEX"} <= set(ex.countries())
    assert ex.shares(False)["share"].sum() == pytest.approx(1.0)
    assert "Japan (JPN)" in ex.country_table("JPN", as_text=True)
