"""Training pipeline: backtest an experiment, fit the final model, record everything in MLflow."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Callable

import pandas as pd

from hallyu_forecast import stage_cache, tracking
from hallyu_forecast.bundle import ModelBundle, spec_files
from hallyu_forecast.bundle_parts import load_drivers, save_drivers
from hallyu_forecast.causal.effects import EffectsResult, effects
from hallyu_forecast.drivers import drivers
from hallyu_forecast.errors import ConfigError
from hallyu_forecast.evaluation import backtest
from hallyu_forecast.explain_attribution import fit_refits
from hallyu_forecast.inference import predict_rows
from hallyu_forecast.panel import load_panel, panel_metadata
from hallyu_forecast.preflight import check_tracking_uri


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


def _drivers_job(panel: pd.DataFrame, folder: str) -> float:
    """Worker: fit the drivers model of every target on ``panel``; write it to ``folder`` (no pickle)."""
    start = time.perf_counter()
    save_drivers(drivers(panel=panel), folder)
    return time.perf_counter() - start


def _effects_job(panel: pd.DataFrame, folder: str) -> float:
    """Worker: the causal estimates on ``panel``, written to ``folder/effects.json``."""
    start = time.perf_counter()
    effects(panel=panel).save(folder)
    return time.perf_counter() - start


def jobs() -> int:
    """Worker processes for train's independent stages: ``HALLYU_JOBS`` or the machine's cores (at most 2).

    The drivers model and the causal estimates depend on the panel only, so they run in worker
    processes while the main process backtests and fits the forecaster (every LightGBM model here
    uses one thread, so the processes do not oversubscribe the cores). ``HALLYU_JOBS=1`` runs
    everything in this process, one stage after another; the results are the same either way.
    """
    text = os.environ.get("HALLYU_JOBS", "")
    if text:
        if not text.isdigit() or int(text) < 1:
            raise ConfigError(f"`HALLYU_JOBS` must be an integer greater than 0. Got {text!r}.")
        return int(text)
    return max(1, min(2, os.cpu_count() or 1))


class _Stages:
    """Train's panel-only stages (drivers, effects): reused from :mod:`~hallyu_forecast.stage_cache`
    when their inputs are unchanged, else computed in worker processes (or inline with one job)
    and stored there for the next train."""

    def __init__(self, panel: pd.DataFrame, say: Callable[[str], None], enabled: bool, recompute: bool = False):
        self.panel, self.say, self.enabled = panel, say, enabled
        self.timings: dict[str, float] = {}
        self._pool = self._tmp = None
        self._futures = {}
        self.found = None
        self.source = "not run"
        if not enabled:
            return
        start = time.perf_counter()
        self.key = stage_cache.stages_key(panel)
        if not recompute:
            self.found = stage_cache.lookup(self.key, say)
        self.timings["cache lookup"] = time.perf_counter() - start
        if self.found is None and jobs() > 1:
            self._tmp = tempfile.TemporaryDirectory(prefix="hallyu_train_")
            # spawn, not fork: LightGBM's OpenMP state does not survive a fork safely
            self._pool = ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"))
            for name, job in (("drivers", _drivers_job), ("effects", _effects_job)):
                folder = os.path.join(self._tmp.name, name)
                os.makedirs(folder)
                self._futures[name] = (self._pool.submit(job, panel, folder), folder)

    def collect(self, bundle) -> None:
        """Attach drivers and effects to ``bundle`` (from the cache, the workers, or computed now)."""
        if not self.enabled:
            return
        bundle.meta["stages_key"] = self.key  # saved in meta.json: a later train can reuse these results
        if self.found is not None:
            bundle.drivers, bundle.effects = self.found.drivers, self.found.effects
            self.source = "reused from " + self.found.source.split(" (")[0]  # the path is in the line below
            self.say(f"drivers model and causal effects reused from {self.found.source}: panel, specs, code and "
                     "library versions are those they were computed with (`train --recompute` fits them anew)")
            return
        try:
            for name, job in (("drivers", _drivers_job), ("effects", _effects_job)):
                if name in self._futures:
                    future, folder = self._futures[name]
                    start = time.perf_counter()
                    seconds = future.result()
                    waited = time.perf_counter() - start
                else:
                    folder = tempfile.mkdtemp(prefix=f"hallyu_{name}_")
                    seconds = job(self.panel, folder)
                    waited = seconds
                self.timings[name] = seconds
                self.timings[f"{name}_wait"] = waited
                if name == "drivers":
                    bundle.drivers = load_drivers(folder)
                    self.say(f"drivers model ({', '.join(bundle.drivers.targets)}) fitted in {seconds:.1f}s")
                else:
                    # the causal estimates depend on the panel only; kept with the model so that the report
                    # and the what-if scenarios read them instead of re-running a minute of bootstraps
                    bundle.effects = EffectsResult.load(folder)
                    self.say(f"causal effects ({len(bundle.effects.table)} lever x target rows) estimated in "
                             f"{seconds:.1f}s")
                if name not in self._futures:
                    shutil.rmtree(folder, ignore_errors=True)
        finally:
            self.close()
        entry = stage_cache.store(self.key, bundle.drivers, bundle.effects, self.say)
        self.source = "computed" + (f", stored in {entry}" if entry else "")
        if entry:
            self.say(f"drivers and effects stored in the stage cache ({entry}); the next train reuses them")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def fit_explain_refits(bundle, panel: pd.DataFrame, say: Callable[[str], None]) -> float:
    """explain()'s refits, fitted once and kept with the model."""
    start = time.perf_counter()
    bundle.explain_refits = fit_refits(bundle, panel=panel)
    seconds = time.perf_counter() - start
    say(f"explanation refits (horizon 1) fitted in {seconds:.1f}s")
    return seconds


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
          alias: str | None = None, recompute: bool = False):
    """Backtest ``cfg`` (optional), fit the final model and log both to MLflow.

    With ``drivers`` (the CLI's default), the drivers model of every target is cross-validated,
    fitted and decomposed once (:func:`hallyu_forecast.drivers.drivers`), kept with the bundle
    (``bundle.drivers``, saved in its ``drivers/`` folder) and its tables logged under ``drivers/``;
    the causal effects likewise (``bundle.effects``). Both depend only on the panel, the specs, the
    code and the library versions, so they are reused from :mod:`hallyu_forecast.stage_cache` when
    those are unchanged; ``recompute`` fits them anew (and refreshes the cache).

    Returns ``(bundle, backtest_result or None, model_uri or None)``; the model URI is
    ``runs:/<run_id>/model``. ``register`` names a registered model, ``alias`` (with
    ``register``) points an alias such as ``champion`` at the new version.
    """

    say = progress or (lambda _text: None)
    cfg = with_params(cfg, params)
    spec_files(cfg.specs())  # a target CSV the model could not carry fails now, not after fitting
    if track:
        check_tracking_uri()  # an unreachable server fails in seconds, before minutes of fitting
    panel = load_panel()

    timings: dict[str, float] = {}
    stage_source = ["not run"]

    def work():
        result = None
        stages = _Stages(panel, say, enabled=drivers, recompute=recompute)  # cache hit, or workers start now
        try:
            if run_backtest:
                start = time.perf_counter()
                result = backtest(cfg, panel=panel, progress=say)
                timings["backtest"] = time.perf_counter() - start
                say(f"backtest done in {timings['backtest']:.1f}s")
            start = time.perf_counter()
            bundle = fit_final(cfg, panel)
            timings["final fit"] = time.perf_counter() - start
            say(f"final model fitted in {timings['final fit']:.1f}s")
            if drivers:
                timings["explain refits"] = fit_explain_refits(bundle, panel, say)
                stages.collect(bundle)
                timings["stage cache"] = stages.timings["cache lookup"]
                for name in ("drivers", "effects"):
                    if name in stages.timings:
                        timings[name] = stages.timings[name]
                        timings[f"waiting for {name}"] = stages.timings[f"{name}_wait"]
                stage_source[0] = stages.source
        finally:
            stages.close()
        return result, bundle

    def where_the_time_went(total: float) -> None:
        parallel = drivers and jobs() > 1 and "drivers" in timings
        parts = [f"{k} {v:.1f}s" for k, v in timings.items() if not k.startswith("waiting")]
        waited = sum(v for k, v in timings.items() if k.startswith("waiting"))
        note = (f" (drivers and effects ran in worker processes beside the rest; {waited:.1f}s spent waiting "
                "for them)") if parallel else ""
        if drivers and "drivers" not in timings:
            note = f" (drivers and effects {stage_source[0]})"
        say(f"time: {total:.1f}s wall; " + ", ".join(parts) + note)

    started = time.perf_counter()
    if not track:
        result, bundle = work()
        where_the_time_went(time.perf_counter() - started)
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

        start = time.perf_counter()
        uri = tracking.log_model(bundle, panel, predict_rows, register=register, alias=alias)
        timings["log model"] = time.perf_counter() - start
    where_the_time_went(time.perf_counter() - started)
    return bundle, result, uri
