"""Causal estimators (event study, DML), effects(), simulate() and their bad-input errors.

Synthetic data are generated in the tests and named synthetic; real-data tests use the embedded panel.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from hallyu_forecast.causal.event_study import CausalError, event_study


def synthetic_staggered(effect=0.5, n_units=60, n_treated=30, years=range(2000, 2016), seed=0, dynamic=0.0):
    """Synthetic staggered adoption: unit and year effects, unit trends, onsets 2004-2009, 0 = never."""
    rng = np.random.default_rng(seed)
    years = list(years)
    alpha = rng.normal(0, 1, n_units)
    gamma = rng.normal(0, 0.3, len(years)).cumsum()
    rows = []
    for i in range(n_units):
        g = 2004 + i % 6 if i < n_treated else 0
        for j, t in enumerate(years):
            treated = g > 0 and t >= g
            y = alpha[i] + gamma[j] + rng.normal(0, 0.1) + (effect + dynamic * (t - g) if treated else 0.0)
            rows.append((f"S{i:02d}", t, y, g))
    return pd.DataFrame(rows, columns=["iso3", "year", "y", "g"])


def test_event_study_recovers_synthetic_effect():
    synthetic = synthetic_staggered(effect=0.5, seed=3)
    res = event_study(synthetic, "y", "g", n_boot=499, n_placebo=99, seed=1)
    assert res.ci_lo < 0.5 < res.ci_hi and res.ci_lo > 0.3
    assert res.n_treated == 30 and res.n_control == 30
    assert res.placebo_p < 0.05  # a real effect stands out from random onsets
    assert res.pretrend_p > 0.01  # no pre-trends were built in
    post = res.dynamic[res.dynamic["period"] == "post"]
    # Simultaneous bands cover the true effect at every event time.
    assert ((post["band_lo"] < 0.5) & (post["band_hi"] > 0.5)).all()
    assert res.dynamic.set_index("event_time").loc[-1, "estimate"] == 0


def test_event_study_never_treated_controls():
    synthetic = synthetic_staggered(effect=0.5, seed=9)
    res = event_study(synthetic, "y", "g", control="never", n_boot=199, n_placebo=9, seed=1)
    assert res.ci_lo < 0.5 < res.ci_hi and res.control == "never"
    # Without never-treated units only the not-yet-treated comparison exists.
    only_treated = synthetic[synthetic["g"] > 0]
    res = event_study(only_treated, "y", "g", control="notyet", window=(-3, 2), n_boot=199, n_placebo=9, seed=1)
    assert res.ci_lo < 0.5 < res.ci_hi


def test_event_study_recovers_synthetic_dynamic_effect():
    synthetic = synthetic_staggered(effect=0.2, dynamic=0.1)
    res = event_study(synthetic, "y", "g", n_boot=299, n_placebo=19, seed=2).dynamic.set_index("event_time")
    for e in (0, 2, 4):
        assert res.loc[e, "band_lo"] < 0.2 + 0.1 * e < res.loc[e, "band_hi"]


def test_event_study_null_on_permuted_onsets():
    synthetic = synthetic_staggered(effect=0.5, seed=3)
    onsets = synthetic.groupby("iso3")["g"].first()
    rng = np.random.default_rng(4)
    permuted = pd.Series(rng.permutation(onsets.to_numpy()), index=onsets.index)
    placebo = synthetic.assign(g=synthetic["iso3"].map(permuted), y=synthetic["y"]
                               - 0.5 * ((synthetic["g"] > 0) & (synthetic["year"] >= synthetic["g"])))
    res = event_study(placebo, "y", "g", n_boot=299, n_placebo=99, seed=5)
    assert res.ci_lo < 0 < res.ci_hi
    assert res.placebo_p > 0.1


def test_event_study_matches_hand_computation():
    # Synthetic 4 units x 3 years: A treated 2001, B treated 2002, C and D never treated.
    synthetic = pd.DataFrame({
        "iso3": list("AAABBBCCCDDD"), "year": [2000, 2001, 2002] * 4,
        "y": [1.0, 3.0, 4.0, 2.0, 2.5, 5.0, 0.0, 0.5, 1.5, 1.0, 1.0, 1.5],
        "g": [2001] * 3 + [2002] * 3 + [0] * 6,
    })
    res = event_study(synthetic, "y", "g", window=(-1, 1), n_boot=49, n_placebo=5, min_pre=0, min_treated=1)
    cells = res.cells.set_index(["group", "year"])["att"]
    # ATT(2001, 2001): A's change 2000->01 (2.0) minus mean of not-yet-treated B, C, D (0.5, 0.5, 0) = 2 - 1/3.
    assert cells[(2001, 2001)] == pytest.approx(2.0 - 1.0 / 3)
    # ATT(2001, 2002): A's 2000->02 change (3.0) minus never-treated C, D (1.5, 0.5) = 2.
    assert cells[(2001, 2002)] == pytest.approx(2.0)
    # ATT(2002, 2002): B's 2001->02 change (2.5) minus C, D (1.0, 0.5) = 1.75.
    assert cells[(2002, 2002)] == pytest.approx(1.75)
    # Pre cell ATT(2002, 2000): B's 2001->2000 change (-0.5) minus C, D (-0.5, 0) = -0.25.
    assert cells[(2002, 2000)] == pytest.approx(-0.25)
    # e = 0 averages the two e = 0 cells weighted by treated counts (1 and 1).
    e0 = res.dynamic.set_index("event_time").loc[0, "estimate"]
    assert e0 == pytest.approx(((2.0 - 1.0 / 3) + 1.75) / 2)


def test_event_study_reproducible_from_seed():
    synthetic = synthetic_staggered(seed=6)
    a = event_study(synthetic, "y", "g", n_boot=99, n_placebo=19, seed=7)
    b = event_study(synthetic, "y", "g", n_boot=99, n_placebo=19, seed=7)
    assert a.placebo_p == b.placebo_p and a.pretrend_p == b.pretrend_p
    pd.testing.assert_frame_equal(a.dynamic, b.dynamic)


def test_event_study_bad_input():
    synthetic = synthetic_staggered()
    with pytest.raises(CausalError, match="`control` must be 'notyet' or 'never'"):
        event_study(synthetic, "y", "g", control="all")
    short = synthetic[synthetic["year"] >= 2008]  # onsets 2004-2009: hardly any pre-period left
    with pytest.raises(CausalError, match="pre-treatment year"):
        event_study(short, "y", "g", min_pre=2, n_boot=9, n_placebo=1)


def test_dml_recovers_synthetic_effect():
    from hallyu_forecast.causal.dml import dml_plr

    rng = np.random.default_rng(8)
    n_c, years = 24, list(range(2000, 2009))
    rows = []
    a = rng.normal(0, 1, n_c)
    for i in range(n_c):
        for t in years:
            x1, x2 = rng.normal(), rng.normal()
            d = 0.8 * np.sin(x1) + 0.5 * a[i] + rng.normal(0, 0.5)
            y = 0.7 * d + np.cos(x1) + 0.5 * x2 ** 2 + a[i] + 0.05 * (t - 2000) + rng.normal(0, 0.3)
            rows.append((f"S{i:02d}", t, y, d, x1, x2))
    synthetic = pd.DataFrame(rows, columns=["iso3", "year", "y", "d", "x1", "x2"])
    res = dml_plr(synthetic, "y", "d", ["x1", "x2"], seed=0, n_folds=3, refute=True)
    assert res.ci_lo < 0.7 < res.ci_hi and res.n_countries == 24
    ref = res.refutations.set_index("refutation")
    assert ref.loc["placebo_treatment", "ci_lo"] < 0 < ref.loc["placebo_treatment", "ci_hi"]
    assert abs(ref.loc["random_common_cause", "estimate"] - res.estimate) < 0.1
    with pytest.raises(CausalError, match="absorbed by the country and year effects"):
        dml_plr(synthetic.assign(d=synthetic["year"] - 1990.0), "y", "d", ["x1", "x2"], refute=False)


# ------------------------------------------------------------------ real data (embedded panel)


@pytest.fixture(scope="module")
def panel():
    from hallyu_forecast.panel import load_panel

    return load_panel()


def test_effects_table_on_embedded_panel(panel):
    import hallyu_forecast as hf
    from hallyu_forecast.causal.effects import TABLE_COLUMNS

    res = hf.effects(levers=["kcc", "oda"], targets=["youth_arrivals_per_capita"], panel=panel, n_boot=199,
                     n_placebo=19)
    assert list(res.table.columns) == TABLE_COLUMNS
    kcc = res.lookup("kcc", "youth_arrivals_per_capita")
    assert kcc["ci_lo"] < kcc["estimate"] < kcc["ci_hi"] and kcc["n_treated"] >= 5
    assert kcc["estimate_pct"] == pytest.approx(100 * (np.exp(kcc["estimate"]) - 1))
    assert 0 <= kcc["pretrend_p"] <= 1 and 0 < kcc["placebo_p"] <= 1
    assert "COVID" in kcc["assumptions"]
    oda = res.lookup("oda", "youth_arrivals_per_capita")
    assert oda["verdict"] == "not estimable" and "2019 only" in oda["assumptions"]
    frames = res.to_frames()
    assert set(frames["event_time"]["lever"]) == {"kcc"} and {-1, 0}.issubset(set(frames["event_time"]["event_time"]))


def test_event_data_excludes_unknown_onsets(panel):
    from hallyu_forecast.causal.effects import event_data

    wh = event_data(panel, "working_holiday", "youth_arrivals_per_capita")
    assert "NZL" not in set(wh["iso3"])  # only an 'as of' listing: neither treated nor control
    assert wh.loc[wh["iso3"] == "AUS", "g"].iloc[0] == 1995
    kcc = event_data(panel, "kcc", "youth_arrivals_per_capita")
    assert not {"HKG", "ITA", "GBR", "DEU"} & set(kcc["iso3"])  # first centre's year only imputed


def test_effects_bad_input(panel):
    from hallyu_forecast.causal.effects import check_lever, effects, run_event_study

    with pytest.raises(CausalError, match="lever 'gdp_pc_usd' is not an event column"):
        check_lever("gdp_pc_usd")
    with pytest.raises(CausalError, match=r"unknown lever\(s\) \['visa_free'\]"):
        effects(levers=["visa_free"], panel=panel)
    # Language students exist for 2022-2023 only: no pre/post years around any onset.
    with pytest.raises(CausalError, match="target `language_students_per_capita` has no estimable post-treatment cell for `kcc_onset_year`"):
        run_event_study(panel, "kcc", "language_students_per_capita", n_boot=9, n_placebo=1)
    with pytest.raises(CausalError, match="unknown target 'fans'"):
        effects(levers=["kcc"], targets=["fans"], panel=panel)


def test_simulate_causal_scenario():
    import hallyu_forecast as hf

    scen = hf.simulate("VNM", {"wh_agreement": 1}, horizon=2)
    f = scen.forecast
    assert list(f["horizon"]) == [1, 2]
    assert np.allclose(f["scenario"] - f["baseline"], f["effect"])
    assert (f["effect_lo"] < f["effect"]).all() and (f["effect"] < f["effect_hi"]).all()
    # The causal interval propagates: the scenario interval is wider than the baseline's.
    assert ((f["scenario_upper"] - f["scenario_lower"]) > (f["baseline_upper"] - f["baseline_lower"])).all()
    # "causal", or "causal (pre-trends fail)" / "causal (not credible)" when the estimate failed a check
    assert re.match(r"causal( \(pre-trends fail\)| \(not credible\))? \(wh_agreement: event study of working_holiday",
                    f["basis"].iloc[0]), f["basis"].iloc[0]
    assert scen.levers["rank"].tolist() == list(range(1, len(scen.levers) + 1))
    assert "working_holiday" in set(scen.levers["lever"]) and "kcc" not in set(scen.levers["lever"])
    credible = scen.levers[scen.levers["credible"]]
    assert credible["ci_lo"].is_monotonic_decreasing and (credible["ci_lo"] > 0).all()
    assert scen.levers["credible"].is_monotonic_decreasing  # credible levers first
    # Trade: the double-ML effect per log point of trade times the change in log trade.
    trade = hf.simulate("MEX", {"kor_trade_usd": 4e10}, horizon=1, rank=False).forecast
    assert re.match(r"causal( \(pre-trends fail\)| \(not credible\))? \(kor_trade_usd: double ML of trade_intensity",
                    trade["basis"].iloc[0]), trade["basis"].iloc[0]
    assert trade["effect_lo"].iloc[0] < trade["effect"].iloc[0] < trade["effect_hi"].iloc[0]


def test_simulate_associational_and_bad_input():
    import hallyu_forecast as hf

    scen = hf.simulate("BRA", {"kor_visa_openness": 0}, horizon=1, rank=False)
    assert scen.forecast["basis"].iloc[0].startswith("association (predictive model re-run with kor_visa_openness=0)")
    assert scen.forecast["effect_lo"].isna().all()
    with pytest.raises(CausalError, match=r"MEX already has `kcc_present`=1 in \d{4} \(already treated\)"):
        hf.simulate("MEX", {"kcc_present": 1})
    with pytest.raises(CausalError, match=r"`wh_agreement` is a 0/1 lever \(1 = in place, 0 = not\): set it to 0 or 1\. "
                                          r"Got 2\."):
        hf.simulate("MEX", {"wh_agreement": 2})
    with pytest.raises(CausalError, match=r"`kor_visa_openness=5` is outside the column's range \[0, 3\]"):
        hf.simulate("MEX", {"kor_visa_openness": 5})
    with pytest.raises(CausalError, match="`gdp_pc_usd` cannot be set in a scenario"):
        hf.simulate("MEX", {"gdp_pc_usd": 1})


def test_cli_whatif_errors(capsys):
    from hallyu_forecast.cli import main

    assert main(["whatif", "--country", "MEX", "--set", "kor_visa_openness=5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: `kor_visa_openness=5` is outside the column's range") and "Traceback" not in err
    assert main(["whatif", "--country", "MEX", "--set", "wh_agreement"]) == 2
    assert "must look like COLUMN=NUMBER" in capsys.readouterr().err
    assert main(["effects", "--lever", "nope", "--no-track"]) == 2
    assert "unknown lever(s) ['nope']" in capsys.readouterr().err


def test_effects_logged_to_mlflow(tmp_path, monkeypatch):
    import mlflow

    from hallyu_forecast.causal.api import effects

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    res = effects(levers=["kcc"], targets=["total_arrivals_per_capita"], n_boot=99, n_placebo=9, track=True)
    runs = mlflow.search_runs(search_all_experiments=True, filter_string="tags.kind = 'effects'")
    assert len(runs) == 1
    metric = runs["metrics.kcc.total_arrivals_per_capita.estimate"].iloc[0]
    assert metric == pytest.approx(res.table["estimate"].iloc[0])


def test_cli_effects_json(capsys):
    import json

    from hallyu_forecast.cli import main

    assert main(["effects", "--lever", "fta", "--target", "total_arrivals_per_capita", "--json", "--no-track"]) == 0
    out = json.loads(capsys.readouterr().out)
    (row,) = out["effects"]
    assert row["lever"] == "fta" and row["method"].startswith("event study")
    assert out["event_time"] and out["seed"] == 0
