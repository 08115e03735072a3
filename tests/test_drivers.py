"""The drivers model of Hallyu levels (issue 8): fit, CV, decomposition, persistence, bad input."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import hallyu_forecast as hf
from hallyu_forecast import drivers as drv
from hallyu_forecast.errors import DataError, ModelError

TARGET = "youth_arrivals_per_capita"


@pytest.fixture(scope="module")
def fm():
    return hf.build_features(target=TARGET, horizons=[1])


@pytest.fixture(scope="module")
def fitted(fm):
    return drv.DriversModel(n_refits=3).fit(fm)


@pytest.fixture(scope="module")
def result():
    return hf.drivers(TARGET, n_refits=4, bootstrap_reps=100, model=None, folds=5, seed=1)


def _synthetic_fm(n_countries=30, years=range(2010, 2016), seed=0, noise=0.1):
    """A synthetic FeatureMatrix-like object: level = 2 * x (country trait) + year effect + noise."""
    rng = np.random.default_rng(seed)
    codes = [f"S{i:02d}" for i in range(n_countries)]  # synthetic country codes
    trait = dict(zip(codes, rng.normal(size=n_countries)))
    rows = []
    for c in codes:
        for t in years:
            rows.append({"iso3": c, "origin": t, "horizon": 1, "target_year": t + 1, "y": np.nan,
                         "y_origin": 2 * trait[c] + 0.3 * (t - 2010) + noise * rng.normal(),
                         "x": trait[c] + 0.05 * rng.normal(), "z": rng.normal()})
    return SyntheticFM(frame=pd.DataFrame(rows), features=["x", "z"],
                       roles={"x": "local_conditions", "z": "government_support"},
                       groups={"x": "economic", "z": "diplomatic"})


@dataclass
class SyntheticFM:
    """The FeatureMatrix attributes the drivers model reads (synthetic data only)."""

    frame: pd.DataFrame
    features: list
    roles: dict
    groups: dict
    target: object = None


def test_estimator_conventions_and_features(fitted, fm):
    est = drv.DriversModel(n_refits=2, num_leaves=5)
    assert clone(est).get_params() == est.get_params()
    assert not hasattr(est, "model_")  # __init__ only stores arguments
    assert "fta_in_force" not in fitted.features_ and "years_since_fta" not in fitted.features_
    assert "covid_at_origin" in fitted.dropped_ and "target_last" not in fitted.features_
    assert set(fitted.roles_.values()) <= set(drv.DRIVER_ROLES)
    assert fitted.n_countries_ == 45 and len(fitted.refits_) == 3
    assert all(len(c) == 36 for _, c in fitted.refits_)  # 80% of 45 countries


def test_year_effect_is_removed(fm):
    """Adding a common shift per year to every country's level leaves the relative fit unchanged."""
    shifted = fm.frame.copy()
    shifted["y_origin"] = shifted["y_origin"] + 0.5 * (shifted["origin"] - 2000)
    a = drv.DriversModel(n_refits=0).fit(fm).predict(fm)
    b = drv.DriversModel(n_refits=0).fit(replace(fm, frame=shifted)).predict(replace(fm, frame=shifted))
    np.testing.assert_allclose(a["relative"], b["relative"], atol=1e-9)
    assert not np.allclose(a["prediction"], b["prediction"])


def test_contributions_add_up_and_equal_shap_tree_explainer(fitted, fm):
    import warnings

    with warnings.catch_warnings():  # shap's plotting module warns about matplotlib APIs on import
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        import shap

    rows = drv.driver_rows(fm)
    phi, base, refits = fitted.contributions(rows, refits=True)
    np.testing.assert_allclose(base + phi.sum(axis=1), fitted.predict(rows)["relative"], atol=1e-6)
    assert len(refits) == 3 and refits[0][0].shape == phi.shape
    explainer = shap.TreeExplainer(fitted.model_.booster_)
    X = rows[fitted.features_].to_numpy(float)[:50]
    np.testing.assert_allclose(phi[:50], explainer.shap_values(X), atol=1e-9)
    assert base == pytest.approx(float(np.ravel(explainer.expected_value)[0]), abs=1e-9)


