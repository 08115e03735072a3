"""MLflow integration in one module: where runs go, what every run records, the pyfunc flavour.

By default runs go to ``./mlruns``: a SQLite store ``mlruns/mlflow.db``, artifacts in
``mlruns/<experiment id>/`` (MLflow 3 keeps its plain-file store in maintenance mode and refuses
it by default). ``MLFLOW_TRACKING_URI`` overrides this.

Every run records: parameters of the experiment config, the config file, the data vintage
and raw-file checksums (``panel_meta.json``), the git commit, the feature specs, and (for
training) the model as a pyfunc whose ``predict`` takes *panel rows* and does the feature
building itself::

    model = mlflow.pyfunc.load_model("runs:/<run_id>/model")
    model.predict(panel_rows)           # rows: iso3, year, panel columns (any subset of countries)
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from pathlib import Path

import pandas as pd

from hallyu_forecast.errors import ModelError

EXPERIMENT_PREFIX = "hallyu_forecast"


def default_store() -> Path:
    return Path.cwd() / "mlruns"


def configure() -> str:
    """Point MLflow at ``MLFLOW_TRACKING_URI`` or ``./mlruns``; check the store is writable."""
    import mlflow

    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        store = default_store()
        try:
            store.mkdir(parents=True, exist_ok=True)
            probe = store / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise ModelError(f"The MLflow store {store} is not writable ({exc.strerror}). Run from a writable "
                             "folder or set MLFLOW_TRACKING_URI (e.g. sqlite:////tmp/mlflow.db).") from None
        uri = f"sqlite:///{store / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    return uri


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
    the active run.
    """
    import mlflow

    from hallyu_forecast.panel import panel_metadata

    if not nested:
        configure()
        mlflow.set_experiment(f"{EXPERIMENT_PREFIX}/{config.name}")
    with mlflow.start_run(run_name=run_name or f"{kind}-{config.name}", nested=nested) as active:
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
        yield active


def log_frames(frames: dict[str, pd.DataFrame], folder: str) -> None:
    """Log data frames as CSV artifacts under ``folder``."""
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        for name, frame in frames.items():
            path = Path(tmp) / f"{name}.csv"
            frame.to_csv(path, index=False)
            mlflow.log_artifact(str(path), folder)


def _pyfunc_class():
    """The pyfunc class, defined on first use so that importing this module stays light."""
    import mlflow.pyfunc

    class _HallyuModel(mlflow.pyfunc.PythonModel):
        """MLflow pyfunc: panel rows in, forecasts out (feature building included)."""

        def load_context(self, context):
            from hallyu_forecast.bundle import load_bundle

            self.bundle = load_bundle(context.artifacts["bundle"])

        def predict(self, context, model_input, params=None):
            from hallyu_forecast.inference import forecast

            params = params or {}
            rows = pd.DataFrame(model_input)
            if not {"iso3", "year"} <= set(rows.columns):
                raise ModelError("Input rows need `iso3` and `year` columns plus panel columns.")
            base = self.bundle.load_panel()
            # The rows update the model's panel (so lags, Korea's values and cross-country
            # features are computed as in training); forecasts are for the rows' countries.
            rows = rows[[c for c in rows.columns if c in base.columns]]
            merged = base.set_index(["iso3", "year"])
            update = rows.set_index(["iso3", "year"])
            new_keys = update.index.difference(merged.index)
            merged = pd.concat([merged, update.loc[new_keys].reindex(columns=merged.columns)])
            merged.update(update)
            merged = merged.reset_index()
            merged[merged.columns[2:]] = merged[merged.columns[2:]].astype("float64")
            countries = sorted(set(rows["iso3"]))
            origin = params.get("origin")
            horizon = params.get("horizon", list(self.bundle.forecaster.horizons_))
            out = forecast(self.bundle, merged, countries=countries, horizon=horizon,
                           origin=int(origin) if origin is not None else None)
            return out.drop(columns=["country"]).assign(model=out["model"].astype(str), note=out["note"].astype(str))

    return _HallyuModel


def log_model(bundle, panel: pd.DataFrame, register: str | None = None, name: str = "model") -> str:
    """Log ``bundle`` as an MLflow pyfunc (with signature and input example); return its URI."""
    import mlflow
    from mlflow.models import infer_signature

    from hallyu_forecast.bundle import save_bundle

    with tempfile.TemporaryDirectory() as tmp:
        path = save_bundle(bundle, Path(tmp) / "bundle", include_panel=bundle.panel is not None)
        example_country = _example_country(bundle, panel)
        example = panel[(panel["iso3"] == example_country) & (panel["year"] >= 2015)].reset_index(drop=True)
        example = example[["iso3", "year"] + [c for c in panel.columns if c not in ("iso3", "year")]]
        model = _pyfunc_class()()
        model.load_context(type("Ctx", (), {"artifacts": {"bundle": str(path)}})())
        output = model.predict(None, example)
        signature = infer_signature(example, output, params={"horizon": 1, "origin": 2022})
        info = mlflow.pyfunc.log_model(
            name=name, python_model=model, artifacts={"bundle": str(path)}, signature=signature,
            input_example=example.head(8), registered_model_name=register,
            pip_requirements=_requirements(),
        )
    return info.model_uri


def _example_country(bundle, panel) -> str:
    tspec = bundle.specs.targets[bundle.target]
    col = tspec.numerator or "population"
    have = panel.loc[panel[col].notna(), "iso3"] if col in panel else panel["iso3"]
    return "JPN" if "JPN" in set(have) else sorted(set(have))[0]


def _requirements() -> list[str]:
    from hallyu_forecast.bundle import versions

    v = versions()
    return [f"lightgbm=={v['lightgbm']}", f"scikit-learn=={v['scikit-learn']}", f"pandas=={v['pandas']}",
            f"numpy=={v['numpy']}", "pyarrow", "hallyu_forecast"]
