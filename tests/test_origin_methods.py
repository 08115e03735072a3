"""One answer per origin (issue 18 item 1): an annual origin Y and "Y-12" agree by default; `method` picks the other."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hallyu_forecast as hf
from hallyu_forecast import features, inference
from hallyu_forecast.errors import ConfigError

COUNTRIES = ["JPN", "VNM", "CHN", "Mexico"]  # Mexico: a new market (no travel history)
FORECAST_COLUMNS = ["iso3", "horizon", "target_year", "prediction", "lower", "upper", "lower_95", "upper_95",
                    "prediction_natural", "prediction_arrivals", "model", "note", "domain"]


@pytest.mark.parametrize("year", [2018, 2022])  # a normal origin and a COVID origin (anchored on 2019)
def test_annual_and_december_origins_give_the_same_forecast(year):
    annual = hf.predict(COUNTRIES, origin=year, horizon=[1, 2, 3])
    december = hf.predict(COUNTRIES, origin=f"{year}-12", horizon=[1, 2, 3])
    assert set(december["origin"]) == {f"{year}-12"}
    pd.testing.assert_frame_equal(annual[FORECAST_COLUMNS], december[FORECAST_COLUMNS])  # exactly: the same code


def test_the_monthly_path_is_available_by_name_for_both_spellings():
    by_year = hf.predict(["JPN", "VNM"], origin=2021, method="monthly")
    by_month = hf.predict(["JPN", "VNM"], origin="2021-12", method="monthly")
    pd.testing.assert_frame_equal(by_year, by_month)
    assert by_year["horizon"].tolist() == [0, 1, 0, 1]
    assert set(by_year["model"]) == {"nowcast", "recovery"}
    assert by_year["domain"].eq("in").all()  # every row carries its model and its applicability
    annual = hf.predict(["JPN", "VNM"], origin=2021)
    # the two methods differ at a COVID origin (2019 anchor vs each country's recovery path)
    assert not np.allclose(annual["prediction"], by_year.loc[by_year["horizon"] == 1, "prediction"], atol=0.01)


def test_an_origin_inside_a_year_keeps_the_monthly_default():
    out = hf.predict("JPN", origin="2019-06", horizon=1)
    assert out["model"].tolist() == ["nowcast", "nowcast_drift"]


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "recovery"}, "`method` must be one of ['annual', 'monthly']. Got 'recovery'."),
    ({"method": "Annual", "origin": "2022-12"}, "`method` must be one of ['annual', 'monthly']. Got 'Annual'."),
    ({"method": "annual", "origin": "2022-06"},
     "`method='annual'` needs a complete year; origin '2022-06' ends in month 6. Use origin=2021 or '2022-12', "
     "or method='monthly'."),
])
def test_bad_methods_are_clear_errors(kwargs, message):
    with pytest.raises(ConfigError) as info:
        hf.predict("JPN", **kwargs)
    assert str(info.value) == message


def _changed_after(monthly: pd.DataFrame, stamp: int, value: float) -> pd.DataFrame:
    changed = monthly.copy()
    later = changed["year"] * 12 + changed["month"] > stamp
    changed.loc[later, [c for c in changed.columns if c.startswith("arrivals")]] = value
    return changed


@pytest.mark.parametrize("year, value", [(2016, 0.0), (2021, 1e6)])
@pytest.mark.parametrize("method", ["annual", "monthly"])
def test_months_after_the_origin_never_change_a_forecast(monkeypatch, year, value, method):
    """Every month after December of the origin year set to `value` (all countries): same forecasts."""
    before = hf.predict(["JPN", "CHN", "THA"], origin=f"{year}-12", horizon=[1, 2], method=method)
    changed = _changed_after(hf.load_monthly(), year * 12 + 12, value)
    # both readers of the monthly panel (features for the annual path, the monthly path itself)
    monkeypatch.setattr(features, "load_monthly", lambda *a, **k: changed)
    monkeypatch.setattr(inference, "load_monthly", lambda *a, **k: changed)
    monkeypatch.setattr(inference, "_FEATURES", {})  # the feature cache is keyed by panel, not by months
    after = hf.predict(["JPN", "CHN", "THA"], origin=f"{year}-12", horizon=[1, 2], method=method)
    pd.testing.assert_frame_equal(before, after)


def test_the_leakage_check_can_fail(monkeypatch):
    """Control: changing a month *before* the origin does change the annual forecast (Q4 run-rate)."""
    before = hf.predict("JPN", origin=2016)
    changed = _changed_after(hf.load_monthly(), 2016 * 12 + 9, 1.0)  # October 2016 on
    monkeypatch.setattr(features, "load_monthly", lambda *a, **k: changed)
    monkeypatch.setattr(inference, "_FEATURES", {})
    after = hf.predict("JPN", origin=2016)
    assert abs(float(after["prediction"].iloc[0]) - float(before["prediction"].iloc[0])) > 1e-3
