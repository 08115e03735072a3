"""Shock episodes (hallyu_forecast.episodes): the rule on a synthetic series, and the real episodes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hallyu_forecast.cli import main
from hallyu_forecast.episodes import find_episodes
from hallyu_forecast.errors import ConfigError
from hallyu_forecast.monthly import load_monthly


def synthetic_monthly(factors: dict[tuple[int, int], float], years=range(2010, 2016), level=1000.0) -> pd.DataFrame:
    """SYNTHETIC test data: one country 'AAA', a flat seasonal series times ``factors`` in some months."""
    season = 1.0 + 0.3 * np.sin(np.arange(12) / 12 * 2 * np.pi)
    rows = []
    for y in years:
        for m in range(1, 13):
            rows.append({"iso3": "AAA", "year": y, "month": m,
                         "arrivals_0_30": level * season[m - 1] * factors.get((y, m), 1.0)})
    return pd.DataFrame(rows)


def test_synthetic_shock_onset_trough_end_and_depth():
    # 2013-06..08 at 30/20/50% of normal, 2013-09 at 95%: onset 06, trough 07, end when the trailing
    # three months are back within 10% of the reference (2012): Aug-Oct = (0.5+0.95+1)/3 < 0.9,
    # Sep-Nov = (0.95+1+1)/3 = 0.98 -> end 2013-11
    m = synthetic_monthly({(2013, 6): 0.3, (2013, 7): 0.2, (2013, 8): 0.5, (2013, 9): 0.95})
    e = find_episodes(m)
    assert len(e) == 1
    row = e.iloc[0]
    assert (row["onset"], row["trough"], row["end"], row["status"]) == ("2013-06", "2013-07", "2013-11", "recovered")
    assert row["reference_year"] == 2012
    # depth is 1 - (0.2 * x + 1) / (x + 1): the +1 inside the ratio keeps zero months finite
    assert row["depth"] == pytest.approx(0.8, abs=1e-3)
    assert row["months"] == 5


def test_two_bad_months_are_not_an_episode_and_ongoing_at_the_end():
    m = synthetic_monthly({(2013, 6): 0.3, (2013, 7): 0.3})
    assert find_episodes(m).empty
    m = synthetic_monthly({(2015, 10): 0.1, (2015, 11): 0.1, (2015, 12): 0.1})
    e = find_episodes(m)
    assert list(e["status"]) == ["ongoing"] and e["end"].iloc[0] == ""


def test_a_permanent_fall_becomes_the_new_normal():
    factors = {(y, mo): 0.4 for y in range(2012, 2016) for mo in range(1, 13)}
    e = find_episodes(synthetic_monthly(factors, years=range(2010, 2018)))
    assert list(e["status"]) == ["new normal"]
    assert e["reference_year"].iloc[0] == 2011 and e["end"].iloc[0] == "2015-01"


def test_cutting_the_data_never_changes_earlier_episodes():
    m = load_monthly()
    full = find_episodes(m)
    cut = find_episodes(m[m["year"] * 12 + m["month"] <= 2017 * 12 + 6])
    before = full[full["onset_stamp"] <= 2017 * 12 + 5]
    merged = before.merge(cut, on="episode", suffixes=("", "_cut"))
    assert len(merged) == len(before) == len(cut)
    done = merged["end_stamp"] <= 2017 * 12 + 5
    assert (merged.loc[done, "end"] == merged.loc[done, "end_cut"]).all()
    assert (merged.loc[~done, "status_cut"] == "ongoing").all()


def test_bad_thresholds_are_refused():
    with pytest.raises(ConfigError, match="`below` must be between"):
        find_episodes(synthetic_monthly({}), below=1.5)


@pytest.fixture(scope="module")
def real():
    return find_episodes()


def test_mers_2015_is_found(real):
    mers = real[real["event"] == "MERS 2015"]
    assert {"HKG", "TWN", "THA", "SGP", "CHN"} <= set(mers["iso3"])
    assert (mers["onset"] == "2015-06").all() and (mers["status"] == "recovered").all()
    assert (mers["reference_year"] == 2014).all()


def test_china_2017_is_found(real):
    chn = real[(real["iso3"] == "CHN") & (real["event"] == "China 2017")]
    assert list(chn["onset"]) == ["2017-03"]
    # China's youth arrivals never came back within 10% of 2016 before COVID
    assert chn["status"].iloc[0] == "new normal" and chn["depth"].iloc[0] > 0.6


def test_covid_is_found_nearly_everywhere(real):
    covid = real[real["event"] == "COVID 2020"]
    assert covid["iso3"].nunique() >= 40
    assert {"JPN", "CHN", "USA", "VNM", "THA", "TWN"} <= set(covid["iso3"])
    assert (covid["depth"].median() > 0.95)
    assert (covid["reference_year"] == 2019).all()


def test_japan_has_no_2019_boycott_episode_in_inbound_arrivals(real):
    # The 2019-20 boycott was of Korean travel to Japan: Japanese youth arrivals to Korea rose in
    # 2019 (the data), so the rule finds Japan's 2013-15 fall and COVID, nothing in 2019
    jpn = real[real["iso3"] == "JPN"]
    assert not jpn["onset"].str.startswith("2019").any()
    assert list(jpn["onset"]) == ["2013-04", "2014-01", "2020-03"]


def test_cli_prints_the_table(capsys):
    assert main(["episodes", "--country", "HKG"]) == 0
    out = capsys.readouterr().out
    assert "HKG 2015-06" in out and "MERS 2015" in out
    assert main(["episodes", "--column", "nope"]) == 2
    assert main(["episodes", "--country", "Japan"]) == 0
    assert "JPN 2020-03" in capsys.readouterr().out
    assert main(["episodes", "--country", "Atlantis"]) == 2
