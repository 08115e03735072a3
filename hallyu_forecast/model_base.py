"""What the forecasting models share: training rows, pooled drift, conformal quantiles, the prediction
frame, LightGBM parameters, and the JSON format of fitted models (nothing is pickled).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from hallyu_forecast.conventions import COVID_YEARS, check_horizons
from hallyu_forecast.errors import DataError, ModelError

KEY_COLUMNS = ("iso3", "origin", "horizon", "target_year", "y", "y_origin")


# ------------------------------------------------------------------------------ shared helpers
def check_feature_matrix(fm, name: str = "fm") -> pd.DataFrame:
    """Validate a FeatureMatrix-like object; return its frame."""
    frame = getattr(fm, "frame", None)
    if not isinstance(frame, pd.DataFrame) or not hasattr(fm, "features"):
        raise DataError(f"`{name}` must be a FeatureMatrix from hallyu_forecast.build_features(). "
                        f"Got {type(fm).__name__}.")
    missing = [c for c in KEY_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"`{name}.frame` lacks column(s) {missing}; build it with build_features().")
    if len(frame):
        check_horizons(pd.unique(frame["horizon"]).tolist())
    return frame


def training_rows(frame: pd.DataFrame, exclude_covid_targets: bool = True,
                  covid_years=COVID_YEARS) -> pd.DataFrame:
    """Rows usable for training: known target, and not a COVID target year if excluded."""
    keep = frame["y"].notna()
    if exclude_covid_targets:
        keep &= ~frame["target_year"].isin(list(covid_years))
    return frame[keep]


def pooled_drift(rows: pd.DataFrame, estimator: str = "mean") -> float:
    """Pooled mean (or median) yearly change of the target in ``rows`` (horizon-1 rows; else change / h)."""
    ok = rows["y"].notna() & rows["y_origin"].notna()
    one = rows[ok & (rows["horizon"] == 1)]
    if len(one):
        change = one["y"] - one["y_origin"]
    elif ok.any():
        change = (rows.loc[ok, "y"] - rows.loc[ok, "y_origin"]) / rows.loc[ok, "horizon"]
    else:
        return 0.0
    return float(change.median() if estimator == "median" else change.mean())


def observed_levels(frame: pd.DataFrame) -> pd.DataFrame:
    """Every known (iso3, year, y) in a feature frame: ``y_origin`` at origins and ``y`` at target years."""
    a = frame[["iso3", "origin", "y_origin"]].rename(columns={"origin": "year", "y_origin": "y"})
    b = frame[["iso3", "target_year", "y"]].rename(columns={"target_year": "year"})
    out = pd.concat([a, b], ignore_index=True).dropna(subset=["y"])
    return out.drop_duplicates(["iso3", "year"]).sort_values(["iso3", "year"]).reset_index(drop=True)


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """Split-conformal quantile: the ceil((n+1) level)-th smallest score (the largest if n is small)."""
    scores = np.sort(np.asarray(scores, dtype="float64"))
    n = len(scores)
    if n == 0:
        return float("nan")
    k = math.ceil((n + 1) * level)
    return float(scores[min(k, n) - 1])


def interval_columns(levels) -> list[str]:
    cols = []
    for level in levels:
        tag = f"{level * 100:g}".replace(".", "_")
        cols += [f"lower_{tag}", f"upper_{tag}"]
    return cols


def output_frame(frame: pd.DataFrame, prediction, levels, model) -> pd.DataFrame:
    """The common prediction frame of forecasters and baselines (intervals NaN unless filled)."""
    out = frame[["iso3", "origin", "horizon", "target_year"]].reset_index(drop=True).copy()
    out["prediction"] = np.asarray(prediction, dtype="float64")
    for col in interval_columns(levels):
        out[col] = np.nan
    out["model"] = model
    return out


# The LightGBM hyper-parameters of the forecasting models and their defaults (HallyuForecaster's
# __init__ defaults; tests/test_forecaster.py checks they agree), mapped to LightGBM's names once here.
LGBM_DEFAULTS = dict(n_estimators=150, learning_rate=0.03, num_leaves=4, max_depth=2, min_child_samples=30,
                     subsample=0.8, subsample_freq=1, colsample_bytree=0.5, reg_lambda=5.0, reg_alpha=0.0,
                     min_split_gain=0.0, objective="huber", huber_delta=0.15, random_state=0, n_jobs=1)


def lgbm_params(hyper: dict, overrides: dict | None = None) -> dict:
    """LightGBM keyword arguments from ``hyper`` (the keys of ``LGBM_DEFAULTS``), seeded and deterministic."""
    names = ("n_estimators", "learning_rate", "num_leaves", "max_depth", "min_child_samples", "subsample",
             "subsample_freq", "colsample_bytree", "reg_lambda", "reg_alpha", "min_split_gain")
    params = {k: hyper[k] for k in names}
    params["objective"] = {"l2": "regression", "l1": "regression_l1", "huber": "huber"}[hyper["objective"]]
    if hyper["objective"] == "huber":
        params["alpha"] = float(hyper["huber_delta"])
    params.update(overrides or {})
    params.update(random_state=int(hyper["random_state"]), n_jobs=int(hyper["n_jobs"]), deterministic=True,
                  force_row_wise=True, verbose=-1)
    return params


def corrupt(name: str, exc: Exception) -> ModelError:
    """The one error for a serialised model that cannot be read back (missing keys, wrong types)."""
    return ModelError(f"The serialised {name} is incomplete or corrupt ({type(exc).__name__}: {str(exc)[:120]}). "
                      "Retrain the model with `hallyu-forecast train`.")


def scaled_pool(residuals: dict[int, np.ndarray], h: int) -> np.ndarray:
    parts = [np.abs(r) * math.sqrt(h / k) for k, r in residuals.items() if len(r)]
    return np.concatenate(parts) if parts else np.array([])


# ------------------------------------------------------------------------------ serialisation
# Fitted models are stored as JSON-able dicts plus LightGBM's own text format for every booster
# (``to_dict``/``from_dict``); nothing is pickled, so loading a model folder never runs code.
FORMAT_VERSION = 1


_TUPLE_PARAMS = ("interval_levels", "covid_years")


def booster_text(model) -> str:
    """LightGBM text format of a fitted LGBMRegressor or Booster."""
    booster = getattr(model, "booster_", model)
    return booster.model_to_string()


def booster_from_text(text: str, what: str):
    import lightgbm as lgb

    if not isinstance(text, str) or not text.startswith("tree"):
        raise ModelError(f"{what} is not a LightGBM text model. Retrain the model with `hallyu-forecast train`.")
    try:
        return lgb.Booster(model_str=text)
    except Exception as exc:  # LightGBMError on a truncated or edited file
        raise ModelError(f"{what} is not a valid LightGBM model ({str(exc)[:120]}). "
                         "Retrain the model with `hallyu-forecast train`.") from None


def json_default(value):
    """``json.dumps(default=...)`` for result files: numpy scalars and arrays as numbers, anything else as text."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def json_params(params: dict) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()}


