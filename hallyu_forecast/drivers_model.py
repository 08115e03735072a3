"""Why Hallyu levels differ between countries: the drivers model and its decomposition.

The forecaster (:mod:`hallyu_forecast.forecaster`) is persistence plus drift: nothing in the
covariates predicts year-to-year *changes*. Where the covariates do carry signal is the *level*:
why Taiwan sends hundreds of times as many young visitors per capita to Korea as Brazil does.
This module answers the package's central question there.

Model
-----
:class:`DriversModel` is a LightGBM on the level of a target (e.g. log youth arrivals per 100k)
against the non-history features (roles ``government_support``, ``local_conditions``,
``regime``), fit on every country-year with an observed target (COVID years 2020-2022 excluded
by default). The common year effect is removed first::

    y_rel(c, t) = y(c, t) - m(t),     m(t) = mean of y over the training countries in year t

so the model explains differences *between countries*, not the calendar. Features that do not
vary across countries within any year (``covid_at_origin``...) carry no cross-country information
and are dropped. ``fta_in_force``/``years_since_fta`` are dropped too (see ``EXCLUDED_FEATURES``).

Decomposition
-------------
TreeSHAP (path-dependent; LightGBM's built-in implementation, identical to ``shap.TreeExplainer``)
splits each fitted relative level into signed
feature contributions: ``fitted_rel = phi_0 + sum_j phi_j`` (additivity checked to 1e-6);
contributions are summed per role and per feature group, in log points, and shown as factors
``exp(contribution)`` ("local conditions x2.2": those covariates alone multiply the average
country's level by 2.2). The observed relative level adds an ``unexplained`` term (observed
minus fitted).

Global split ("share of the cross-country spread"): each country's contributions are averaged
over its observed years; across countries, ``share_r = Cov(C_r, F) / Var(F)`` where ``C_r`` is
the role's summed contribution and ``F = sum_r C_r`` the fitted relative level (each country
counts once). The shares sum to 1; a negative share means the role narrows the spread.
This is the covariance ("Shapley-of-variance") decomposition of the spread of fitted levels,
not a causal effect.

Uncertainty
-----------
``n_refits`` refits on ``refit_fraction`` (80%) of the countries drawn without replacement
(seeded), each with a new LightGBM seed, computed once at fit time and stored with the model
(LightGBM text + JSON, :func:`save_drivers`). Every refit explains the same rows; intervals are the
central ``level`` (90%) percentile range of the refits. Rankings (of roles and levers) are
stated only where these intervals do not overlap; otherwise they are "indistinguishable".

Accuracy
--------
Grouped (by country) K-fold cross-validation (:func:`cross_validate`): for each fold the
year means and the model are computed on the training countries only; held-out countries are
predicted as ``m_train(t) + f(x)``. Comparators on the same rows: the global mean
(``m_train(t)``), the continent x year mean of the training countries (global mean when the
continent has no training country), and the new-market specification of the forecaster
(LightGBM on the raw level, the forecaster's parameters). RMSE ratios with 95% country-bootstrap
intervals (:func:`hallyu_forecast.evaluation.bootstrap_ratio`).

Examples
--------
>>> import hallyu_forecast as hf
>>> result = hf.drivers("youth_arrivals_per_capita")        # doctest: +SKIP
>>> result.to_frames()["split"]                              # doctest: +SKIP
>>> result.brief()["targets"]["youth_arrivals_per_capita"]   # doctest: +SKIP
"""

from __future__ import annotations

import json
import numbers
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from hallyu_forecast.config import ExperimentConfig, load_config
from hallyu_forecast.conventions import COVID_YEARS
from hallyu_forecast.countries import resolve_country
from hallyu_forecast.domain import applicability, populated
from hallyu_forecast.errors import ConfigError, DataError, DomainError, InputTypeError, ModelError
from hallyu_forecast.evaluation import _continents, bootstrap_ratio, country_folds, evaluate_new_markets
from hallyu_forecast.features import build_features, load_feature_specs
from hallyu_forecast.forecaster import HallyuForecaster, pooled_drift, training_rows
from hallyu_forecast.panel import load_dictionary, load_panel, panel_metadata

DRIVER_ROLES = ("government_support", "local_conditions", "regime")
ROLE_LABELS = {"government_support": "government support", "local_conditions": "local conditions",
               "regime": "regime shocks", "unexplained": "unexplained"}
# Known-defective features, dropped from the drivers model even when a spec folder still declares
# them: `fta_in_force` counts 1970s-80s preference schemes among developing countries (GSTP, PTN) as
# agreements with Korea, so in a levels model it stands for "developing country" and would be
# credited to government support. The packaged specs use `fta_korea_in_force`/`fta_korea_years`.
EXCLUDED_FEATURES = {
    "fta_in_force": "counts GSTP/PTN preference schemes of the 1970s-80s; use fta_korea_in_force",
    "years_since_fta": "built from fta_in_force (same defect); use fta_korea_years",
}
# Trade volume is contestable: promoted by KOTRA and trade policy, but mostly an outcome of
# income, size and distance (gravity). The specs file it as a local condition; the split is
# also reported with trade as government support (variant "trade_as_government_support").
TRADE_FEATURES = ("log_trade_per_capita", "korea_export_growth")
VARIANTS = ("as_specified", "trade_as_government_support", "trade_as_local_conditions")
DEFAULT_TARGETS = ("youth_arrivals_per_capita", "total_arrivals_per_capita", "mobile_students_per_capita",
                   "language_students_per_capita", "kpop_chart_share", "kdrama_top10_share", "hallyu_index")
