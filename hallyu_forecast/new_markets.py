"""New markets from the drivers model of levels, alone and blended with the NewMarketModel (issue 18 item 4).

A country with no travel history is forecast at ``t + h`` from its covariates at the origin ``t``:

- ``new_market``: the forecaster's covariates-only LightGBM per horizon
  (:class:`hallyu_forecast.new_market_model.NewMarketModel`);
- ``drivers``: ``m(t) + h * drift + f(x_t)``, the year's common level ``m(t)`` (mean target of the
  countries with history at the origin), their pooled drift (the trend) and the drivers model's
  level relative to the year's mean (:class:`hallyu_forecast.drivers_model.DriversModel`);
- ``blend``: ``w * new_market + (1 - w) * drivers``, ``w`` in {0, 0.1, ..., 1} chosen by grouped
  (by country) cross-validation *inside* the training countries only.

:func:`compare_new_markets_lco` scores them leave-countries-out on the forecaster's folds
(:func:`hallyu_forecast.evaluation.country_folds`) and origins, with the global and continent means
of :func:`hallyu_forecast.evaluation.evaluate_new_markets` as comparators. Every number a forecast
of a held-out country uses is computed from the other countries' data known at the origin: at
origin ``t`` the models are fitted on target years <= t; the weight and the interval half-widths
come from inner folds of the training countries, scored on their rows with target year <= t
(inner held-out countries' rows, from models fitted on the other training countries).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hallyu_forecast.config import ExperimentConfig, load_config
from hallyu_forecast.conventions import COVID_YEARS
from hallyu_forecast.drivers_model import (
    DriversModel,
    _year_mean_of,
    driver_rows,
)
from hallyu_forecast.errors import DataError
from hallyu_forecast.evaluation import _continents, bootstrap_ratio, country_folds
from hallyu_forecast.features import take_rows
from hallyu_forecast.model_base import conformal_quantile, pooled_drift, training_rows
from hallyu_forecast.new_market_model import NewMarketModel
from hallyu_forecast.panel import load_panel

WEIGHTS = tuple(round(w, 1) for w in np.linspace(0.0, 1.0, 11))
METHODS = ("new_market", "drivers", "blend")
LEVELS = (0.8, 0.95)


@dataclass
class NewMarketComparison:
    """Leave-countries-out forecasts of every method and the weights chosen per fold and origin.

    Attributes
    ----------
    predictions : DataFrame
        iso3, fold, origin, horizon, target_year, y, new_market, drivers, blend, global_mean,
        continent_mean, weight, and ``<method>_hw80`` / ``<method>_hw95`` (half-widths calibrated
        on the inner held-out countries, one score per country; ``..._row``: one per row).
    weights : DataFrame
        fold, origin, weight, inner_rows (the inner cross-validation rows it was chosen on).
    """

    predictions: pd.DataFrame
    weights: pd.DataFrame

    def table(self, reps: int = 1000, seed: int = 0) -> pd.DataFrame:
        """RMSE per method and horizon (and all horizons), ratios with 95% country-bootstrap intervals, coverage."""
        return score_comparison(self.predictions, reps=reps, seed=seed)


def _fit(fm, countries, origin: int, cfg: ExperimentConfig, nm_params: dict):
    """NewMarketModel, DriversModel and pooled drift fitted on ``countries``' data known at ``origin``."""

    f = fm.frame
    mine = f["iso3"].isin(countries)
    train = take_rows(fm, mine & cfg.split.train_mask(f, origin))
    if training_rows(train.frame, cfg.exclude_covid_targets).empty:
        return None
    nm = NewMarketModel(params=nm_params, interval_levels=cfg.interval_levels, calibration_folds=0,
                        exclude_covid_targets=cfg.exclude_covid_targets).fit(train)
    # the drivers model learns levels from country-years up to the origin (COVID years excluded)
    levels = take_rows(fm, mine & (f["origin"] <= origin))
    if driver_rows(levels)["iso3"].nunique() < 2:
        return None
    dm = DriversModel(n_refits=0).fit(levels)
    drift = pooled_drift(training_rows(train.frame, cfg.exclude_covid_targets))
    return nm, dm, drift