def restore_params(params: dict) -> dict:
    return {k: (tuple(v) if k in _TUPLE_PARAMS and isinstance(v, list) else v) for k, v in params.items()}


def arrays_to_json(arrays: dict) -> dict:
    return {str(int(h)): [float(x) for x in np.asarray(a, dtype="float64")] for h, a in arrays.items()}


def arrays_from_json(data: dict) -> dict:
    return {int(h): np.asarray(v, dtype="float64") for h, v in data.items()}


def widths_to_json(widths: dict) -> dict:
    return {str(int(h)): {repr(float(level)): float(w) for level, w in d.items()} for h, d in widths.items()}


def widths_from_json(data: dict) -> dict:
    return {int(h): {float(level): float(w) for level, w in d.items()} for h, d in data.items()}


def frame_to_json(frame: pd.DataFrame) -> dict:
    return {"columns": list(frame.columns), "dtypes": [str(t) for t in frame.dtypes],
            "data": {c: frame[c].tolist() for c in frame.columns}}


def frame_from_json(data: dict) -> pd.DataFrame:
    frame = pd.DataFrame({c: data["data"][c] for c in data["columns"]}, columns=data["columns"])
    for c, t in zip(data["columns"], data["dtypes"]):
        if t in ("float64", "int64", "bool"):
            frame[c] = frame[c].astype(t)
    return frame