MIN_COUNTRIES = 10
ADDITIVITY_TOL = 1e-6
SPLIT_DEFINITION = ("covariance share of the cross-country spread of fitted levels: Cov(role contribution, "
                    "fitted level) / Var(fitted level) across countries (country means over observed years, "
                    "each country once); shares sum to 1, negative = the role narrows the spread; "
                    "90% interval from refits on 80% of countries")
BOOT_REPS = 1000


# ------------------------------------------------------------------------------------ data
def driver_rows(fm, exclude_years: Iterable[int] = ()) -> pd.DataFrame:
    """One row per observed (iso3, year) of a FeatureMatrix: iso3, year, y and the features.

    Uses the rows of the smallest horizon: features at origin ``t`` and the target at ``t``
    (``y_origin``). Years in ``exclude_years`` are dropped.
    """
    frame = getattr(fm, "frame", None)
    if not isinstance(frame, pd.DataFrame) or "y_origin" not in frame:
        raise DataError(f"Expected a FeatureMatrix from hallyu_forecast.build_features(). Got {type(fm).__name__}.")
    part = frame[frame["horizon"] == frame["horizon"].min()]
    part = part[part["y_origin"].notna() & ~part["origin"].isin(list(exclude_years))]
    out = part.drop(columns=["horizon", "target_year", "y"]).rename(columns={"origin": "year", "y_origin": "y"})
    return out.sort_values(["iso3", "year"]).reset_index(drop=True)


def candidate_features(fm) -> list[str]:
    """Non-history features of ``fm`` minus the known-defective ones (``EXCLUDED_FEATURES``)."""
    roles = getattr(fm, "roles", {}) or {}
    return [f for f in fm.features if roles.get(f, "history") in DRIVER_ROLES and f not in EXCLUDED_FEATURES]


def _calendar_only(rows: pd.DataFrame, features: list[str]) -> list[str]:
    """Features with no cross-country variation in any year (they only encode the calendar)."""
    spread = rows.groupby("year")[features].nunique(dropna=True).max()
    return [f for f in features if spread.get(f, 0) <= 1]


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < minimum:
        raise ConfigError(f"`{name}` must be an integer >= {minimum}. Got {value!r}.")
    return int(value)


def _year_means(rows: pd.DataFrame) -> dict[int, float]:
    return {int(k): float(v) for k, v in rows.groupby("year")["y"].mean().items()}


def _year_mean_of(means: dict[int, float], years) -> np.ndarray:
    """Year mean per year; years without a mean take the nearest year's mean plus the median yearly change."""
    known = np.array(sorted(means))
    values = np.array([means[k] for k in known])
    slope = float(np.median(np.diff(values))) if len(values) > 1 else 0.0
    years = np.asarray(years, dtype=int)
    out = np.empty(len(years))
    for i, year in enumerate(years):
        if year in means:
            out[i] = means[year]
        else:
            j = int(np.argmin(np.abs(known - year)))
            out[i] = values[j] + slope * (year - known[j])
    return out


def _tree_shap(booster, X: np.ndarray) -> tuple[np.ndarray, float]:
    """Path-dependent TreeSHAP values (rows x features) and base value of a LightGBM Booster.

    LightGBM's built-in TreeSHAP (``pred_contrib``) is the algorithm of ``shap.TreeExplainer``
    for LightGBM and gives identical values (a test checks it against ``shap.TreeExplainer``);
    it avoids converting every refit's trees for shap, the bulk of the decomposition time.
    """
    out = np.asarray(booster.predict(np.asarray(X, dtype="float64"), pred_contrib=True, num_threads=1),
                     dtype="float64")
    return out[:, :-1], (float(out[0, -1]) if len(out) else 0.0)


