"""Naive and linear baselines with the forecaster's interface (``fit(fm)`` -> self, ``predict(fm)`` -> frame).

Every baseline returns the same columns as :meth:`HallyuForecaster.predict` (intervals are NaN,
``model`` is the baseline's name), so :func:`hallyu_forecast.evaluation.backtest` treats them alike.
They forecast only rows with a known target at the origin (``y_origin``); others get NaN.

- :class:`Persistence` -- ``y_origin`` (last observed value).
- :class:`PersistenceDrift` -- ``y_origin + h * drift``, drift = pooled mean (``estimator="median"``:
  median) yearly change of the training rows (the strongest naive baseline for this data).
- :class:`CountryMean` -- mean of the country's observed target up to the origin.
- :class:`RidgeBaseline` -- ridge regression per horizon on the same features (median imputation
  and scaling fitted on the training rows only), learning the change over drift by default.

mlforecast (LightGBM on lags) is not offered: it requires pandas < 3 and this package runs on
pandas 3. LightGBM on levels and on changes are available as
``HallyuForecaster(target_mode="level" | "change")``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from hallyu_forecast.conventions import COVID_YEARS
from hallyu_forecast.errors import ConfigError, DataError, ModelError
from hallyu_forecast.model_base import check_feature_matrix, observed_levels, output_frame, pooled_drift, training_rows


class _Baseline(BaseEstimator):
    name = "baseline"
    interval_levels = (0.8, 0.95)

    def _check_fitted(self):
        if not getattr(self, "fitted_", False):
            raise ModelError(f"This {type(self).__name__} is not fitted yet. Call `fit(fm)` first.")

    def _rows(self, fm) -> pd.DataFrame:
        frame = check_feature_matrix(fm)
        return training_rows(frame, self.exclude_covid_targets, COVID_YEARS)

    def _out(self, frame, prediction):
        return output_frame(frame, prediction, self.interval_levels, self.name)


class Persistence(_Baseline):
    """Forecast the last observed value: ``y(t + h) = y(t)``."""

    name = "persistence"

    def __init__(self, exclude_covid_targets=True):
        self.exclude_covid_targets = exclude_covid_targets

    def fit(self, fm, y=None):
        check_feature_matrix(fm)
        self.fitted_ = True
        return self

    def predict(self, fm) -> pd.DataFrame:
        self._check_fitted()
        frame = check_feature_matrix(fm).reset_index(drop=True)
        return self._out(frame, frame["y_origin"].to_numpy(float))


class PersistenceDrift(_Baseline):
    """Last value plus ``h`` times the pooled mean (or median) yearly change of the training rows."""

    name = "persistence_drift"

    def __init__(self, exclude_covid_targets=True, estimator="mean"):
        self.exclude_covid_targets = exclude_covid_targets
        self.estimator = estimator

    def fit(self, fm, y=None):
        rows = self._rows(fm)
        if rows[["y", "y_origin"]].dropna().empty:
            raise DataError("No training rows with both `y` and `y_origin`: cannot estimate the drift.")
        if self.estimator not in ("mean", "median"):
            raise ConfigError(f"`estimator` must be 'mean' or 'median'. Got {self.estimator!r}.")
        self.drift_ = pooled_drift(rows, self.estimator)
        self.fitted_ = True
        return self

    def predict(self, fm) -> pd.DataFrame:
        self._check_fitted()
        frame = check_feature_matrix(fm).reset_index(drop=True)
        return self._out(frame, frame["y_origin"].to_numpy(float) + frame["horizon"].to_numpy(float) * self.drift_)


class CountryMean(_Baseline):
    """Mean of the country's observed target over every year up to the origin."""

    name = "country_mean"

    def __init__(self, exclude_covid_targets=True):
        self.exclude_covid_targets = exclude_covid_targets

    def fit(self, fm, y=None):
        frame = check_feature_matrix(fm)
        self.levels_ = observed_levels(frame)
        self.fitted_ = True
        return self

    def predict(self, fm) -> pd.DataFrame:
        self._check_fitted()
        frame = check_feature_matrix(fm).reset_index(drop=True)
        known = pd.concat([self.levels_, observed_levels(frame)], ignore_index=True).drop_duplicates(["iso3", "year"])
        pred = np.full(len(frame), np.nan)
        by_country = {c: g for c, g in known.groupby("iso3")}
        for i, (c, o, yo) in enumerate(zip(frame["iso3"], frame["origin"], frame["y_origin"])):
            g = by_country.get(c)
            if g is None or not np.isfinite(yo):
                continue
            pred[i] = g.loc[g["year"] <= o, "y"].mean()
        return self._out(frame, pred)


