"""Global LightGBM forecaster of Hallyu intensity, direct multi-horizon, with conformal intervals.

One model per horizon ``h`` is trained across all countries on the rows of a
:class:`~hallyu_forecast.features.FeatureMatrix` (features known at origin ``t``, target at
``t + h``). The estimator follows scikit-learn's rules (``__init__`` only stores arguments,
learned attributes end in ``_``, :func:`sklearn.base.clone` works), so tuning and tracking
code can treat it like any estimator.

Target modes
------------
``level``
    predict ``y`` directly (needed by covariates-only models; levels differ hugely across
    countries, so history models do badly in this mode).
``change``
    predict ``y - y_origin``; forecast ``y_origin + f(x)``.
``change_over_drift`` (default)
    predict ``y - y_origin - h * drift`` where ``drift`` is the pooled yearly change of the
    target in the training rows (horizon-1 rows; median by default, or mean); forecast ``y_origin + h * drift + shrinkage * f(x)``. The model only learns
    departures from "persistence plus pooled drift", the strongest naive baseline. With
    ``shrinkage="auto"`` the weight of ``f`` is the least-squares weight in [0, 1] on the
    time-ordered calibration forecasts (training data only): when the features do not help
    out of sample the forecast falls back to persistence + drift.

Intervals
---------
Split-conformal per horizon on *time-ordered* calibration folds: for each of the last
``calibration_origins`` origins ``s`` of the training rows, the same model is refitted on the
rows with target year ``<= s`` and forecasts origin ``s``; the absolute errors are the
calibration scores. The ``level`` interval half-width is the ``ceil((n + 1) level)``-th
smallest score (the largest one when ``n`` is too small). When a horizon has fewer than
``min_calibration`` scores, the scores of every horizon are pooled after scaling by
``sqrt(h / h')`` (random-walk growth of the error). The new-market model is calibrated with
out-of-fold errors of a grouped (by country) K-fold.

New markets
-----------
Rows whose target is unknown at the origin (``y_origin`` missing: no target history) are
forecast by a covariates-only LightGBM (every non-``history`` feature) trained on the level
``y``; the output's ``model`` column says which model answered ("history" or "new_market").

COVID break
-----------
For origins in ``covid_years`` (2020-2022) the last observed value is a border-closure low,
not a level to carry forward. With ``covid_method="anchor_recovery"`` (default) the forecast
for target year ``T`` from origin ``o`` is::

    anchor(T) = y_2019 + (T - 2019) * drift           # last normal year, pooled drift
    gap_o     = y_o - (y_2019 + (o - 2019) * drift)    # the COVID shortfall at the origin
    forecast  = anchor(T) + rho ** (T - o) * gap_o      # the shortfall decays geometrically

where ``rho`` (``covid_rho_``) is the pooled AR(1) coefficient of pre-2020 deviations of the
target from each country's mean level plus the pooled drift path, estimated on the training
rows only (how fast past shocks such as MERS 2015 or THAAD 2017 faded), clipped to [0, 1].
``(1 - rho ** (T - o)) * gap_o`` is the recovery component. The intervals span both
scenarios -- no further recovery (``y_o + h * drift``) and full recovery (``anchor(T)``) --
widened by the horizon's conformal half-width. ``covid_method="back_to_2019"`` forecasts
``y_2019`` (the naive comparator); ``"none"`` uses the history model as for any origin.
Countries without a 2019 value fall back to the history model.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from hallyu_forecast.conventions import COVID_YEARS
from hallyu_forecast.errors import ConfigError, DataError, ModelError
from hallyu_forecast.features import TargetSpec
from hallyu_forecast.model_base import (
    FORMAT_VERSION,
    LGBM_DEFAULTS,
    arrays_from_json,
    arrays_to_json,
    booster_from_text,
    booster_text,
    check_feature_matrix,
    conformal_quantile,
    corrupt,
    frame_from_json,
    frame_to_json,
    interval_columns,
    json_params,
    lgbm_params,
    observed_levels,
    pooled_drift,
    restore_params,
    scaled_pool,
    training_rows,
    widths_from_json,
    widths_to_json,
)
from hallyu_forecast.new_market_model import NewMarketModel

TARGET_MODES = ("level", "change", "change_over_drift")
COVID_METHODS = ("anchor_recovery", "back_to_2019", "none")
OBJECTIVES = ("l2", "huber", "l1")
LAST_NORMAL_YEAR = 2019


class _Core:
    """One set of per-horizon LightGBM models sharing a drift (the unit refitted for calibration).

    ``momentum``: per horizon ``(beta, lo, hi)`` of the linear run-rate term (empty when off).
    """

    def __init__(self, drift: float, models: dict, momentum: dict | None = None):
        self.drift = drift
        self.models = models
        self.momentum = momentum or {}


#: Feature columns of the run-rate momentum term: the last quarter against the same quarter a year
#: earlier, net of the annual change (both known in December of the origin year; features/monthly.toml
#: and features/target_history.toml).
MOMENTUM_COLUMNS = ("month_q4_yoy", "target_change_1y")
MOMENTUM_CLIP = (0.05, 0.95)  # training-row quantiles: a collapse or a tiny base must not dominate


def momentum_signal(rows: pd.DataFrame) -> np.ndarray:
    """``month_q4_yoy - target_change_1y`` per row (NaN where either is unknown)."""
    q4, annual = MOMENTUM_COLUMNS
    if q4 not in rows or annual not in rows:
        return np.full(len(rows), np.nan)
    return rows[q4].to_numpy(float) - rows[annual].to_numpy(float)


def momentum_to_json(momentum: dict) -> dict:
    return {str(int(h)): [float(v) for v in triple] for h, triple in momentum.items()}


def momentum_from_json(data: dict) -> dict:
    return {int(h): tuple(float(v) for v in triple) for h, triple in data.items()}


def momentum_term(rows: pd.DataFrame, momentum: dict) -> np.ndarray:
    """``beta_h * clip(x)`` per row; 0 where the signal is unknown or the term is off."""
    out = np.zeros(len(rows))
    if not momentum or not len(rows):
        return out
    x = momentum_signal(rows)
    horizon = rows["horizon"].to_numpy()
    for h, (beta, lo, hi) in momentum.items():
        mask = (horizon == int(h)) & np.isfinite(x)
        out[mask] = beta * np.clip(x[mask], lo, hi)
    return out


# ------------------------------------------------------------------------------------ estimator
class HallyuForecaster(BaseEstimator):
    """Global LightGBM, one model per horizon, with conformal intervals and a new-market model.

    Parameters
    ----------
    target_mode : {"change_over_drift", "change", "level"}
        What each horizon's model learns (see the module docstring).
    n_estimators, learning_rate, num_leaves, max_depth, min_child_samples, subsample,
    subsample_freq, colsample_bytree, reg_lambda, reg_alpha, min_split_gain
        LightGBM parameters of the history model (kept small: a few hundred rows per fold).
    objective : {"huber", "l2", "l1"}
        Loss. Huber (default) resists the few country collapses (China 2017, Iran 2018).
    huber_delta : float
        Huber threshold on the scale of the *encoded* target (yearly changes: sd about 0.13);
        use ``objective="l2"`` with ``target_mode="level"``.
    shrinkage : float or "auto"
        Weight of the learned departure from persistence + drift (``change_over_drift`` only).
        "auto" (default): the least-squares weight in [0, 1] on the time-ordered calibration
        forecasts (training data only), so the forecast falls back to persistence + drift when
        the features do not help out of sample (``shrinkage_``).
    drift : {"mean", "median"}
        Pooled drift estimator; the median resists country collapses.
    features : list of str, optional
        Features to use (default: every feature of the FeatureMatrix).
    interval_levels : tuple of float
        Central prediction-interval levels (columns ``lower_80``, ``upper_80``...).
    calibration_origins : int
        Number of most recent training origins per horizon used for conformal calibration.
    min_calibration : int
        Fewer scores than this for a horizon -> pool the (scaled) scores of all horizons.
    new_market : bool
        Fit the covariates-only model for countries without target history.
    new_market_params : dict, optional
        LightGBM parameters of the new-market model (default: those above).
    exclude_covid_targets : bool
        Drop training rows whose target year is in ``covid_years``.
    covid_years : tuple of int
        The COVID break (2020-2022).
    covid_method : {"anchor_recovery", "back_to_2019", "none"}
        Forecasts from COVID origins (see the module docstring).
    momentum : {None, "q4_run_rate"}
        Add a linear run-rate term to persistence + drift (``change_over_drift`` only):
        ``beta_h * clip(month_q4_yoy - target_change_1y)``, ``beta_h`` the pooled least-squares slope
        of the training rows' departure from persistence + drift, the signal clipped at the training
        rows' 5%-95% quantiles (issue 12). Needs the features of ``features/monthly.toml``.
    random_state : int
        Seed of every LightGBM model.
    n_jobs : int
        LightGBM threads, fixed (default 1: with a few hundred rows, more threads are slower).

    Attributes
    ----------
    models_ : dict[int, LGBMRegressor]
        History model per horizon; its output is the encoded target (see ``target_mode``).
    features_ : list of str
        Features of the history model, in column order.
    drift_ : float
        Pooled mean yearly change in the training rows.
    nm_model_ : NewMarketModel or None
        The covariates-only model (``nm_models_``: its LightGBM per horizon; ``nm_features_``).
    scores_ : dict[int, ndarray]
        Conformal calibration scores (absolute errors) per horizon.
    half_widths_ : dict[int, dict[float, float]]
        Interval half-width per horizon and level.
    shrinkage_ : float
        Weight of the learned departure from drift actually used (see ``shrinkage``).
    momentum_ : dict[int, tuple[float, float, float]]
        Per horizon ``(beta, lo, hi)`` of the run-rate term (empty when ``momentum`` is None).
    calibration_ : DataFrame
        Calibration forecasts (horizon, y, base = persistence + drift, raw model output).
    covid_rho_ : float
        Persistence of shocks used by the COVID recovery component.
    levels_ : DataFrame
        Observed (iso3, year, y) of the training rows (anchors of the COVID method).
    horizons_ : tuple of int
    n_train_ : int
    max_target_year_ : int
        Latest target year seen in training.

    Examples
    --------
    >>> from hallyu_forecast import build_features, HallyuForecaster  # doctest: +SKIP
    >>> fm = build_features(origins=range(2010, 2019))                  # doctest: +SKIP
    >>> model = HallyuForecaster().fit(fm)                              # doctest: +SKIP
    >>> model.predict(build_features(origins=[2019]))                   # doctest: +SKIP
    """

    def __init__(self, target_mode="change_over_drift", n_estimators=150, learning_rate=0.03, num_leaves=4,
                 max_depth=2, min_child_samples=30, subsample=0.8, subsample_freq=1, colsample_bytree=0.5,
                 reg_lambda=5.0, reg_alpha=0.0, min_split_gain=0.0, objective="huber", huber_delta=0.15,
                 shrinkage="auto", drift="median", features=None,
                 interval_levels=(0.8, 0.95), calibration_origins=3, min_calibration=20, new_market=True,
                 new_market_params=None, exclude_covid_targets=True, covid_years=COVID_YEARS,
                 covid_method="anchor_recovery", momentum=None, random_state=0, n_jobs=1):
        self.target_mode = target_mode
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.subsample_freq = subsample_freq
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.reg_alpha = reg_alpha
        self.min_split_gain = min_split_gain
        self.objective = objective
        self.huber_delta = huber_delta
        self.shrinkage = shrinkage
        self.drift = drift
        self.features = features
        self.interval_levels = interval_levels
        self.calibration_origins = calibration_origins
        self.min_calibration = min_calibration
        self.new_market = new_market
        self.new_market_params = new_market_params
        self.exclude_covid_targets = exclude_covid_targets
        self.covid_years = covid_years
        self.covid_method = covid_method
        self.momentum = momentum
        self.random_state = random_state
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ validation
    def _check_params(self) -> None:
        if self.target_mode not in TARGET_MODES:
            raise ConfigError(f"`target_mode` must be 'level', 'change' or 'change_over_drift'. "
                              f"Got {self.target_mode!r}.")
        if self.momentum not in (None, "q4_run_rate"):
            raise ConfigError(f"`momentum` must be None or 'q4_run_rate'. Got {self.momentum!r}.")
        if self.momentum is not None and self.target_mode != "change_over_drift":
            raise ConfigError("`momentum` needs target_mode='change_over_drift' (it moves persistence + drift). "
                              f"Got target_mode={self.target_mode!r}.")
        if self.covid_method not in COVID_METHODS:
            raise ConfigError(f"`covid_method` must be 'anchor_recovery', 'back_to_2019' or 'none'. "
                              f"Got {self.covid_method!r}.")
        levels = tuple(self.interval_levels)
        if not levels or any(not 0 < float(x) < 1 for x in levels):
            raise ConfigError(f"`interval_levels` must be between 0 and 1 (e.g. (0.8, 0.95)). Got {levels}.")
        for name in ("n_estimators", "num_leaves", "min_child_samples", "calibration_origins", "n_jobs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ConfigError(f"`{name}` must be an integer >= 1. Got {value!r}.")
        if self.shrinkage != "auto" and (isinstance(self.shrinkage, (bool, str)) or not 0 <= float(self.shrinkage) <= 1):
            raise ConfigError(f"`shrinkage` must be between 0 and 1, or 'auto'. Got {self.shrinkage!r}.")
        if self.drift not in ("mean", "median"):
            raise ConfigError(f"`drift` must be 'mean' or 'median'. Got {self.drift!r}.")
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"`objective` must be 'l2', 'huber' or 'l1'. Got {self.objective!r}.")
        if not 0 < float(self.learning_rate) <= 1:
            raise ConfigError(f"`learning_rate` must be in (0, 1]. Got {self.learning_rate!r}.")

    def _lgbm_params(self, overrides=None) -> dict:
        return lgbm_params({k: getattr(self, k) for k in LGBM_DEFAULTS}, overrides)

    def _new_market_lgbm_params(self) -> dict:
        """LightGBM parameters of the new-market model: squared error on levels, then ``new_market_params``."""
        params = self._lgbm_params({"objective": "regression"})
        params.pop("alpha", None)
        params.update(self.new_market_params or {})
        return params

    # ------------------------------------------------------------------ core fitting
    def _encode(self, rows: pd.DataFrame, drift: float, momentum: dict | None = None) -> np.ndarray:
        y = rows["y"].to_numpy(float)
        if self.target_mode == "level":
            return y
        change = y - rows["y_origin"].to_numpy(float)
        if self.target_mode == "change":
            return change
        return change - rows["horizon"].to_numpy(float) * drift - momentum_term(rows, momentum or {})

    def _decode(self, raw: np.ndarray, rows: pd.DataFrame, drift: float, shrinkage: float = 1.0,
                momentum: dict | None = None) -> np.ndarray:
        if self.target_mode == "level":
            return raw
        base = rows["y_origin"].to_numpy(float)
        if self.target_mode == "change":
            return base + raw
        return (base + rows["horizon"].to_numpy(float) * drift + momentum_term(rows, momentum or {})
                + shrinkage * raw)

    def _fit_momentum(self, rows: pd.DataFrame, drift: float) -> dict:
        """Per horizon ``(beta, lo, hi)``: pooled slope of the departure from persistence + drift on the
        run-rate signal, over training rows only; ``{}`` when off or when the signal is absent."""
        if self.momentum is None:
            return {}
        out = {}
        x_all = momentum_signal(rows)
        dev_all = self._encode(rows, drift)
        horizon = rows["horizon"].to_numpy()
        for h in sorted(set(int(v) for v in horizon)):
            mask = (horizon == h) & np.isfinite(x_all) & np.isfinite(dev_all)
            x, dev = x_all[mask], dev_all[mask]
            if len(x) < 10 or float(x @ x) == 0:
                continue
            out[h] = (float(x @ dev / (x @ x)), *(float(q) for q in np.quantile(x, MOMENTUM_CLIP)))
        return out

    def _fit_core(self, rows: pd.DataFrame, features: list[str]) -> _Core:
        from lightgbm import LGBMRegressor

        if self.target_mode != "level":
            rows = rows[rows["y_origin"].notna()]
        drift = pooled_drift(rows, self.drift)
        momentum = self._fit_momentum(rows, drift)
        models = {}
        for h, part in rows.groupby("horizon", sort=True):
            if not len(part):
                continue
            model = LGBMRegressor(**self._lgbm_params())
            model.fit(part[features].to_numpy(float), self._encode(part, drift, momentum))
            models[int(h)] = model
        return _Core(drift, models, momentum)

    def _predict_core(self, core: _Core, rows: pd.DataFrame, features: list[str], shrinkage: float = 1.0,
                      raw_out: np.ndarray | None = None) -> np.ndarray:
        out = np.full(len(rows), np.nan)
        horizon = rows["horizon"].to_numpy()
        for h, model in core.models.items():
            mask = horizon == h
            if mask.any():
                part = rows[mask]
                raw = model.predict(part[features].to_numpy(float))
                out[mask] = self._decode(raw, part, core.drift, shrinkage, core.momentum)
                if raw_out is not None:
                    raw_out[mask] = raw
        return out

    def _calibrate(self, rows: pd.DataFrame, features: list[str]) -> pd.DataFrame:
        """Rolling-origin calibration forecasts: horizon, y, base (shrinkage 0) and raw model output."""
        if self.target_mode != "level":
            rows = rows[rows["y_origin"].notna()]
        wanted: dict[int, list[int]] = {}
        for h in self.horizons_:
            candidates = sorted(rows.loc[rows["horizon"] == h, "origin"].unique(), reverse=True)
            # a calibration origin needs training rows of that horizon with target year <= s
            usable = [int(s) for s in candidates
                      if ((rows["horizon"] == h) & (rows["target_year"] <= s)).any()]
            wanted[h] = usable[: self.calibration_origins]
        parts = []
        for s in sorted(set().union(*wanted.values())):
            core = self._fit_core(rows[rows["target_year"] <= s], features)
            test = rows[(rows["origin"] == s) & rows["horizon"].isin([h for h, ss in wanted.items() if s in ss])]
            if not len(test):
                continue
            raw = np.full(len(test), np.nan)
            base = self._predict_core(core, test, features, shrinkage=0.0, raw_out=raw)
            parts.append(pd.DataFrame({"horizon": test["horizon"].to_numpy(), "y": test["y"].to_numpy(float),
                                       "base": base, "raw": raw}))
        cols = ["horizon", "y", "base", "raw"]
        cal = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols, dtype=float)
        return cal[np.isfinite(cal["base"].to_numpy(float)) & np.isfinite(cal["raw"].to_numpy(float))]

    def _choose_shrinkage(self, cal: pd.DataFrame) -> float:
        """``shrinkage`` param, or for "auto" the least-squares weight of the model on the calibration folds."""
        if self.target_mode != "change_over_drift":
            return 1.0
        if self.shrinkage != "auto":
            return float(self.shrinkage)
        if cal.empty:
            return 0.0
        resid = (cal["y"] - cal["base"]).to_numpy(float)
        raw = cal["raw"].to_numpy(float)
        denom = float(raw @ raw)
        return float(np.clip((resid @ raw) / denom, 0.0, 1.0)) if denom > 0 else 0.0

    def _scores(self, cal: pd.DataFrame, shrinkage: float) -> dict[int, np.ndarray]:
        pred = cal["base"].to_numpy(float)  # for "level" and "change" the model output is already in it
        if self.target_mode == "change_over_drift":
            pred = pred + shrinkage * cal["raw"].to_numpy(float)
        err = np.abs(cal["y"].to_numpy(float) - pred)
        horizon = cal["horizon"].to_numpy()
        return {h: err[horizon == h] for h in self.horizons_}

    def _half_widths(self, scores: dict[int, np.ndarray], fallback: dict[int, np.ndarray]) -> dict:
        out = {}
        for h in self.horizons_:
            s = scores.get(h, np.array([]))
            if len(s) < self.min_calibration:
                s = scaled_pool(scores, h)
            if len(s) == 0:
                s = np.abs(fallback.get(h, np.array([])))
            out[h] = {float(level): conformal_quantile(s, float(level)) for level in self.interval_levels}
        return out

    def _fit_new_market(self, fm, frame: pd.DataFrame) -> None:
        self.nm_model_ = None
        if not self.new_market or not self.nm_features_:
            return
        nm = NewMarketModel(params=self._new_market_lgbm_params(), features=self.nm_features_,
                            interval_levels=self.interval_levels, min_calibration=self.min_calibration,
                            exclude_covid_targets=self.exclude_covid_targets, covid_years=self.covid_years)
        self.nm_model_ = nm.fit(fm)

    @property
    def nm_models_(self) -> dict:
        """New-market LightGBM per horizon (empty when there is none)."""
        return self.nm_model_.models_ if getattr(self, "nm_model_", None) is not None else {}

    def _estimate_rho(self) -> float:
        """Pooled AR(1) of pre-COVID deviations from country mean + pooled drift path."""
        lv = self.levels_[self.levels_["year"] < min(self.covid_years)].copy()
        if lv.empty:
            return 0.5
        lv["d"] = lv["y"] - self.drift_ * lv["year"]
        lv["d"] -= lv.groupby("iso3")["d"].transform("mean")
        lv = lv.sort_values(["iso3", "year"])
        prev = lv.groupby("iso3")["d"].shift(1)
        consecutive = lv.groupby("iso3")["year"].diff() == 1
        x, y = prev[consecutive].to_numpy(), lv.loc[consecutive, "d"].to_numpy()
        if len(x) < 10 or float(x @ x) == 0:
            return 0.5
        return float(np.clip((x @ y) / (x @ x), 0.0, 1.0))

    # ------------------------------------------------------------------ public API
    def fit(self, fm, y=None):
        """Fit on every row of ``fm`` with a known target (minus COVID target years if excluded).

        Parameters
        ----------
        fm : FeatureMatrix
            Training rows. The caller decides the time cut-off (``backtest`` passes only rows
            with target year <= origin).

        Returns
        -------
        self
        """
        self._check_params()
        frame = check_feature_matrix(fm)
        features = list(self.features) if self.features is not None else list(fm.features)
        unknown = [f for f in features if f not in frame.columns]
        if unknown:
            raise DataError(f"Feature(s) {unknown} are not in the FeatureMatrix; "
                            f"available: {list(fm.features)}.")
        if not features:
            raise ConfigError("`features` must name at least one feature. Got [].")
        rows = training_rows(frame, self.exclude_covid_targets, self.covid_years)
        usable = rows if self.target_mode == "level" else rows[rows["y_origin"].notna()]
        if usable.empty:
            raise DataError("No training rows: every target `y` (or `y_origin`) is missing or a COVID target year. "
                            "Use earlier origins or a target with a longer history.")
        roles = getattr(fm, "roles", {}) or {}
        self.features_ = features
        self.nm_features_ = [f for f in fm.features if roles.get(f, "history") != "history"]
        self.horizons_ = tuple(sorted(int(h) for h in usable["horizon"].unique()))
        core = self._fit_core(rows, features)
        self.models_, self.drift_, self.momentum_ = core.models, core.drift, core.momentum
        self.calibration_ = self._calibrate(rows, features)
        self.shrinkage_ = self._choose_shrinkage(self.calibration_)
        self.scores_ = self._scores(self.calibration_, self.shrinkage_)
        naive = {h: self._encode(usable[usable["horizon"] == h], self.drift_, self.momentum_) for h in self.horizons_}
        if self.target_mode == "level":
            naive = {h: usable.loc[usable["horizon"] == h, "y"].to_numpy() - usable["y"].mean()
                     for h in self.horizons_}
        self.half_widths_ = self._half_widths(self.scores_, naive)
        self._fit_new_market(fm, frame)
        self.levels_ = observed_levels(frame[frame["y"].notna() | frame["y_origin"].notna()])
        self.covid_rho_ = self._estimate_rho()
        self.n_train_ = int(len(usable))
        self.max_target_year_ = int(rows["target_year"].max())
        self.target_ = getattr(fm, "target", None)
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "models_")

    def _check_fitted(self):
        if not hasattr(self, "models_"):
            raise ModelError("This HallyuForecaster is not fitted yet. Call `fit(fm)` first.")

    def predict(self, fm) -> pd.DataFrame:
        """Forecast every row of ``fm`` (one per country, origin and horizon).

        Returns
        -------
        DataFrame
            iso3, origin, horizon, target_year, prediction, lower_80, upper_80, lower_95,
            upper_95 (one pair per interval level), model ("history" or "new_market"; NaN
            prediction and model "none" when neither applies) and covid_adjusted (True where
            the COVID method replaced the history model).
        """
        self._check_fitted()
        frame = check_feature_matrix(fm)
        missing_h = sorted(set(int(h) for h in frame["horizon"].unique()) - set(self.horizons_))
        if missing_h:
            raise ModelError(f"The model was fitted for horizons {list(self.horizons_)}; "
                             f"refit with rows of horizon {missing_h[0]}.")
        missing = [f for f in set(self.features_) | set(self.nm_features_) if f not in frame.columns]
        if missing:
            raise DataError(f"Feature(s) {sorted(missing)} used in training are not in the FeatureMatrix.")
        frame = frame.reset_index(drop=True)
        levels = tuple(float(x) for x in self.interval_levels)
        cols = interval_columns(levels)
        history = frame["y_origin"].notna().to_numpy()
        if self.target_mode == "level" and not self.nm_models_:
            history = np.ones(len(frame), bool)  # a level model needs no target history
        pred = np.full(len(frame), np.nan)
        model = np.full(len(frame), "none", dtype=object)
        bounds = {c: np.full(len(frame), np.nan) for c in cols}
        horizon = frame["horizon"].to_numpy()
        if history.any():
            core = _Core(self.drift_, self.models_, getattr(self, "momentum_", {}))
            pred[history] = self._predict_core(core, frame[history], self.features_, self.shrinkage_)
            model[history] = "history"
            for level in levels:
                hw = np.array([self.half_widths_[int(h)][level] for h in horizon[history]])
                lo, hi = interval_columns([level])
                bounds[lo][history] = pred[history] - hw
                bounds[hi][history] = pred[history] + hw
        newm = ~history & np.isin(horizon, list(self.nm_models_))
        if newm.any():
            nm = self.nm_model_.predict_arrays(frame[newm])
            pred[newm] = nm["prediction"]
            model[newm] = "new_market"
            for c in cols:
                bounds[c][newm] = nm[c]
        adjusted = np.zeros(len(frame), bool)
        if self.covid_method != "none":
            adjusted = self._covid_adjust(frame, history & (model == "history"), pred, bounds, levels)
        out = frame[["iso3", "origin", "horizon", "target_year"]].copy()
        out["prediction"] = pred
        for c in cols:
            out[c] = bounds[c]
        out["model"] = model
        out["covid_adjusted"] = adjusted
        return out

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict:
        """The fitted model as a JSON-able dict; boosters in LightGBM's text format under ``boosters``.

        Returns
        -------
        dict
            ``{"format": ..., "class": "HallyuForecaster", "params": ..., "state": ..., "boosters":
            {"history/<h>": text, "new_market/<h>": text}}``; :meth:`from_dict` reverses it.

        Examples
        --------
        >>> state = model.to_dict()                       # doctest: +SKIP
        >>> same = HallyuForecaster.from_dict(state)      # doctest: +SKIP
        """
        self._check_fitted()
        target = self.target_
        if target is not None and not isinstance(target, dict):
            from dataclasses import asdict

            target = asdict(target)
        state = {
            "features_": list(self.features_), "nm_features_": list(self.nm_features_),
            "horizons_": [int(h) for h in self.horizons_], "drift_": float(self.drift_),
            "shrinkage_": float(self.shrinkage_), "covid_rho_": float(self.covid_rho_),
            "n_train_": int(self.n_train_), "max_target_year_": int(self.max_target_year_),
            "scores_": arrays_to_json(self.scores_), "half_widths_": widths_to_json(self.half_widths_),
            "calibration_": frame_to_json(self.calibration_), "levels_": frame_to_json(self.levels_),
            "target_": target, "history_horizons": sorted(int(h) for h in self.models_),
            "momentum_": momentum_to_json(getattr(self, "momentum_", {})),
        }
        boosters = {f"history/{int(h)}": booster_text(m) for h, m in self.models_.items()}
        nm = None
        if self.nm_model_ is not None:
            nm = self.nm_model_.to_dict()
            boosters.update({f"new_market/{k.split('/')[1]}": v for k, v in nm.pop("boosters").items()})
        return {"format": FORMAT_VERSION, "class": type(self).__name__,
                "params": json_params(self.get_params()), "state": state, "new_market": nm,
                "boosters": boosters}

    @classmethod
    def from_dict(cls, data: dict) -> "HallyuForecaster":
        """Rebuild a fitted model from :meth:`to_dict` output (boosters become ``lightgbm.Booster``).

        Raises
        ------
        ModelError
            When the dict is not a serialised HallyuForecaster of a known format.
        """
        if not isinstance(data, dict) or data.get("class") != cls.__name__ or data.get("format") != FORMAT_VERSION:
            raise ModelError(f"Not a serialised {cls.__name__} (format {FORMAT_VERSION}). "
                             "Retrain the model with `hallyu-forecast train`.")
        try:
            model = cls(**restore_params(data["params"]))
            st, boosters = data["state"], data["boosters"]
            model.models_ = {int(h): booster_from_text(boosters[f"history/{int(h)}"], f"history booster h{h}")
                             for h in st["history_horizons"]}
            model.features_, model.nm_features_ = list(st["features_"]), list(st["nm_features_"])
            model.horizons_ = tuple(int(h) for h in st["horizons_"])
            for name in ("drift_", "shrinkage_", "covid_rho_"):
                setattr(model, name, float(st[name]))
            model.n_train_, model.max_target_year_ = int(st["n_train_"]), int(st["max_target_year_"])
            model.scores_ = arrays_from_json(st["scores_"])
            model.half_widths_ = widths_from_json(st["half_widths_"])
            model.calibration_ = frame_from_json(st["calibration_"])
            model.levels_ = frame_from_json(st["levels_"])
            model.momentum_ = momentum_from_json(st.get("momentum_", {}))
            target = st.get("target_")
            if target is not None:
                target = TargetSpec(**target)
            model.target_ = target
            nm = data.get("new_market")
            if nm is not None:
                nm = dict(nm, boosters={k: v for k, v in boosters.items() if k.startswith("new_market/")})
                nm = NewMarketModel.from_dict(nm)
            model.nm_model_ = nm
        except ModelError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise corrupt(cls.__name__, exc) from None
        return model

    def covid_anchor(self, frame: pd.DataFrame) -> pd.Series:
        """Target in the last normal year (2019) per row of ``frame`` (NaN if unknown)."""
        self._check_fitted()
        known = pd.concat([self.levels_, observed_levels(frame)], ignore_index=True)
        known = known.drop_duplicates(["iso3", "year"])
        anchor = known[known["year"] == LAST_NORMAL_YEAR].set_index("iso3")["y"]
        return frame["iso3"].map(anchor)

    def _covid_adjust(self, frame, eligible, pred, bounds, levels) -> np.ndarray:
        covid = eligible & frame["origin"].isin(list(self.covid_years)).to_numpy()
        if not covid.any():
            return np.zeros(len(frame), bool)
        anchor19 = self.covid_anchor(frame).to_numpy(float)
        covid &= np.isfinite(anchor19)
        if not covid.any():
            return covid
        o = frame["origin"].to_numpy(float)
        t = frame["target_year"].to_numpy(float)
        h = frame["horizon"].to_numpy()
        y_o = frame["y_origin"].to_numpy(float)
        drift = self.drift_
        full = anchor19 + (t - LAST_NORMAL_YEAR) * drift
        none = y_o + (t - o) * drift
        if self.covid_method == "back_to_2019":
            new = anchor19
            lo_s, hi_s = np.minimum(new, none), np.maximum(new, none)
        else:
            gap = y_o - (anchor19 + (o - LAST_NORMAL_YEAR) * drift)
            new = full + self.covid_rho_ ** (t - o) * gap
            lo_s, hi_s = np.minimum(full, none), np.maximum(full, none)
        pred[covid] = new[covid]
        for level in levels:
            hw = np.array([self.half_widths_[int(k)][level] for k in h[covid]])
            lo, hi = interval_columns([level])
            bounds[lo][covid] = lo_s[covid] - hw
            bounds[hi][covid] = hi_s[covid] + hw
        return covid


