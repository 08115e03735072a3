"""Double machine learning for continuous levers (DoubleML partially linear regression).

Model: ``Y_it = theta * D_it + g(X_it) + a_i + b_t + e_it``. Country and year effects are removed
first (two-way within transformation of Y, D and X on the complete-case sample), then
``doubleml.DoubleMLPLR`` (partialling-out score) fits the nuisances with random
forests, cross-fitting with folds grouped by country (``cluster_cols=["iso3"]``: one-way cluster
sample splitting and cluster-robust standard errors).

Refutations in the spirit of ``dowhy``:

- placebo treatment: the lever's country series are reassigned at random across countries; the
  estimate should be near 0 (its p-value is reported as ``placebo_p``);
- random common cause: an independent N(0, 1) covariate is added; the estimate should not move;
- subsample: 80% of the countries, drawn at random; the estimate should stay inside the interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hallyu_forecast.causal.event_study import CausalError


@dataclass
class DMLResult:
    """Output of :func:`dml_plr` (effect of one unit of the lever, on the outcome scale)."""

    estimate: float
    se: float
    ci_lo: float
    ci_hi: float
    pval: float
    n_obs: int
    n_countries: int
    refutations: pd.DataFrame


def _within(frame: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """Two-way demeaning (country and year), iterated to convergence on the unbalanced panel."""
    out = frame.copy()
    for _ in range(50):
        before = out[cols].to_numpy().copy()
        out[cols] = out[cols] - out.groupby("iso3")[cols].transform("mean")
        out[cols] = out[cols] - out.groupby("year")[cols].transform("mean")
        if np.nanmax(np.abs(out[cols].to_numpy() - before)) < 1e-10:
            break
    return out


def _fit(frame: pd.DataFrame, y: str, d: str, x: list[str], seed: int, n_folds: int):
    import doubleml
    from sklearn.ensemble import RandomForestRegressor

    np.random.seed(seed)  # DoubleML draws its sample splits from numpy's global generator
    data = doubleml.DoubleMLData(frame[["iso3", y, d, *x]], y_col=y, d_cols=d, x_cols=x, cluster_cols="iso3")

    def learner():
        return RandomForestRegressor(n_estimators=60, min_samples_leaf=5, max_features=0.5, max_depth=10,
                                     n_jobs=1, random_state=seed)

    model = doubleml.DoubleMLPLR(data, ml_l=learner(), ml_m=learner(), n_folds=n_folds)
    model.fit()
    ci = model.confint(level=0.95)
    return float(model.coef[0]), float(model.se[0]), float(ci.iloc[0, 0]), float(ci.iloc[0, 1]), float(model.pval[0])


def dml_plr(panel: pd.DataFrame, y: str, d: str, x: list[str], seed: int = 0, n_folds: int = 5,
            refute: bool = True) -> DMLResult:
    """Partially linear DML of outcome ``y`` on lever ``d`` given covariates ``x``, two-way FE removed.

    Parameters
    ----------
    panel : DataFrame
        Long panel with iso3, year, ``y``, ``d`` and ``x`` columns; rows with any missing are dropped.
    seed : int
        Seed of the sample splits, forests and refutations.

    Returns
    -------
    DMLResult
    """
    cols = [y, d, *x]
    missing = [c for c in ["iso3", "year", *cols] if c not in panel.columns]
    if missing:
        raise CausalError(f"columns {missing} are missing from the DML data; pass panel columns.")
    frame = panel[["iso3", "year", *cols]].replace([np.inf, -np.inf], np.nan).dropna()
    n_countries = frame["iso3"].nunique()
    if n_countries < 2 * n_folds or len(frame) < 50:
        raise CausalError(
            f"only {len(frame)} complete country-years in {n_countries} countries for `{d}` on `{y}`; "
            f"DML with {n_folds} country folds needs at least {2 * n_folds} countries and 50 rows."
        )
    if frame.groupby("iso3")[d].std().fillna(0).max() == 0:
        raise CausalError(f"`{d}` never changes within a country, so country effects absorb it; it cannot be "
                          "estimated with the within transformation (use a time-varying lever).")
    raw_sd = float(frame[d].std())
    # Only the outcome and the lever are demeaned: the nuisance learners see the raw covariates, because
    # demeaning a nonlinear confounder (g(x) - mean g(x) is not a function of x - mean x) biases the fit.
    frame = _within(frame, [y, d])
    # A lever that is (nearly) a country constant plus a common trend, such as years of diplomatic ties
    # established before the panel starts (year - start year), is absorbed by the two-way effects.
    if not raw_sd > 0 or float(frame[d].std()) < 1e-3 * raw_sd:
        raise CausalError(f"`{d}` is absorbed by the country and year effects (no within variation left: "
                          f"it grows by one a year in every country); it cannot be estimated this way.")
    est, se, lo, hi, p = _fit(frame, y, d, x, seed, n_folds)
    rows = []
    if refute:
        rng = np.random.default_rng(seed)
        countries = frame["iso3"].unique()
        # Placebo: give each country another country's (demeaned) lever series, aligned by year.
        shuffled = dict(zip(countries, rng.permutation(countries)))
        donor = frame.set_index(["iso3", "year"])[d]
        key = pd.MultiIndex.from_arrays([frame["iso3"].map(shuffled), frame["year"]])
        placebo = frame.assign(**{d: donor.reindex(key).to_numpy()}).dropna(subset=[d])
        pe, ps, plo, phi, pp = _fit(placebo, y, d, x, seed, n_folds)
        rows.append(("placebo_treatment", pe, plo, phi, pp, "estimate should be near 0"))
        rc = frame.assign(random_cause=rng.normal(size=len(frame)))
        re_, rs, rlo, rhi, rp = _fit(rc, y, d, [*x, "random_cause"], seed, n_folds)
        rows.append(("random_common_cause", re_, rlo, rhi, rp, "estimate should not move"))
        keep = rng.choice(countries, size=int(round(0.8 * len(countries))), replace=False)
        sub = frame[frame["iso3"].isin(keep)]
        se_, ss, slo, shi, sp = _fit(sub, y, d, x, seed, n_folds)
        rows.append(("subsample_80pct_countries", se_, slo, shi, sp, "estimate should stay inside the interval"))
    refutations = pd.DataFrame(rows, columns=["refutation", "estimate", "ci_lo", "ci_hi", "pval", "expectation"])
    return DMLResult(est, se, lo, hi, p, len(frame), n_countries, refutations)
