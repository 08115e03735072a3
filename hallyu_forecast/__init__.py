"""hallyu_forecast: forecast and explain Hallyu (Korean Wave) intensity per country and year.

The public API is small and imported lazily, so ``import hallyu_forecast`` stays fast and has
no side effects:

- :func:`load_monthly` — the monthly arrivals panel (iso3, year, month, arrivals by age group)
- :func:`load_panel` — the validated country-year panel (embedded default, works offline)
- :func:`build_features` — the leakage-safe design matrix for forecasting year t+h at origin t
- :class:`HallyuForecaster` — global LightGBM direct multi-horizon forecaster
- :func:`backtest` — rolling-origin evaluation against naive baselines
- :func:`predict` — forecasts with prediction intervals from the shipped or any MLflow model
- :func:`explain` — SHAP attributions grouped as government support vs local conditions
- :func:`hallyu_index` — the Hallyu intensity index per country-year (0-100, 80% band, basis, evidence flag)
- :func:`validate_index` — its agreement with fan clubs and surveys it never sees (Spearman, bootstrap 90%)
- :func:`drivers` — why Hallyu levels differ between countries (government support vs local conditions)
- :func:`render_report` — the analysts' self-contained HTML report
"""

from __future__ import annotations

import importlib
import inspect

from hallyu_forecast._version import __version__
from hallyu_forecast.argcheck import checked

_LAZY = {
    "load_panel": "hallyu_forecast.panel",
    "load_dictionary": "hallyu_forecast.panel",
    "load_countries": "hallyu_forecast.panel",
    "panel_metadata": "hallyu_forecast.panel",
    "build_panel": "hallyu_forecast.panel_build",
    "build_features": "hallyu_forecast.features",
    "load_feature_specs": "hallyu_forecast.features",
    "HallyuForecaster": "hallyu_forecast.forecaster",
    "backtest": "hallyu_forecast.evaluation",
    "predict": "hallyu_forecast.inference",
    "explain": "hallyu_forecast.explanation",
    "to_iso3": "hallyu_forecast.countries",
    "hallyu_index": "hallyu_forecast.index",
    "validate_index": "hallyu_forecast.index_validation",
    "load_monthly": "hallyu_forecast.monthly",
    "effects": "hallyu_forecast.causal.api",
    "simulate": "hallyu_forecast.causal.scenarios",
    "rank_levers": "hallyu_forecast.causal.scenarios",
    "drivers": "hallyu_forecast.drivers",
    "DriversModel": "hallyu_forecast.drivers_model",
    "DriversResult": "hallyu_forecast.drivers_result",
    "render_report": "hallyu_forecast.report",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        if inspect.isfunction(value):  # wrong argument types -> InputTypeError naming the argument
            value = checked(value)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hallyu_forecast' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
