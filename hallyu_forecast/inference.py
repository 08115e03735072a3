"""``predict()``: forecasts with prediction intervals, on the target scale and in arrivals.

Examples
--------
>>> from hallyu_forecast import predict
>>> predict(["MEX", "Japan"], horizon=3)  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from hallyu_forecast.errors import ConfigError, ModelError

OUTPUT_COLUMNS = [
    "iso3", "country", "origin", "horizon", "target_year", "prediction", "lower", "upper",
    "lower_95", "upper_95", "prediction_natural", "prediction_arrivals", "lower_arrivals",
    "upper_arrivals", "model", "note", "domain",
]


def resolve_model(model=None):
    """A :class:`ModelBundle` from ``None`` (shipped default), a bundle folder, a fitted bundle,
    or an MLflow model URI (``runs:/<id>/model``, ``models:/<name>/<version>``, a local path)."""
    from hallyu_forecast.bundle import ModelBundle, load_bundle

    if model is None or isinstance(model, ModelBundle):
        return _default_bundle() if model is None else model
    text = str(model)
    path = Path(text)
    if path.is_dir() and (path / "meta.json").is_file():
        return load_bundle(path)
    import mlflow.pyfunc

    from hallyu_forecast.tracking import configure, quiet

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
    from hallyu_forecast.bundle import DEFAULT_MODEL_DIR, load_bundle

    meta = DEFAULT_MODEL_DIR / "meta.json"
    stamp = meta.stat().st_mtime_ns if meta.is_file() else None
    if _DEFAULT.get("stamp") != stamp or "bundle" not in _DEFAULT:
        _DEFAULT.update(bundle=load_bundle(), stamp=stamp)
    return _DEFAULT["bundle"]


def resolve_countries(countries, codes: Iterable[str] | None = None) -> list[str]:
    """ISO3 codes from ISO3 codes or English names (case-insensitive), validated.

    ``codes`` are the ISO3 codes allowed (e.g. the countries of the panel in use); default the
    embedded country table. Korea, the destination, is refused; an empty selection is an error.
    """
    from hallyu_forecast.features import DESTINATION
    from hallyu_forecast.panel import load_countries

    from hallyu_forecast.preflight import check_countries

    countries = check_countries(countries)  # 392 or [392] -> InputTypeError, not a TypeError deep inside
    table = load_countries()
    known = set(codes) if codes is not None else set(table["iso3"])
    by_name = {str(n).casefold(): c for n, c in zip(table["name"], table["iso3"]) if c in known}
    out, unknown = [], []
    for value in countries:
        key = str(value).strip()
        if key.upper() in known or key.upper() == DESTINATION:
            out.append(key.upper())
        elif key.casefold() in by_name:
            out.append(by_name[key.casefold()])
        else:
            unknown.append(key)
    if unknown:
        raise ConfigError(f"Unknown country {', '.join(repr(u) for u in unknown)}. Use ISO3 codes such as "
                          "'MEX' or English names of countries in the panel; see hallyu_forecast.load_countries().")
    if DESTINATION in out:
        raise ConfigError("Korea is the destination, not an origin country: remove 'KOR'.")
    if not out:
        raise ConfigError("`countries` is empty: name at least one country, or pass None for all.")
    return list(dict.fromkeys(out))


def _check_horizon(horizon, allowed) -> list[int]:
    from hallyu_forecast.conventions import check_horizons

    values = check_horizons([horizon] if np.isscalar(horizon) else horizon)
    missing = sorted(set(values) - set(int(h) for h in allowed))
    if missing:
        raise ModelError(f"The model was fitted for horizons {sorted(allowed)}; it cannot forecast horizon {missing[0]}.")
    return list(values)


def forecast(bundle, panel: pd.DataFrame, countries=None, horizon=1, origin=None) -> pd.DataFrame:
    """Forecast from ``panel`` with ``bundle`` (shared by :func:`predict` and the MLflow pyfunc)."""
    from hallyu_forecast.features import inverse_target, target_series
    from hallyu_forecast.panel import load_countries

    if isinstance(origin, str):  # a year-month origin "YYYY-MM": in-year nowcast (hallyu_forecast.monthly)
        from hallyu_forecast.monthly import forecast_from_month

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
    table = load_countries()
    codes = sorted(set(panel["iso3"]) - {"KOR"}) if countries is None else resolve_countries(countries, panel["iso3"])
    fm = bundle.features(panel, origins=[int(origin)], horizons=horizons, countries=codes)
    out = model.predict(fm)
    out = out[out["model"] != "none"].reset_index(drop=True)
    # applicability domain (issue 8): drop uninhabited / covariate-less places, flag extrapolations
    from hallyu_forecast.domain import check_alone, drop_excluded, frame_domain

    every = bundle.features(panel, origins=[int(origin)], horizons=horizons[:1])
    domain = frame_domain(every.frame, every.roles, panel, origins=[int(origin)])
    check_alone(domain, None if countries is None else codes, "forecast")
    out = drop_excluded(out, domain).reset_index(drop=True)
    if countries is not None:
        lost = sorted(set(codes) - set(out["iso3"]))
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
            origin: int | str | None = None, model=None) -> pd.DataFrame:
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
        horizons (see :func:`hallyu_forecast.monthly.forecast_from_month`).
    model : optional
        ``None`` (the default model shipped with the package), an MLflow model URI, or a bundle folder.

    Returns
    -------
    DataFrame
        iso3, country, origin, horizon, target_year, prediction, lower, upper (80% interval),
        lower_95, upper_95 (model scale, e.g. log youth arrivals per 100k), prediction_natural
        (back-transformed), prediction_arrivals, lower_arrivals, upper_arrivals (persons, using the
        population known at the origin), model ("history" or "new_market": which model answered),
        note, domain ("in" or "extrapolated: <reason>", see :mod:`hallyu_forecast.domain`; places
        excluded by that rule get no row, and asked for alone raise :class:`DomainError`).

    Examples
    --------
    >>> predict("MEX", horizon=3)  # doctest: +SKIP
    """
    bundle = resolve_model(model)
    return forecast(bundle, bundle.load_panel(), countries=countries, horizon=horizon, origin=origin)


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