def test_cross_validation_beats_the_mean_on_synthetic_signal():
    acc, preds = drv.cross_validate(_synthetic_fm(), drv.DriversModel(min_child_samples=5), folds=5,
                                    bootstrap_reps=200)
    acc = acc.set_index("model")
    assert acc.loc["global_mean", "ratio"] < 0.5  # level = 2x: the model must find it out of country
    assert acc.loc["global_mean", "ratio_lo"] <= acc.loc["global_mean", "ratio"] <= acc.loc["global_mean", "ratio_hi"]
    assert set(preds["iso3"]) == {f"S{i:02d}" for i in range(30)}
    assert acc["n_countries"].eq(30).all() and acc["folds"].eq(5).all()


def test_too_few_countries_for_grouped_cv():
    with pytest.raises(DataError, match="observed for 6 countries; grouped cross-validation needs at least 10"):
        drv.cross_validate(_synthetic_fm(n_countries=6), folds=5)


def test_named_target_with_too_few_countries_is_an_error():
    panel = hf.load_panel().copy()
    keep = panel["iso3"].isin(["JPN", "CHN", "USA", "VNM", "THA"])
    panel.loc[~keep, "arrivals_0_30"] = np.nan  # only five countries keep the target
    with pytest.raises(DataError, match="grouped cross-validation needs at least 10"):
        hf.drivers(TARGET, panel=panel, n_refits=0)


def test_result_tables(result):
    frames = result.to_frames()
    for name in ("accuracy", "split", "groups", "countries", "levers", "domain", "dropped"):
        assert name in frames and len(frames[name])
    acc = frames["accuracy"].set_index("model")
    assert set(acc.index) == {"drivers", "global_mean", "continent_year_mean", "new_market"}
    assert acc.loc["drivers", "rmse"] < acc.loc["global_mean", "rmse"]
    split = frames["split"]
    sums = split.groupby("variant")["share"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0, atol=1e-9)
    assert set(split["variant"]) == {"as_specified", "trade_as_government_support"}
    assert (split["lo"] <= split["share"] + 1e-12).all() and (split["share"] <= split["hi"] + 1e-12).all()
    c = frames["countries"]
    obs = c[c["observed"]]
    total = obs.groupby(["iso3", "year"]).apply(lambda g: g["base_log"].iloc[0] + g["contribution_log"].sum(),
                                                include_groups=False)
    level = obs.groupby(["iso3", "year"])["level_log_rel"].first()
    np.testing.assert_allclose(total.to_numpy(), level.to_numpy(), atol=1e-6)
    np.testing.assert_allclose(c["factor"], np.exp(c["level_log_rel"]))
    assert not c["iso3"].isin(["ATA", "BVT", "HMD", "UMI"]).any()
    assert c.loc[c["iso3"] == "PRK", "domain"].str.startswith("extrapolated").all()
    lev = frames["levers"]
    assert lev["importance"].is_monotonic_decreasing and lev["rank"].tolist() == list(range(1, len(lev) + 1))
    brief = result.brief()["targets"][TARGET]
    assert brief["ranking"] in ("local conditions > government support", "government support > local conditions",
                                "indistinguishable")
    assert brief["rmse"] == pytest.approx(acc.loc["drivers", "rmse"])
    text = result.format_country("VNM")
    assert text.startswith("VNM 2019: x") and "government support x" in text and "local conditions x" in text


def test_save_load_roundtrip(result, tmp_path):
    result.save(tmp_path / "res")
    back = drv.DriversResult.load(tmp_path / "res")
    assert back.brief() == result.brief()
    pd.testing.assert_frame_equal(back.to_frames()["countries"], result.to_frames()["countries"])
    drv.save_drivers(result, tmp_path / "bundle", refits=True)
    loaded = drv.load_drivers(tmp_path / "bundle")
    assert loaded.brief() == result.brief()
    model, again = result.models[TARGET], loaded.models[TARGET]
    rows = drv.driver_rows(hf.build_features(target=TARGET, horizons=[1]))
    np.testing.assert_allclose(model.predict(rows)["prediction"], again.predict(rows)["prediction"], atol=1e-12)
    X = rows[model.features_].to_numpy(float)
    np.testing.assert_allclose(model.refits_[1][0].predict(X), again.refits_[1][0].predict(X), atol=1e-12)
    assert not list((tmp_path / "bundle").rglob("*.pkl"))


