"""Optuna on a real PostgreSQL server: two `tune` workers at once share one study.

The server is Debian's ``postgresql`` package (``.ci/run`` installs it), started in a temporary
data directory on 127.0.0.1 and a free port. As root, PostgreSQL refuses to run, so the server
runs as the ``postgres`` system user.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

pytestmark = pytest.mark.slow

BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(args: list[str], **kw) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:  # postgres will not run as root
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, capture_output=True, text=True, **kw)


@pytest.fixture()
def postgres_url(request):
    if not BIN:
        pytest.fail("PostgreSQL is not installed (/usr/lib/postgresql/*/bin); .ci/run installs Debian's "
                    "`postgresql` package, or: apt-get install postgresql")
    bindir = BIN[-1]
    # not tmp_path: the server user must be able to enter the folder
    root = tempfile.mkdtemp(prefix="hf-pg-")
    os.chmod(root, 0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, port = os.path.join(root, "data"), _free_port()
    done = _as_server_user([f"{bindir}/initdb", "-D", data, "-U", "hf", "--auth=trust", "-E", "UTF8"], timeout=120)
    assert done.returncode == 0, done.stderr
    started = _as_server_user([f"{bindir}/pg_ctl", "-D", data, "-l", os.path.join(root, "log"), "-w", "-t", "60",
                               "-o", f"-p {port} -k {root} -h 127.0.0.1", "start"], timeout=90)

    def stop():
        _as_server_user([f"{bindir}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop"], timeout=60)
        shutil.rmtree(root, ignore_errors=True)

    request.addfinalizer(stop)
    assert started.returncode == 0, started.stderr + open(os.path.join(root, "log")).read()[-2000:]
    made = subprocess.run([f"{bindir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "hf", "optuna"],
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    return f"postgresql://hf@127.0.0.1:{port}/optuna"


def test_two_workers_share_one_study_on_postgres(postgres_url, tmp_path):
    import optuna

    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    n = 3
    workers = [subprocess.Popen([sys.executable, "-m", "hallyu_forecast.cli", "tune", "--storage", postgres_url,
                                 "--study-name", "shared", "--n-trials", str(n), "--no-track", "--seed", str(seed),
                                 "--out", f"w{seed}.json"],
                                cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for seed in (1, 2)]
    start = time.perf_counter()
    outs = [w.communicate(timeout=300) for w in workers]
    for w, (out, err) in zip(workers, outs):
        assert w.returncode == 0, err[-3000:]
    elapsed = time.perf_counter() - start

    study = optuna.load_study(study_name="shared", storage=postgres_url)
    finished = [t for t in study.trials if t.state.is_finished()]
    assert len(study.trials) == len(finished) == 2 * n  # the trials add up, none lost or left running
    assert sorted(t.number for t in study.trials) == list(range(2 * n))
    results = [json.loads((tmp_path / f"w{seed}.json").read_text()) for seed in (1, 2)]
    # every trial was run by exactly one worker
    assert sorted(results[0]["worker_trials"] + results[1]["worker_trials"]) == list(range(2 * n))
    assert all(len(r["worker_trials"]) == n for r in results)
    # the last worker to finish saw the whole study; both agree with the database
    last = max(results, key=lambda r: r["study_trials"])
    assert last["study_trials"] == 2 * n
    assert last["params"] == study.best_params and last["best_rmse"] == study.best_value
    # seen from either worker's connection now: the same best trial and parameters
    views = []
    for _ in range(2):
        code = ("import optuna, json, sys\n"
                f"s = optuna.load_study(study_name='shared', storage={postgres_url!r})\n"
                "sys.stdout.write(json.dumps([s.best_trial.number, s.best_params]))\n")
        view = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert view.returncode == 0, view.stderr
        views.append(json.loads(view.stdout))
    assert views[0] == views[1] == [study.best_trial.number, study.best_params]
    print(f"two workers x {n} trials on PostgreSQL: {elapsed:.1f}s")