# ------------------------------------------------------------------------------- estimator
class DriversModel(BaseEstimator):
    """LightGBM on the level of a target relative to the year's cross-country mean.

    Parameters
    ----------
    features : list of str, optional
        Features to use (default: :func:`candidate_features` of the FeatureMatrix).
    n_estimators, learning_rate, num_leaves, max_depth, min_child_samples, subsample,
    subsample_freq, colsample_bytree, reg_lambda
        LightGBM parameters (small trees: a few hundred country-years of a few dozen countries).
    exclude_years : tuple of int
        Years not used as training rows (default the COVID years: border closures, not Hallyu).
    n_refits : int
        Refits on country subsamples stored for intervals (0: none).
    refit_fraction : float
        Share of countries in each refit (drawn without replacement).
    random_state : int
        Seed of the model and of the refit draws.
    n_jobs : int
        LightGBM threads.

    Attributes
    ----------
    model_ : LGBMRegressor
        The fitted model of the relative level.
    features_ : list of str
    roles_, groups_ : dict
        Role and group of each feature.
    year_means_ : dict[int, float]
        Mean target of the training countries per year (every observed year, COVID years too).
    refits_ : list of (LGBM Booster, list of str)
        Refit models and the countries each was fitted on.
    countries_ : list of str
        Training countries.
    dropped_ : dict[str, str]
        Features dropped and why.
    n_rows_, n_countries_ : int

    Examples
    --------
    >>> from hallyu_forecast import build_features                     # doctest: +SKIP
    >>> fm = build_features(horizons=[1])                               # doctest: +SKIP
    >>> model = DriversModel(n_refits=5).fit(fm)                        # doctest: +SKIP
    >>> model.predict(fm).head()                                        # doctest: +SKIP
    """

    def __init__(self, features=None, n_estimators=300, learning_rate=0.03, num_leaves=7, max_depth=3,
                 min_child_samples=20, subsample=0.8, subsample_freq=1, colsample_bytree=0.7, reg_lambda=5.0,
                 exclude_years=COVID_YEARS, n_refits=25, refit_fraction=0.8, random_state=0, n_jobs=1):
        self.features = features
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.subsample_freq = subsample_freq
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.exclude_years = exclude_years
        self.n_refits = n_refits
        self.refit_fraction = refit_fraction
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _lgbm_params(self, seed=None) -> dict:
        return dict(n_estimators=self.n_estimators, learning_rate=self.learning_rate, num_leaves=self.num_leaves,
                    max_depth=self.max_depth, min_child_samples=self.min_child_samples, subsample=self.subsample,
                    subsample_freq=self.subsample_freq, colsample_bytree=self.colsample_bytree,
                    reg_lambda=self.reg_lambda, random_state=int(self.random_state if seed is None else seed),
                    n_jobs=self.n_jobs, verbose=-1, deterministic=True, force_row_wise=True)

    def _check_params(self) -> None:
        for name in ("n_estimators", "num_leaves", "min_child_samples", "n_jobs"):
            _check_int(getattr(self, name), name, 1)
        _check_int(self.n_refits, "n_refits", 0)
        if isinstance(self.refit_fraction, bool) or not 0 < float(self.refit_fraction) < 1:
            raise ConfigError(f"`refit_fraction` must be between 0 and 1 (e.g. 0.8). Got {self.refit_fraction!r}.")

    def fit(self, fm, y=None):
        """Fit on every observed country-year of ``fm`` (a FeatureMatrix; only its smallest horizon is used).

        Returns
        -------
        self
        """
        from lightgbm import LGBMRegressor

        if y is not None:
            raise ConfigError("`y` must be None: the target comes with the FeatureMatrix (`fm.frame['y_origin']`).")
        self._check_params()
        rows_all = driver_rows(fm)
        rows = rows_all[~rows_all["year"].isin(list(self.exclude_years))]
        features = list(self.features) if self.features is not None else candidate_features(fm)
        unknown = [f for f in features if f not in rows.columns]
        if unknown:
            raise DataError(f"Feature(s) {unknown} are not in the FeatureMatrix; available: {list(fm.features)}.")
        n_countries = rows["iso3"].nunique()
        target = getattr(getattr(fm, "target", None), "name", "the target")
        if n_countries < 2:
            raise DataError(f"`{target}` is observed for {n_countries} country outside {list(self.exclude_years)}; "
                            "the drivers model needs at least 2 (grouped CV needs "
                            f"{MIN_COUNTRIES}). Choose a target with more countries.")
        self.dropped_ = {f: why for f, why in EXCLUDED_FEATURES.items() if f in fm.features and self.features is None}
        calendar = _calendar_only(rows, features)
        self.dropped_.update({f: "no cross-country variation within a year (calendar only)" for f in calendar})
        self.features_ = [f for f in features if f not in calendar]
        if not self.features_:
            raise ConfigError("The drivers model needs at least one feature varying across countries. Got none.")
        roles = getattr(fm, "roles", {}) or {}
        groups = getattr(fm, "groups", {}) or {}
        self.roles_ = {f: roles.get(f, "local_conditions") for f in self.features_}
        self.groups_ = {f: groups.get(f, "other") for f in self.features_}
        self.year_means_ = _year_means(rows_all)
        X = rows[self.features_].to_numpy(float)
        target_rel = rows["y"].to_numpy(float) - _year_mean_of(self.year_means_, rows["year"])
        self.model_ = LGBMRegressor(**self._lgbm_params()).fit(X, target_rel)
        self.countries_ = sorted(rows["iso3"].unique())
        self.refits_ = []
        rng = np.random.default_rng(self.random_state)
        countries = np.array(self.countries_)
        size = max(2, int(round(float(self.refit_fraction) * len(countries))))
        by_country = rows["iso3"].to_numpy()
        for b in range(int(self.n_refits)):
            sample = sorted(rng.choice(countries, size=min(size, len(countries)), replace=False))
            mask = np.isin(by_country, sample)
            # year means of the subsample: each refit re-estimates the whole pipeline on its countries
            sub = rows[mask]
            rel = sub["y"].to_numpy(float) - _year_mean_of(_year_means(sub), sub["year"])
            m = LGBMRegressor(**self._lgbm_params(seed=self.random_state + 1 + b)).fit(X[mask], rel)
            self.refits_.append((m.booster_, [str(c) for c in sample]))
        self.n_rows_ = int(len(rows))
        self.n_countries_ = int(n_countries)
        self.target_ = target
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise ModelError("This DriversModel is not fitted yet. Call `fit(fm)` first.")

    def _X(self, frame: pd.DataFrame) -> np.ndarray:
        missing = [f for f in self.features_ if f not in frame.columns]
        if missing:
            raise DataError(f"Feature(s) {missing} used in training are not in the rows to predict.")
        return frame[self.features_].to_numpy(float)

    def predict(self, rows, horizon=None) -> pd.DataFrame:
        """Fitted level of each row: iso3, year, year_mean, relative (log points vs the year's mean), prediction.

        ``rows`` is a FeatureMatrix (its smallest horizon: features and level at each origin) or
        a frame with iso3, year and the features. The drivers model explains levels: it has no
        horizon, so passing one is an error.
        """
        self._check_fitted()
        if horizon is not None:
            raise ModelError(f"The drivers model explains levels across countries and has no forecast horizon "
                             f"(got horizon={horizon!r}); use hallyu_forecast.predict() for forecasts.")
        frame = self._rows(rows)
        rel = self.model_.predict(self._X(frame))
        mean = _year_mean_of(self.year_means_, frame["year"])
        out = frame[["iso3", "year"]].reset_index(drop=True).copy()
        out["year_mean"] = mean
        out["relative"] = rel
        out["prediction"] = mean + rel
        return out

    def _rows(self, rows) -> pd.DataFrame:
        if isinstance(getattr(rows, "frame", None), pd.DataFrame):
            frame = rows.frame
            frame = frame[frame["horizon"] == frame["horizon"].min()].rename(columns={"origin": "year"})
            return frame.drop(columns=["y"]).rename(columns={"y_origin": "y"}).reset_index(drop=True)
        if not isinstance(rows, pd.DataFrame) or not {"iso3", "year"} <= set(rows.columns):
            raise DataError("Rows to explain must be a FeatureMatrix or a DataFrame with iso3, year and the features.")
        return rows.reset_index(drop=True)

    def contributions(self, rows, refits: bool = False):
        """Signed SHAP contributions (log points) of each feature to each row's fitted relative level.

        Returns
        -------
        phi : ndarray (n_rows, n_features), base : float, and, if ``refits``, a list of
        ``(phi_b, base_b)`` for every stored refit. Additivity (base + sum of phi = model output)
        is checked to 1e-6.
        """
        self._check_fitted()
        X = self._X(self._rows(rows))
        phi, base = _tree_shap(self.model_.booster_, X)
        gap = np.abs(base + phi.sum(axis=1) - self.model_.predict(X))
        if len(gap) and gap.max() > ADDITIVITY_TOL:
            raise ModelError(f"SHAP additivity failed (max gap {gap.max():.2e} > {ADDITIVITY_TOL}); "
                             "upgrade shap/lightgbm to matching versions.")
        if not refits:
            return phi, base
        return phi, base, [_tree_shap(booster, X) for booster, _ in self.refits_]


