"""Fitting the drivers answer: one target (:func:`fit_target`: model, cross-validation, decomposition
with refit intervals, applicability domain) or several (:func:`fit_drivers`), and the comparison of
the new-market models (:func:`compare_new_markets`). The model and its decomposition are in
:mod:`hallyu_forecast.drivers_model`; the result object in :mod:`hallyu_forecast.drivers_result`."""

from __future__ import annotations

import time
from typing import Iterable

import numpy as np
import pandas as pd

from hallyu_forecast.config import ExperimentConfig, load_config
from hallyu_forecast.conventions import COVID_YEARS
from hallyu_forecast.domain import applicability, populated
from hallyu_forecast.drivers_model import (
    BOOT_REPS,
    DEFAULT_TARGETS,
    DriversModel,
    _check_int,
    _year_mean_of,
    cross_validate,
    decompose,
    driver_rows,
)
from hallyu_forecast.drivers_result import FRAMES, DriversResult, _labels, _target_info
from hallyu_forecast.errors import ConfigError, DataError, ModelError
from hallyu_forecast.evaluation import bootstrap_ratio, country_folds, evaluate_new_markets
from hallyu_forecast.features import build_features, load_feature_specs, take_rows
from hallyu_forecast.model_base import pooled_drift, training_rows
from hallyu_forecast.panel import load_panel, panel_metadata


def domain_table(model: DriversModel, fm, panel: pd.DataFrame, year: int) -> pd.DataFrame:
    """Applicability of the drivers model to every place at ``year`` (hallyu_forecast.domain rule)."""

    frame = fm.frame
    at = frame[(frame["horizon"] == frame["horizon"].min()) & (frame["origin"] == year)].reset_index(drop=True)
    reference = driver_rows(fm, model.exclude_years)
    reference = reference[reference["year"] == year]  # same-year range, as predict() does (covariates trend)
    return applicability(at, model.features_, reference=reference, population_known=populated(panel, year),
                         observed_target=model.countries_)


def _covid_years_for(fm) -> tuple[int, ...]:
    """COVID years to leave out for this target: all of them, unless the target exists only in them.

    Travel and study in Korea collapsed in 2020-2022, so those years say little about levels. A
    target measured only then (the Netflix Top 10 cross-section of 2021-07..2022-11, stored as 2022)
    is consumption at home, not travel; excluding its only year would leave nothing to explain.
    """
    years = set(driver_rows(fm)["year"])
    return () if years and years <= set(COVID_YEARS) else COVID_YEARS


