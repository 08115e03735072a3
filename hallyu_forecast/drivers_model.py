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

import numbers
from typing import Iterable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from hallyu_forecast.conventions import COVID_YEARS
from hallyu_forecast.errors import ConfigError, DataError, ModelError
from hallyu_forecast.evaluation import _continents, bootstrap_ratio
from hallyu_forecast.features import take_rows
from hallyu_forecast.forecaster import HallyuForecaster

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
        train_fm = take_rows(fm, fm.frame["iso3"].isin(set(countries) - set(held)))
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


