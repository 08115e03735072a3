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


def test_the_write_probe_never_touches_another_processs_probe(in_tmp):
    """Two trains starting together once deleted each other's shared ``.write-test`` probe (ENOENT ->
    "not writable"); each process now probes with a file of its own and leaves nothing behind."""
    from hallyu_forecast.tracking import configure

    store = in_tmp / "mlruns"
    store.mkdir()
    theirs = store / ".write-test"
    theirs.write_text("another process's probe")
    configure()
    assert theirs.read_text() == "another process's probe"
    assert sorted(p.name for p in store.glob(".write-test*")) == [".write-test"]


# ------------------------------------------------------------------ CLI: output, quiet, concurrency
def _cli(*args, cwd, env=None, **kw):
    import subprocess
    import sys

    full = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    full.update(env or {})
    return subprocess.Popen([sys.executable, "-m", "hallyu_forecast.cli", *args], cwd=cwd, env=full,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _lines(stdout: str) -> dict[str, str]:
    return {k.strip(): v.strip() for k, _, v in (ln.partition(": ") for ln in stdout.splitlines()) if v}


def test_two_train_processes_on_a_fresh_store_both_survive_and_print_how_to_find_them(tmp_path):
    import subprocess
    import sys

    import mlflow

    procs = [_cli("train", "--no-backtest", "--no-drivers", cwd=tmp_path) for _ in range(2)]  # tracking only
    outs = [p.communicate(timeout=240) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
        # quiet by default: no MLflow warnings, INFO lines, registration chatter or progress bars
        assert "Warning" not in err and "INFO" not in err and "Downloading artifacts" not in err, err[-2000:]
    store = (tmp_path / "mlruns" / "mlflow.db").resolve()
    run_ids = []
    for out, _ in outs:
        info = _lines(out)
        run_ids.append(info["MLflow run id"])
        assert info["MLflow model URI"] == f"runs:/{run_ids[-1]}/model"
        assert info["Browse the runs"] == f"mlflow ui --backend-store-uri sqlite:///{store}"
    assert len(set(run_ids)) == 2
    client = mlflow.MlflowClient(f"sqlite:///{store}")
    runs = client.search_runs([client.get_experiment_by_name("hallyu_forecast/default").experiment_id])
    assert sorted(r.info.run_id for r in runs) == sorted(run_ids)
    assert {r.info.status for r in runs} == {"FINISHED"}
    # The README's snippet, in a fresh process, exactly as written (from the folder holding ./mlruns)
    snippet = ("import mlflow, hallyu_forecast as hf\n"
               "mlflow.set_tracking_uri('sqlite:///mlruns/mlflow.db')\n"
               f"model = mlflow.pyfunc.load_model('runs:/{run_ids[0]}/model')\n"
               "panel = hf.load_panel()\n"
               "print(model.predict(panel[panel['iso3'] == 'MEX'], params={'horizon': 2})['prediction'].iloc[0])\n")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    done = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Warning" not in done.stderr, done.stderr[-2000:]
    expected = hf.predict("MEX", horizon=2)["prediction"].iloc[0]
    assert float(done.stdout.strip()) == pytest.approx(expected, rel=1e-12)


def test_unreachable_tracking_server_is_one_clear_line(tmp_path):
    proc = _cli("train", "--no-backtest", cwd=tmp_path, env={"MLFLOW_TRACKING_URI": "http://127.0.0.1:9",
                                                             "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
                                                             "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"})
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in err
    # checked before any work (a TCP connect with a short timeout), not after MLflow's retries
    assert err.startswith("error: MLFLOW_TRACKING_URI `http://127.0.0.1:9`: cannot connect to 127.0.0.1:9 ("), err
    assert len(err.strip().splitlines()) == 1


def test_alias_needs_register(tmp_path):
    proc = _cli("train", "--no-backtest", "--no-track", "--alias", "champion", cwd=tmp_path)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "`--alias` needs `--register NAME`" in err


def test_quiet_silences_mlflow_unless_verbose():
    import logging

    import mlflow  # noqa: F401  (configures MLflow's logger first)

    from hallyu_forecast import logs, tracking

    logger = logging.getLogger("mlflow")
    was_verbose = logs.is_verbose()
    logs.set_verbose(False)
    before = logger.level
    with tracking.quiet():
        assert logger.level == logging.WARNING
        assert os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] == "false"
    assert logger.level == before
    logs.set_verbose(True)  # the CLI's -v: MLflow speaks again
    try:
        before = logger.level
        with tracking.quiet():
            assert logger.level == before
            assert os.environ.get("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR") != "false"
    finally:
        logs.set_verbose(was_verbose)
