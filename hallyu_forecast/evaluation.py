"""Rolling-origin backtest of the forecaster against naive baselines.

For each origin ``t`` of the experiment's :class:`~hallyu_forecast.config.BacktestSplit`, every
model is fitted on the feature rows whose **target year is <= t** (no row whose target lies after
the origin is ever used in training; features are causal by construction) and forecasts
``t + h``. All models are scored on the same rows: countries with a known target at the origin
and at ``t + h`` (COVID target years 2020-2022 are neither trained on nor scored when
``exclude_covid_targets`` is true).

Reported
--------
- RMSE, MAE and MASE per model and horizon (MASE scale: the in-sample mean absolute one-step
  change, i.e. the MAE of one-step persistence on the fold's training rows, pooled over
  countries), and per country.
- RMSE ratio of the primary model to each baseline, with a country bootstrap interval
  (countries resampled with replacement, ``bootstrap_reps`` replicates, seeded).
- Empirical coverage and mean width of the primary model's prediction intervals.
- New markets, leave-countries-out: countries split into ``lco_folds`` groups; features are
  rebuilt with ``reference_countries`` = the training countries; the covariates-only model is
  compared with the training countries' mean at the origin (+ h x drift) and the same by
  continent.
- COVID break: forecasts from ``covid_origins`` (2020, 2021) where targets exist, for the
  anchor-plus-recovery method, back-to-2019, the history model carrying the low forward,
  persistence and persistence + drift.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd
from sklearn.base import clone

from hallyu_forecast.baselines import PersistenceDrift, make_baseline
from hallyu_forecast.config import COVID_YEARS, ExperimentConfig, load_config
from hallyu_forecast.errors import DataError, InputTypeError
from hallyu_forecast.features import take_rows
from hallyu_forecast.model_base import interval_columns, pooled_drift, training_rows
from hallyu_forecast.new_market_model import NewMarketModel
from hallyu_forecast.panel import load_countries, load_panel

PRIMARY = "forecaster"


@dataclass
class BacktestResult:
    """Everything a backtest measured. ``summary()`` for the headline table, ``to_frames()`` for artifacts."""

    config: ExperimentConfig
    predictions: pd.DataFrame
    metrics: pd.DataFrame
    by_country: pd.DataFrame
    ratios: pd.DataFrame
    coverage: pd.DataFrame
    new_market: pd.DataFrame = field(default_factory=pd.DataFrame)
    new_market_predictions: pd.DataFrame = field(default_factory=pd.DataFrame)
    covid: pd.DataFrame = field(default_factory=pd.DataFrame)
    covid_predictions: pd.DataFrame = field(default_factory=pd.DataFrame)
    timings: dict[str, float] = field(default_factory=dict)
    primary: str = PRIMARY
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """One row per horizon: n, RMSE of every model side by side, ratios (with bootstrap CI), coverage."""
        m = self.metrics.pivot(index="horizon", columns="model", values="rmse")
        order = [self.primary] + [c for c in m.columns if c != self.primary]
        out = m[order].add_prefix("rmse_")
        out.insert(0, "n", self.metrics.groupby("horizon")["n"].max())
        for b in self.ratios["baseline"].unique():
            r = self.ratios[(self.ratios["baseline"] == b) & (self.ratios["horizon"] != "all")].copy()
            r["horizon"] = r["horizon"].astype(int)
            r = r.set_index("horizon")
            out[f"ratio_vs_{b}"] = r["ratio"]
            out[f"ratio_vs_{b}_lo"] = r["lo"]
            out[f"ratio_vs_{b}_hi"] = r["hi"]
        if not self.coverage.empty:
            for level, g in self.coverage.groupby("level"):
                out[f"coverage_{level * 100:g}"] = g.set_index("horizon")["coverage"]
        return out.reset_index()

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """Every table, by name (for MLflow artifacts)."""
        return {"summary": self.summary(), "metrics": self.metrics, "by_country": self.by_country,
                "ratios": self.ratios, "coverage": self.coverage, "predictions": self.predictions,
                "new_market": self.new_market, "new_market_predictions": self.new_market_predictions,
                "covid": self.covid, "covid_predictions": self.covid_predictions,
                "timings": pd.DataFrame([self.timings])}

    def report(self) -> str:
        """Plain-text report of the headline tables."""
        def fmt(frame):
            return frame.to_string(index=False, float_format=lambda v: f"{v:.3f}")

        parts = [f"Backtest `{self.config.name}`: origins {list(self.config.split.origins)}, "
                 f"horizons {list(self.config.split.horizons)}, target {self.config.target or '(default)'}"]
        s = self.metrics.pivot(index="horizon", columns="model", values="rmse")
        parts += ["RMSE per horizon", fmt(s.reset_index())]
        r = self.ratios.copy()
        r["ratio [95% CI]"] = [f"{a:.3f} [{b:.3f}, {c:.3f}]" for a, b, c in zip(r["ratio"], r["lo"], r["hi"])]
        parts += [f"RMSE ratio {self.primary} / baseline (country bootstrap)",
                  r.pivot(index="horizon", columns="baseline", values="ratio [95% CI]").reset_index().to_string(index=False)]
        if not self.coverage.empty:
            parts += ["Interval coverage", fmt(self.coverage)]
        if not self.new_market.empty:
            parts += ["New markets (leave countries out), RMSE",
                      fmt(self.new_market.pivot(index="horizon", columns="model", values="rmse").reset_index())]
        if not self.covid.empty:
            parts += ["COVID origins, RMSE", fmt(self.covid.pivot_table(index=["origin", "horizon"], columns="method",
                                                                         values="rmse").reset_index())]
        for note in self.notes:
            parts.append(f"note: {note}")
        return "\n\n".join(parts)


# ------------------------------------------------------------------------------------- metrics
def _score(pred: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    e = pred["y"] - pred["prediction"]
    tmp = pred.assign(se=e ** 2, ae=e.abs(), sae=e.abs() / pred["scale"])
    g = tmp.groupby(by, sort=True)
    out = g.agg(n=("se", "size"), rmse=("se", "mean"), mae=("ae", "mean"), mase=("sae", "mean")).reset_index()
    out["rmse"] = np.sqrt(out["rmse"])
    return out


def bootstrap_ratio(errors_a: pd.Series, errors_b: pd.Series, countries: pd.Series, reps: int = 1000,
                    seed: int = 0, alpha: float = 0.05) -> tuple[float, float, float]:
    """RMSE(a) / RMSE(b) and its country-bootstrap percentile interval (countries resampled with replacement)."""
    frame = pd.DataFrame({"c": countries.to_numpy(), "a": errors_a.to_numpy() ** 2, "b": errors_b.to_numpy() ** 2})
    per = frame.groupby("c")[["a", "b"]].sum()
    sa, sb = per["a"].to_numpy(), per["b"].to_numpy()
    ratio = float(np.sqrt(sa.sum() / sb.sum()))
    if reps <= 0 or len(per) < 2:
        return ratio, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    k = len(per)
    draws = rng.integers(0, k, size=(reps, k))
    weights = np.zeros((reps, k))
    np.add.at(weights, (np.repeat(np.arange(reps), k), draws.ravel()), 1.0)
    num, den = weights @ sa, weights @ sb
    ok = den > 0
    boot = np.sqrt(num[ok] / den[ok])
    lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    return ratio, float(lo), float(hi)


# ------------------------------------------------------------------------------------ the loop
def _default_models(cfg: ExperimentConfig) -> dict[str, Any]:
    models = {PRIMARY: cfg.make_forecaster()}
    for name in cfg.baselines:
        models[name] = make_baseline(name, exclude_covid_targets=cfg.exclude_covid_targets)
    return models


def _without_new_market(est):
    """``est`` without its covariates-only new-market model where that model cannot answer.

    Every scored row of the rolling-origin backtest has a target at the origin, so a log-scale
    forecaster answers all of them with its history model; fitting the new-market model at each
    origin (3 s of a 6 s backtest) bought nothing. A level-target forecaster keeps it: without it,
    it would answer every row from levels. New markets are scored by :func:`evaluate_new_markets`.
    """
    params = est.get_params()
    if params.get("new_market") and params.get("target_mode") != "level":
        est.set_params(new_market=False)
    return est


def _target_years(frame: pd.DataFrame) -> str:
    years = pd.concat([frame.loc[frame["y"].notna(), "target_year"],
                       frame.loc[frame["y_origin"].notna(), "origin"]])
    return f"{int(years.min())}-{int(years.max())}" if len(years) else "never"


def backtest(config_or_path: ExperimentConfig | str | None = None, panel: pd.DataFrame | None = None,
             models: dict[str, Any] | None = None, *, fm=None, primary: str | None = None,
             new_market: bool = True, covid: bool = True, bootstrap_reps: int | None = None,
             progress: Callable[[str], None] | None = None) -> BacktestResult:
    """Rolling-origin, expanding-window backtest (see the module docstring).

    Parameters
    ----------
    config_or_path : ExperimentConfig, path or experiment name, optional
        Default: the shipped ``default`` experiment.
    panel : DataFrame, optional
        Default: the embedded panel.
    models : dict name -> estimator, optional
        Unfitted estimators with ``fit(fm)`` / ``predict(fm)`` (cloned for every fold). Default:
        the experiment's forecaster (``"forecaster"``) and baselines.
    fm : FeatureMatrix, optional
        A prebuilt feature matrix (all origins) instead of building one from ``panel``; the
        leave-countries-out evaluation then cannot restrict cross-country features to the
        training countries unless ``panel`` is given too.
    primary : str, optional
        Model whose ratios and coverage are reported (default ``"forecaster"`` or the first model).
    new_market, covid : bool
        Run the leave-countries-out and COVID evaluations.
    bootstrap_reps : int, optional
        Override the config's number of bootstrap replicates.

    Returns
    -------
    BacktestResult

    Raises
    ------
    DataError
        When an origin has no training rows or no known target to score (e.g. a target whose
        series is too short to backtest).
    """
    started = time.perf_counter()
    if fm is not None and not isinstance(getattr(fm, "frame", None), pd.DataFrame):
        raise InputTypeError(f"`fm` must be a FeatureMatrix from hallyu_forecast.build_features(). Got {type(fm).__name__}.")
    cfg = config_or_path if isinstance(config_or_path, ExperimentConfig) else load_config(config_or_path)
    say = progress or (lambda _: None)
    if panel is None and fm is None:
        panel = load_panel()
    models = dict(models) if models is not None else _default_models(cfg)
    primary = primary or (PRIMARY if PRIMARY in models else next(iter(models)))
    reps = cfg.bootstrap_reps if bootstrap_reps is None else bootstrap_reps
    split = cfg.split

    t0 = time.perf_counter()
    prebuilt = fm
    fm = cfg.build_features(panel) if fm is None else fm
    timings = {"features_s": time.perf_counter() - t0}
    frame = fm.frame
    target_name = fm.target.name
    fit_s = {name: 0.0 for name in models}
    predict_s = {name: 0.0 for name in models}
    parts = []
    for origin in split.origins:
        train_mask = split.train_mask(frame, origin)
        train = take_rows(fm, train_mask)
        usable = training_rows(train.frame, cfg.exclude_covid_targets)
        usable = usable[usable["y_origin"].notna()]
        if usable.empty:
            raise DataError(f"Origin {origin}: no training rows with a known target (target `{target_name}` is "
                            f"known in {_target_years(frame)}); the series is too short to backtest from this "
                            "origin. Use later origins or another target.")
        missing_h = sorted(set(split.horizons) - set(usable["horizon"].unique()))
        if missing_h:
            raise DataError(f"Origin {origin}: no training rows for horizon {missing_h[0]} (target `{target_name}` "
                            f"is known in {_target_years(frame)}). Use later origins.")
        test = take_rows(fm, split.test_mask(frame, origin))
        scored = test.frame["y"].notna() & test.frame["y_origin"].notna()
        if cfg.exclude_covid_targets:
            scored &= ~test.frame["target_year"].isin(list(COVID_YEARS))
        if not scored.any():
            raise DataError(f"Origin {origin}: no known target at {origin}+h to score (target `{target_name}` is "
                            f"known in {_target_years(frame)}). Use earlier origins.")
        test = take_rows(test, scored.to_numpy())
        one = usable[usable["horizon"] == 1]
        scale = float((one["y"] - one["y_origin"]).abs().mean()) if len(one) else np.nan
        for name, est in models.items():
            t0 = time.perf_counter()
            fitted = _without_new_market(clone(est)).fit(train)
            fit_s[name] += time.perf_counter() - t0
            t0 = time.perf_counter()
            pred = fitted.predict(test)
            predict_s[name] += time.perf_counter() - t0
            pred = pred.rename(columns={"model": "source"})
            pred.insert(0, "model", name)
            pred["y"] = test.frame["y"].to_numpy()
            pred["scale"] = scale
            parts.append(pred)
        say(f"  origin {origin}: {len(usable)} training rows, {len(test.frame)} scored")
    predictions = pd.concat(parts, ignore_index=True)
    timings.update({f"fit_{k}_s": v for k, v in fit_s.items()})
    timings.update({f"predict_{k}_s": v for k, v in predict_s.items()})

    # Score only rows every model forecast (a baseline may return NaN where the primary does not)
    key = ["iso3", "origin", "horizon"]
    complete = predictions.groupby(key)["prediction"].transform(lambda s: s.notna().all())
    notes = []
    dropped = int((~complete).sum() // max(len(models), 1))
    if dropped:
        notes.append(f"{dropped} forecast rows dropped from scoring because a model returned NaN.")
    scored = predictions[complete]
    metrics = _score(scored, ["model", "horizon"])
    by_country = _score(scored, ["model", "horizon", "iso3"])

    ratio_rows = []
    base = scored[scored["model"] == primary].set_index(key)
    for name in models:
        if name == primary:
            continue
        other = scored[scored["model"] == name].set_index(key).reindex(base.index)
        for h in list(split.horizons) + ["all"]:
            sel = np.ones(len(base), bool) if h == "all" else (base.index.get_level_values("horizon") == h)
            a = base.loc[sel, "y"] - base.loc[sel, "prediction"]
            b = other.loc[sel, "y"] - other.loc[sel, "prediction"]
            r, lo, hi = bootstrap_ratio(a, b, pd.Series(base.index.get_level_values("iso3")[sel]), reps=reps,
                                        seed=cfg.seed)
            ratio_rows.append({"horizon": str(h), "baseline": name, "ratio": r, "lo": lo, "hi": hi})
    ratios = pd.DataFrame(ratio_rows, columns=["horizon", "baseline", "ratio", "lo", "hi"])

    coverage = _coverage(scored[scored["model"] == primary], cfg.interval_levels)
    result = BacktestResult(config=cfg, predictions=predictions, metrics=metrics, by_country=by_country,
                            ratios=ratios, coverage=coverage, timings=timings, primary=primary, notes=notes)
    timings["backtest_s"] = time.perf_counter() - started
    if new_market and cfg.new_market and primary in models and hasattr(models[primary], "new_market"):
        t0 = time.perf_counter()
        if panel is None:
            notes.append("New-market evaluation used the given FeatureMatrix: cross-country features were not "
                         "rebuilt without the held-out countries.")
            builder = lambda countries: prebuilt  # noqa: E731
        else:
            builder = lambda countries: cfg.build_features(panel, reference_countries=countries)  # noqa: E731
        result.new_market, result.new_market_predictions = evaluate_new_markets(cfg, builder, models[primary])
        timings["new_market_s"] = time.perf_counter() - t0
    if covid and primary in models and hasattr(models[primary], "covid_method"):
        t0 = time.perf_counter()
        result.covid, result.covid_predictions = evaluate_covid(cfg, fm, models[primary])
        timings["covid_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - started
    return result


def _coverage(pred: pd.DataFrame, levels) -> pd.DataFrame:
    rows = []
    for level in levels:
        lo, hi = interval_columns([level])
        if lo not in pred or pred[lo].isna().all():
            continue
        for h, g in pred.groupby("horizon"):
            inside = (g["y"] >= g[lo]) & (g["y"] <= g[hi])
            rows.append({"horizon": int(h), "level": float(level), "coverage": float(inside.mean()),
                         "mean_width": float((g[hi] - g[lo]).mean()), "n": int(len(g))})
    return pd.DataFrame(rows, columns=["horizon", "level", "coverage", "mean_width", "n"])


# ---------------------------------------------------------------------------- new markets (LCO)
def _continents(panel_countries) -> pd.Series:
    try:
        table = load_countries().set_index("iso3")["continent"]
    except Exception:  # pragma: no cover - embedded table missing
        table = pd.Series(dtype=object)
    return pd.Series(list(panel_countries), index=list(panel_countries)).map(table).fillna("unknown")


def country_folds(countries, seed: int, k: int) -> list[list[str]]:
    """``k`` leave-countries-out folds of ``countries``: a seeded permutation dealt round-robin.

    The one definition of the new-market folds, shared by :func:`evaluate_new_markets` and
    :func:`hallyu_forecast.drivers.compare_new_markets` so that both score the same held-out countries.
    """
    order = np.array(list(countries))[np.random.default_rng(seed).permutation(len(countries))]
    return [list(order[i::k]) for i in range(k)]


def evaluate_new_markets(cfg: ExperimentConfig, build: Callable[[list[str] | None], Any], forecaster,
                         continents: pd.Series | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leave-countries-out evaluation of the covariates-only model vs the global and continent means.

    Countries with a known target are split into ``cfg.lco_folds`` seeded groups. For each
    group and origin ``t``, features are rebuilt with the other countries as
    ``reference_countries`` (``build(countries)`` returns the FeatureMatrix); the new-market model is fitted on the other countries' rows with
    target year <= t and forecasts the held-out countries at ``t + h``. Comparators: the mean
    target of the training countries at the origin plus ``h`` times their pooled drift, globally
    and within the held-out country's continent (global when the continent has no training
    country).
    """
    frame = build(None).frame
    have = sorted(frame.loc[frame["y"].notna(), "iso3"].unique())
    folds = country_folds(have, cfg.seed, cfg.lco_folds)
    continents = continents if continents is not None else _continents(have)
    params = forecaster._new_market_lgbm_params()
    parts = []
    for held in folds:
        train_countries = [c for c in have if c not in set(held)]
        fm = build(train_countries)
        f = fm.frame
        for origin in cfg.split.origins:
            train = take_rows(fm, (f["iso3"].isin(train_countries) & cfg.split.train_mask(f, origin)).to_numpy())
            test_mask = (f["iso3"].isin(held) & cfg.split.test_mask(f, origin) & f["y"].notna())
            if cfg.exclude_covid_targets:
                test_mask &= ~f["target_year"].isin(list(COVID_YEARS))
            test = take_rows(fm, test_mask.to_numpy())
            if test.frame.empty or training_rows(train.frame, cfg.exclude_covid_targets).empty:
                continue
            nm = NewMarketModel(params=params, interval_levels=cfg.interval_levels,
                                exclude_covid_targets=cfg.exclude_covid_targets).fit(train)
            pred = nm.predict(test)
            pred["y"] = test.frame["y"].to_numpy()
            # comparators: training countries' mean at the origin (+ h * drift), global and by continent
            at_origin = f[(f["origin"] == origin) & (f["horizon"] == f["horizon"].min())
                          & f["iso3"].isin(train_countries)][["iso3", "y_origin"]].dropna()
            drift = pooled_drift(training_rows(train.frame, cfg.exclude_covid_targets))
            g_mean = at_origin["y_origin"].mean()
            c_mean = at_origin.assign(cont=at_origin["iso3"].map(continents)).groupby("cont")["y_origin"].mean()
            hdrift = test.frame["horizon"].to_numpy(float) * drift
            cont = test.frame["iso3"].map(continents)
            base = {"global_mean": np.full(len(test.frame), g_mean) + hdrift,
                    "continent_mean": cont.map(c_mean).fillna(g_mean).to_numpy(float) + hdrift}
            pred = pred.rename(columns={"model": "source"})
            pred.insert(0, "model", "new_market")
            rows = [pred]
            for name, values in base.items():
                b = pred[["iso3", "origin", "horizon", "target_year", "y"]].copy()
                b.insert(0, "model", name)
                b["prediction"] = values
                rows.append(b)
            parts.extend(rows)
    if not parts:
        return pd.DataFrame(), pd.DataFrame()
    preds = pd.concat(parts, ignore_index=True)
    e = preds["y"] - preds["prediction"]
    metrics = (preds.assign(se=e ** 2, ae=e.abs()).groupby(["model", "horizon"])
               .agg(n=("se", "size"), rmse=("se", "mean"), mae=("ae", "mean")).reset_index())
    metrics["rmse"] = np.sqrt(metrics["rmse"])
    nm_pred = preds[preds["model"] == "new_market"]
    for level in cfg.interval_levels:
        lo, hi = interval_columns([level])
        cov = ((nm_pred["y"] >= nm_pred[lo]) & (nm_pred["y"] <= nm_pred[hi])).groupby(nm_pred["horizon"]).mean()
        metrics[f"coverage_{level * 100:g}"] = np.where(metrics["model"] == "new_market",
                                                        metrics["horizon"].map(cov), np.nan)
    return metrics, preds


