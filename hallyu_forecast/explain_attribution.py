"""How ``explain()`` attributes a forecast to its terms, and the refits behind its intervals.

TreeSHAP on the per-horizon LightGBM plus the forecaster's rule terms (last observed level, COVID
recovery adjustment); refits on subsamples, bootstraps or seeds give the intervals. The method is
described in :mod:`hallyu_forecast.explanation`.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd

from hallyu_forecast.features import build_features
from hallyu_forecast.forecaster import momentum_from_json, momentum_term, momentum_to_json
from hallyu_forecast.model_base import training_rows

ROLES = ("government_support", "local_conditions", "regime", "history")
NON_HISTORY = ROLES[:3]
LAST_LEVEL = "last_observed_level"
COVID_ADJ = "covid_recovery_adjustment"
HISTORY_GROUP = "target_history"
REGIME_GROUP = "regime"
MODELS = ("history", "new_market")
RULE_TERMS = (LAST_LEVEL, COVID_ADJ)
KEY = ["iso3", "origin"]
ADDITIVITY_TOL = 1e-6
UNCERTAINTY = ("subsample", "bootstrap", "seed")
SUBSAMPLE_FRACTION = 0.8


# ------------------------------------------------------------------------------ share math
def abs_by(contrib: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    return contrib.abs().T.groupby(pd.Series(mapping)).sum().T


def row_shares(contrib: pd.DataFrame, role_of: dict[str, str], with_history: bool) -> pd.DataFrame:
    """Per-row share of each role in the sum of |contribution| (see the module docstring)."""
    roles = list(ROLES) if with_history else list(NON_HISTORY)
    mag = abs_by(contrib, role_of).reindex(columns=roles, fill_value=0.0)
    total = mag.sum(axis=1)
    out = mag.div(total.where(total > 0), axis=0)
    return out


def global_shares(rs: pd.DataFrame, rows: pd.DataFrame, model: str) -> pd.Series:
    mask = (rows["model"] == model).to_numpy()
    per_country = rs[mask].groupby(rows.loc[mask, "iso3"].to_numpy()).mean()
    return per_country.mean()


def share_interval(values: np.ndarray, point: float, level: float) -> tuple[float, float]:
    values = np.asarray(values, dtype="float64")
    values = values[np.isfinite(values)]
    if not len(values) or not math.isfinite(point):
        return point, point
    alpha = (1 - level) / 2
    lo, hi = np.quantile(values, [alpha, 1 - alpha])
    return float(min(lo, point)), float(max(hi, point))


# ------------------------------------------------------------------------------ attribution
def _tree_shap(estimator, X: np.ndarray) -> tuple[np.ndarray, float]:
    """Path-dependent TreeSHAP values and base value of a LightGBM model.

    LightGBM's built-in TreeSHAP (``pred_contrib``) is the algorithm of ``shap.TreeExplainer``
    for LightGBM (identical values); it skips converting the trees for shap on every call, which
    dominated explain() once the refits are stored (issue 8). Other models go through shap.
    """
    booster = getattr(estimator, "booster_", estimator)
    if any(c.__module__.startswith("lightgbm") for c in type(booster).__mro__):
        out = np.asarray(booster.predict(np.asarray(X, dtype="float64"), pred_contrib=True, num_threads=1),
                         dtype="float64")
        return out[:, :-1], float(out[0, -1]) if len(out) else 0.0
    import warnings

    with warnings.catch_warnings():  # shap's plotting module warns about matplotlib colormap APIs on import
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        import shap

    explainer = shap.TreeExplainer(estimator)
    values = np.asarray(explainer.shap_values(X), dtype="float64")
    base = float(np.ravel(explainer.expected_value)[0])
    return values, base


def row_anchor(model, frame: pd.DataFrame) -> np.ndarray:
    mode = getattr(model, "target_mode", "change_over_drift")
    if mode == "level":
        return np.zeros(len(frame))
    anchor = frame["y_origin"].to_numpy(float)
    if mode == "change_over_drift":
        # persistence + drift + the run-rate momentum term (when the model has one): the "own history" part
        anchor = (anchor + frame["horizon"].to_numpy(float) * float(model.drift_)
                  + momentum_term(frame, getattr(model, "momentum_", {}) or {}))
    return anchor


def tree_scale(model) -> float:
    """The weight of the tree output in the forecast (``shrinkage_``; 1 outside change_over_drift)."""
    if getattr(model, "target_mode", "") != "change_over_drift":
        return 1.0
    fitted = getattr(model, "shrinkage_", None)
    if fitted is not None:
        return float(fitted)
    value = getattr(model, "shrinkage", 1.0)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 1.0


def mean_anchor(model, train_frame: pd.DataFrame, horizon: int) -> float:
    if getattr(model, "target_mode", "change_over_drift") == "level":
        return 0.0
    rows = train_frame[(train_frame["horizon"] == horizon) & train_frame["y_origin"].notna()]
    return float(np.mean(row_anchor(model, rows))) if len(rows) else 0.0


def attribute_terms(model, frame: pd.DataFrame, terms: list[str], horizon: int, anchor_mean: float):
    """Contributions (rows x terms), base value per row, prediction table, model base values."""
    pred = model.predict(_FM(frame))
    contrib = np.zeros((len(frame), len(terms)))
    index = {t: i for i, t in enumerate(terms)}
    base = np.full(len(frame), np.nan)
    bases = {}
    used = pred["model"].to_numpy()
    hist = used == "history"
    if hist.any():
        est = model.models_[horizon]
        X = frame.loc[hist, list(model.features_)].to_numpy(float)
        phi, phi0 = _tree_shap(est, X)
        s = tree_scale(model)
        cols = [index[f] for f in model.features_]
        contrib[np.ix_(np.flatnonzero(hist), cols)] = s * phi
        anchor = row_anchor(model, frame[hist])
        contrib[hist, index[LAST_LEVEL]] = anchor - anchor_mean
        base[hist] = s * phi0 + anchor_mean
        bases["history"] = s * phi0 + anchor_mean
        tree = anchor + s * (phi0 + phi.sum(axis=1))
        adj = pred.loc[hist, "prediction"].to_numpy(float) - tree
        if "covid_adjusted" in pred:
            adj = np.where(pred.loc[hist, "covid_adjusted"].to_numpy(bool), adj, 0.0)
        contrib[hist, index[COVID_ADJ]] = adj
    nm = used == "new_market"
    if nm.any():
        est = model.nm_models_[horizon]
        feats = list(model.nm_model_.features_)
        X = frame.loc[nm, feats].to_numpy(float)
        phi, phi0 = _tree_shap(est, X)
        contrib[np.ix_(np.flatnonzero(nm), [index[f] for f in feats])] = phi
        base[nm] = phi0
        bases["new_market"] = phi0
    return contrib, base, pred, bases


class _FM:
    """Minimal FeatureMatrix stand-in for ``model.predict`` on a frame slice."""

    def __init__(self, frame: pd.DataFrame, like=None):
        self.frame = frame.reset_index(drop=True)
        self.features = [c for c in frame.columns if c not in ("iso3", "origin", "horizon", "target_year",
                                                                "y", "y_origin")]


def _refit(model, train_fm, horizon: int, seed: int, rng: np.random.Generator | None,
           fraction: float | None = None):
    from sklearn.base import clone

    frame = train_fm.frame
    if rng is not None:
        countries = np.array(sorted(frame.loc[frame["y"].notna(), "iso3"].unique()))
        if fraction is None:  # bootstrap: with replacement
            sample = rng.choice(countries, size=len(countries), replace=True)
        else:
            size = max(2, int(round(fraction * len(countries))))
            sample = rng.choice(countries, size=min(size, len(countries)), replace=False)
        groups = {c: g for c, g in frame.groupby("iso3", sort=False)}
        frame = pd.concat([groups[c] for c in sample], ignore_index=True)
    est = clone(model).set_params(random_state=int(seed))
    return est.fit(replace(train_fm, frame=frame))


def make_refit(model, train_fm, horizon: int, b: int, uncertainty: str, random_state: int):
    """The ``b``-th refit of explain() (same draws whether computed at call time or at training time)."""
    rng = np.random.default_rng([random_state, b]) if uncertainty != "seed" else None
    seed = int(random_state) * 1000 + 1 + b
    return _refit(model, train_fm, horizon, seed, rng, SUBSAMPLE_FRACTION if uncertainty == "subsample" else None)


def _refit_settings(horizon: int, n_refits: int, uncertainty: str, random_state: int) -> dict:
    return {"horizon": int(horizon), "n_refits": int(n_refits), "uncertainty": str(uncertainty),
            "random_state": int(random_state), "fraction": SUBSAMPLE_FRACTION}


def fit_refits(bundle, horizon: int = 1, n_refits: int = 20, uncertainty: str = "subsample",
               random_state: int = 0, panel: pd.DataFrame | None = None) -> dict:
    """Fit explain()'s refits once (``train`` calls this) so that explain() needs no refit at call time.

    Each refit keeps what the attribution needs: its LightGBM models for ``horizon`` (history and
    new-market, as LightGBM text), drift, shrinkage and COVID persistence; explain() rebuilds a
    view of the bundle's forecaster around them (:func:`refit_view`). The draws are the same as
    explain() would make at call time with the same settings (same seeds and country subsamples).

    Returns
    -------
    dict
        {"settings": ..., "refits": [...]} (JSON-able; saved as ``explain_refits.json.xz``).
    """

    model = bundle.forecaster
    panel = bundle.load_panel() if panel is None else panel
    fm = build_features(panel, specs=bundle.specs, target=bundle.target, horizons=[horizon])
    frame = fm.frame
    max_year = int(getattr(model, "max_target_year_", frame.loc[frame["y"].notna(), "target_year"].max()))
    train_fm = replace(fm, frame=frame[frame["y"].notna() & (frame["target_year"] <= max_year)].reset_index(drop=True))
    refits = []
    for b in range(n_refits):
        refit = make_refit(model, train_fm, horizon, b, uncertainty, random_state)
        nm = refit.nm_models_.get(horizon)

        refits.append({"drift_": float(refit.drift_), "shrinkage_": float(tree_scale(refit)),
                       "momentum_": momentum_to_json(getattr(refit, "momentum_", {}) or {}),
                       "covid_rho_": float(getattr(refit, "covid_rho_", getattr(model, "covid_rho_", 0.5))),
                       "model": refit.models_[horizon].booster_.model_to_string(),
                       "nm_model": nm.booster_.model_to_string() if nm is not None else None})
    return {"settings": _refit_settings(horizon, n_refits, uncertainty, random_state), "refits": refits}


def matching_refits(stored: dict | None, horizon: int, n_refits: int, uncertainty: str, random_state: int):
    if not stored:
        return None
    return stored if stored.get("settings") == _refit_settings(horizon, n_refits, uncertainty, random_state) else None


def _one_thread_booster():
    import lightgbm as lgb

    class OneThreadBooster(lgb.Booster):
        """A LightGBM Booster predicting on one thread (a Booster read from text defaults to every core,
        and thread start-up dominates predicting a few rows on a shared machine)."""

        def predict(self, data, *args, **kwargs):
            kwargs.setdefault("num_threads", 1)
            return super().predict(data, *args, **kwargs)

    return OneThreadBooster


def _OneThreadBooster(**kwargs):  # noqa: N802 - a class factory, kept lazy so lightgbm is imported on use
    global _BOOSTER_CLASS
    if _BOOSTER_CLASS is None:
        _BOOSTER_CLASS = _one_thread_booster()
    return _BOOSTER_CLASS(**kwargs)


_BOOSTER_CLASS = None


def refit_view(model, state: dict, horizon: int):
    """A shallow copy of ``model`` whose trees, drift, shrinkage and COVID persistence are a stored refit's."""
    import copy

    # parsing LightGBM text takes ~10 ms per model: parse once per loaded bundle, then reuse
    if "_boosters" not in state:
        state["_boosters"] = (_OneThreadBooster(model_str=state["model"]),
                              _OneThreadBooster(model_str=state["nm_model"]) if state.get("nm_model") else None)
    tree, nm_tree = state["_boosters"]
    view = copy.copy(model)
    view.models_ = {horizon: tree}
    view.drift_ = state["drift_"]
    if "momentum_" in state:
        view.momentum_ = momentum_from_json(state["momentum_"])
    view.shrinkage_ = state["shrinkage_"]
    view.covid_rho_ = state["covid_rho_"]
    view.horizons_ = (horizon,)
    if nm_tree is not None and getattr(model, "nm_model_", None) is not None:
        nm = copy.copy(model.nm_model_)
        nm.models_ = {horizon: nm_tree}
        view.nm_model_ = nm
    return view


