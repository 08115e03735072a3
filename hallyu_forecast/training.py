"""Training pipeline: backtest an experiment, fit the final model, record everything in MLflow."""

from __future__ import annotations

import dataclasses
import time
from typing import Callable

import pandas as pd

from hallyu_forecast import tracking
from hallyu_forecast.bundle import ModelBundle, spec_files
from hallyu_forecast.causal.effects import effects
from hallyu_forecast.drivers import drivers
from hallyu_forecast.errors import ConfigError
from hallyu_forecast.evaluation import backtest
from hallyu_forecast.explanation import fit_refits
from hallyu_forecast.inference import predict_rows
from hallyu_forecast.panel import load_panel, panel_metadata


def with_params(cfg, params: dict | None):
    """``cfg`` with model parameters overridden (e.g. the best ones from ``tune``)."""
    if not params:
        return cfg
    unknown = sorted(set(params) - set(cfg.make_forecaster().get_params()))
    if unknown:
        raise ConfigError(f"Unknown model parameter(s) {unknown} for HallyuForecaster.")
    return dataclasses.replace(cfg, model={**cfg.model, **params})


def fit_final(cfg, panel: pd.DataFrame | None = None):
    """Fit the experiment's forecaster on every origin with known targets; return a ModelBundle."""

    panel = load_panel() if panel is None else panel
    last = int(panel["year"].max())
    fm = cfg.build_features(panel, origins=range(int(panel["year"].min()), last + 1))
    model = cfg.make_forecaster().fit(fm)
    meta = {"experiment": cfg.name, "config": cfg.to_dict(), "max_target_year": int(model.max_target_year_),
            "n_train": int(model.n_train_), "data_vintage": panel_metadata()["vintage"]}
    return ModelBundle(forecaster=model, specs=fm.specs, target=fm.target.name, meta=meta)


def backtest_metrics(result) -> dict[str, float]:
    """Flat metrics of a backtest for MLflow: RMSE/MAE/MASE per model and horizon, ratios, coverage."""
    metrics: dict[str, float] = {}
    for row in result.metrics.itertuples(index=False):
        for name in ("rmse", "mae", "mase"):
            value = getattr(row, name, None)
            if value is not None and pd.notna(value):
                metrics[f"{name}_h{row.horizon}_{row.model}"] = float(value)
    for row in result.ratios.itertuples(index=False):
        metrics[f"ratio_h{row.horizon}_vs_{row.baseline}"] = float(row.ratio)
    for row in result.coverage.itertuples(index=False):
        metrics[f"coverage{row.level * 100:g}_h{row.horizon}"] = float(row.coverage)
    return metrics


def fit_drivers(bundle, panel: pd.DataFrame, say: Callable[[str], None]) -> None:
    """Fit the drivers model of every target and explain()'s refits once; keep them with ``bundle`` (issue 8)."""

    start = time.perf_counter()
    bundle.drivers = drivers(panel=panel)
    say(f"drivers model ({', '.join(bundle.drivers.targets)}) fitted in {time.perf_counter() - start:.1f}s")
    start = time.perf_counter()
    bundle.explain_refits = fit_refits(bundle, panel=panel)  # explain()'s refits, once, kept with the model
    say(f"explanation refits (horizon 1) fitted in {time.perf_counter() - start:.1f}s")

    start = time.perf_counter()
    # the causal estimates depend on the panel only; kept with the model so that the report and the
    # what-if scenarios read them instead of re-running a minute of bootstraps
    bundle.effects = effects(panel=panel)
    say(f"causal effects ({len(bundle.effects.table)} lever x target rows) estimated in "
        f"{time.perf_counter() - start:.1f}s")


def log_drivers(result) -> None:
    """Log the drivers tables, the brief and headline metrics to the active MLflow run."""
    import mlflow

    tracking.log_frames(result.to_frames(), "drivers")
    mlflow.log_dict(result.brief(), "drivers/brief.json")
    mlflow.log_text(result.format(), "drivers/report.txt")
    metrics = {}
    for target, b in result.brief()["targets"].items():
        metrics[f"drivers_rmse_{target}"] = b["rmse"]
        metrics[f"drivers_ratio_vs_global_mean_{target}"] = b["ratio_vs_global_mean"][0]
        for role, (share, _lo, _hi) in b["split"].items():
            metrics[f"drivers_share_{role}_{target}"] = share
    mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v == v})


def train(cfg, params: dict | None = None, register: str | None = None, run_backtest: bool = True,
          track: bool = True, progress: Callable[[str], None] | None = None, drivers: bool = False,
          alias: str | None = None):
    """Backtest ``cfg`` (optional), fit the final model and log both to MLflow.

    With ``drivers`` (the CLI's default), the drivers model of every target is cross-validated,
    fitted and decomposed once (:func:`hallyu_forecast.drivers.drivers`), kept with the bundle
    (``bundle.drivers``, saved in its ``drivers/`` folder) and its tables logged under ``drivers/``.

    Returns ``(bundle, backtest_result or None, model_uri or None)``; the model URI is
    ``runs:/<run_id>/model``. ``register`` names a registered model, ``alias`` (with
    ``register``) points an alias such as ``champion`` at the new version.
    """

    say = progress or (lambda _text: None)
    cfg = with_params(cfg, params)
    spec_files(cfg.specs())  # a target CSV the model could not carry fails now, not after fitting
    panel = load_panel()

    def work():
        result = None
        if run_backtest:
            start = time.perf_counter()
            result = backtest(cfg, panel=panel, progress=say)
            say(f"backtest done in {time.perf_counter() - start:.1f}s")
        start = time.perf_counter()
        bundle = fit_final(cfg, panel)
        say(f"final model fitted in {time.perf_counter() - start:.1f}s")
        if drivers:
            fit_drivers(bundle, panel, say)
        return result, bundle

    if not track:
        result, bundle = work()
        return bundle, result, None
    import mlflow

    with tracking.run("train", cfg):
        if params:
            mlflow.log_dict(params, "tuned_params.json")
        result, bundle = work()
        if result is not None:
            mlflow.log_metrics(backtest_metrics(result))
            tracking.log_frames(result.to_frames(), "backtest")
            mlflow.log_text(result.report(), "backtest/report.txt")
        if bundle.drivers is not None:
            log_drivers(bundle.drivers)
        if bundle.effects is not None:
            tracking.log_frames(bundle.effects.to_frames(), "effects")

        uri = tracking.log_model(bundle, panel, predict_rows, register=register, alias=alias)
    return bundle, result, uri
