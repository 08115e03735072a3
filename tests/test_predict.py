"""predict(): the shipped model answers offline, with intervals, and says which model answered."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hallyu_forecast as hf
from hallyu_forecast.bundle import load_bundle
from hallyu_forecast.errors import ConfigError, ModelError
from hallyu_forecast.inference import OUTPUT_COLUMNS


@pytest.fixture(scope="module")
def forecasts():
    return hf.predict(["JPN", "Mexico", "VNM"], horizon=[1, 2, 3])


def test_output_columns_and_intervals(forecasts):
    assert list(forecasts.columns) == OUTPUT_COLUMNS
    assert len(forecasts) == 9
    assert (forecasts["lower"] <= forecasts["prediction"]).all()
    assert (forecasts["prediction"] <= forecasts["upper"]).all()
    assert (forecasts["lower_95"] <= forecasts["lower"]).all()
    assert (forecasts["upper"] <= forecasts["upper_95"]).all()
    assert (forecasts["target_year"] == forecasts["origin"] + forecasts["horizon"]).all()
    assert set(forecasts["country"]) == {"Japan", "Mexico", "Vietnam"}


def test_history_or_new_market_is_stated(forecasts):
    panel = hf.load_panel()
    has_history = set(panel.loc[panel["arrivals_0_30"].notna(), "iso3"])
    for row in forecasts.itertuples():
        expected = "history" if row.iso3 in has_history else "new_market"
        assert row.model == expected
        if expected == "new_market":
            assert row.note == "no target history: covariates-only new-market model"


def test_arrivals_are_the_back_transformed_rate_times_population(forecasts):
    panel = hf.load_panel()
    origin = int(forecasts["origin"].iloc[0])
    row = forecasts[(forecasts["iso3"] == "JPN") & (forecasts["horizon"] == 1)].iloc[0]
    pop = panel[(panel["iso3"] == "JPN") & (panel["year"] <= origin)].dropna(subset=["population"])["population"].iloc[-1]
    assert row["prediction_arrivals"] == pytest.approx(np.exp(row["prediction"]) * pop / 1e5)


def test_default_origin_is_latest_year_with_target_data(forecasts):
    panel = hf.load_panel()
    assert forecasts["origin"].unique().tolist() == [int(panel.loc[panel["arrivals_0_30"].notna(), "year"].max())]


def test_same_call_gives_identical_predictions(forecasts):
    again = hf.predict(["JPN", "Mexico", "VNM"], horizon=[1, 2, 3])
    pd.testing.assert_frame_equal(forecasts, again)


def test_earlier_origin():
    out = hf.predict("JPN", horizon=2, origin=2016)
    assert out[["origin", "target_year", "model"]].values.tolist() == [[2016, 2018, "history"]]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"countries": ["XYZ"]}, "Unknown country 'XYZ'. Use ISO3 codes such as 'MEX' or English names of countries in the panel; see hallyu_forecast.load_countries()."),
        ({"horizon": 4}, "`horizon` must be 1, 2 or 3. Got 4."),
        ({"horizon": 0}, "`horizon` must be 1, 2 or 3. Got 0."),
        ({"origin": 2030}, "`origin` must be a year with target data (2010-2022). Got 2030."),
        ({"countries": ["KOR"]}, "Korea is the destination, not an origin country: remove 'KOR'."),
    ],
)
def test_bad_input_messages(kwargs, message):
    with pytest.raises(ConfigError) as info:
        hf.predict(**kwargs)
    assert str(info.value) == message


def test_unknown_model_uri():
    with pytest.raises(ModelError, match=r"Model `runs:/0123456789abcdef/model` could not be loaded"):
        hf.predict("JPN", model="runs:/0123456789abcdef/model")


def test_missing_bundle_folder(tmp_path):
    with pytest.raises(ModelError, match=r"No model bundle at"):
        load_bundle(tmp_path)


def test_training_the_default_experiment_reproduces_the_shipped_model():
    from hallyu_forecast.config import load_config
    from hallyu_forecast.training import fit_final

    fresh = fit_final(load_config())
    shipped = load_bundle()
    panel = hf.load_panel()
    a = fresh.forecaster.predict(fresh.features(panel, origins=[2018, 2022]))
    b = shipped.forecaster.predict(shipped.features(panel, origins=[2018, 2022]))
    pd.testing.assert_frame_equal(a, b)
