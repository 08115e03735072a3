"""Monthly arrivals panel, month-aware features (leakage at month level), recovery rule and nowcasts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hallyu_forecast as hf
from hallyu_forecast.cli import main as cli_main
from hallyu_forecast.errors import ConfigError
from hallyu_forecast.features import build_features, load_feature_specs
from hallyu_forecast.monthly import (
    MONTHLY_COLUMNS,
    annual_month_features,
    backtest_nowcast,
    build_monthly,
    check_origin,
    naive_nowcast,
    normal_years,
    nowcast,
    parse_origin,
    recovery_forecast,
    wide,
)

MONTHLY = hf.load_monthly()
PANEL = hf.load_panel()
MONTH_SPECS = load_feature_specs().select(groups=["monthly"])
MONTH_FEATURES = [f.name for f in MONTH_SPECS.features]
COUNTRIES = sorted(MONTHLY["iso3"].unique())


def _synthetic_monthly(levels: dict[int, float], iso3: str = "SYN", season=None) -> pd.DataFrame:
    """Synthetic monthly arrivals: a fixed seasonal profile times a yearly level (or per-month values)."""
    season = np.linspace(0.8, 1.2, 12) if season is None else np.asarray(season, float)
    rows = []
    for year, level in levels.items():
        values = level * season if np.isscalar(level) else np.asarray(level, float)
        for m, v in enumerate(values, start=1):
            rows.append({"iso3": iso3, "year": year, "month": m, "arrivals_0_30": float(v)})
    frame = pd.DataFrame(rows)
    for col in MONTHLY_COLUMNS:
        if col not in frame:
            frame[col] = frame["arrivals_0_30"] if col.startswith("arrivals") else 12.0
    return frame[MONTHLY_COLUMNS]


# ----------------------------------------------------------------------------- the data product
def test_rebuilding_from_raw_reproduces_the_shipped_monthly_panel(raw_dir):
    pd.testing.assert_frame_equal(build_monthly(raw_dir), MONTHLY, check_exact=True)


def test_complete_years_add_up_to_the_annual_panel_and_partial_years_are_kept_monthly():
    full = MONTHLY[MONTHLY["months_in_year"] == 12].groupby(["iso3", "year"])[["arrivals_0_30", "arrivals_age_sum"]].sum()
    annual = PANEL.set_index(["iso3", "year"]).loc[full.index, ["arrivals_0_30", "arrivals_age_sum"]]
    np.testing.assert_allclose(full.to_numpy(), annual.to_numpy(), rtol=1e-12)
    partial = MONTHLY[MONTHLY["months_in_year"] < 12][["iso3", "year"]].drop_duplicates()
    assert len(partial)  # KHM / MAC 2017 (entrance.rda only from July)
    values = PANEL.set_index(["iso3", "year"]).loc[pd.MultiIndex.from_frame(partial), "arrivals_0_30"]
    assert values.isna().all()
    assert not MONTHLY.duplicated(["iso3", "year", "month"]).any()
    assert MONTHLY["month"].between(1, 12).all()
    # COVID months are kept as data
    assert MONTHLY[(MONTHLY["iso3"] == "JPN") & (MONTHLY["year"] == 2021)]["month"].nunique() == 12


# ------------------------------------------------------------------------------- shocks & features
def test_shock_detection_and_features_on_synthetic_data():
    synthetic = _synthetic_monthly({2014: 100.0, 2015: 110.0, 2016: [110] * 6 + [30] * 6, 2017: 35.0, 2018: 90.0})
    normal = normal_years(wide(synthetic))
    assert normal["SYN"] == [2014, 2015, 2018]  # 2016 H2 and 2017 are below half of 2015
    f = annual_month_features(synthetic).set_index("year")
    assert f.loc[2016, "months_since_shock"] == 5          # onset July 2016: 5 months to December
    assert f.loc[2017, "months_since_shock"] == 17
    q4_2015 = (110.0 * np.linspace(0.8, 1.2, 12)[9:]).sum()
    assert f.loc[2017, "q4_gap_to_normal"] == pytest.approx(np.log((35.0 * np.linspace(0.8, 1.2, 12)[9:].sum() + 1)
                                                                   / (q4_2015 + 1)))
    assert f.loc[2015, "q4_yoy"] == pytest.approx(np.log((q4_2015 + 1) / (100.0 * np.linspace(0.8, 1.2, 12)[9:].sum() + 1)))
    assert f.loc[2015, "h2_vs_h1"] == pytest.approx(0.0, abs=1e-3)  # same seasonality both years
    assert np.isnan(f.loc[2014, "months_since_shock"])


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(origin=st.integers(2011, 2021), month=st.integers(1, 12), country=st.sampled_from(COUNTRIES + ["ALL"]),
       value=st.one_of(st.floats(0, 1e7, allow_nan=False), st.just(0.0)))
def test_future_months_never_change_month_features_at_origin(origin, month, country, value):
    """Changing any month after December of the origin year never changes a feature at that origin."""
    def at_origin(monthly):
        fm = build_features(PANEL, MONTH_SPECS, origins=[origin], horizons=[1], monthly=monthly)
        return fm.frame[["iso3"] + MONTH_FEATURES].reset_index(drop=True)

    changed = MONTHLY.copy()
    # every month from month `month` of year t+1 on: all after December t (the annual origin month)
    rows = changed["year"] * 12 + changed["month"] >= (origin + 1) * 12 + month
    if country != "ALL":
        rows &= changed["iso3"] == country
    changed.loc[rows, "arrivals_0_30"] = value
    pd.testing.assert_frame_equal(at_origin(MONTHLY), at_origin(changed))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(year=st.integers(2012, 2022), month=st.integers(1, 11), later=st.integers(1, 12),
       value=st.floats(0, 1e6, allow_nan=False))
def test_months_after_a_year_month_origin_never_change_the_nowcast(year, month, later, value):
    changed = MONTHLY.copy()
    stamp = changed["year"] * 12 + changed["month"]
    rows = stamp >= year * 12 + month + later  # some month after the origin month
    changed.loc[rows, "arrivals_0_30"] = value
    pd.testing.assert_frame_equal(nowcast(MONTHLY, year, month), nowcast(changed, year, month))


def test_default_uses_the_momentum_term_and_monthly_is_the_inputs_only_comparison():
    from hallyu_forecast.config import load_config

    default, monthly = load_config("default"), load_config("monthly")
    # the momentum term reads month_q4_yoy and target_change_1y, so the default keeps the monthly specs
    assert set(MONTH_FEATURES) <= {f.name for f in default.specs().features}
    assert set(MONTH_FEATURES) <= {f.name for f in monthly.specs().features}
    assert default.make_forecaster().momentum == "q4_run_rate"
    assert monthly.make_forecaster().momentum is None
    assert all(f.role == "history" for f in MONTH_SPECS.features)


# ----------------------------------------------------------------------------------- recovery
def test_recovery_starts_from_the_recent_gap_and_decays_at_rho():
    season = np.ones(12)
    synthetic = _synthetic_monthly({2018: 100.0, 2019: 100.0, 2020: [100, 100] + [10] * 10, 2021: 10.0}, season=season)
    no_recovery = recovery_forecast(synthetic, 2021, 12, [2022], rho=1.0).iloc[0]
    assert no_recovery["reference_year"] == 2019
    assert no_recovery["gap0"] == pytest.approx(np.log(31 / 301))
    assert np.exp(no_recovery["log_total"]) == pytest.approx(12 * (101 * 31 / 301 - 1))
    full = recovery_forecast(synthetic, 2021, 12, [2022], rho=0.0).iloc[0]
    assert np.exp(full["log_total"]) == pytest.approx(1200.0)
    half = recovery_forecast(synthetic, 2021, 12, [2022], rho=0.5).iloc[0]
    assert no_recovery["log_total"] < half["log_total"] < full["log_total"]
    # the rate estimated from the last 12 months (flat gap) is ~1: no recovery seen yet
    est = recovery_forecast(synthetic, 2021, 12, [2022], rate="recent").iloc[0]
    assert est["rho"] == pytest.approx(1.0, abs=1e-6)


def test_recovery_keeps_months_already_observed():
    rec = recovery_forecast(MONTHLY, 2022, 6, [2022], countries=["JPN"]).iloc[0]
    assert rec["known_months"] == 6
    first_half = MONTHLY[(MONTHLY["iso3"] == "JPN") & (MONTHLY["year"] == 2022) & (MONTHLY["month"] <= 6)]
    assert np.exp(rec["log_total"]) > first_half["arrivals_0_30"].sum()


# ------------------------------------------------------------------------------------ nowcasts
def test_nowcast_is_exact_with_a_stable_seasonal_profile():
    synthetic = _synthetic_monthly({2015: 100.0, 2016: 120.0, 2017: 90.0, 2018: 150.0})
    for m in (1, 6, 11):
        got = nowcast(synthetic, 2018, m).iloc[0]
        assert got["method"] == "seasonal_share"
        assert got["log_total"] == pytest.approx(np.log(150.0 * 12), rel=1e-12)
        assert naive_nowcast(synthetic, 2018, m).iloc[0]["log_total"] == pytest.approx(np.log(1800.0))


def test_nowcast_backtest_error_falls_with_the_month_and_beats_the_naive_rule():
    bt = backtest_nowcast(MONTHLY, years=range(2015, 2020), months=[1, 6, 11])
    rmse = bt.assign(e=(bt["nowcast"] - bt["actual"]) ** 2, n=(bt["naive"] - bt["actual"]) ** 2).groupby("month")[["e", "n"]].mean() ** 0.5
    assert rmse.loc[1, "e"] > rmse.loc[6, "e"] > rmse.loc[11, "e"]
    assert (rmse["e"] < rmse["n"]).all()


def test_predict_from_a_year_month_origin():
    out = hf.predict(["JPN", "Thailand"], origin="2019-06", horizon=[1, 2])
    assert list(out["horizon"]) == [0, 1, 2, 0, 1, 2]
    assert set(out["origin"]) == {"2019-06"}
    assert (out["lower"] < out["prediction"]).all() and (out["prediction"] < out["upper"]).all()
    assert (out["lower_95"] <= out["lower"]).all()
    assert out.loc[out["horizon"] == 0, "model"].eq("nowcast").all()
    assert out.loc[out["horizon"] == 0, "note"].str.contains("weight 0.").all()  # combined with the annual forecast
    jpn = out[(out["iso3"] == "JPN") & (out["horizon"] == 0)].iloc[0]
    actual = PANEL.set_index(["iso3", "year"]).loc[("JPN", 2019), "arrivals_0_30"]
    assert abs(np.log(jpn["prediction_arrivals"] / actual)) < 0.2
    after_covid = hf.predict("JPN", origin="2022-06")
    assert after_covid["model"].tolist() == ["nowcast", "recovery"]


@pytest.mark.parametrize("origin, countries, message", [
    ("2023-02", ["JPN"], r"after the last observed month \(2022-12\)"),
    ("2022-13", ["JPN"], "month of `origin` must be between 1 and 12. Got 13"),
    ("2022-00", ["JPN"], "between 1 and 12. Got 0"),
    ("2022/06", ["JPN"], "must read 'YYYY-MM'"),
    ("2019-06", ["AFG"], r"No monthly arrivals for \['AFG'\].*annual origin"),
    ("2017-08", ["KHM"], r"not all observed for \['KHM'\] \(partial months\)"),
    ("2011-06", ["JPN"], "No earlier normal year to calibrate a nowcast from 2011-06; use an origin from 2012 on"),
])
def test_bad_year_month_origins_are_clear_errors(origin, countries, message):
    with pytest.raises(ConfigError, match=message):
        hf.predict(countries, origin=origin)


def test_cli_bad_month_origin_is_one_line_exit_2(capsys):
    assert cli_main(["predict", "--country", "JPN", "--origin", "2022-13"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "between 1 and 12" in err[0]


def test_parse_and_check_origin_helpers():
    assert parse_origin("2022-06") == (2022, 6)
    check_origin(MONTHLY, 2022, 12, ["JPN"])  # the last observed month is fine


def test_data_build_writes_the_monthly_panel(raw_dir, tmp_path, capsys):
    assert cli_main(["data", "build", "--data-dir", str(raw_dir), "--out", str(tmp_path)]) == 0
    pd.testing.assert_frame_equal(hf.load_monthly(tmp_path / "monthly.parquet"), MONTHLY, check_exact=True)