def draw_rows(refit: int, contrib: pd.DataFrame, rows: pd.DataFrame, role_of, group_of) -> list[dict]:
    out = []
    for wh in (True, False):
        rs = row_shares(contrib, role_of, wh)
        for model in MODELS:
            mask = (rows["model"] == model).to_numpy()
            if not mask.any():
                continue
            sub = rs[mask]
            per_country = sub.groupby(rows.loc[mask, "iso3"].to_numpy()).mean()
            for role, v in per_country.mean().items():
                out.append((refit, model, "global", "all", wh, role, float(v)))
            for iso3, shares in per_country.iterrows():
                for role, v in shares.items():
                    out.append((refit, model, "country", iso3, wh, role, float(v)))
            per_year = sub.groupby(rows.loc[mask, "origin"].to_numpy()).mean()
            for year, shares in per_year.iterrows():
                for role, v in shares.items():
                    out.append((refit, model, "year", str(int(year)), wh, role, float(v)))
            if wh:
                learned = contrib[mask].drop(columns=[c for c in RULE_TERMS if c in contrib.columns])
                imp = abs_by(learned, group_of).mean()
                for group, v in imp.items():
                    out.append((refit, model, "importance", "all", True, group, float(v)))
    return out


def training_frame(model, frame: pd.DataFrame) -> pd.DataFrame:
    return training_rows(frame, bool(getattr(model, "exclude_covid_targets", True)),
                         tuple(getattr(model, "covid_years", (2020, 2021, 2022))))
