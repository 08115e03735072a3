"""MLflow integration in one module: where runs go, what every run records, the pyfunc model.

Where runs go
-------------
``MLFLOW_TRACKING_URI`` if set (an ``http://`` tracking server, a ``sqlite:///`` file...), else
the project's store ``./mlruns``: a SQLite database ``mlruns/mlflow.db`` plus artifacts in
``mlruns/<experiment id>/``. MLflow's own default (``./mlflow.db``) is *not* used, so outside
this package point MLflow at the store explicitly, exactly as ``train`` prints it::

    mlflow.set_tracking_uri("sqlite:///mlruns/mlflow.db")     # from the folder holding ./mlruns
    mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db  # the same for the UI

A fresh SQLite store is created (MLflow's schema migrations) by one process at a time under an
``fcntl`` lock on ``<db>.lock``, so concurrent ``train`` runs on a fresh store all survive.

What a run records
------------------
Parameters of the experiment config, the config file, the data vintage and raw-file checksums
(``panel_meta.json``), the git commit, the feature specs, and (for training) the model as a
models-from-code pyfunc (:mod:`hallyu_forecast.mlflow_model`, the bundle as its artifact; no
CloudPickle) whose ``predict`` takes *panel rows* and does the feature building itself::

    model = mlflow.pyfunc.load_model("runs:/<run_id>/model")
    model.predict(panel_rows)           # rows: iso3, year, panel columns (any subset of countries)

Noise
-----
MLflow's warnings, INFO lines and download progress bars are silenced inside this module's
calls unless :func:`hallyu_forecast.logs.set_verbose` ``(True)`` was called (the CLI's ``-v``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from hallyu_forecast.bundle import load_bundle, save_bundle, versions
from hallyu_forecast.config import load_config
from hallyu_forecast.errors import ModelError
from hallyu_forecast.logs import is_verbose
from hallyu_forecast.panel import panel_metadata

EXPERIMENT_PREFIX = "hallyu_forecast"


MODEL_CODE = Path(__file__).with_name("mlflow_model.py")
_QUIET_LOGGERS = ("mlflow", "alembic", "urllib3", "git", "sqlalchemy")


@contextlib.contextmanager
def quiet():
    """Silence MLflow's warnings, INFO logging and artifact progress bars.

    One switch for the whole package: unless :func:`hallyu_forecast.logs.set_verbose` ``(True)``
    was called (the CLI's ``-v``), MLflow calls made inside this block are silent.
    """

    if is_verbose():
        yield
        return
    import io

    from mlflow.utils import logging_utils

    loggers = {name: logging.getLogger(name) for name in _QUIET_LOGGERS}
    levels = {name: lg.level for name, lg in loggers.items()}
    bar = os.environ.get("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")
    stream = logging_utils.MLFLOW_LOGGING_STREAM
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    logging_utils.MLFLOW_LOGGING_STREAM = io.StringIO()  # eprint(): "Successfully registered model ..."
    for lg in loggers.values():
        lg.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            # MLflow's UserWarnings and the deprecation warnings of its dependencies. Filters are
            # not enough: some MLflow functions reset them (simplefilter("once")), so warnings
            # raised from MLflow's own files are also dropped where they are shown.
            warnings.filterwarnings("ignore", module=r"(mlflow|sqlalchemy|alembic|pydantic)(\.|$)")
            warnings.filterwarnings("ignore", category=UserWarning, message=r".*(mlflow|MLflow|cloudpickle).*")
            shown = warnings.showwarning

            def showwarning(message, category, filename, lineno, *args, **kwargs):
                if f"{os.sep}mlflow{os.sep}" in str(filename) or "cloudpickle" in str(message).lower():
                    return
                shown(message, category, filename, lineno, *args, **kwargs)

            warnings.showwarning = showwarning
            yield
    finally:
        logging_utils.MLFLOW_LOGGING_STREAM = stream
        for name, lg in loggers.items():
            lg.setLevel(levels[name])
        if bar is None:
            os.environ.pop("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", None)
        else:
            os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = bar


def default_store() -> Path:
    return Path.cwd() / "mlruns"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` tracking URI (None for other schemes)."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri[len("sqlite:///"):].split("?")[0]).resolve()


@contextlib.contextmanager
def _store_lock(uri: str):
    """Exclusive ``fcntl`` lock on ``<db>.lock`` for SQLite stores (a no-op for other URIs)."""
    path = sqlite_path(uri)
    if path is None:
        yield
        return
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _mlflow_error(exc: Exception, uri: str, doing: str) -> ModelError:
    text = " ".join(str(exc).split())[:240]
    return ModelError(f"MLflow failed while {doing} at {uri} ({type(exc).__name__}: {text}). Check that "
                      "MLFLOW_TRACKING_URI names a reachable tracking server or a writable sqlite:/// file, "
                      "or unset it to use ./mlruns.")


def configure() -> str:
    """Point MLflow at ``MLFLOW_TRACKING_URI`` or ``./mlruns``; create a fresh SQLite store once, locked.

    Returns the tracking URI. Raises :class:`ModelError` when the store is not writable or MLflow
    cannot open it.
    """
    import mlflow

    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        store = default_store()
        try:
            store.mkdir(parents=True, exist_ok=True)
            # a probe file of this process's own: with a shared name, two trains starting together
            # could delete each other's probe and report a writable store as unwritable
            fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=store)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise ModelError(f"The MLflow store {store} is not writable ({exc.strerror}). Run from a writable "
                             "folder or set MLFLOW_TRACKING_URI (e.g. sqlite:////tmp/mlflow.db).") from None
        uri = f"sqlite:///{store / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    path = sqlite_path(uri)
    if path is not None:
        with quiet(), _store_lock(uri):
            try:
                # The first client call creates the schema (MLflow's migrations); under the lock only
                # one process migrates a fresh database, the others find it ready.
                mlflow.MlflowClient(uri).search_experiments(max_results=1)
            except Exception as exc:  # sqlalchemy/OSError/MlflowException: the store cannot be opened
                raise _mlflow_error(exc, uri, "opening the tracking store") from None
    return uri


def ui_command(uri: str) -> str:
    """How to browse the runs of ``uri``: the exact ``mlflow ui`` command, or the server's address."""
    if uri.startswith(("http://", "https://")):
        return f"open {uri} in a browser (the tracking server's UI)"
    return f"mlflow ui --backend-store-uri {uri}"


def git_commit() -> str:
    """The commit of the working tree (``unknown`` outside a git checkout)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        commit = out.stdout.strip()
        if out.returncode != 0 or not commit:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, timeout=5,
                               cwd=Path(__file__).resolve().parent).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@contextlib.contextmanager
def run(kind: str, config, run_name: str | None = None, nested: bool = False, log_context: bool = True):
    """Start an MLflow run for ``kind`` (train/backtest/tune/report) of experiment ``config``.

    Logs parameters, config file, data vintage, git commit and feature specs, then yields
    the active run. MLflow failures while starting the run raise :class:`ModelError`.
    """
    import mlflow

    with quiet():
        uri = mlflow.get_tracking_uri()
        stack = contextlib.ExitStack()
        try:
            if not nested:
                uri = configure()
                with _store_lock(uri):  # two fresh processes must not both create the experiment
                    mlflow.set_experiment(f"{EXPERIMENT_PREFIX}/{config.name}")
            active = stack.enter_context(mlflow.start_run(run_name=run_name or f"{kind}-{config.name}",
                                                          nested=nested))
        except ModelError:
            raise
        except Exception as exc:  # MlflowException, connection errors, sqlalchemy errors
            raise _mlflow_error(exc, uri, f"starting the {kind} run") from None
        with stack:
            try:
                mlflow.set_tags({"kind": kind, "git_commit": git_commit(), "experiment_config": config.name})
                if log_context:
                    params = {k: (str(v)[:500]) for k, v in config.to_dict().items()}
                    meta = panel_metadata()
                    params.update({"data.first_year": meta["first_year"], "data.last_year": meta["last_year"],
                                   "data.n_countries": meta["n_countries"]})
                    mlflow.log_params(params)
                    mlflow.log_dict(meta, "data/panel_meta.json")
                    if config.path:
                        mlflow.log_artifact(config.path, "config")
                    specs = config.specs()
                    mlflow.log_artifacts(specs.folder, "features")
            except Exception as exc:
                raise _mlflow_error(exc, uri, f"logging the {kind} run's context") from None
            yield active


def log_frames(frames: dict[str, pd.DataFrame], folder: str) -> None:
    """Log data frames as CSV artifacts under ``folder``."""
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        for name, frame in frames.items():
            path = Path(tmp) / f"{name}.csv"
            frame.to_csv(path, index=False)
            mlflow.log_artifact(str(path), folder)


def log_model(bundle, panel: pd.DataFrame, score, register: str | None = None, name: str = "model",
              alias: str | None = None) -> str:
    """Log ``bundle`` as a models-from-code pyfunc (signature, input example); return ``runs:/<id>/<name>``.

    ``score(bundle, rows)`` answers the input example for the signature (the pyfunc's own
    ``predict``: :func:`hallyu_forecast.inference.predict_rows`); it is passed in so that tracking
    never imports inference (inference imports tracking to load MLflow URIs).

    The model's code is :mod:`hallyu_forecast.mlflow_model`; its only artifact is the bundle
    folder (LightGBM text + JSON + every spec file, checksummed). Nothing is CloudPickled.
    """
    import mlflow
    from mlflow.models import infer_signature

    with quiet(), tempfile.TemporaryDirectory() as tmp:
        path = save_bundle(bundle, Path(tmp) / "bundle", include_panel=bundle.panel is not None)
        example_country = _example_country(bundle, panel)
        example = panel[(panel["iso3"] == example_country) & (panel["year"] >= 2015)].reset_index(drop=True)
        example = example[["iso3", "year"] + [c for c in panel.columns if c not in ("iso3", "year")]]
        # the saved folder (not the in-memory bundle) answers, as the logged model will
        output = score(load_bundle(path), example)
        # MLflow fills absent params with these defaults: horizon 1, origin 0 = "latest year with data"
        signature = infer_signature(example, output, params={"horizon": 1, "origin": 0})
        uri = mlflow.get_tracking_uri()
        try:
            info = mlflow.pyfunc.log_model(
                name=name, python_model=str(MODEL_CODE), artifacts={"bundle": str(path)}, signature=signature,
                input_example=example.head(8), registered_model_name=register,
                pip_requirements=_requirements(),
            )
        except Exception as exc:  # MlflowException, connection and storage errors
            raise _mlflow_error(exc, uri, "logging the model") from None
        run_id = info.run_id or mlflow.active_run().info.run_id
        if register and alias:
            try:
                mlflow.MlflowClient().set_registered_model_alias(register, alias, info.registered_model_version)
            except Exception as exc:
                raise _mlflow_error(exc, uri, f"setting the alias {alias!r} of model {register!r}") from None
    return f"runs:/{run_id}/{name}"


def registered_version(name: str, model_uri: str) -> str:
    """The version of registered model ``name`` created from ``model_uri`` (``runs:/<id>/...``)."""
    import mlflow

    run_id = model_uri.split("/")[1]
    with quiet():
        versions = mlflow.MlflowClient().search_model_versions(f"name='{name}' and run_id='{run_id}'")
    return str(max(int(v.version) for v in versions)) if versions else "?"


def _example_country(bundle, panel) -> str:
    tspec = bundle.specs.targets[bundle.target]
    col = tspec.numerator or "population"
    have = panel.loc[panel[col].notna(), "iso3"] if col in panel else panel["iso3"]
    return "JPN" if "JPN" in set(have) else sorted(set(have))[0]


def _requirements() -> list[str]:
    v = versions()
    return [f"lightgbm=={v['lightgbm']}", f"scikit-learn=={v['scikit-learn']}", f"pandas=={v['pandas']}",
            f"numpy=={v['numpy']}", "pyarrow", "hallyu_forecast"]


def log_effects(result) -> str:
    """Log a :class:`hallyu_forecast.causal.effects.EffectsResult` as an MLflow run of its own; return its run id."""
    import mlflow  # lazy: mlflow is heavy and only needed when logging

    with run("effects", load_config(), run_name="effects", log_context=False) as active:
        mlflow.log_params({"seed": result.seed, "n_rows": len(result.table)})
        mlflow.log_metric("seconds", result.seconds)
        for row in result.table.itertuples(index=False):
            if np.isfinite(row.estimate):
                mlflow.log_metric(f"{row.lever}.{row.target}.estimate", float(row.estimate))
        log_frames(result.to_frames(), "effects")
        mlflow.log_text(result.to_json(), "effects/effects.json")
        return active.info.run_id
