"""The drivers model on the Hallyu index with the index's own uncertainty carried into its intervals.

The index is an estimate (posterior mean and sd of a latent factor, :mod:`hallyu_forecast.index`), so
an answer about what drives it must include how unsure the index itself is. :func:`index_draws` draws
plausible indices from the posterior (``100 * Phi(m + sd * e)``, one ``e ~ N(0, 1)`` per country and
draw: a country's years share the same measurement error, which is the conservative choice for a
cross-country answer), and :func:`drivers_on_index_draws` refits the drivers model of levels on each
draw and pools the shares by Rubin's rules: total variance = mean within-draw variance (from each
fit's 90% refit interval) + (1 + 1/M) x the between-draw variance of the shares.

Only published index values are drawn (the panel's ``hallyu_index`` column); the answer therefore
covers the countries and years the index publishes (2016-2020, the Spotify years, on the shipped panel).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from hallyu_forecast.drivers import run as run_drivers
from hallyu_forecast.errors import ConfigError, DataError
from hallyu_forecast.panel import load_panel

Z90 = 1.6448536269514722


def index_draws(panel: pd.DataFrame | None = None, n_draws: int = 20, seed: int = 0) -> list[pd.DataFrame]:
    """``n_draws`` copies of the panel whose ``hallyu_index`` is a draw from the index's posterior."""
    panel = load_panel() if panel is None else panel
    if isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) or n_draws < 2:
        raise ConfigError(f"`n_draws` must be an integer greater than 1. Got {n_draws!r}.")
    missing = [c for c in ("hallyu_index", "hallyu_index_sd") if c not in panel]
    if missing:
        raise DataError(f"The panel lacks column(s) {missing}; rebuild it with `hallyu-forecast data build`.")
    rng = np.random.default_rng(seed)
    m = norm.ppf(np.clip(panel["hallyu_index"].to_numpy(dtype="float64") / 100, 1e-12, 1 - 1e-12))
    sd = panel["hallyu_index_sd"].to_numpy(dtype="float64")
    codes, country = np.unique(panel["iso3"].to_numpy(), return_inverse=True)
    out = []
    for _ in range(n_draws):
        e = rng.standard_normal(len(codes))[country]
        draw = panel.copy()
        draw["hallyu_index"] = np.where(panel["hallyu_index"].notna(), 100 * norm.cdf(m + sd * e), np.nan)
        out.append(draw)
    return out


def drivers_on_index_draws(panel: pd.DataFrame | None = None, n_draws: int = 20, n_refits: int = 10,
                           seed: int = 0) -> pd.DataFrame:
    """Local vs government shares of the index's cross-country spread, with the index's uncertainty.

    Returns
    -------
    DataFrame
        One row per role coding variant and role: ``share`` (fit on the published index), ``lo``/``hi``
        (its 90% refit interval, index taken as known), ``pooled_share``, ``pooled_lo``/``pooled_hi``
        (90%, Rubin's rules over ``n_draws`` draws of the index), ``between_draw_sd``, ``n_draws``.

    Examples
    --------
    >>> from hallyu_forecast.index_draws import drivers_on_index_draws
    >>> drivers_on_index_draws(n_draws=5, n_refits=5)  # doctest: +SKIP
    """
    panel = load_panel() if panel is None else panel
    base = _split(run_drivers("hallyu_index", panel=panel, n_refits=n_refits, seed=seed))
    draws = [_split(run_drivers("hallyu_index", panel=d, n_refits=n_refits, seed=seed)) for d in
             index_draws(panel, n_draws, seed)]
    stacked = pd.concat([d.assign(draw=i) for i, d in enumerate(draws)])
    keys = ["variant", "role"]
    g = stacked.groupby(keys)
    within = g.apply(lambda d: (((d["hi"] - d["lo"]) / (2 * Z90)) ** 2).mean(), include_groups=False)
    between = g["share"].var(ddof=1)
    pooled = g["share"].mean()
    total_sd = np.sqrt(within + (1 + 1 / n_draws) * between)
    out = base.set_index(keys)[["share", "lo", "hi"]].join(pd.DataFrame({
        "pooled_share": pooled, "pooled_lo": pooled - Z90 * total_sd, "pooled_hi": pooled + Z90 * total_sd,
        "between_draw_sd": np.sqrt(between), "n_draws": n_draws}))
    return out.reset_index()


def _split(result) -> pd.DataFrame:
    split = result.frames["split"]
    split = split[split["target"] == "hallyu_index"]  # every role coding the result carries (trade both ways)
    return split[["variant", "role", "share", "lo", "hi"]].reset_index(drop=True)