def fit_target(target: str, panel: pd.DataFrame | None = None, specs=None, folds: int = 5, n_refits: int = 25,
               seed: int = 0, level: float = 0.9, bootstrap_reps: int = BOOT_REPS, model: DriversModel | None = None,
               fitted: DriversModel | None = None) -> tuple[DriversModel, dict[str, pd.DataFrame], dict]:
    """Cross-validate, fit (or reuse ``fitted``) and decompose the drivers model of one target."""

    panel = load_panel() if panel is None else panel
    fm = build_features(panel, specs=specs, target=target, horizons=[1])
    timings = {}
    t0 = time.perf_counter()
    base = model if model is not None else DriversModel(n_refits=n_refits, random_state=seed,
                                                        exclude_years=_covid_years_for(fm))
    accuracy, _ = cross_validate(fm, base, folds=folds, seed=seed, bootstrap_reps=bootstrap_reps)
    timings["cv_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    final = fitted if fitted is not None else DriversModel(**base.get_params()).fit(fm)
    timings["fit_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    observed = driver_rows(fm, final.exclude_years)
    observed = observed[observed["iso3"].isin(final.countries_)]
    # the latest training year: later years lack covariates (publication lags) or are COVID years
    last_year = int(observed["year"].max())
    domain = domain_table(final, fm, panel, last_year)
    allowed = set(domain.loc[domain["status"] != "excluded", "iso3"])
    rows = final._rows(fm)
    # every observed country-year, plus the latest year for the places without the target (new markets)
    own = rows["iso3"].isin(final.countries_) & rows["y"].notna() & ~rows["year"].isin(list(final.exclude_years))
    new = ~rows["iso3"].isin(final.countries_) & (rows["year"] == last_year) & rows["iso3"].isin(allowed)
    rows = rows[own | new].reset_index(drop=True)
    rows["domain"] = rows["iso3"].map(domain.set_index("iso3")["domain"]).fillna("in")
    frames = decompose(final, rows, observed, _labels(), level=level)
    timings["decompose_s"] = time.perf_counter() - t0
    accuracy.insert(0, "target", target)
    frames["accuracy"] = accuracy
    domain.insert(0, "target", target)
    frames["domain"] = domain
    frames["dropped"] = pd.DataFrame({"target": target, "feature": list(final.dropped_),
                                      "reason": list(final.dropped_.values())})
    return final, frames, timings


def check_no_horizon(horizon) -> None:
    """The drivers model explains levels: a forecast horizon is a caller's mistake, said plainly."""
    if horizon is not None:
        raise ModelError(f"The drivers model explains levels across countries and has no forecast horizon "
                         f"(got horizon={horizon!r}); drop `horizon`, or use hallyu_forecast.predict() for forecasts.")


def fit_drivers(target: str | Iterable[str] | None = None, *, panel: pd.DataFrame | None = None, folds: int = 5,
                n_refits: int = 25, level: float = 0.9, seed: int = 0, bootstrap_reps: int = BOOT_REPS,
                stored: DriversResult | None = None, horizon=None, skip_small: bool | None = None) -> DriversResult:
    """Why Hallyu levels differ between countries, per target: accuracy, split, levers, countries.

    Parameters
    ----------
    target : str or list of str, optional
        Target name(s) from ``features/targets.toml``; default every target of ``DEFAULT_TARGETS``
        present in the specs plus any new level target listed there (those with too few countries
        are skipped with a note when no target is named).
    panel : DataFrame, optional
        Default: the embedded panel.
    folds : int
        Grouped (by country) CV folds.
    n_refits : int
        Refits on 80% of countries for intervals (stored with the model).
    level : float
        Central level of the refit intervals.
    seed : int
    bootstrap_reps : int
        Country-bootstrap replicates of the accuracy intervals.
    stored : DriversResult, optional
        A result kept with a model (computed at training time): returned for the targets it has
        instead of fitting anew; its fitted models are reused for the targets it lacks tables of.
        :func:`hallyu_forecast.drivers.run` (``hf.drivers``) finds it from a ``model=`` argument.
    horizon : None
        The drivers model explains levels: passing a horizon is an error.
    skip_small : bool, optional
        Skip (instead of raising for) targets with too few countries; default True when no target is named.

    Returns
    -------
    DriversResult

    Raises
    ------
    ModelError
        ``horizon`` given.
    DataError
        A named target with too few countries for grouped CV.

    Examples
    --------
    >>> result = fit_drivers("youth_arrivals_per_capita", n_refits=5)  # as hf.drivers(...)  # doctest: +SKIP
    >>> print(result.format())                                      # doctest: +SKIP
    """

    check_no_horizon(horizon)
    folds = _check_int(folds, "folds", 2)
    n_refits = _check_int(n_refits, "n_refits", 0)
    if isinstance(level, bool) or not 0 < float(level) < 1:
        raise ConfigError(f"`level` must be between 0 and 1 (e.g. 0.9). Got {level!r}.")
    started = time.perf_counter()
    panel = load_panel() if panel is None else panel
    specs = load_feature_specs(panel_columns=panel.columns)
    if target is None:
        names = [t for t in DEFAULT_TARGETS if t in specs.targets]
        names += [t for t, s in specs.targets.items() if t not in names and t != "youth_share"
                  and s.transform == "log"]
        skip = True if skip_small is None else skip_small
    else:
        names = [target] if isinstance(target, str) else list(target)
        unknown = [t for t in names if t not in specs.targets]
        if unknown:
            raise ConfigError(f"Unknown target {unknown}; targets are {sorted(specs.targets)}.")
        skip = bool(skip_small)
    fitted_before = {}
    if stored is not None:
        known = set(stored.targets) | set(stored.meta.get("skipped", {}))
        if stored.frames and all(t in known for t in names):
            return _select(stored, [t for t in names if t in stored.targets])
        fitted_before = getattr(stored, "models", {}) or {}
    frames: dict[str, list] = {k: [] for k in FRAMES}
    meta = {"targets": {}, "folds": folds, "n_refits": n_refits, "level": level, "seed": seed,
            "timings": {}, "skipped": {}}
    fitted_models = {}
    for name in names:
        try:
            final, fr, timings = fit_target(name, panel, specs, folds=folds, n_refits=n_refits, seed=seed,
                                            level=level, bootstrap_reps=bootstrap_reps, fitted=fitted_before.get(name))
        except DataError as exc:
            if not skip:
                raise
            meta["skipped"][name] = str(exc)
            continue
        fitted_models[name] = final
        meta["targets"][name] = _target_info(specs.targets[name])
        if meta["targets"][name]["transform"] == "level":
            # a level target (e.g. the 0-100 index) is not on a log scale: exp() of its differences is no
            # factor, so contributions stay in the target's points and the factor columns are empty
            fr["countries"] = fr["countries"].assign(factor=np.nan, factor_role=np.nan, factor_lo=np.nan,
                                                     factor_hi=np.nan)
        for k in FRAMES:
            frames[k].append(fr[k])
        meta["timings"][name] = timings
    if not fitted_models:
        raise DataError(f"No target has enough countries for the drivers model: {meta['skipped']}")
    try:
        meta["data_vintage"] = panel_metadata()["vintage"]
    except Exception:  # pragma: no cover - custom panels have no metadata
        meta["data_vintage"] = "unknown"
    meta["seconds"] = round(time.perf_counter() - started, 2)
    result = DriversResult(targets=list(fitted_models), frames={k: pd.concat(v, ignore_index=True)
                                                               for k, v in frames.items()}, meta=meta)
    result.models = fitted_models  # not part of the saved result: the fitted models (for save_drivers)
    return result


def _select(result: DriversResult, names: list[str]) -> DriversResult:
    frames = {k: v[v["target"].isin(names)].reset_index(drop=True) if "target" in v else v
              for k, v in result.frames.items()}
    out = DriversResult(targets=[t for t in result.targets if t in names], frames=frames, meta=result.meta)
    out.models = {k: v for k, v in (getattr(result, "models", {}) or {}).items() if k in names}
    return out


# ------------------------------------------------------------------ new markets: one model or two?
def compare_new_markets(config=None, panel: pd.DataFrame | None = None, bootstrap_reps: int = BOOT_REPS,
                        model: DriversModel | None = None) -> pd.DataFrame:
    """Leave-countries-out forecasts of new markets: the forecaster's new-market model vs the drivers model.

    Same folds, origins and rows as :func:`hallyu_forecast.evaluation.evaluate_new_markets` (the
    forecaster's covariates-only LightGBM per horizon, and the global / continent means). The
    drivers model, fitted on the training countries' country-years up to the origin, forecasts a
    held-out country at ``t + h`` as ``m(t) + h * drift + f(x_t)`` (the training countries' mean
    level at the origin, their pooled drift, the drivers model's relative level).

    Returns
    -------
    DataFrame
        horizon, model (new_market, drivers, global_mean, continent_mean), rmse, n, ratio =
        RMSE(drivers) / RMSE(model) with a 95% country-bootstrap interval (ratio_lo, ratio_hi).
    """

    cfg = config if isinstance(config, ExperimentConfig) else load_config(config)
    panel = load_panel() if panel is None else panel
    base = model if model is not None else DriversModel(n_refits=0)
    build = lambda countries: cfg.build_features(panel, reference_countries=countries)  # noqa: E731
    _, preds = evaluate_new_markets(cfg, build, cfg.make_forecaster())
    if preds.empty:
        raise DataError("No new-market forecasts to compare (no held-out country has a target at origin + h).")
    frame = build(None).frame
    have = sorted(frame.loc[frame["y"].notna(), "iso3"].unique())
    folds = country_folds(have, cfg.seed, cfg.lco_folds)  # the folds of evaluate_new_markets
    key = ["iso3", "origin", "horizon"]
    nm = preds[preds["model"] == "new_market"].set_index(key)
    parts = []
    for held in folds:
        train_countries = [c for c in have if c not in set(held)]
        fm = build(train_countries)
        f = fm.frame
        for origin in cfg.split.origins:
            known = f["iso3"].isin(train_countries) & (f["origin"] <= origin)
            sub = take_rows(fm, known.to_numpy())
            if driver_rows(sub)["iso3"].nunique() < 2:
                continue
            fitted = DriversModel(**{**base.get_params(), "n_refits": 0, "exclude_years": ()}).fit(sub)
            drift = pooled_drift(training_rows(f[f["iso3"].isin(train_countries) & cfg.split.train_mask(f, origin)],
                                               cfg.exclude_covid_targets))
            test = f[f["iso3"].isin(held) & (f["origin"] == origin)]
            test = test[test.set_index(key).index.isin(nm.index)]
            if test.empty:
                continue
            rel = fitted.model_.predict(test[fitted.features_].to_numpy(float))
            pred = _year_mean_of(fitted.year_means_, test["origin"]) + test["horizon"].to_numpy(float) * drift + rel
            parts.append(pd.DataFrame({"iso3": test["iso3"].to_numpy(), "origin": origin,
                                       "horizon": test["horizon"].to_numpy(), "drivers": pred}))
    dpred = pd.concat(parts, ignore_index=True).set_index(key)
    wide = preds.pivot_table(index=key, columns="model", values="prediction").join(
        preds[preds["model"] == "new_market"].set_index(key)["y"]).join(dpred, how="inner").reset_index()
    rows = []
    for h, g in wide.groupby("horizon"):
        err_d = g["y"] - g["drivers"]
        for name in ("drivers", "new_market", "global_mean", "continent_mean"):
            err = g["y"] - g[name]
            r, lo, hi = (np.nan,) * 3
            if name != "drivers":
                r, lo, hi = bootstrap_ratio(err_d, err, g["iso3"], reps=bootstrap_reps, seed=cfg.seed)
            rows.append({"horizon": int(h), "model": name, "rmse": float(np.sqrt(np.mean(err ** 2))),
                         "n": int(len(g)), "ratio": r, "ratio_lo": lo, "ratio_hi": hi})
    return pd.DataFrame(rows)
