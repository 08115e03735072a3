"""Conventions every layer shares: the forecast horizons and the COVID years.

They live below every other module (no imports from the package but ``errors``), so that the
forecaster, the baselines, the drivers model, the index and the causal estimators can use them
without importing the experiment configuration (``config`` imports the forecaster, not the reverse).
"""

from __future__ import annotations

import numbers
from typing import Iterable

from hallyu_forecast.errors import ConfigError

HORIZONS = (1, 2, 3)
# 2020-2022: borders closed and reopened; models exclude them as targets by default, event studies
# exclude them from post periods, and the index drops arrivals in them.
COVID_YEARS = (2020, 2021, 2022)


def check_horizons(horizons: Iterable[int], name: str = "horizon") -> tuple[int, ...]:
    """Validate forecast horizons (each must be 1, 2 or 3); return them sorted and unique.

    Examples
    --------
    >>> check_horizons([3, 1, 1])
    (1, 3)
    """
    out = []
    for h in horizons:
        if isinstance(h, bool) or not isinstance(h, numbers.Integral):
            raise ConfigError(f"`{name}` must be 1, 2 or 3. Got {h!r}.")
        if int(h) not in HORIZONS:
            raise ConfigError(f"`{name}` must be 1, 2 or 3. Got {int(h)}.")
        out.append(int(h))
    if not out:
        raise ConfigError(f"`{name}` must be 1, 2 or 3. Got nothing.")
    return tuple(sorted(set(out)))
