"""MLflow: runs land in ./mlruns, the logged model loads back as a pyfunc and predicts the same values."""

from __future__ import annotations

import os

import pandas as pd
import pytest

import hallyu_forecast as hf
from hallyu_forecast.errors import ModelError


@pytest.fixture()
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow")
    old = os.getcwd()
    os.chdir(folder)
    env = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        from hallyu_forecast.config import load_config
        from hallyu_forecast.training import train

        bundle, result, uri = train(load_config(), run_backtest=False, register="hallyu-test")
        yield folder, bundle, uri
    finally:
        os.chdir(old)
        if env is not None:
            os.environ["MLFLOW_TRACKING_URI"] = env


def test_runs_are_stored_under_mlruns(trained):
    folder, _, uri = trained
    assert (folder / "mlruns" / "mlflow.db").is_file()
    artifact_dirs = [p for p in (folder / "mlruns").iterdir() if p.is_dir()]
    assert artifact_dirs and any(any(p.iterdir()) for p in artifact_dirs)


@pytest.fixture()
def in_store(trained, monkeypatch):
    """Work inside the folder holding the trained run's ./mlruns store."""
    from hallyu_forecast.tracking import configure

    monkeypatch.chdir(trained[0])
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    configure()
    return trained


def test_pyfunc_loads_and_predicts_panel_rows_like_predict(in_store):
    import mlflow

    _, bundle, uri = in_store
    model = mlflow.pyfunc.load_model(uri)
    panel = hf.load_panel()
    rows = panel[panel["iso3"].isin(["JPN", "THA"]) & (panel["year"] >= 2010)]
    got = model.predict(rows, params={"horizon": 2})
    expected = hf.predict(["JPN", "THA"], horizon=2, model=bundle)
    cols = ["iso3", "origin", "target_year", "prediction", "lower", "upper", "lower_95", "upper_95", "model"]
    pd.testing.assert_frame_equal(got[cols].reset_index(drop=True), expected[cols].reset_index(drop=True),
                                  check_dtype=False)
    # the registered name resolves too
    registered = mlflow.pyfunc.load_model("models:/hallyu-test/1")
    assert len(registered.predict(rows)) == 2


def test_run_records_config_data_vintage_commit_and_specs(in_store):
    import mlflow

    client = mlflow.MlflowClient()
    exp = client.get_experiment_by_name("hallyu_forecast/default")
    run = client.search_runs([exp.experiment_id])[0]
    assert run.data.tags["kind"] == "train"
    assert "git_commit" in run.data.tags
    assert run.data.params["target"] == "youth_arrivals_per_capita"
    assert run.data.params["data.last_year"] == "2024"
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config", "data", "features"} <= names


def test_unwritable_store_is_a_clear_error(in_tmp):
    from hallyu_forecast.tracking import configure

    (in_tmp / "mlruns").write_text("a file where the store folder should be")
    with pytest.raises(ModelError, match=r"The MLflow store .*mlruns is not writable"):
        configure()