class RidgeBaseline(_Baseline):
    """Ridge per horizon on the same features; imputation and scaling fitted on training rows only.

    Parameters
    ----------
    target_mode : {"change_over_drift", "change", "level"}
        As in :class:`HallyuForecaster`.
    alphas : tuple of float
        Candidate penalties, chosen by efficient leave-one-out CV on the training rows.
    features : list of str, optional
        Default: every feature of the FeatureMatrix.
    """

    name = "ridge"

    def __init__(self, target_mode="change_over_drift", alphas=(0.1, 1.0, 10.0, 100.0, 1000.0), features=None,
                 exclude_covid_targets=True, fit_intercept=True, demean_years=False):
        self.fit_intercept = fit_intercept
        self.demean_years = demean_years
        self.target_mode = target_mode
        self.alphas = alphas
        self.features = features
        self.exclude_covid_targets = exclude_covid_targets

    def _target(self, rows):
        y = rows["y"].to_numpy(float)
        if self.target_mode == "level":
            return y
        change = y - rows["y_origin"].to_numpy(float)
        if self.demean_years:
            return change - pd.Series(change, index=rows.index).groupby(
                [rows["target_year"], rows["horizon"]]).transform("mean").to_numpy()
        return change if self.target_mode == "change" else change - rows["horizon"].to_numpy(float) * self.drift_

    def fit(self, fm, y=None):
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import RidgeCV
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if self.target_mode not in ("level", "change", "change_over_drift"):
            raise ConfigError(f"`target_mode` must be 'level', 'change' or 'change_over_drift'. "
                              f"Got {self.target_mode!r}.")
        rows = self._rows(fm)
        if self.target_mode != "level":
            rows = rows[rows["y_origin"].notna()]
        if rows.empty:
            raise DataError("No training rows with a known target.")
        self.features_ = list(self.features) if self.features is not None else list(fm.features)
        self.drift_ = pooled_drift(rows)
        self.models_ = {}
        for h, part in rows.groupby("horizon", sort=True):
            X = part[self.features_].to_numpy(float)
            model = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(),
                                  RidgeCV(alphas=tuple(self.alphas), fit_intercept=self.fit_intercept))
            self.models_[int(h)] = model.fit(X, self._target(part))
        self.fitted_ = True
        return self

    def predict(self, fm) -> pd.DataFrame:
        self._check_fitted()
        frame = check_feature_matrix(fm).reset_index(drop=True)
        pred = np.full(len(frame), np.nan)
        ok = frame["y_origin"].notna().to_numpy() | (self.target_mode == "level")
        for h, model in self.models_.items():
            mask = ok & (frame["horizon"] == h).to_numpy()
            if not mask.any():
                continue
            part = frame[mask]
            raw = model.predict(part[self.features_].to_numpy(float))
            if self.target_mode == "level":
                pred[mask] = raw
            elif self.target_mode == "change":
                pred[mask] = part["y_origin"].to_numpy(float) + raw
            else:
                pred[mask] = part["y_origin"].to_numpy(float) + h * self.drift_ + raw
        return self._out(frame, pred)


class PersistenceMedianDrift(PersistenceDrift):
    """Persistence plus the pooled *median* yearly change: the drift the default forecaster uses."""

    name = "persistence_median_drift"

    def __init__(self, exclude_covid_targets=True, estimator="median"):
        super().__init__(exclude_covid_targets=exclude_covid_targets, estimator=estimator)


BASELINE_CLASSES = {
    "persistence": Persistence,
    "persistence_drift": PersistenceDrift,
    "persistence_median_drift": PersistenceMedianDrift,
    "country_mean": CountryMean,
    "ridge": RidgeBaseline,
}


def make_baseline(name: str, exclude_covid_targets: bool = True):
    """A fresh baseline by name (``persistence``, ``persistence_drift``, ``persistence_median_drift``,
    ``country_mean``, ``ridge``)."""
    if name not in BASELINE_CLASSES:
        raise ConfigError(f"Unknown baseline `{name}`; use one of {', '.join(BASELINE_CLASSES)}.")
    return BASELINE_CLASSES[name](exclude_covid_targets=exclude_covid_targets)