# ------------------------------------------------------------------------------ validation
def _bootstrap_rmse(err: np.ndarray, countries: np.ndarray, reps: int, seed: int) -> tuple[float, float]:
    per = pd.DataFrame({"c": countries, "se": err ** 2, "n": 1.0}).groupby("c")[["se", "n"]].sum()
    rng = np.random.default_rng(seed)
    k = len(per)
    draws = rng.integers(0, k, size=(reps, k))
    se, n = per["se"].to_numpy()[draws].sum(axis=1), per["n"].to_numpy()[draws].sum(axis=1)
    lo, hi = np.quantile(np.sqrt(se / n), [0.025, 0.975])
    return float(lo), float(hi)


def _continent(codes) -> pd.Series:
    return _continents(sorted(set(codes)))


def cross_validate(fm, model: DriversModel | None = None, folds: int = 5, seed: int = 0,
                   bootstrap_reps: int = BOOT_REPS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Grouped (by country) K-fold CV of the drivers model against the comparators (module docstring).

    Returns
    -------
    accuracy : DataFrame
        model (drivers, global_mean, continent_year_mean, new_market), rmse, rmse_lo, rmse_hi
        (95% country bootstrap), ratio = RMSE(drivers) / RMSE(model) with ratio_lo, ratio_hi
        (NaN for the drivers row), n_countries, n_rows, folds.
    predictions : DataFrame
        iso3, year, y and the out-of-fold prediction of every model.

    Raises
    ------
    DataError
        When the target has fewer than ``MIN_COUNTRIES`` countries (or fewer than ``folds``).
    """
    from lightgbm import LGBMRegressor

    folds = _check_int(folds, "folds", 2)
    model = model if model is not None else DriversModel()
    rows = driver_rows(fm, model.exclude_years)
    countries = sorted(rows["iso3"].unique())
    target = getattr(getattr(fm, "target", None), "name", "the target")
    if len(countries) < max(MIN_COUNTRIES, folds):
        raise DataError(f"`{target}` is observed for {len(countries)} countries; grouped cross-validation needs at "
                        f"least {max(MIN_COUNTRIES, folds)} (and {folds} folds). Choose a target with more countries "
                        "or fewer `folds`.")
    rng = np.random.default_rng(seed)
    order = np.array(countries)[rng.permutation(len(countries))]
    groups = [set(order[i::folds]) for i in range(folds)]
    continent = _continent(countries)
    nm_params = HallyuForecaster()._new_market_lgbm_params()
    parts = []
    for held in groups:
        train_fm = _subset(fm, [c for c in countries if c not in held])
        fitted = DriversModel(**{**model.get_params(), "n_refits": 0}).fit(train_fm)
        train = driver_rows(train_fm, model.exclude_years)
        test = rows[rows["iso3"].isin(held)].reset_index(drop=True)
        pred = fitted.predict(test)
        out = test[["iso3", "year", "y"]].copy()
        out["drivers"] = pred["prediction"].to_numpy()
        out["global_mean"] = pred["year_mean"].to_numpy()
        cm = train.assign(cont=train["iso3"].map(continent)).groupby(["cont", "year"])["y"].mean()
        key = pd.MultiIndex.from_arrays([test["iso3"].map(continent), test["year"]])
        out["continent_year_mean"] = np.where(cm.reindex(key).isna(), out["global_mean"], cm.reindex(key).to_numpy())
        feats = fitted.features_
        nm = LGBMRegressor(**nm_params).fit(train[feats].to_numpy(float), train["y"].to_numpy(float))
        out["new_market"] = nm.predict(test[feats].to_numpy(float))
        parts.append(out)
    preds = pd.concat(parts, ignore_index=True).sort_values(["iso3", "year"]).reset_index(drop=True)
    y = preds["y"].to_numpy()
    iso = preds["iso3"]
    rows_out = []
    err_d = y - preds["drivers"].to_numpy()
    for name in ("drivers", "global_mean", "continent_year_mean", "new_market"):
        err = y - preds[name].to_numpy()
        lo, hi = _bootstrap_rmse(err, iso.to_numpy(), bootstrap_reps, seed)
        ratio = r_lo = r_hi = np.nan
        if name != "drivers":
            ratio, r_lo, r_hi = bootstrap_ratio(pd.Series(err_d), pd.Series(err), iso, reps=bootstrap_reps, seed=seed)
        rows_out.append({"model": name, "rmse": float(np.sqrt(np.mean(err ** 2))), "rmse_lo": lo, "rmse_hi": hi,
                         "ratio": ratio, "ratio_lo": r_lo, "ratio_hi": r_hi, "n_countries": len(countries),
                         "n_rows": int(len(preds)), "folds": folds})
    return pd.DataFrame(rows_out), preds


def _subset(fm, countries: list[str]):
    from dataclasses import replace

    return replace(fm, frame=fm.frame[fm.frame["iso3"].isin(set(countries))].reset_index(drop=True))


# -------------------------------------------------------------------------- decomposition
def _roles_for(model: DriversModel, variant: str) -> dict[str, str]:
    roles = dict(model.roles_)
    if variant != "as_specified":
        new = "government_support" if variant == "trade_as_government_support" else "local_conditions"
        for f in TRADE_FEATURES:
            if f in roles:
                roles[f] = new
    return roles


def _sum_by(phi: np.ndarray, features: list[str], mapping: dict[str, str], keys: list[str]) -> np.ndarray:
    out = np.zeros((phi.shape[0], len(keys)))
    index = {k: i for i, k in enumerate(keys)}
    for j, f in enumerate(features):
        out[:, index[mapping[f]]] += phi[:, j]
    return out


def _cov_shares(C: np.ndarray, countries: np.ndarray) -> np.ndarray:
    """Covariance shares across countries of the country-mean contributions (columns of C)."""
    means = pd.DataFrame(C).groupby(countries).mean().to_numpy()
    F = means.sum(axis=1)
    Fc = F - F.mean()
    var = float(Fc @ Fc)
    if var <= 0:
        return np.full(C.shape[1], np.nan)
    return ((means - means.mean(axis=0)).T @ Fc) / var


def _interval(draws: np.ndarray, point, level: float):
    """Central percentile interval of refit draws (axis 0), widened to include the point estimate."""
    if draws.shape[0] == 0:
        nan = np.full(np.shape(point), np.nan)
        return nan, nan
    a = (1 - level) / 2
    lo, hi = np.nanquantile(draws, [a, 1 - a], axis=0)
    return np.minimum(lo, point), np.maximum(hi, point)


def _separated(lo: pd.Series, hi: pd.Series, order: list) -> list[bool]:
    """rank_stated per item in ``order`` (descending by point): its interval lies above the next one's."""
    out = []
    for i, k in enumerate(order):
        if i + 1 < len(order):
            out.append(bool(lo[k] > hi[order[i + 1]]))
        else:
            out.append(bool(i > 0 and out[-1]))  # the last is ranked only if the one above it is separated
    return out


def decompose(model: DriversModel, rows: pd.DataFrame, observed: pd.DataFrame, labels: dict[str, str],
              level: float = 0.9) -> dict[str, pd.DataFrame]:
    """Split, groups, countries and levers frames of one fitted drivers model (see module docstring).

    ``rows`` are the country-years to explain (iso3, year, features, y or NaN); ``observed`` the
    training rows (the spread and importances are measured on them).
    """
    target = model.target_
    # The observed rows are (nearly always) a subset of the rows explained: TreeSHAP runs once on
    # their union and each set takes its rows, so no country-year is decomposed twice.
    both = pd.concat([rows, observed], ignore_index=True)
    key = pd.MultiIndex.from_frame(both[["iso3", "year"]].astype({"year": "int64"}))
    first = ~key.duplicated()
    union = both[first].reset_index(drop=True)
    where = pd.Series(np.arange(len(union)), index=key[first])
    take_r = where.reindex(key[:len(rows)]).to_numpy()
    take_o = where.reindex(key[len(rows):]).to_numpy()
    phi_u, base, refit_u = model.contributions(union, refits=True)
    phi_r, refit_r = phi_u[take_r], [(p[take_r], b) for p, b in refit_u]
    phi_o, refit_o = phi_u[take_o], [(p[take_o], b) for p, b in refit_u]
    feats = model.features_
    iso_o = observed["iso3"].to_numpy()
    split, groups_out = [], []
    for variant in VARIANTS:
        roles = _roles_for(model, variant)
        if variant != "as_specified" and roles == model.roles_:
            continue
        keys = list(DRIVER_ROLES)
        point = _cov_shares(_sum_by(phi_o, feats, roles, keys), iso_o)
        draws = np.array([_cov_shares(_sum_by(p, feats, roles, keys), iso_o)
                          for p, _ in refit_o]).reshape(-1, len(keys))
        lo, hi = _interval(draws, point, level)
        for k, role in enumerate(keys):
            split.append({"target": target, "variant": variant, "role": role, "share": float(point[k]),
                          "lo": float(lo[k]), "hi": float(hi[k]), "definition": SPLIT_DEFINITION})
        gkeys = sorted(set(model.groups_.values()))
        point = _cov_shares(_sum_by(phi_o, feats, model.groups_, gkeys), iso_o)
        draws = np.array([_cov_shares(_sum_by(p, feats, model.groups_, gkeys), iso_o)
                          for p, _ in refit_o]).reshape(-1, len(gkeys))
        lo, hi = _interval(draws, point, level)
        group_role = {}
        for f in feats:
            group_role.setdefault(model.groups_[f], set()).add(roles[f])
        for k, g in enumerate(gkeys):
            groups_out.append({"target": target, "variant": variant, "group": g,
                               "role": "/".join(sorted(group_role[g])), "share": float(point[k]),
                               "lo": float(lo[k]), "hi": float(hi[k])})
    split = pd.DataFrame(split)
    split["rank_stated"] = False
    for variant, g in split.groupby("variant"):
        order = list(g.sort_values("share", ascending=False).index)
        split.loc[order, "rank_stated"] = _separated(g["lo"], g["hi"], order)

    # countries: per explained row, role contributions (log points) and factors with refit intervals
    keys = list(DRIVER_ROLES)
    C = _sum_by(phi_r, feats, model.roles_, keys)
    Cb = np.stack([_sum_by(p, feats, model.roles_, keys) for p, _ in refit_r]) if refit_r else np.empty((0,) + C.shape)
    lo, hi = _interval(Cb, C, level)
    fitted = base + C.sum(axis=1)
    y_rel = rows["y"].to_numpy(float) - _year_mean_of(model.year_means_, rows["year"])
    obs = np.isfinite(y_rel)
    level_rel = np.where(obs, y_rel, fitted)
    parts = []
    for k, role in enumerate(keys + ["unexplained"]):
        contrib = C[:, k] if role != "unexplained" else np.where(obs, y_rel - fitted, np.nan)
        part = pd.DataFrame({"target": target, "iso3": rows["iso3"].to_numpy(), "year": rows["year"].to_numpy(),
                             "observed": obs, "level_log_rel": level_rel, "fitted_log_rel": fitted,
                             "base_log": base, "factor": np.exp(level_rel), "role": role,
                             "contribution_log": contrib, "factor_role": np.exp(contrib),
                             "factor_lo": np.exp(lo[:, k]) if role != "unexplained" else np.nan,
                             "factor_hi": np.exp(hi[:, k]) if role != "unexplained" else np.nan})
        parts.append(part)
    countries = pd.concat(parts, ignore_index=True)
    if "domain" in rows:
        countries["domain"] = np.tile(rows["domain"].to_numpy(), len(keys) + 1)

    # levers: mean |SHAP| over observed country-years, with refit intervals
    point = np.abs(phi_o).mean(axis=0)
    draws = np.array([np.abs(p).mean(axis=0) for p, _ in refit_o]).reshape(-1, len(feats))
    lo_l, hi_l = _interval(draws, point, level)
    levers = pd.DataFrame({"target": target, "feature": feats, "label": [labels.get(f, f) for f in feats],
                           "role": [model.roles_[f] for f in feats], "group": [model.groups_[f] for f in feats],
                           "importance": point, "lo": lo_l, "hi": hi_l})
    levers = levers.sort_values("importance", ascending=False).reset_index(drop=True)
    levers["rank"] = np.arange(1, len(levers) + 1)
    levers["rank_stated"] = _separated(levers["lo"], levers["hi"], list(levers.index))
    return {"split": split, "groups": pd.DataFrame(groups_out), "countries": countries, "levers": levers}


# ---------------------------------------------------------------------------------- result
FRAMES = ("accuracy", "split", "groups", "countries", "levers", "domain", "dropped")


@dataclass
class DriversResult:
    """Everything the drivers analysis measured, for every target (what the report renders).

    Attributes
    ----------
    targets : list of str
    frames : dict of DataFrame
        ``accuracy``, ``split``, ``groups``, ``countries``, ``levers``, ``domain``, ``dropped``
        (see :meth:`to_frames`).
    meta : dict
        Targets' descriptions, settings (folds, refits, level), timings, data vintage.
    """

    targets: list[str]
    frames: dict[str, pd.DataFrame]
    meta: dict = field(default_factory=dict)

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """Tidy tables, by name.

        - accuracy: target, model, rmse, rmse_lo, rmse_hi, ratio (RMSE drivers / RMSE model), ratio_lo,
          ratio_hi, n_countries, n_rows, folds
        - split: target, variant, role, share, lo, hi, definition, rank_stated
        - groups: target, variant, group, role, share, lo, hi
        - countries: target, iso3, year, observed, level_log_rel, fitted_log_rel, base_log, factor, role,
          contribution_log, factor_role, factor_lo, factor_hi, domain
        - levers: target, feature, label, role, group, importance, lo, hi, rank, rank_stated
        - domain: target, iso3, status, reason, domain, observed_share, n_out_of_range
        - dropped: target, feature, reason
        """
        return dict(self.frames)

    def split(self, target: str | None = None, variant: str = "as_specified") -> pd.DataFrame:
        s = self.frames["split"]
        s = s[s["variant"] == variant]
        return s if target is None else s[s["target"] == self._target(target)]

    def _target(self, target: str | None) -> str:
        if target is None:
            return self.targets[0]
        if not isinstance(target, str):
            raise InputTypeError(f"`target` must be a target name (a string) such as {self.targets[0]!r}. "
                                 f"Got {type(target).__name__} {target!r}.")
        if target not in self.targets:
            raise ConfigError(f"Target `{target}` is not in this drivers result; it has {self.targets}.")
        return target

    def country(self, iso3: str, target: str | None = None, year: int | None = None) -> pd.DataFrame:
        """The decomposition of one country's level (latest observed year by default)."""
        target = self._target(target)
        c = self.frames["countries"]
        # names and ISO2 too ("Viet Nam", "VN"), through the one country resolver
        iso3 = resolve_country(iso3, codes=set(c["iso3"]) | set(self.frames["domain"]["iso3"]), what="`iso3`")
        c = c[(c["target"] == target) & (c["iso3"] == iso3)]
        if year is not None and not c.empty:
            years = sorted(int(y) for y in c["year"].unique())
            if isinstance(year, bool) or not isinstance(year, numbers.Integral) or int(year) not in years:
                span = f"{years[0]}-{years[-1]}" if years else "none"
                raise ConfigError(f"`year` must be a year of {iso3}'s decomposition for `{target}` ({span}). "
                                  f"Got {year!r}.")
        if c.empty:
            dom = self.frames["domain"]
            dom = dom[(dom["target"] == target) & (dom["iso3"] == iso3)]
            if len(dom) and dom["status"].iloc[0] == "excluded":
                raise DomainError(f"No drivers explanation for {iso3}: {dom['domain'].iloc[0]} "
                                  "(see hallyu_forecast.domain).")
            raise ConfigError(f"Unknown country {iso3!r} for target `{target}`; use an ISO3 code such as 'VNM'.")
        if year is None:
            years = c.loc[c["observed"], "year"]
            year = int(years.max() if len(years) else c["year"].max())
        return c[c["year"] == year].reset_index(drop=True)

    def format_country(self, iso3: str, target: str | None = None, year: int | None = None) -> str:
        """One sentence: "VNM 2019: x3.1 the average country's ...; government support x1.4 [1.2-1.7], ...".

        A level target (the 0-100 index) is not on a log scale: its sentence gives differences in
        the target's own points ("+12.3 vs the average country's ...; government support +1.5").
        """
        target = self._target(target)
        c = self.country(iso3, target, year)
        info = self.meta.get("targets", {}).get(target, {})
        unit = info.get("unit", target)
        first = c.iloc[0]
        if info.get("transform") == "level":
            head = f"{first['level_log_rel']:+.3g} vs"
            role_text = lambda r: f"{r.contribution_log:+.3g}"  # noqa: E731
            rest_text = lambda r: f"{r.contribution_log:+.3g}"  # noqa: E731
        else:
            head = f"x{first['factor']:.3g}"
            role_text = lambda r: f"x{r.factor_role:.3g} [{r.factor_lo:.3g}-{r.factor_hi:.3g}]"  # noqa: E731
            rest_text = lambda r: f"x{r.factor_role:.3g}"  # noqa: E731
        parts = [f"{first['iso3']} {int(first['year'])}: {head} the average country's {unit}"
                 + ("" if first["observed"] else " (fitted: no observed value)")]
        for r in c.itertuples():
            if r.role == "unexplained":
                if np.isfinite(r.contribution_log):
                    parts.append(f"unexplained {rest_text(r)}")
                continue
            parts.append(f"{ROLE_LABELS[r.role]} {role_text(r)}")
        dom = c["domain"].iloc[0] if "domain" in c else "in"
        text = "; ".join(parts)
        return text if dom == "in" else f"{text} ({dom})"

    def brief(self) -> dict:
        """Headline numbers per target (the report's first screen must show exactly these)."""
        out = {"targets": {}, "level": self.meta.get("level"), "definition": SPLIT_DEFINITION}
        acc, split, levers = self.frames["accuracy"], self.frames["split"], self.frames["levers"]
        for t in self.targets:
            a = acc[acc["target"] == t].set_index("model")
            s = split[(split["target"] == t) & (split["variant"] == "as_specified")].set_index("role")
            lv = levers[levers["target"] == t].head(3)
            gov, loc = s.loc["government_support"], s.loc["local_conditions"]
            if gov["lo"] > loc["hi"]:
                ranking = "government support > local conditions"
            elif loc["lo"] > gov["hi"]:
                ranking = "local conditions > government support"
            else:
                ranking = "indistinguishable"
            out["targets"][t] = {
                "n_countries": int(a.loc["drivers", "n_countries"]), "n_rows": int(a.loc["drivers", "n_rows"]),
                "rmse": float(a.loc["drivers", "rmse"]),
                "rmse_global_mean": float(a.loc["global_mean", "rmse"]),
                "ratio_vs_global_mean": [float(a.loc["global_mean", c]) for c in ("ratio", "ratio_lo", "ratio_hi")],
                "ratio_vs_continent_year_mean": [float(a.loc["continent_year_mean", c])
                                                 for c in ("ratio", "ratio_lo", "ratio_hi")],
                "split": {r: [float(s.loc[r, c]) for c in ("share", "lo", "hi")] for r in s.index},
                "ranking": ranking,
                "top_levers": [{"feature": r.feature, "label": r.label, "role": r.role,
                                "importance": float(r.importance), "rank_stated": bool(r.rank_stated)}
                               for r in lv.itertuples()],
            }
        return out

    def format(self) -> str:
        """Plain-text tables: accuracy and the split per target."""
        lines = []
        for t in self.targets:
            a = self.frames["accuracy"]
            a = a[a["target"] == t]
            first = a.iloc[0]
            lines.append(f"{t}: {int(first['n_countries'])} countries, {int(first['n_rows'])} country-years, "
                         f"grouped {int(first['folds'])}-fold CV")
            for r in a.itertuples():
                ratio = "" if r.model == "drivers" else \
                    f"   drivers/this {r.ratio:.2f} [{r.ratio_lo:.2f}, {r.ratio_hi:.2f}]"
                lines.append(f"  RMSE {r.model:<20} {r.rmse:.3f} [{r.rmse_lo:.3f}, {r.rmse_hi:.3f}]{ratio}")
            for variant, s in self.frames["split"][self.frames["split"]["target"] == t].groupby("variant", sort=False):
                lines.append(f"  spread of levels by role ({variant}):")
                for r in s.itertuples():
                    lines.append(f"    {ROLE_LABELS[r.role]:<20} {r.share:6.1%} [{r.lo:.1%}, {r.hi:.1%}]")
            b = self.brief()["targets"][t]
            lines.append(f"  government support vs local conditions: {b['ranking']}")
            lines.append("  top levers: " + ", ".join(
                f"{x['label']} ({ROLE_LABELS.get(x['role'], x['role'])})" for x in b["top_levers"]))
            lines.append("")
        lines.append(f"Split = {SPLIT_DEFINITION}. Associations, not causal effects.")
        return "\n".join(lines)

    def save(self, path: str | Path) -> Path:
        """Write the frames (parquet) and meta (JSON) to the folder ``path``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        for name, frame in self.frames.items():
            frame.to_parquet(path / f"{name}.parquet", index=False)
        meta = {"targets": self.targets, "meta": self.meta}
        (path / "result.json").write_text(json.dumps(meta, indent=1, default=_json_default) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> "DriversResult":
        path = Path(path)
        if not (path / "result.json").is_file():
            raise ModelError(f"No drivers result at {path} (result.json expected); "
                             "write one with DriversResult.save().")
        doc = json.loads((path / "result.json").read_text(encoding="utf-8"))
        frames = {p.stem: pd.read_parquet(p) for p in sorted(path.glob("*.parquet"))}
        return cls(targets=list(doc["targets"]), frames=frames, meta=doc.get("meta", {}))

    def to_json(self) -> dict:
        """Brief plus the accuracy and split tables as records (CLI ``--json``)."""
        return {"brief": self.brief(),
                "accuracy": self.frames["accuracy"].to_dict("records"),
                "split": self.frames["split"].drop(columns=["definition"]).to_dict("records")}

    def __repr__(self) -> str:
        return f"DriversResult(targets={self.targets}, refits={self.meta.get('n_refits')})"


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


# ------------------------------------------------------------------------------- drivers()
# Units in words for the packaged targets whose description is a definition, not a unit. A factor on
# a logit target is an odds ratio; a level target (the index) is compared in its own points.
_SHORT_UNITS = {
    "kpop_chart_share": "odds that a Spotify chart entry is by a Korean artist",
    "kdrama_top10_share": "odds that a Netflix TV top-10 slot is a Korean title",
    "hallyu_index": "Hallyu index points (0-100)",
}


def _target_info(spec) -> dict:
    unit = spec.description
    if spec.numerator and spec.numerator.startswith("arrivals") and spec.denominator:
        unit = ("youth visitors per 100k inhabitants" if "0_30" in spec.numerator
                else "visitors per 100k inhabitants")
    elif spec.numerator == "students_language":
        unit = "Korean-language students per 100k inhabitants"
    elif spec.numerator == "uis_students_to_kor":
        unit = "degree students in Korea per 100k inhabitants"
    elif spec.name in _SHORT_UNITS:
        unit = _SHORT_UNITS[spec.name]
    elif spec.transform == "logit":
        # a factor on the logit scale is an odds ratio: say so in the unit
        text = spec.description.removeprefix("logit of ").removeprefix("the ")
        unit = f"odds of {text}"
    elif spec.transform == "level":
        unit = f"{spec.description} (points)"
    return {"description": spec.description, "measures": spec.measures,
            "does_not_measure": spec.does_not_measure, "transform": spec.transform, "unit": unit}


def _labels() -> dict[str, str]:
    """Feature -> words (the spec's `why` shortened is too long; use the data dictionary description)."""

    desc = load_dictionary().set_index("name")["description"].to_dict()
    out = {}
    for f in load_feature_specs().features:
        text = desc.get(f.columns[0], f.name) if f.columns else f.name
        prefix = {"years_since": "years since: ", "growth": "growth of ", "missing": "missing: ",
              "diff_to_korea": "gap to Korea: ", "log_ratio_to_korea": "ratio to Korea: ",
              "per_capita": "per capita: ", "log_per_capita": "per capita: "}.get(f.transform, "")
        out[f.name] = prefix + str(text).split(";")[0].split(" (")[0]
    return out


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
            sub = _subset_mask(fm, known.to_numpy())
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


def _subset_mask(fm, mask: np.ndarray):
    from dataclasses import replace

    return replace(fm, frame=fm.frame[mask].reset_index(drop=True))