# --------------------------------------------------------------------------------------- COVID
def evaluate_covid(cfg: ExperimentConfig, fm, forecaster) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forecasts from COVID origins (``cfg.covid_origins``) where the target is known.

    The forecaster is fitted on rows with target year <= origin (COVID targets excluded) and
    predicts with each ``covid_method``: ``anchor_recovery`` (the method), ``back_to_2019``
    (naive: the 2019 level) and ``none`` (the history model carrying the COVID low forward);
    persistence and persistence + drift are shown too.
    """

    frame = fm.frame
    parts = []
    for origin in cfg.covid_origins:
        test_mask = (frame["origin"] == origin) & frame["horizon"].isin(cfg.split.horizons) \
            & frame["y"].notna() & frame["y_origin"].notna()
        if not test_mask.any():
            continue
        train = take_rows(fm, (frame["target_year"] <= origin).to_numpy())
        test = take_rows(fm, test_mask.to_numpy())
        fitted = clone(forecaster).fit(train)
        y = test.frame["y"].to_numpy()
        for method in ("anchor_recovery", "back_to_2019", "none"):
            fitted.set_params(covid_method=method)
            pred = fitted.predict(test)
            pred = pred.rename(columns={"model": "source"})
            pred.insert(0, "method", method)
            pred["y"] = y
            parts.append(pred)
        fitted.set_params(covid_method=forecaster.covid_method)
        pers = test.frame[["iso3", "origin", "horizon", "target_year"]].copy()
        pers.insert(0, "method", "persistence")
        pers["prediction"] = test.frame["y_origin"].to_numpy()
        pers["y"] = y
        pd_model = PersistenceDrift(exclude_covid_targets=cfg.exclude_covid_targets).fit(train).predict(test)
        drift = pers.copy()
        drift["method"] = "persistence_drift"
        drift["prediction"] = pd_model["prediction"].to_numpy()
        parts += [pers, drift]
    if not parts:
        return pd.DataFrame(), pd.DataFrame()
    preds = pd.concat(parts, ignore_index=True)
    if "covid_adjusted" in preds:
        adjusted = preds[preds["method"] == "anchor_recovery"].set_index(["iso3", "origin", "horizon"])["covid_adjusted"]
        keep = preds.set_index(["iso3", "origin", "horizon"]).index.map(adjusted).fillna(False).astype(bool)
        preds = preds[np.asarray(keep)]  # score the rows the COVID method applies to (a 2019 anchor exists)
    e = preds["y"] - preds["prediction"]
    tmp = preds.assign(se=e ** 2, ae=e.abs(), bias=e)
    metrics = (tmp.groupby(["method", "origin", "horizon", "target_year"])
               .agg(n=("se", "size"), rmse=("se", "mean"), mae=("ae", "mean"), bias=("bias", "mean")).reset_index())
    metrics["rmse"] = np.sqrt(metrics["rmse"])
    ar = preds[preds["method"] == "anchor_recovery"]
    for level in cfg.interval_levels:
        lo, hi = interval_columns([level])
        if lo in ar:
            cov = ((ar["y"] >= ar[lo]) & (ar["y"] <= ar[hi])).groupby([ar["origin"], ar["horizon"]]).mean()
            idx = pd.MultiIndex.from_frame(metrics[["origin", "horizon"]])
            metrics[f"coverage_{level * 100:g}"] = np.where(metrics["method"] == "anchor_recovery",
                                                            cov.reindex(idx).to_numpy(), np.nan)
    return metrics, preds
