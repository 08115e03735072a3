"""``hf.effects()``: the causal estimates of Korea's policy levers, optionally logged to MLflow.

The estimators live in :mod:`hallyu_forecast.causal.effects` (layer *models*); logging a result is
an artefact concern (:func:`hallyu_forecast.tracking.log_effects`); this module joins the two.
"""

from __future__ import annotations

from typing import Iterable

import pandas as pd

from hallyu_forecast.causal.effects import EffectsResult
from hallyu_forecast.causal.effects import effects as estimate_effects
from hallyu_forecast.tracking import log_effects


def effects(levers: str | Iterable[str] | None = None, targets: str | Iterable[str] | None = None, seed: int = 0,
            panel: pd.DataFrame | None = None, n_boot: int = 999, n_placebo: int = 199, dml: bool = True, track: bool = False) -> EffectsResult:
    """Causal effects of Korea's policy levers on the Hallyu targets (see
    :func:`hallyu_forecast.causal.effects.effects` for the methods and parameters).

    Parameters
    ----------
    track : bool
        Also log the result as an MLflow run of its own (kind "effects").

    Examples
    --------
    >>> import hallyu_forecast as hf
    >>> res = hf.effects(levers=["kcc"], targets=["youth_arrivals_per_capita"])  # doctest: +SKIP
    >>> res.table[["lever", "target", "estimate", "ci_lo", "ci_hi", "verdict"]]  # doctest: +SKIP
    """
    result = estimate_effects(levers=levers, targets=targets, seed=seed, panel=panel, n_boot=n_boot,
                              n_placebo=n_placebo, dml=dml)
    if track:
        log_effects(result)
    return result