def _predict(fitted, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    nm, dm, drift = fitted
    p_nm = nm.predict_arrays(rows)["prediction"]
    rel = dm.model_.predict(rows[dm.features_].to_numpy(float))
    p_dm = _year_mean_of(dm.year_means_, rows["origin"]) + rows["horizon"].to_numpy(float) * drift + rel
    return p_nm, p_dm


def _scored(frame: pd.DataFrame, cfg: ExperimentConfig) -> pd.Series:
    keep = frame["y"].notna() & frame["horizon"].isin(cfg.split.horizons)
    if cfg.exclude_covid_targets:
        keep &= ~frame["target_year"].isin(list(COVID_YEARS))
    return keep


def inner_errors(fm, countries: list[str], origin: int, cfg: ExperimentConfig, nm_params: dict,
                 folds: int = 4, seed: int = 0) -> pd.DataFrame:
    """Out-of-fold forecasts of ``countries``' rows with target year <= ``origin`` (grouped by country).

    Each inner fold's countries are forecast by both models fitted on the other countries in
    ``countries`` with data known at ``origin``. Returns iso3, horizon, y, new_market, drivers.
    """

    f = fm.frame
    parts = []
    for held in country_folds(countries, seed, min(folds, len(countries))):
        rest = [c for c in countries if c not in set(held)]
        fitted = _fit(fm, rest, origin, cfg, nm_params)
        if fitted is None:
            continue
        rows = f[f["iso3"].isin(held) & (f["target_year"] <= origin) & _scored(f, cfg)].reset_index(drop=True)
        if rows.empty:
            continue
        p_nm, p_dm = _predict(fitted, rows)
        parts.append(pd.DataFrame({"iso3": rows["iso3"], "horizon": rows["horizon"], "y": rows["y"],
                                   "new_market": p_nm, "drivers": p_dm}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def choose_weight(inner: pd.DataFrame) -> float:
    """The weight of the NewMarketModel minimising the inner RMSE (ties: the smaller weight)."""
    if inner.empty:
        return 0.5
    sse = [float(np.sum((w * inner["new_market"] + (1 - w) * inner["drivers"] - inner["y"]) ** 2)) for w in WEIGHTS]
    return float(WEIGHTS[int(np.argmin(sse))])


CALIBRATIONS = ("country", "row")


def half_widths(inner: pd.DataFrame, weight: float, horizon: int, by: str = "country"
                ) -> dict[str, dict[float, float]]:
    """Conformal half-widths per method from the inner held-out countries' absolute errors at ``horizon``.

    ``by="country"`` (the default): one score per inner held-out country, its mean absolute error
    at that horizon, and the conformal quantile over countries; the unit that is exchangeable in a
    leave-countries-out forecast is the country, and a country's errors in different years are
    nearly the same level error. ``by="row"``: the quantile over every inner row (the first
    specification; it under-covers, see the README). Horizons without inner rows (the first
    origins have no 3-year-ahead target yet) borrow the longest shorter horizon with rows, scaled
    by sqrt(h / h') as the forecaster's intervals do.
    """
    if inner.empty:
        return {m: {lv: np.nan for lv in LEVELS} for m in METHODS}
    have = sorted(inner["horizon"].unique())
    use = horizon if horizon in have else max(h for h in have if h <= horizon) if min(have) <= horizon else min(have)
    part = inner[inner["horizon"] == use]
    scale = np.sqrt(horizon / use)
    pred = {"new_market": part["new_market"], "drivers": part["drivers"],
            "blend": weight * part["new_market"] + (1 - weight) * part["drivers"]}
    out = {}
    for m, p in pred.items():
        score = np.abs(p - part["y"])
        if by == "country":
            score = score.groupby(part["iso3"]).mean()
        out[m] = {lv: scale * conformal_quantile(score.to_numpy(), lv) for lv in LEVELS}
    return out


def compare_new_markets_lco(config=None, panel: pd.DataFrame | None = None, inner_folds: int = 4,
                            verbose: bool = False) -> NewMarketComparison:
    """Leave-countries-out forecasts of new markets by the NewMarketModel, the drivers model and their blend.

    Same outer folds, origins, rows and comparators as
    :func:`hallyu_forecast.evaluation.evaluate_new_markets` (features rebuilt with the training
    countries as reference countries). See the module docstring for what each fit may see.
    """

    cfg = config if isinstance(config, ExperimentConfig) else load_config(config)
    panel = load_panel() if panel is None else panel
    forecaster = cfg.make_forecaster()
    nm_params = forecaster._new_market_lgbm_params()
    frame = cfg.build_features(panel).frame
    have = sorted(frame.loc[frame["y"].notna(), "iso3"].unique())
    if len(have) < 2 * cfg.lco_folds:
        raise DataError(f"Only {len(have)} countries have the target; leave-countries-out needs "
                        f"{2 * cfg.lco_folds}.")
    continents = _continents(have)
    rows, weights = [], []
    for k, held in enumerate(country_folds(have, cfg.seed, cfg.lco_folds)):
        train_countries = [c for c in have if c not in set(held)]
        fm = cfg.build_features(panel, reference_countries=train_countries)
        f = fm.frame
        for origin in cfg.split.origins:
            test = f[f["iso3"].isin(held) & cfg.split.test_mask(f, origin) & _scored(f, cfg)].reset_index(drop=True)
            fitted = _fit(fm, train_countries, origin, cfg, nm_params)
            if test.empty or fitted is None:
                continue
            inner = inner_errors(fm, train_countries, origin, cfg, nm_params, folds=inner_folds, seed=cfg.seed + 1)
            w = choose_weight(inner)
            weights.append({"fold": k, "origin": origin, "weight": w, "inner_rows": len(inner)})
            p_nm, p_dm = _predict(fitted, test)
            at_origin = f[(f["origin"] == origin) & (f["horizon"] == f["horizon"].min())
                          & f["iso3"].isin(train_countries)][["iso3", "y_origin"]].dropna()
            g_mean = float(at_origin["y_origin"].mean())
            c_mean = at_origin.assign(cont=at_origin["iso3"].map(continents)).groupby("cont")["y_origin"].mean()
            hdrift = test["horizon"].to_numpy(float) * fitted[2]
            out = test[["iso3", "origin", "horizon", "target_year", "y"]].copy()
            out.insert(1, "fold", k)
            out["new_market"], out["drivers"] = p_nm, p_dm
            out["blend"] = w * p_nm + (1 - w) * p_dm
            out["global_mean"] = g_mean + hdrift
            out["continent_mean"] = test["iso3"].map(continents).map(c_mean).fillna(g_mean).to_numpy(float) + hdrift
            out["weight"] = w
            for h in sorted(out["horizon"].unique()):
                mask = out["horizon"] == h
                for by in CALIBRATIONS:
                    hw = half_widths(inner, w, int(h), by=by)
                    tag = "" if by == "country" else "_row"
                    for m in METHODS:
                        for lv in LEVELS:
                            out.loc[mask, f"{m}_hw{lv * 100:g}{tag}"] = hw[m][lv]
            rows.append(out)
            if verbose:
                print(f"  fold {k} origin {origin}: weight {w:.1f} ({len(inner)} inner rows)", flush=True)
    if not rows:
        raise DataError("No held-out country has a target at origin + h; nothing to compare.")
    return NewMarketComparison(pd.concat(rows, ignore_index=True), pd.DataFrame(weights))


def score_comparison(pred: pd.DataFrame, reps: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Per horizon (and ``all``): RMSE of each method, ratio vs the global mean and vs the NewMarketModel
    (95% bootstrap over held-out countries), and interval coverage on the held-out countries."""

    out = []
    for h, g in [("all", pred)] + [(int(h), g) for h, g in pred.groupby("horizon")]:
        g = g.reset_index(drop=True)
        base = g["y"] - g["global_mean"]
        nm_err = g["y"] - g["new_market"]
        for m in METHODS + ("continent_mean", "global_mean"):
            err = g["y"] - g[m]
            row = {"horizon": h, "method": m, "n": len(g), "countries": g["iso3"].nunique(),
                   "rmse": float(np.sqrt(np.mean(err ** 2)))}
            row["vs_global"], row["vs_global_lo"], row["vs_global_hi"] = bootstrap_ratio(err, base, g["iso3"], reps,
                                                                                         seed)
            row["vs_nm"], row["vs_nm_lo"], row["vs_nm_hi"] = bootstrap_ratio(err, nm_err, g["iso3"], reps, seed)
            for lv in LEVELS:
                for tag in ("", "_row"):
                    col = f"{m}_hw{lv * 100:g}{tag}"
                    if col in g:
                        hit = pd.Series((err.abs() <= g[col]).to_numpy(float))
                        key = f"cov{lv * 100:g}{tag}"
                        row[key], row[f"{key}_lo"], row[f"{key}_hi"] = coverage_interval(hit, g["iso3"], reps, seed)
                        row[f"width{lv * 100:g}{tag}"] = float(2 * g[col].median())
            out.append(row)
    return pd.DataFrame(out)


def coverage_interval(hit: pd.Series, countries: pd.Series, reps: int = 1000, seed: int = 0
                      ) -> tuple[float, float, float]:
    """Share of rows inside their interval and its 95% bootstrap interval over countries (resampled whole)."""
    per = pd.DataFrame({"c": countries.to_numpy(), "h": hit.to_numpy(float)}).groupby("c")["h"].agg(["sum", "size"])
    share = float(per["sum"].sum() / per["size"].sum())
    if reps <= 0 or len(per) < 2:
        return share, float("nan"), float("nan")
    draws = np.random.default_rng(seed).integers(0, len(per), size=(reps, len(per)))
    boot = per["sum"].to_numpy()[draws].sum(axis=1) / per["size"].to_numpy()[draws].sum(axis=1)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    return share, float(lo), float(hi)
