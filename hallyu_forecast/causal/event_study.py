"""Staggered-adoption event studies: Callaway & Sant'Anna (2021) group-time ATTs.

Implemented here with numpy on a wide (unit x year) matrix because the estimator is a few
differences of means and the placebo needs hundreds of re-estimations: the Python ports of
Callaway & Sant'Anna (``csdid``, ``differences``) were not used, and ``pyfixest`` (installed,
0.60) offers Sun-Abraham/did2s but not the not-yet-treated comparison with a multiplier
bootstrap over every (group, time) cell at once. The estimator is checked against a hand
computation and recovers a known effect on synthetic data in ``tests/test_causal.py``.

Estimator (no covariates: unconditional parallel trends):

- ``ATT(g, t)`` = mean over units first treated in ``g`` of ``Y_t - Y_{g-1}`` minus the same
  mean over the comparison units (never treated, ``control="never"``; or never treated plus
  not yet treated by ``max(t, g-1)``, ``control="notyet"``), for units observed in both years
  (unbalanced panels are fine). The base period is always ``g - 1`` ("universal" base), so the
  pre-period cells are the pre-trends and ``e = -1`` is 0 by construction.
- Event-time effects ``theta(e)`` average ``ATT(g, g+e)`` over groups weighted by their number of
  treated units in the cell; the overall ATT averages all post cells (``0 <= e <= max_e``) the
  same way ("simple" aggregation).
- Inference: unit-level influence functions, multiplier bootstrap (Rademacher weights) drawn
  per unit, so it is clustered by country and keeps the dependence between cells; simultaneous
  (sup-t) bands over event times; pre-trend test = joint sup-t test of all ``e <= -2`` effects
  (bootstrap p-value of the largest pre-period |t|); the weights of the aggregations are treated
  as fixed. Event times with fewer than ``min_treated`` treated units are dropped.
- Placebo: the onset years are permuted across the units (treated and never-treated alike),
  the overall ATT is re-estimated, and ``placebo_p`` is the share of permutations with an
  effect at least as large in absolute value as the real one.
- Years in ``exclude_years`` (COVID 2020-2022 by default) are dropped as cells and as base
  years: they enter neither the pre nor the post period.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hallyu_forecast.conventions import COVID_YEARS
from hallyu_forecast.errors import HallyuError


class CausalError(HallyuError, ValueError):
    """Bad input to a causal estimator (lever, target, country or scenario)."""


@dataclass
class EventStudyResult:
    """Output of :func:`event_study` (all effects on the outcome's scale, e.g. log points)."""

    att: float
    se: float
    ci_lo: float
    ci_hi: float
    n_treated: int
    n_control: int
    pretrend_p: float
    placebo_p: float
    dynamic: pd.DataFrame
    cells: pd.DataFrame
    control: str
    excluded_years: tuple[int, ...]
    notes: list[str] = field(default_factory=list)


def _wide(data: pd.DataFrame, unit: str, time: str, y: str, group: str):
    frame = data[[unit, time, y, group]].copy()
    groups = frame.groupby(unit)[group].first()
    if (frame.groupby(unit)[group].nunique() > 1).any():
        raise CausalError(f"`{group}` must be constant within each `{unit}` (the onset year of the unit).")
    wide = frame.pivot_table(index=unit, columns=time, values=y, aggfunc="first")
    years = np.arange(int(frame[time].min()), int(frame[time].max()) + 1)
    wide = wide.reindex(index=groups.index, columns=years)
    return wide.to_numpy(dtype=float), groups.to_numpy(dtype=float), years, groups.index.to_numpy()


def _cells(Y, G, years, control, exclude, min_control=2):
    """Every estimable (g, t) cell: ATT, n_treated, n_control and the unit influence function."""
    n = Y.shape[0]
    col = {int(yr): i for i, yr in enumerate(years)}
    finite = np.isfinite(Y)
    out = []
    for g in np.unique(G[G > 0]):
        g = int(g)
        base = g - 1
        if base not in col or base in exclude:
            continue
        b = col[base]
        for t in years:
            t = int(t)
            if t == base or t in exclude:
                continue
            c = col[t]
            ok = finite[:, b] & finite[:, c]
            treated = ok & (G == g)
            if control == "never":
                ctrl = ok & (G == 0)
            else:
                ctrl = ok & ((G == 0) | (G > max(t, base))) & (G != g)
            nt, nc = int(treated.sum()), int(ctrl.sum())
            if nt < 1 or nc < min_control:
                continue
            dy = Y[:, c] - Y[:, b]
            mt, mc = dy[treated].mean(), dy[ctrl].mean()
            psi = np.zeros(n)
            psi[treated] = n * (dy[treated] - mt) / nt
            psi[ctrl] = -n * (dy[ctrl] - mc) / nc
            out.append((g, t, t - g, mt - mc, nt, nc, psi))
    return out


def _keep_event_times(cells, min_treated):
    """Drop event times with fewer than ``min_treated`` treated units in total (no usable variance)."""
    total: dict[int, int] = {}
    for c in cells:
        total[c[2]] = total.get(c[2], 0) + c[4]
    return [c for c in cells if total[c[2]] >= min_treated]


def _aggregate(cells, max_e):
    """Event-time and overall aggregates: dict e -> (theta, psi, n_treated), overall (theta, psi)."""
    by_e: dict[int, list] = {}
    for g, t, e, att, nt, nc, psi in cells:
        by_e.setdefault(e, []).append((att, nt, psi))
    dyn = {}
    for e, rows in sorted(by_e.items()):
        w = np.array([r[1] for r in rows], dtype=float)
        w /= w.sum()
        dyn[e] = (float(np.dot(w, [r[0] for r in rows])), sum(wi * r[2] for wi, r in zip(w, rows)),
                  int(sum(r[1] for r in rows)))
    post = [(att, nt, psi) for g, t, e, att, nt, nc, psi in cells if 0 <= e <= max_e]
    if not post:
        return dyn, None
    w = np.array([r[1] for r in post], dtype=float)
    w /= w.sum()
    overall = (float(np.dot(w, [r[0] for r in post])), sum(wi * r[2] for wi, r in zip(w, post)))
    return dyn, overall


def _overall_only(Y, G, years, control, exclude, max_e, min_treated, min_control=2):
    """The overall ATT alone, as :func:`_cells` + :func:`_keep_event_times` + the post average give it.

    Used by the placebo, which needs only the point estimate for hundreds of permuted onsets: it
    builds no influence functions and works on all years of an onset group at once (the means
    are the same up to floating-point summation order, ~1e-16).
    """
    col = {int(yr): i for i, yr in enumerate(years)}
    finite = np.isfinite(Y)
    Y0 = np.where(finite, Y, 0.0)
    e_all, att_all, nt_all = [], [], []
    for g in np.unique(G[G > 0]):
        g = int(g)
        base = g - 1
        if base not in col or base in exclude:
            continue
        b = col[base]
        ts = np.array([int(t) for t in years if int(t) != base and int(t) not in exclude])
        if not len(ts):
            continue
        cols = np.array([col[int(t)] for t in ts])
        ok = finite[:, cols] & finite[:, [b]]
        treated = ok & (G == g)[:, None]
        if control == "never":
            ctrl = ok & (G == 0)[:, None]
        else:
            ctrl = ok & ((G == 0)[:, None] | (G[:, None] > np.maximum(ts, base)[None, :])) & (G != g)[:, None]
        nt, nc = treated.sum(axis=0), ctrl.sum(axis=0)
        keep = (nt >= 1) & (nc >= min_control)
        if not keep.any():
            continue
        dy = Y0[:, cols] - Y0[:, [b]]
        with np.errstate(invalid="ignore", divide="ignore"):
            att = (dy * treated).sum(axis=0) / nt - (dy * ctrl).sum(axis=0) / nc
        e_all.append(ts[keep] - g)
        att_all.append(att[keep])
        nt_all.append(nt[keep])
    if not e_all:
        return np.nan
    e, att, nt = np.concatenate(e_all), np.concatenate(att_all), np.concatenate(nt_all).astype(float)
    # event times with too few treated units in total are dropped everywhere (as _keep_event_times)
    uniq, inverse = np.unique(e, return_inverse=True)
    total = np.bincount(inverse, weights=nt)
    post = (total[inverse] >= min_treated) & (e >= 0) & (e <= max_e)
    if not post.any():
        return np.nan
    w = nt[post]
    return float(np.dot(w / w.sum(), att[post]))


def _overall_only_reference(Y, G, years, control, exclude, max_e, min_treated):
    """The placebo statistic computed the slow, obvious way (kept for the equivalence test)."""
    cells = _keep_event_times(_cells(Y, G, years, control, exclude), min_treated)
    post = [(att, nt) for g, t, e, att, nt, nc, psi in cells if 0 <= e <= max_e]
    if not post:
        return np.nan
    w = np.array([p[1] for p in post], dtype=float)
    return float(np.dot(w / w.sum(), [p[0] for p in post]))


def event_study(
    data: pd.DataFrame,
    y: str,
    group: str,
    unit: str = "iso3",
    time: str = "year",
    control: str = "notyet",
    window: tuple[int, int] = (-6, 6),
    exclude_years=COVID_YEARS,
    n_boot: int = 999,
    n_placebo: int = 199,
    alpha: float = 0.05,
    min_pre: int = 1,
    min_treated: int = 3,
    seed: int = 0,
) -> EventStudyResult:
    """Callaway & Sant'Anna event study of a staggered binary treatment.

    Parameters
    ----------
    data : DataFrame
        Long panel with ``unit``, ``time``, outcome ``y`` (NaN = not observed) and ``group``: the
        first treated year of the unit, 0 for never treated (constant within a unit).
    control : {"notyet", "never"}
        Comparison units: never treated plus not yet treated, or never treated only.
    window : (int, int)
        Event times kept in the dynamic table, e.g. (-6, 6); the overall ATT averages e = 0..window[1].
    exclude_years : iterable of int
        Years dropped as cells and as base years (COVID by default).
    n_boot, n_placebo : int
        Multiplier-bootstrap draws and onset permutations.
    min_pre : int
        Pre-periods (e <= -2) required for a pre-trend test; fewer raises :class:`CausalError`.
    min_treated : int
        Event times with fewer treated units (summed over groups) are dropped everywhere: a cell with
        one treated unit has no treated-side variance, so its interval would be too narrow.

    Returns
    -------
    EventStudyResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> units = [f"u{i}" for i in range(40)]
    >>> onset = {u: (2005 + i % 5 if i < 20 else 0) for i, u in enumerate(units)}
    >>> rows = [(u, t, rng.normal() * 0.1 + 0.5 * (onset[u] > 0 and t >= onset[u]), onset[u])
    ...         for u in units for t in range(2000, 2015)]
    >>> synthetic = pd.DataFrame(rows, columns=["iso3", "year", "y", "g"])
    >>> res = event_study(synthetic, "y", "g", n_boot=199, n_placebo=19)
    >>> round(res.att, 1)
    0.5
    """
    if control not in ("notyet", "never"):
        raise CausalError(f"`control` must be 'notyet' or 'never'. Got {control!r}.")
    missing = [c for c in (unit, time, y, group) if c not in data.columns]
    if missing:
        raise CausalError(f"columns {missing} are missing from the event-study data; pass a long panel with them.")
    exclude = {int(v) for v in exclude_years}
    Y, G, years, units = _wide(data, unit, time, y, group)
    # Units treated before their first observed year cannot be compared to their own past.
    first_obs = np.array([years[np.isfinite(r)].min() if np.isfinite(r).any() else np.inf for r in Y])
    always = (G > 0) & (G <= first_obs)
    Y, G, units = Y[~always], G[~always], units[~always]
    cells = _keep_event_times(_cells(Y, G, years, control, exclude), min_treated)
    post = [c for c in cells if 0 <= c[2] <= window[1]]
    pre = [c for c in cells if window[0] <= c[2] <= -2]
    if not post:
        raise CausalError(
            f"target `{y}` has no estimable post-treatment cell for `{group}` (no treated unit observed in its "
            "year before onset and after it, outside the excluded years); choose a target with more years."
        )
    if len({c[2] for c in pre}) < min_pre:
        raise CausalError(
            f"target `{y}` has fewer than {min_pre} pre-treatment year(s) before the onsets of `{group}` "
            "(a pre-trend test needs them); choose a target with more years."
        )
    dyn, overall = _aggregate([c for c in cells if window[0] <= c[2] <= window[1]], window[1])
    n = Y.shape[0]
    rng = np.random.default_rng(seed)
    xi = rng.choice([-1.0, 1.0], size=(n_boot, n))
    es = sorted(dyn)
    psi_e = np.vstack([dyn[e][1] for e in es])  # (E, n)
    boot_e = xi @ psi_e.T / n  # (B, E): theta* - theta
    se_e = np.sqrt((psi_e ** 2).sum(axis=1)) / n
    se_safe = np.where(se_e > 0, se_e, np.nan)
    tmax = np.nanmax(np.abs(boot_e) / se_safe, axis=1)
    crit = float(np.nanquantile(tmax, 1 - alpha)) if np.isfinite(tmax).any() else np.nan
    theta_e = np.array([dyn[e][0] for e in es])
    dynamic = pd.DataFrame({
        "event_time": es,
        "estimate": theta_e,
        "se": se_e,
        "band_lo": theta_e - crit * se_e,
        "band_hi": theta_e + crit * se_e,
        "n_treated": [dyn[e][2] for e in es],
        "period": ["pre" if e < 0 else "post" for e in es],
    })
    # e = -1 is the base period: 0 by construction (shown so that plots have the reference point).
    ref = pd.DataFrame([{"event_time": -1, "estimate": 0.0, "se": 0.0, "band_lo": 0.0, "band_hi": 0.0,
                         "n_treated": 0, "period": "reference"}])
    dynamic = pd.concat([dynamic, ref], ignore_index=True).sort_values("event_time").reset_index(drop=True)
    att, psi = overall
    se = float(np.sqrt((psi ** 2).sum()) / n)
    from scipy import stats

    z = stats.norm.ppf(1 - alpha / 2)
    pre_idx = [i for i, e in enumerate(es) if e <= -2]
    if pre_idx:
        # Joint sup-t test of "all pre-onset effects are 0": the bootstrap distribution of the largest
        # |t| over pre-periods (robust to the near-singular covariance of overlapping pre cells, which
        # made a Wald test explode).
        t_obs = np.nanmax(np.abs(theta_e[pre_idx]) / se_safe[pre_idx])
        t_boot = np.nanmax(np.abs(boot_e[:, pre_idx]) / se_safe[pre_idx], axis=1)
        pretrend_p = float((1 + (t_boot >= t_obs).sum()) / (1 + n_boot))
    else:
        pretrend_p = np.nan
    # Placebo: permute onset labels across units (keeps the number and timing of onsets).
    perm = np.empty(n_placebo)
    for k in range(n_placebo):
        perm[k] = _overall_only(Y, rng.permutation(G), years, control, exclude, window[1], min_treated)
    perm = perm[np.isfinite(perm)]
    placebo_p = float((1 + (np.abs(perm) >= abs(att)).sum()) / (1 + len(perm))) if len(perm) else np.nan
    treated_units = {int(i) for c in post for i in np.flatnonzero(G == c[0])}
    ok_ctrl = np.isfinite(Y).any(axis=1) & (G == 0) if control == "never" else np.isfinite(Y).any(axis=1) & ~np.isin(
        np.arange(n), list(treated_units))
    cells_frame = pd.DataFrame(
        [(g, t, e, a, nt, nc) for g, t, e, a, nt, nc, _ in cells],
        columns=["group", "year", "event_time", "att", "n_treated", "n_control"],
    )
    notes = []
    if always.any():
        notes.append(f"{int(always.sum())} unit(s) treated before their first observed year dropped")
    return EventStudyResult(
        att=float(att), se=se, ci_lo=float(att - z * se), ci_hi=float(att + z * se),
        n_treated=len(treated_units), n_control=int(ok_ctrl.sum()), pretrend_p=pretrend_p, placebo_p=placebo_p,
        dynamic=dynamic, cells=cells_frame, control=control, excluded_years=tuple(sorted(exclude)), notes=notes,
    )
