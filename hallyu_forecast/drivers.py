"""``hf.drivers()``: why Hallyu levels differ between countries, from the stored result or fitted now.

The model and its decomposition live in :mod:`hallyu_forecast.drivers_model`, the result object in
:mod:`hallyu_forecast.drivers_result` and the fitting in :mod:`hallyu_forecast.drivers_fit` (layer
*models*); this module is the public face (layer *api*): it finds the result a model bundle keeps
(the shipped model computes it at training time), and fits anew only for what the bundle lacks or
when the caller changes a setting. The public names of those modules are re-exported here, so
``from hallyu_forecast import drivers as drv; drv.DriversModel`` keeps working.
"""

from __future__ import annotations

import sys
import types
from typing import Iterable

import pandas as pd

from hallyu_forecast.argcheck import checked
from hallyu_forecast.bundle import DEFAULT_MODEL_DIR
from hallyu_forecast.bundle_parts import has_drivers, load_drivers, save_drivers  # noqa: F401 - re-exported
from hallyu_forecast.drivers_fit import (  # noqa: F401 - re-exported (see the docstring)
    check_no_horizon,
    compare_new_markets,
    domain_table,
    fit_drivers,
    fit_target,
)
from hallyu_forecast.drivers_model import (  # noqa: F401 - re-exported (see the docstring)
    BOOT_REPS,
    DEFAULT_TARGETS,
    DRIVER_ROLES,
    EXCLUDED_FEATURES,
    ROLE_LABELS,
    SPLIT_DEFINITION,
    TRADE_FEATURES,
    VARIANTS,
    DriversModel,
    candidate_features,
    cross_validate,
    decompose,
    driver_rows,
)
from hallyu_forecast.drivers_result import (  # noqa: F401 - re-exported (see the docstring)
    DriversResult,
)
from hallyu_forecast.errors import ModelError
from hallyu_forecast.inference import resolve_model


def _stored_drivers(model) -> DriversResult:
    bundle = resolve_model(model)
    found = getattr(bundle, "drivers", None)
    if not found:
        raise ModelError("This model has no drivers part. Retrain it with `hallyu-forecast train` (which fits the "
                         "drivers model), or call hf.drivers() without `model=` to fit it now.")
    return found


def run(target: str | Iterable[str] | None = None, *, panel: pd.DataFrame | None = None, folds: int = 5,
        n_refits: int = 25, level: float = 0.9, seed: int = 0, bootstrap_reps: int = BOOT_REPS,
        model=None, horizon=None, skip_small: bool | None = None) -> DriversResult:
    """Why Hallyu levels differ between countries, per target: accuracy, split, levers, countries.

    Parameters are those of :func:`hallyu_forecast.drivers_fit.fit_drivers`, plus:

    model : optional
        A model bundle (folder, ModelBundle or MLflow URI) whose drivers part (computed at training
        time) is returned instead of fitting anew. Default: the shipped model's drivers part when
        it has one and every other argument is at its default; otherwise the models are fitted now.

    Raises
    ------
    ModelError
        ``horizon`` given; ``model`` without a drivers part.

    Examples
    --------
    >>> import hallyu_forecast as hf
    >>> result = hf.drivers("youth_arrivals_per_capita")      # the shipped model's stored result
    >>> print(result.format_country("VNM"))                     # doctest: +SKIP
    """
    check_no_horizon(horizon)
    defaults = (folds, n_refits, level, seed, bootstrap_reps) == (5, 25, 0.9, 0, BOOT_REPS)
    if model is None and panel is None and defaults and has_drivers(DEFAULT_MODEL_DIR):
        model = DEFAULT_MODEL_DIR  # the shipped model keeps the result computed at training time
    stored = _stored_drivers(model) if model is not None else None
    return fit_drivers(target, panel=panel, folds=folds, n_refits=n_refits, level=level, seed=seed,
                       bootstrap_reps=bootstrap_reps, stored=stored, skip_small=skip_small)


class _CallableModule(types.ModuleType):
    """``hallyu_forecast.drivers`` is the module *and* ``hf.drivers()``: calling it calls :func:`run`.

    The package exposes ``hf.drivers(...)`` lazily, but importing this submodule makes
    ``hallyu_forecast.drivers`` the module (Python sets the attribute on the parent package), so
    the module itself must be callable for both spellings to work in any import order.
    """

    def __call__(self, *args, **kwargs) -> DriversResult:
        return _checked_run(*args, **kwargs)  # wrong argument types -> InputTypeError naming the argument


_checked_run = checked(run)
sys.modules[__name__].__class__ = _CallableModule
_CallableModule.__call__.__doc__ = run.__doc__
drivers = sys.modules[__name__]
