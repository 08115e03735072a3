"""``predict()``: forecasts with prediction intervals, on the target scale and in arrivals.

Examples
--------
>>> from hallyu_forecast import predict
>>> predict(["MEX", "Japan"], horizon=3)  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import weakref
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from hallyu_forecast.bundle import DEFAULT_MODEL_DIR, ModelBundle, load_bundle
from hallyu_forecast.conventions import check_horizons
from hallyu_forecast.domain import check_alone, drop_excluded, frame_domain, refuse_no_travel
from hallyu_forecast.errors import ConfigError, ModelError
from hallyu_forecast.features import inverse_target, take_rows, target_series
from hallyu_forecast.model_base import conformal_quantile
from hallyu_forecast.monthly import (
    MONTHLY_COLUMNS,
    backtest_nowcast,
    check_origin,
    load_monthly,
    nowcast,
    parse_origin,
    recovery_forecast,
)
from hallyu_forecast.panel import load_countries
from hallyu_forecast.preflight import resolve_countries  # noqa: F401 - re-exported: hf callers use it here
from hallyu_forecast.tracking import configure, quiet

OUTPUT_COLUMNS = [
    "iso3", "country", "origin", "horizon", "target_year", "prediction", "lower", "upper",
    "lower_95", "upper_95", "prediction_natural", "prediction_arrivals", "lower_arrivals",
    "upper_arrivals", "model", "note", "domain",
]


def resolve_model(model=None):
    """A :class:`ModelBundle` from ``None`` (shipped default), a bundle folder, a fitted bundle,
    or an MLflow model URI (``runs:/<id>/model``, ``models:/<name>/<version>``, a local path)."""

    if model is None or isinstance(model, ModelBundle):
        return _default_bundle() if model is None else model
    text = str(model)
    path = Path(text)
    if path.is_dir() and (path / "meta.json").is_file():
        return load_bundle(path)
    import mlflow.pyfunc

    configure()
    try:
        with quiet():  # no MLflow warnings or download progress bars
            loaded = mlflow.pyfunc.load_model(text)
    except Exception as exc:  # MlflowException, OSError, ...: all mean "cannot load this URI"
        raise ModelError(f"Model `{text}` could not be loaded ({type(exc).__name__}: {str(exc)[:200]}). "
                         "Pass an MLflow model URI such as runs:/<run_id>/model or models:/<name>/<version>, "
                         "or a bundle folder; omit it to use the shipped default model.") from None
    inner = loaded.unwrap_python_model()
    if not hasattr(inner, "bundle"):
        raise ModelError(f"Model `{text}` is not a hallyu_forecast model (no feature groups or bundle).")
    return inner.bundle


_DEFAULT = {}


def _default_bundle():
    """The shipped model, loaded once per process (reloaded if its folder is rewritten, e.g. --save-default).

    explain() and drivers() for one country must answer in well under 2 s warm; unpickling the
    forecaster and parsing its stored refits takes longer than that on a loaded machine.
    """

    meta = DEFAULT_MODEL_DIR / "meta.json"
    stamp = meta.stat().st_mtime_ns if meta.is_file() else None
    if _DEFAULT.get("stamp") != stamp or "bundle" not in _DEFAULT:
        _DEFAULT.update(bundle=load_bundle(), stamp=stamp)
    return _DEFAULT["bundle"]


def _check_horizon(horizon, allowed) -> list[int]:
    values = check_horizons([horizon] if np.isscalar(horizon) else horizon)
    missing = sorted(set(values) - set(int(h) for h in allowed))
    if missing:
        raise ModelError(f"The model was fitted for horizons {sorted(allowed)}; it cannot forecast horizon {missing[0]}.")
    return list(values)


_FEATURES: dict = {}  # (bundle id, panel id, origin, horizons) -> (bundle ref, panel ref, FeatureMatrix)


def _features_at(bundle, panel: pd.DataFrame, origin: int, horizons: tuple[int, ...]):
    """Every place's features at ``origin``, built once per (bundle, panel, origin, horizons).

    Features are computed from the whole panel whatever the countries asked for (cross-country
    features need every country), so one matrix serves every call; a warm ``predict`` then costs
    a LightGBM pass instead of two feature builds. Entries die with their panel or bundle (weak
    references), so a new panel object is never answered from an old one's matrix.
    """
    key = (id(bundle), id(panel), origin, horizons)
    hit = _FEATURES.get(key)
    if hit is not None and hit[0]() is bundle and hit[1]() is panel:
        return hit[2]
    fm = bundle.features(panel, origins=[origin], horizons=list(horizons))
    for stale in [k for k, v in _FEATURES.items() if v[0]() is None or v[1]() is None]:
        del _FEATURES[stale]
    if len(_FEATURES) >= 16:
        _FEATURES.pop(next(iter(_FEATURES)))
    _FEATURES[key] = (weakref.ref(bundle), weakref.ref(panel), fm)
    return fm


METHODS = ("annual", "monthly")


def choose_method(origin, method: str | None = None) -> str:
    """The method answering ``origin``: ``method`` if given (validated), else the default.

    One answer per origin (issue 18): an annual origin Y and ``"Y-12"`` both use every month
    through December of Y, and both go to the annual forecaster by default (it beats the monthly
    path on every December origin before 2020, ``bench/bench_origin_methods.py``). A year-month
    origin before December has an incomplete year, which only the monthly path can answer.
    """

    if method is not None and method not in METHODS:
        raise ConfigError(f"`method` must be one of {list(METHODS)}. Got {method!r}.")
    if not isinstance(origin, str):
        return method or "annual"
    year, month = parse_origin(origin)
    if month < 12:
        if method == "annual":
            raise ConfigError(f"`method='annual'` needs a complete year; origin {origin!r} ends in month {month}. "
                              f"Use origin={year - 1} or '{year}-12', or method='monthly'.")
        return "monthly"
    return method or "annual"


def forecast(bundle, panel: pd.DataFrame, countries=None, horizon=1, origin=None, method: str | None = None
             ) -> pd.DataFrame:
    """Forecast from ``panel`` with ``bundle`` (shared by :func:`predict` and the MLflow pyfunc).

    ``method``: see :func:`choose_method` (``None``: the annual forecaster for a year or a December
    origin, the monthly path for an origin inside a year).
    """

    method = choose_method(origin, method)
    if isinstance(origin, str):  # a year-month origin "YYYY-MM"
        year, _ = parse_origin(origin)
        if method == "annual":  # December: the year is complete, so the annual origin's answer
            out = forecast(bundle, panel, countries=countries, horizon=horizon, origin=year, method="annual")
            return out.assign(origin=f"{year}-12")
        # in-year nowcast and the years after it (hallyu_forecast.monthly)
        out = forecast_from_month(bundle, panel, countries=countries, horizon=horizon, origin=origin)
        return out.reindex(columns=OUTPUT_COLUMNS)
    model = bundle.forecaster
    horizons = _check_horizon(horizon, model.horizons_)
    tspec = bundle.specs.targets[bundle.target]
    y = target_series(panel, tspec, base=Path(bundle.specs.folder))
    observed = panel.loc[y.notna(), "year"]
    if observed.empty:
        raise ConfigError("The panel has no observed target values; nothing to forecast from.")
    first, last = int(observed.min()), int(observed.max())
    if origin is None:
        origin = last
    if isinstance(origin, bool) or not isinstance(origin, (int, np.integer)) or not first <= origin <= last:
        raise ConfigError(f"`origin` must be a year with target data ({first}-{last}). Got {origin!r}.")
    if method == "monthly":  # asked for explicitly: the monthly path from December of the origin year
        return forecast(bundle, panel, countries=countries, horizon=horizon, origin=f"{int(origin)}-12",
                        method="monthly")
    table = load_countries()
    codes = sorted(set(panel["iso3"]) - {"KOR"}) if countries is None else resolve_countries(countries, panel["iso3"])
    every = _features_at(bundle, panel, int(origin), tuple(horizons))
    fm = every if countries is None else take_rows(every, every.frame["iso3"].isin(codes).to_numpy())
    out = model.predict(fm)
    out = out[out["model"] != "none"].reset_index(drop=True)
    # applicability domain (issue 8): drop uninhabited / covariate-less places, flag extrapolations
    first_h = every.frame["horizon"] == horizons[0]
    domain = frame_domain(every.frame[first_h].reset_index(drop=True), every.roles, panel, origins=[int(origin)])
    # refused: places whose residents cannot travel to Korea, for a target built from arrivals (issue 18 item 5)
    domain = refuse_no_travel(domain, travel=str(tspec.numerator or "").startswith("arrivals"))
    check_alone(domain, None if countries is None else codes, "forecast")
    out = drop_excluded(out, domain).reset_index(drop=True)
    if countries is not None:
        refused = set(domain.loc[domain["status"] == "excluded", "iso3"])  # dropped from a list on purpose
        lost = sorted(set(codes) - set(out["iso3"]) - refused)
        if lost:
            raise ConfigError(f"No forecast possible for {lost} at origin {origin}: no target history and no "
                              "covariates for the new-market model.")
    names = table.set_index("iso3")["name"]
    out.insert(1, "country", out["iso3"].map(names))
    out = out.rename(columns={"lower_80": "lower", "upper_80": "upper"})
    # Natural scale and arrivals: the denominator (population) is the latest known at the origin.
    natural = {c: inverse_target(out[c], tspec) for c in ("prediction", "lower", "upper")}
    out["prediction_natural"] = natural["prediction"]
    if tspec.numerator and tspec.numerator.startswith("arrivals") and tspec.denominator:
        denom = panel[panel["year"] <= origin].dropna(subset=[tspec.denominator])
        denom = denom.groupby("iso3")[tspec.denominator].last()
        scale = out["iso3"].map(denom) / tspec.scale
        for key, values in natural.items():
            out[f"{key}_arrivals" if key != "prediction" else "prediction_arrivals"] = values * scale
    else:
        for col in ("prediction_arrivals", "lower_arrivals", "upper_arrivals"):
            out[col] = np.nan
    notes = np.where(out["model"] == "new_market", "no target history: covariates-only new-market model",
                     "history model")
    if "covid_adjusted" in out:
        notes = np.where(out["covid_adjusted"], "COVID origin: anchored on 2019 with recovery", notes)
    out["note"] = notes
    return out[OUTPUT_COLUMNS].sort_values(["iso3", "horizon"]).reset_index(drop=True)


def predict(countries: str | Iterable[str] | None = None, horizon: int | Iterable[int] = 1,
            origin: int | str | None = None, model=None, method: str | None = None) -> pd.DataFrame:
    """Forecast Hallyu intensity with prediction intervals.

    Parameters
    ----------
    countries : str or list of str, optional
        ISO3 codes or English names; default every country with target history or covariates.
    horizon : int or list of int
        Years ahead of the origin (1, 2 or 3).
    origin : int or str, optional
        Forecast origin (a year with target data); default the latest such year. A year-month
        ``"YYYY-MM"`` (e.g. ``"2022-06"``) forecasts from the monthly arrivals known then: the
        current year's total (horizon 0, a nowcast from January..MM) plus the requested
        horizons (see :func:`hallyu_forecast.monthly.forecast_from_month`). One answer per
        origin: ``2022`` and ``"2022-12"`` both use every month through December 2022 and give
        the same forecast unless ``method`` says otherwise.
    model : optional
        ``None`` (the default model shipped with the package), an MLflow model URI, or a bundle folder.
    method : {None, "annual", "monthly"}
        ``None`` (default): ``"annual"`` for a year or a December origin, ``"monthly"`` for a
        year-month origin before December. ``"annual"``: the annual forecaster (persistence +
        median drift + momentum + learned adjustment; at the COVID origins 2020-2022 anchored
        on 2019 with recovery); it needs a complete year. ``"monthly"``: the monthly path (the
        nowcast of the origin year from its months, row horizon 0, then the pooled drift, or
        each country's recovery path after a shock); ``origin=2022, method="monthly"`` is
        ``origin="2022-12"`` by the monthly path. The default was chosen on the December
        origins before 2020, where the annual forecaster is the more accurate (README,
        "One answer per origin").

    Returns
    -------
    DataFrame
        iso3, country, origin, horizon, target_year, prediction, lower, upper (80% interval),
        lower_95, upper_95 (model scale, e.g. log youth arrivals per 100k), prediction_natural
        (back-transformed), prediction_arrivals, lower_arrivals, upper_arrivals (persons, using the
        population known at the origin), and on every row:

        - ``model``: which model answered. Annual method: ``"history"`` (the forecaster, from the
          country's own history) or ``"new_market"`` (no target history: the covariates-only
          new-market model). Monthly method: ``"nowcast"`` (horizon 0, the origin year from its
          months), ``"nowcast_drift"`` (the nowcast plus the pooled drift) or ``"recovery"`` (each
          country's recovery path after a shock).
        - ``note``: the same in words, e.g. ``"COVID origin: anchored on 2019 with recovery"``.
        - ``domain``: how far to trust it (:mod:`hallyu_forecast.domain`): ``"in"`` (in the
          applicability domain; always for countries with target history) or
          ``"extrapolated: <reason>"`` (answered, but mostly missing covariates or several outside
          the training range). **Refused** places get no row: no population figure, too few observed
          covariates, or, for a travel target, no plausible travel to Korea (North Korea; sourced
          facts in ``hallyu_forecast/data/no_travel.csv``). Asked for alone (or with only other
          refused or extrapolated places) they raise :class:`DomainError` with one line naming the
          reason; in a list they are dropped from the rows and the other places answered. The
          monthly method answers only countries with monthly arrivals (own history: ``"in"``).

    Examples
    --------
    >>> predict("MEX", horizon=3)  # doctest: +SKIP
    """
    bundle = resolve_model(model)
    return forecast(bundle, bundle.load_panel(), countries=countries, horizon=horizon, origin=origin, method=method)


def predict_rows(bundle, model_input, params: dict | None = None) -> pd.DataFrame:
    """Forecasts of ``bundle`` for panel rows (what the MLflow pyfunc's ``predict`` returns).

    ``params``: ``horizon`` (1-3, default 1) and ``origin`` (a year; default or 0: the latest
    year with target data). The rows update the model's panel (so lags, Korea's values and cross-country features are
    computed as in training); forecasts are for the rows' countries.
    """
    params = params or {}
    rows = pd.DataFrame(model_input)
    if not {"iso3", "year"} <= set(rows.columns):
        raise ModelError("Input rows need `iso3` and `year` columns plus panel columns.")
    base = bundle.load_panel()
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
    horizon = params.get("horizon", 1)
    out = forecast(bundle, merged, countries=countries, horizon=horizon,
                   origin=int(origin) if origin else None)  # 0 (the signature's default) = latest
    return out.drop(columns=["country"]).assign(model=out["model"].astype(str), note=out["note"].astype(str))


# ------------------------------------------------------------------------ predict(origin="YYYY-MM")
@functools.lru_cache(maxsize=24)
def _nowcast_history(years: tuple[int, ...], month: int, column: str) -> pd.DataFrame:
    """The nowcast's errors for month ``month`` of ``years`` on the embedded monthly panel, once per process.

    They calibrate the intervals of every year-month origin with this month and are the same for
    every call and every set of countries (the embedded panel is read-only package data), so
    ``predict(origin="YYYY-MM")`` computes them once, not on every call (issue 16).
    """
    return backtest_nowcast(load_monthly(), years=list(years), months=[month], column=column)


def forecast_from_month(bundle, panel: pd.DataFrame, countries=None, horizon=1, origin: str = "") -> pd.DataFrame:
    """Forecasts from a year-month origin: the current year's total (horizon 0) and the next years.

    Used by :func:`hallyu_forecast.predict` when ``origin`` is a string such as ``"2022-06"``.
    Horizon 0 is the nowcast of the origin year from its months January..m (:func:`nowcast`),
    after a normal year precision-weighted with the annual model's forecast from December of the
    previous year (weight ``s_a^2 / (s_a^2 + s_n^2)`` from errors known at the origin); horizon h is year + h: the nowcast plus ``h`` times the model's pooled drift after a normal
    year, or the recovery path (:func:`recovery_forecast`) after a shock. Intervals: the conformal
    quantiles of the nowcast's absolute errors for the same month m in the earlier normal years
    (2011 up to the origin year, before 2020), combined with the model's half-width for horizon h
    as sqrt(a^2 + b^2). In shock years they understate the uncertainty (normal-year errors).
    """

    year, month = parse_origin(origin)
    model = bundle.forecaster
    horizons = _check_horizon(horizon, model.horizons_)
    tspec = bundle.specs.targets[bundle.target]
    monthly = load_monthly()
    if tspec.numerator not in monthly.columns or tspec.transform != "log" or tspec.file:
        raise ConfigError(f"A year-month origin needs a target built from monthly arrivals (log of "
                          f"{', '.join(MONTHLY_COLUMNS[3:-1])}); the model's target is `{tspec.name}`. "
                          "Use an annual origin (e.g. origin=2022).")
    column = tspec.numerator
    if countries is None:
        codes = sorted(set(monthly["iso3"]) & set(panel["iso3"]))
        check_origin(monthly, year, month, [])
        have = monthly[(monthly["year"] == year) & (monthly["month"] <= month)].groupby("iso3")["month"].nunique()
        codes = [c for c in codes if have.get(c, 0) == month]
    else:
        codes = resolve_countries(countries, panel["iso3"])
        check_origin(monthly, year, month, codes)
    now = nowcast(monthly, year, month, countries=codes, column=column, drift=float(model.drift_))
    lost = sorted(set(codes) - set(now["iso3"])) if countries is not None else []
    if lost:
        raise ConfigError(f"No nowcast possible for {lost} from {year}-{month:02d}: no normal year before {year} "
                          "in the monthly data. Use an annual origin.")
    # population: the latest value known at the origin (the target year's is not published yet)
    if tspec.denominator:
        denom = panel[panel["year"] <= year].dropna(subset=[tspec.denominator]).groupby("iso3")[tspec.denominator].last()
        to_target = np.log(tspec.scale / now["iso3"].map(denom).to_numpy(float))
    else:
        to_target = np.full(len(now), np.log(tspec.scale))
    shift = dict(zip(now["iso3"], to_target))
    earlier = [y for y in range(2011, min(year, 2020))]  # normal years before the origin (pre-COVID)
    history = _nowcast_history(tuple(earlier), month, column) if earlier else None
    if history is None or history.empty:
        raise ConfigError(f"No earlier normal year to calibrate a nowcast from {year}-{month:02d}; "
                          "use an origin from 2012 on.")
    scores = np.abs(history["nowcast"] - history["actual"]).to_numpy()
    levels = tuple(float(x) for x in model.interval_levels)
    now_hw = {lv: conformal_quantile(scores, lv) for lv in levels}
    annual, weight = _annual_for_combination(bundle, panel, now, year, scores)
    rows = []
    for r in now.itertuples(index=False):
        y0 = r.log_total + shift[r.iso3]
        widths0 = dict(now_hw)
        note = f"nowcast from January-{month:02d} {year} ({r.method.replace('_', ' ')})"
        ya = annual.get(r.iso3, np.nan) if r.method == "seasonal_share" else np.nan
        if np.isfinite(ya):
            # precision-weighted with the annual forecast from December of year - 1 (helps most in
            # the first months); the widths combine linearly, an upper bound for correlated errors
            y0 = weight * y0 + (1 - weight) * ya
            widths0 = {lv: weight * now_hw[lv] + (1 - weight) * model.half_widths_[1][lv] for lv in levels}
            note += f", weight {weight:.2f} with the annual forecast"
        rows.append({"iso3": r.iso3, "horizon": 0, "target_year": year, "prediction": y0,
                     "model": "nowcast", "note": note, **widths0})
        shocked = r.method == "recovery"
        if shocked:
            path = recovery_forecast(monthly, year, month, [year + h for h in horizons], drift=float(model.drift_),
                                     column=column, countries=[r.iso3]).set_index("target_year")["log_total"]
        for h in horizons:
            pred = (path[year + h] + shift[r.iso3]) if shocked else y0 + h * float(model.drift_)
            widths = {lv: math_hypot(widths0[lv], model.half_widths_[int(h)][lv]) for lv in levels}
            rows.append({"iso3": r.iso3, "horizon": h, "target_year": year + h, "prediction": pred,
                         "model": "recovery" if shocked else "nowcast_drift",
                         "note": ("recovery path from " if shocked else "nowcast + pooled drift from ")
                         + f"{year}-{month:02d}", **widths})
    out = pd.DataFrame(rows)

    out.insert(1, "origin", f"{year}-{month:02d}")
    names = load_countries().set_index("iso3")["name"]
    out.insert(1, "country", out["iso3"].map(names))
    for lv in levels:
        tag = "" if lv == levels[0] else f"_{lv * 100:g}"
        out[f"lower{tag}"] = out["prediction"] - out[lv]
        out[f"upper{tag}"] = out["prediction"] + out[lv]
    out["prediction_natural"] = inverse_target(out["prediction"], tspec)
    back = np.exp(-out["iso3"].map(shift).to_numpy(float))
    for key in ("prediction", "lower", "upper"):
        name = "prediction_arrivals" if key == "prediction" else f"{key}_arrivals"
        out[name] = np.exp(out[key]) * back
    out = out.drop(columns=list(levels))
    # applicability: every place answered here has its own monthly arrivals, i.e. target history,
    # which the domain rule always counts as "in" (hallyu_forecast.domain, rule 3)
    out["domain"] = "in"
    return out.sort_values(["iso3", "horizon"]).reset_index(drop=True)


def _annual_for_combination(bundle, panel, now: pd.DataFrame, year: int, scores: np.ndarray):
    """Annual h=1 forecasts of ``year`` from origin ``year - 1`` and the nowcast's weight against them.

    The weight is ``s_a^2 / (s_a^2 + s_n^2)``: ``s_n`` the RMSE of the nowcast at this month in
    earlier normal years, ``s_a`` the RMSE of the model's horizon-1 calibration errors (both known
    at the origin). Returns ({iso3: forecast}, weight); empty when year - 1 has no target data.
    """

    model = bundle.forecaster
    codes = now.loc[now["method"] == "seasonal_share", "iso3"].tolist()
    tspec = bundle.specs.targets[bundle.target]
    known = panel.loc[target_series(panel, tspec).notna(), "year"]
    if not codes or known.empty or not int(known.min()) <= year - 1 <= int(known.max()) or 1 not in model.scores_:
        return {}, 1.0
    s_a2 = float(np.mean(np.asarray(model.scores_[1], float) ** 2))
    s_n2 = float(np.mean(np.asarray(scores, float) ** 2))
    if not np.isfinite(s_a2) or s_a2 + s_n2 == 0:
        return {}, 1.0
    out = forecast(bundle, panel, countries=codes, horizon=1, origin=year - 1)
    out = out[out["model"] == "history"]
    return dict(zip(out["iso3"], out["prediction"])), s_a2 / (s_a2 + s_n2)


def math_hypot(a: float, b: float) -> float:
    """sqrt(a^2 + b^2): independent errors of the nowcast and of the years after it add in quadrature."""
    return float(np.hypot(a, b))
