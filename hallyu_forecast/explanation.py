"""SHAP explanations of Hallyu forecasts, grouped as Korean government support vs local conditions.

:func:`explain` computes everything once and returns an :class:`Explanation`; every table,
plot and the HTML report (:func:`hallyu_forecast.report.render_report`) only render it.

What is attributed
------------------
The history model forecasts a *change* from the last observed value (see
:mod:`hallyu_forecast.forecaster`)::

    prediction = anchor + s * f(x),     anchor = y_origin (+ h * drift),  s = shrinkage

``f`` is one LightGBM per horizon; ``shap.TreeExplainer(f)`` (path-dependent TreeSHAP) gives
``f(x) = phi_0 + sum_j phi_j(x)``. To attribute the *level* forecast, the anchor enters as one
explicit term, ``last_observed_level = anchor - mean(anchor)`` (mean over the model's training
rows of that horizon), in group ``target_history`` (role ``history``), and::

    base_value = s * phi_0 + mean(anchor)
    prediction = base_value + sum_j s * phi_j + last_observed_level + covid_recovery_adjustment

``covid_recovery_adjustment`` (group ``regime``, role ``regime``) is the published forecast
minus the tree forecast: non-zero only where the forecaster's COVID rule replaced the tree
(origins 2020-2022, "anchored on 2019 with recovery"); it makes the attribution add up to the
forecast that is actually published. Rows answered by the covariates-only new-market model
(countries without target history) are attributed the same way with that model's own
``base_value = phi_0`` and no anchor term. Additivity (groups + base = prediction, per row) is
checked to 1e-6 and a :class:`ModelError` is raised if it fails.

Shares
------
For each explained row and role ``r``, ``magnitude_r = sum of |contribution|`` over the terms of
that role (absolute values per feature, so features of one role that push in opposite
directions do not cancel). ``share_r = magnitude_r / sum over roles of magnitude``; "without
history" drops the ``history`` role from numerator and denominator. A country's share is the
mean over its explained rows (origins); the global share is the mean over countries (each
country counts once); a year's share is the mean over the countries explained at that origin.
Shares are computed per model (history vs new-market rows) and sum to 1.

Uncertainty
-----------
``n_refits`` refits of the model, each with a new LightGBM seed, on (default
``uncertainty="subsample"``) 80% of the training countries drawn without replacement, or
(``"bootstrap"``) as many countries drawn with replacement, or (``"seed"``) the same rows. Each
refit explains the same rows; the interval of a share is the central ``level`` percentile range
of the refits' shares, widened to include the point estimate of the model being explained
when the refits fall on one side of it. Country subsampling is the default because a country
bootstrap duplicates whole country histories, which lets trees isolate duplicated countries
through time-invariant features (e.g. years since an FTA) and biases the government-support
share upwards. The intervals describe the stability of the attribution, not a causal effect.

SHAP values describe how the *model* uses the features: they are associational, not causal.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from hallyu_forecast.bundle import ModelBundle
from hallyu_forecast.bundle_parts import REFITS_FILE, load_refits, save_refits  # noqa: F401 - re-exported
from hallyu_forecast.domain import check_alone, frame_domain, refuse_no_travel
from hallyu_forecast.errors import ConfigError, ModelError
from hallyu_forecast.explain_attribution import (
    ADDITIVITY_TOL,
    COVID_ADJ,
    HISTORY_GROUP,
    LAST_LEVEL,
    REGIME_GROUP,
    UNCERTAINTY,
    attribute_terms,
    draw_rows,
    make_refit,
    matching_refits,
    mean_anchor,
    refit_view,
    row_anchor,
    training_frame,
    tree_scale,
)
from hallyu_forecast.explanation_result import TERM_WHY, Explanation
from hallyu_forecast.features import (
    Specs,
    build_features,
    load_feature_specs,
    target_series,
)
from hallyu_forecast.inference import resolve_countries, resolve_model
from hallyu_forecast.logs import Steps, step
from hallyu_forecast.model_base import observed_levels
from hallyu_forecast.panel import load_countries, load_panel


# --------------------------------------------------------------------------- model access
def _resolve(model, specs, panel):
    """(forecaster, specs, target name, description of the model, its panel, the bundle or None)."""

    if model is None or isinstance(model, (str, Path, ModelBundle)):
        bundle = resolve_model(model)
        # (a ModelBundle is unhashable: no dict lookup on it)
        what = "shipped default model" if model is None else \
            ("model bundle" if isinstance(model, ModelBundle) else f"model {model}")
        return bundle.forecaster, bundle.specs, bundle.target, what, bundle.panel, bundle
    if not hasattr(model, "models_") or not hasattr(model, "features_"):
        kind = type(model).__name__
        if hasattr(model, "get_params") and hasattr(model, "fit") and kind == "HallyuForecaster":
            raise ModelError("This HallyuForecaster is not fitted yet. Call `fit(fm)` first.")
        raise ModelError(f"`model` must be a fitted HallyuForecaster, a model bundle, an MLflow model URI or None "
                         f"(the default model). Got {kind}.")
    if specs is None:
        specs = load_feature_specs(panel_columns=panel.columns if panel is not None else None)
    elif not isinstance(specs, Specs):
        specs = load_feature_specs(specs, panel_columns=panel.columns if panel is not None else None)
    target = getattr(getattr(model, "target_", None), "name", None) or specs.default_target
    return model, specs, target, type(model).__name__, None, None


def _check_groups(model, specs) -> dict[str, tuple[str, str]]:
    """term -> (group, role) for every feature the model uses; ModelError if one has no group."""
    declared = {f.name: (f.group, f.role) for f in specs.features}
    used = list(dict.fromkeys(list(model.features_) + list(getattr(model, "nm_features_", []) or [])))
    missing = [f for f in used if f not in declared]
    if missing:
        raise ModelError(f"The model's feature(s) {missing} have no feature group: explain() groups SHAP values by "
                         "the groups declared in the feature specs (features/*.toml). Fit the model on the output "
                         "of build_features(), or pass the `specs` it was trained with.")
    return {f: declared[f] for f in used}


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < minimum:
        raise ConfigError(f"`{name}` must be an integer >= {minimum}. Got {value!r}.")
    return int(value)


# -------------------------------------------------------------------------------- explain()
def explain(model=None, countries: str | Iterable[str] | None = None, years: int | Iterable[int] | None = None,
            horizon: int = 1, n_refits: int = 20, *, uncertainty: str = "subsample", level: float = 0.9,
            panel: pd.DataFrame | None = None, specs: Specs | str | Path | None = None, include_new_markets: bool = True,
            random_state: int = 0) -> Explanation:
    """Explain forecasts with SHAP, grouped by feature group and by role (computed once).

    Parameters
    ----------
    model : optional
        ``None`` (the shipped default model; if none is shipped, the default experiment is
        fitted on the embedded panel), a fitted :class:`HallyuForecaster`, a model bundle
        (folder or :class:`~hallyu_forecast.bundle.ModelBundle`) or an MLflow model URI.
    countries : str or list of str, optional
        ISO3 codes or English names; default every country the model can forecast.
    years : int or list of int, optional
        Forecast *origins* to explain (the year whose data the forecast uses; the forecast is
        for ``origin + horizon``). Default: every year with target data.
    horizon : int
        Years ahead (1, 2 or 3; one the model was fitted for).
    n_refits : int
        Refits for the share intervals (0: no intervals).
    uncertainty : {"subsample", "bootstrap", "seed"}
        Refit on 80% of the countries drawn without replacement, on countries drawn with
        replacement, or on the same rows; each refit with a new LightGBM seed.
    level : float
        Central level of the refit intervals (default 0.9: 5th-95th percentile).
    panel : DataFrame, optional
        Default: the model bundle's panel, else the embedded panel.
    specs : Specs or path, optional
        Feature specs giving each feature its group and role (for a bare HallyuForecaster;
        default: the packaged specs).
    include_new_markets : bool
        Also explain countries without target history (covariates-only model) when
        ``countries`` is None.
    random_state : int
        Seed of the refits.

    Returns
    -------
    Explanation

    Raises
    ------
    ConfigError
        Unknown countries, Korea, years outside the model's range, a bad horizon.
    ModelError
        An unfitted model, a model without feature groups, failed additivity.

    Examples
    --------
    >>> ex = explain(countries=["MEX", "JPN"], n_refits=5)   # doctest: +SKIP
    >>> ex.shares(with_history=False)                         # doctest: +SKIP
    >>> print(ex.format_country("MEX"))                       # doctest: +SKIP
    """
    started = time.perf_counter()

    n_refits = _check_int(n_refits, "n_refits", 0)
    if uncertainty not in UNCERTAINTY:
        raise ConfigError(f"`uncertainty` must be 'subsample', 'bootstrap' or 'seed'. Got {uncertainty!r}.")
    if not (isinstance(level, (int, float)) and 0 < float(level) < 1):
        raise ConfigError(f"`level` must be between 0 and 1 (e.g. 0.9). Got {level!r}.")
    panel_arg = panel
    model_obj, specs_obj, target_name, what, bundle_panel, bundle_obj = _resolve(model, specs, panel)
    panel_source = "embedded" if panel is None and bundle_panel is None else "custom"
    if panel is None:
        panel = bundle_panel if bundle_panel is not None else load_panel()
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or \
            int(horizon) not in tuple(model_obj.horizons_):
        allowed = sorted(int(h) for h in model_obj.horizons_)
        text = ", ".join(map(str, allowed[:-1])) + f" or {allowed[-1]}" if len(allowed) > 1 else str(allowed[0])
        raise ConfigError(f"`horizon` must be {text}. Got {horizon!r}.")
    horizon = int(horizon)
    term_info = _check_groups(model_obj, specs_obj)
    tspec = specs_obj.targets[target_name]

    # ---- years: origins with target data
    y = target_series(panel, tspec, base=Path(specs_obj.folder))
    observed = panel.loc[y.notna(), "year"]
    if observed.empty:
        raise ConfigError("The panel has no observed target values; nothing to explain.")
    first, last = int(observed.min()), int(observed.max())
    if years is None:
        origins = list(range(first, last + 1))
    else:
        origins = [years] if np.isscalar(years) else list(years)
        bad = [o for o in origins if isinstance(o, bool) or not isinstance(o, (int, np.integer))
               or not first <= int(o) <= last]
        if bad or not origins:
            raise ConfigError(f"`years` must be origin years with target data ({first}-{last}). "
                              f"Got {bad if bad else origins}.")
        origins = sorted(set(int(o) for o in origins))

    codes = None if countries is None else resolve_countries(countries, panel["iso3"])

    # ---- the design matrix: every origin (training rows for refits) and the rows to explain
    fm = build_features(panel, specs=specs_obj, target=target_name, horizons=[horizon])
    frame = fm.frame
    explain_rows = frame[frame["origin"].isin(origins)]
    if codes is not None:
        explain_rows = explain_rows[explain_rows["iso3"].isin(codes)]
    has_nm = bool(getattr(model_obj, "nm_models_", {})) and horizon in model_obj.nm_models_
    hist_countries = set(explain_rows.loc[explain_rows["y_origin"].notna(), "iso3"])
    if getattr(model_obj, "target_mode", "") == "level" and not has_nm:
        keep = np.ones(len(explain_rows), bool)
    else:
        keep = explain_rows["y_origin"].notna().to_numpy().copy()
        if has_nm and (include_new_markets or codes is not None):
            keep |= (~explain_rows["iso3"].isin(hist_countries)).to_numpy()
    explain_rows = explain_rows[keep].reset_index(drop=True)
    # applicability domain (issue 8): no explanation for excluded places, extrapolations flagged

    domain = frame_domain(frame, fm.roles, panel, origins=origins)
    domain = refuse_no_travel(domain, travel=str(tspec.numerator or "").startswith("arrivals"))  # as predict()
    if codes is not None:
        check_alone(domain[domain["iso3"].isin(set(explain_rows["iso3"]))], codes, "explanation")
    dom_key = domain.set_index(["iso3", "origin"])
    key = pd.MultiIndex.from_frame(explain_rows[["iso3", "origin"]])
    explain_rows = explain_rows[(dom_key["status"].reindex(key).fillna("in") != "excluded").to_numpy()]
    explain_rows = explain_rows.reset_index(drop=True)
    if codes is not None:
        lost = sorted(set(codes) - set(explain_rows["iso3"]))
        if lost:
            raise ConfigError(f"No data to explain for {lost} at origins {origins[0]}-{origins[-1]}: no observed "
                              "target (and no new-market model for countries without one). Choose other years "
                              "or countries with target history.")
    if explain_rows.empty:
        raise ConfigError(f"No rows to explain at origins {origins[0]}-{origins[-1]}.")

    # ---- terms
    features = [f for f in fm.features if f in term_info]
    terms = features + [LAST_LEVEL, COVID_ADJ]
    why = {f.name: f.why for f in specs_obj.features}
    term_table = pd.DataFrame({
        "term": terms,
        "group": [term_info[f][0] for f in features] + [HISTORY_GROUP, REGIME_GROUP],
        "role": [term_info[f][1] for f in features] + ["history", "regime"],
        "why": [why.get(f, "") for f in features] + [TERM_WHY[LAST_LEVEL], TERM_WHY[COVID_ADJ]],
        "kind": ["feature"] * len(features) + ["anchor", "adjustment"],
    })
    role_of = dict(zip(term_table["term"], term_table["role"]))
    group_of = dict(zip(term_table["term"], term_table["group"]))

    # ---- training rows of the model (for the anchor mean and refits)
    max_year = int(getattr(model_obj, "max_target_year_", last))
    train_fm = replace(fm, frame=frame[frame["y"].notna() & (frame["target_year"] <= max_year)]
                       .reset_index(drop=True))
    anchor_mean = mean_anchor(model_obj, training_frame(model_obj, train_fm.frame), horizon)

    contrib, base, pred, bases = attribute_terms(model_obj, explain_rows, terms, horizon, anchor_mean)

    step(f"explain: SHAP values for {len(explain_rows)} rows ({time.perf_counter() - started:.1f}s)")
    ok = (pred["model"] != "none").to_numpy()
    explain_rows, contrib, base, pred = explain_rows[ok].reset_index(drop=True), contrib[ok], base[ok], \
        pred[ok].reset_index(drop=True)
    total = base + contrib.sum(axis=1)
    gap = np.abs(total - pred["prediction"].to_numpy(float))
    if not np.all(gap < ADDITIVITY_TOL):
        raise ModelError(f"SHAP additivity failed: base value + contributions differ from the prediction by up to "
                         f"{np.nanmax(gap):.2e} (tolerance {ADDITIVITY_TOL:g}). Report this with the model.")

    # ---- tables
    names = load_countries().set_index("iso3")["name"]
    rows = explain_rows[["iso3", "origin", "horizon", "target_year", "y_origin", "y"]].copy()
    rows.insert(1, "name", rows["iso3"].map(names).fillna(rows["iso3"]).astype(str))
    row_key = pd.MultiIndex.from_frame(rows[["iso3", "origin"]])
    rows["domain"] = dom_key["domain"].reindex(row_key).fillna("in").to_numpy()
    rows.insert(5, "model", pred["model"].astype(str).to_numpy())
    rows["prediction"] = pred["prediction"].to_numpy(float)
    rows["base_value"] = base
    for c in [c for c in pred.columns if c.startswith(("lower_", "upper_"))]:
        rows[c] = pred[c].to_numpy(float)
    rows["covid_adjusted"] = pred["covid_adjusted"].to_numpy(bool) if "covid_adjusted" in pred else False
    rows = rows.reset_index(drop=True)
    contributions = pd.DataFrame(contrib, columns=terms)
    values = explain_rows[features].reset_index(drop=True).astype("float64")
    values[LAST_LEVEL] = np.where(rows["model"] == "history", row_anchor(model_obj, explain_rows), np.nan)
    values[COVID_ADJ] = np.where(rows["covid_adjusted"], contributions[COVID_ADJ], 0.0)

    # ---- refits
    t_refit = time.perf_counter()
    draws: list[tuple] = []

    refit_steps = Steps("explain: refits for the share intervals", n_refits)
    # refits computed once at training time and kept with the bundle (issue 8), when they match
    stored = None
    if panel_arg is None and specs is None and bundle_obj is not None:
        stored = matching_refits(getattr(bundle_obj, "explain_refits", None), horizon, n_refits, uncertainty,
                                  random_state)
    for b in range(n_refits):
        if stored is not None:
            refit = refit_view(model_obj, stored["refits"][b], horizon)
        else:
            refit = make_refit(model_obj, train_fm, horizon, b, uncertainty, random_state)
        mean_b = mean_anchor(refit, training_frame(refit, train_fm.frame), horizon)
        c_b, base_b, pred_b, _ = attribute_terms(refit, explain_rows, terms, horizon, mean_b)
        used = pred_b["model"].to_numpy() != "none"
        cb = pd.DataFrame(c_b[used], columns=terms)
        draws.extend(draw_rows(b, cb, rows[used].reset_index(drop=True), role_of, group_of))
        refit_steps.done(b + 1)
    draws_df = pd.DataFrame(draws, columns=["refit", "model", "scope", "key", "with_history", "item", "value"])
    hist_frame = _observed(frame, set(rows["iso3"]))
    meta = {
        "model": what,
        "panel": panel_source,
        "target_mode": getattr(model_obj, "target_mode", None),
        "shrinkage": tree_scale(model_obj),
        "drift": float(getattr(model_obj, "drift_", float("nan"))),
        "anchor_mean": anchor_mean,
        "n_refits": n_refits,
        "uncertainty": uncertainty,
        "random_state": int(random_state),
        "origins": [int(o) for o in sorted(set(rows["origin"]))],
        "target_years_observed": f"{first}-{last}",
        "max_additivity_gap": float(np.nanmax(gap)) if len(gap) else 0.0,
        "shap_version": _version("shap"),
        "lightgbm_version": _version("lightgbm"),
        "refit_seconds": round(time.perf_counter() - t_refit, 3),
        "refits_stored": stored is not None,
        "seconds": round(time.perf_counter() - started, 3),
    }
    target = {"name": tspec.name, "description": tspec.description, "measures": tspec.measures,
              "does_not_measure": tspec.does_not_measure, "transform": tspec.transform}
    return Explanation(rows=rows, contributions=contributions, values=values, terms=term_table,
                       base_values={k: float(v) for k, v in bases.items()}, draws=draws_df, history=hist_frame,
                       target=target, horizon=horizon, level=float(level), meta=meta)


def _observed(frame: pd.DataFrame, countries: set[str]) -> pd.DataFrame:
    sub = frame[frame["iso3"].isin(countries)]
    return observed_levels(sub).reset_index(drop=True)


def _version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"