def test_bad_input(fitted, fm, tmp_path):
    with pytest.raises(ModelError, match="no forecast horizon"):
        hf.drivers(TARGET, horizon=2)
    with pytest.raises(ModelError, match="no forecast horizon"):
        fitted.predict(fm, horizon=1)
    with pytest.raises(ModelError, match="not fitted yet"):
        drv.DriversModel().predict(fm)
    from hallyu_forecast.bundle import load_bundle, save_bundle

    bundle = load_bundle()
    bundle.drivers = None  # a model trained without the drivers part
    save_bundle(bundle, tmp_path / "old")
    with pytest.raises(ModelError, match="has no drivers part"):
        hf.drivers(model=str(tmp_path / "old"))
    with pytest.raises(ModelError, match="no drivers part"):
        drv.load_drivers(tmp_path / "old")
    with pytest.raises(hf.errors.ConfigError if hasattr(hf, "errors") else Exception, match="Unknown target"):
        hf.drivers("no_such_target")


def test_shipped_model_has_the_drivers_part():
    from hallyu_forecast.bundle import DEFAULT_MODEL_DIR

    assert drv.has_drivers(DEFAULT_MODEL_DIR)
    res = hf.drivers(TARGET)  # the stored result: no refit at call time
    assert res.targets == [TARGET]
    assert res.meta["n_refits"] == 25
    from hallyu_forecast.errors import DomainError

    with pytest.raises(DomainError, match="No drivers explanation for ATA: excluded: no population data"):
        res.format_country("ATA")
    assert "(extrapolated: " in res.format_country("PRK")


def test_cli(capsys):
    from hallyu_forecast.cli import main

    assert main(["drivers", "--target", TARGET, "--horizon", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no forecast horizon" in err[0]
    assert main(["drivers", "--target", TARGET, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["brief"]["targets"]) == {TARGET}
    assert {r["model"] for r in doc["accuracy"]} >= {"drivers", "global_mean", "continent_year_mean"}
    assert main(["drivers", "--target", TARGET, "--country", "VNM"]) == 0
    out = capsys.readouterr().out
    assert "government support" in out and "VNM 2019: x" in out


def test_explain_refits_stored_at_training_time_give_the_same_draws(tmp_path):
    """Refits fitted once (train) and reused by explain() reproduce the call-time refits exactly."""
    from hallyu_forecast.bundle import load_bundle, save_bundle
    from hallyu_forecast.explain_attribution import fit_refits
    from hallyu_forecast.explanation import REFITS_FILE, explain

    bundle = load_bundle()
    bundle.drivers = None
    bundle.explain_refits = fit_refits(bundle, n_refits=2)
    save_bundle(bundle, tmp_path / "b")
    assert (tmp_path / "b" / REFITS_FILE).is_file() and not (tmp_path / "b" / "drivers").exists()
    stored = explain(str(tmp_path / "b"), countries="VNM", years=2019, n_refits=2)
    assert stored.meta["refits_stored"] is True
    bundle.explain_refits = None
    fresh = explain(bundle, countries="VNM", years=2019, n_refits=2)
    assert fresh.meta["refits_stored"] is False
    cols = ["refit", "model", "scope", "key", "with_history", "item"]
    a = stored.draws.sort_values(cols).reset_index(drop=True)
    b = fresh.draws.sort_values(cols).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_exact=False, atol=1e-12)
    # other settings (e.g. 3 refits, another seed) are not served from the stored ones
    from hallyu_forecast.explain_attribution import matching_refits
    from hallyu_forecast.explanation import load_refits

    kept = load_refits(tmp_path / "b")
    assert matching_refits(kept, 1, 2, "subsample", 0) is kept
    assert matching_refits(kept, 1, 3, "subsample", 0) is None
    assert matching_refits(kept, 1, 2, "subsample", 7) is None


def test_drivers_are_logged_to_mlflow(tmp_path, monkeypatch):
    import mlflow

    from hallyu_forecast import tracking
    from hallyu_forecast.training import log_drivers

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    tracking.configure()
    mlflow.set_experiment("drivers-test")  # this store's experiment, not one left active by an earlier test
    result = hf.drivers(TARGET)
    with mlflow.start_run() as run:
        log_drivers(result)
    client = mlflow.tracking.MlflowClient()
    names = {a.path for a in client.list_artifacts(run.info.run_id, "drivers")}
    assert {"drivers/split.csv", "drivers/accuracy.csv", "drivers/brief.json", "drivers/report.txt"} <= names
    metrics = client.get_run(run.info.run_id).data.metrics
    assert metrics[f"drivers_rmse_{TARGET}"] == pytest.approx(result.brief()["targets"][TARGET]["rmse"])
    assert f"drivers_share_government_support_{TARGET}" in metrics
