"""A real MLflow tracking server and scoring server, used the way MLflow users use them.

Starts ``mlflow server`` on 127.0.0.1 (free port, SQLite backend, local artifact root in
tmp_path), trains against it with ``MLFLOW_TRACKING_URI=http://127.0.0.1:PORT``, registers the
model with an alias, loads ``models:/NAME@ALIAS`` in a fresh process, and asks ``mlflow models
serve --env-manager local`` over HTTP for forecasts equal to ``hf.predict()``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pandas as pd
import pytest

import hallyu_forecast as hf

pytestmark = pytest.mark.slow

MODEL = "hallyu-server-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    """Poll ``url`` until it answers 200 (bounded); fail with the server's output if it dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}: {proc.stderr.read()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout:.0f}s")


def _start(args: list[str], env: dict, cwd, request) -> subprocess.Popen:
    # own session so that the server's worker processes are stopped with it
    proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)

    def stop():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)

    request.addfinalizer(stop)
    return proc


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.update(extra)
    return env


def test_tracking_server_registry_alias_fresh_process_and_scoring_server(tmp_path, request):
    timings = {}
    start = time.perf_counter()
    mlflow_bin = os.path.join(os.path.dirname(sys.executable), "mlflow")
    port = _free_port()
    server = _start([mlflow_bin, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                     "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
                     "--artifacts-destination", str(tmp_path / "artifacts")],
                    _env(), tmp_path, request)
    uri = f"http://127.0.0.1:{port}"
    _wait_http(f"{uri}/health", server)
    timings["tracking server up"] = time.perf_counter() - start

    t = time.perf_counter()
    train = subprocess.run([sys.executable, "-m", "hallyu_forecast.cli", "train", "--no-backtest",
                            "--no-drivers", "--register", MODEL, "--alias", "champion"],
                           cwd=tmp_path, env=_env(MLFLOW_TRACKING_URI=uri), capture_output=True, text=True,
                           timeout=300)
    assert train.returncode == 0, train.stderr[-3000:]
    timings["train against the server"] = time.perf_counter() - t
    lines = dict(ln.partition(": ")[::2] for ln in train.stdout.splitlines() if ": " in ln)
    run_id = lines["MLflow run id"].strip()
    assert lines["MLflow model URI"].strip() == f"runs:/{run_id}/model"
    assert lines["Registered model URI"].strip() == f"models:/{MODEL}/1 (alias: models:/{MODEL}@champion)"
    assert lines["Browse the runs"].strip().startswith(f"open {uri}")
    assert not (tmp_path / "mlruns").exists()  # everything went to the server

    expected = hf.predict(["JPN", "MEX"], horizon=2)  # the default model == the default experiment
    panel = hf.load_panel()
    rows = panel[panel["iso3"].isin(["JPN", "MEX"])].reset_index(drop=True)

    # a fresh process loads the registered model by its alias
    t = time.perf_counter()
    rows_path = tmp_path / "rows.parquet"
    rows.to_parquet(rows_path)
    code = ("import mlflow, pandas as pd, sys\n"
            f"m = mlflow.pyfunc.load_model('models:/{MODEL}@champion')\n"
            f"out = m.predict(pd.read_parquet({str(rows_path)!r}), params={{'horizon': 2}})\n"
            "sys.stdout.write(out.to_json(orient='records', double_precision=15))\n")
    fresh = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(MLFLOW_TRACKING_URI=uri),
                           capture_output=True, text=True, timeout=180)
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    timings["load models:/NAME@ALIAS in a fresh process"] = time.perf_counter() - t
    got = pd.DataFrame(json.loads(fresh.stdout))
    cols = ["iso3", "origin", "horizon", "target_year", "prediction", "lower", "upper", "lower_95", "upper_95"]
    pd.testing.assert_frame_equal(got[cols].reset_index(drop=True), expected[cols].reset_index(drop=True),
                                  check_dtype=False, rtol=1e-12)

    # the scoring server MLflow starts for the registered model
    t = time.perf_counter()
    serve_port = _free_port()
    scorer = _start([mlflow_bin, "models", "serve", "-m", f"models:/{MODEL}@champion", "--env-manager", "local",
                     "--host", "127.0.0.1", "--port", str(serve_port), "--workers", "1"],
                    _env(MLFLOW_TRACKING_URI=uri), tmp_path, request)
    _wait_http(f"http://127.0.0.1:{serve_port}/ping", scorer)
    timings["scoring server up"] = time.perf_counter() - t
    payload = json.dumps({"dataframe_split": json.loads(rows.to_json(orient="split", index=False)),
                          "params": {"horizon": 2}}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{serve_port}/invocations", data=payload,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        body = json.loads(resp.read())
    served = pd.DataFrame(body["predictions"])
    pd.testing.assert_frame_equal(served[cols].reset_index(drop=True), expected[cols].reset_index(drop=True),
                                  check_dtype=False, rtol=1e-12)
    timings["total"] = time.perf_counter() - start
    print("timings (s):", {k: round(v, 1) for k, v in timings.items()})
