"""The new-market model: covariates-only LightGBM for countries without target history.

Its intervals are split-conformal on out-of-fold errors of a K-fold grouped by country.
:class:`~hallyu_forecast.forecaster.HallyuForecaster` fits one (``nm_model_``) and answers with it
wherever ``y_origin`` is unknown.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from hallyu_forecast.conventions import COVID_YEARS
from hallyu_forecast.errors import ConfigError, DataError, ModelError
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
    interval_columns,
    json_params,
    lgbm_params,
    output_frame,
    restore_params,
    scaled_pool,
    training_rows,
    widths_from_json,
    widths_to_json,
)


class NewMarketModel(BaseEstimator):
    """Covariates-only LightGBM per horizon on the level ``y``, for countries without target history.

    Intervals: split-conformal on out-of-fold errors of a grouped K-fold over countries (each
    country's errors come from a model that never saw it), per horizon, pooled over horizons
    (scaled by ``sqrt(h / h')``) when a horizon has fewer than ``min_calibration`` errors.

    Parameters
    ----------
    params : dict, optional
        LightGBM parameters (seeded, deterministic defaults of :class:`HallyuForecaster`).
    features : list of str, optional
        Default: every non-``history`` feature of the FeatureMatrix.
    interval_levels, min_calibration, exclude_covid_targets, covid_years
        As in :class:`HallyuForecaster`.
    calibration_folds : int
        Grouped folds for the conformal scores (0: no intervals).
    """

    def __init__(self, params=None, features=None, interval_levels=(0.8, 0.95), min_calibration=20,
                 exclude_covid_targets=True, covid_years=COVID_YEARS, calibration_folds=5):
        self.params = params
        self.features = features
        self.interval_levels = interval_levels
        self.min_calibration = min_calibration
        self.exclude_covid_targets = exclude_covid_targets
        self.covid_years = covid_years
        self.calibration_folds = calibration_folds

    def _params(self) -> dict:
        base = lgbm_params(LGBM_DEFAULTS)
        base.update(self.params or {})
        return base

    def fit(self, fm, y=None):
        from lightgbm import LGBMRegressor
        from sklearn.model_selection import GroupKFold

        frame = check_feature_matrix(fm)
        roles = getattr(fm, "roles", {}) or {}
        feats = list(self.features) if self.features is not None else \
            [f for f in fm.features if roles.get(f, "history") != "history"]
        if not feats:
            raise ConfigError("The new-market model needs at least one non-history feature. Got none.")
        rows = training_rows(frame, self.exclude_covid_targets, self.covid_years)
        if rows.empty:
            raise DataError("No training rows with a known target for the new-market model.")
        params = self._params()
        self.features_ = feats
        self.models_, self.scores_ = {}, {}
        for h, part in rows.groupby("horizon", sort=True):
            h = int(h)
            X, target = part[feats].to_numpy(float), part["y"].to_numpy(float)
            self.models_[h] = LGBMRegressor(**params).fit(X, target)
            groups = part["iso3"].to_numpy()
            n_groups = len(np.unique(groups))
            errors = []
            if self.calibration_folds and n_groups >= 2:
                for train, test in GroupKFold(n_splits=min(self.calibration_folds, n_groups)).split(X, target, groups):
                    m = LGBMRegressor(**params).fit(X[train], target[train])
                    errors.append(np.abs(target[test] - m.predict(X[test])))
            self.scores_[h] = np.concatenate(errors) if errors else np.array([])
        self.horizons_ = tuple(sorted(self.models_))
        self.half_widths_ = {}
        for h in self.horizons_:
            s = self.scores_[h] if len(self.scores_[h]) >= self.min_calibration else scaled_pool(self.scores_, h)
            if len(s) == 0:
                s = np.abs(rows["y"] - rows["y"].mean()).to_numpy()
            self.half_widths_[h] = {float(l): conformal_quantile(s, float(l)) for l in self.interval_levels}
        return self

    def to_dict(self) -> dict:
        """The fitted model as a JSON-able dict, boosters in LightGBM's text format (see HallyuForecaster)."""
        if not hasattr(self, "models_"):
            raise ModelError("This NewMarketModel is not fitted yet. Call `fit(fm)` first.")
        state = {"features_": list(self.features_), "horizons_": [int(h) for h in self.horizons_],
                 "scores_": arrays_to_json(self.scores_), "half_widths_": widths_to_json(self.half_widths_)}
        return {"format": FORMAT_VERSION, "class": type(self).__name__, "params": json_params(self.get_params()),
                "state": state, "boosters": {f"new_market/{int(h)}": booster_text(m) for h, m in self.models_.items()}}

    @classmethod
    def from_dict(cls, data: dict) -> "NewMarketModel":
        """Rebuild a fitted model from :meth:`to_dict` output."""
        if not isinstance(data, dict) or data.get("class") != cls.__name__ or data.get("format") != FORMAT_VERSION:
            raise ModelError(f"Not a serialised {cls.__name__} (format {FORMAT_VERSION}). "
                             "Retrain the model with `hallyu-forecast train`.")
        try:
            model = cls(**restore_params(data["params"]))
            st = data["state"]
            model.features_ = list(st["features_"])
            model.horizons_ = tuple(int(h) for h in st["horizons_"])
            model.models_ = {h: booster_from_text(data["boosters"][f"new_market/{h}"], f"new-market booster h{h}")
                             for h in model.horizons_}
            model.scores_ = arrays_from_json(st["scores_"])
            model.half_widths_ = widths_from_json(st["half_widths_"])
        except ModelError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise corrupt(cls.__name__, exc) from None
        return model

    def predict_arrays(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        horizon = frame["horizon"].to_numpy()
        out = {"prediction": np.full(len(frame), np.nan)}
        cols = interval_columns(self.interval_levels)
        out.update({c: np.full(len(frame), np.nan) for c in cols})
        for h, m in self.models_.items():
            mask = horizon == h
            if not mask.any():
                continue
            p = m.predict(frame.loc[mask, self.features_].to_numpy(float))
            out["prediction"][mask] = p
            for level in self.interval_levels:
                lo, hi = interval_columns([level])
                out[lo][mask] = p - self.half_widths_[h][float(level)]
                out[hi][mask] = p + self.half_widths_[h][float(level)]
        return out

    def predict(self, fm) -> pd.DataFrame:
        """Level forecasts for every row of ``fm`` (whether or not the country has history)."""
        if not hasattr(self, "models_"):
            raise ModelError("This NewMarketModel is not fitted yet. Call `fit(fm)` first.")
        frame = check_feature_matrix(fm).reset_index(drop=True)
        arrays = self.predict_arrays(frame)
        out = output_frame(frame, arrays["prediction"], self.interval_levels, "new_market")
        for c in interval_columns(self.interval_levels):
            out[c] = arrays[c]
        return out
