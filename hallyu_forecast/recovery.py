"""A recovery model learned from past shock episodes, and its leave-one-episode-out backtest.

For an origin month ``o`` (year ``Y``, month ``m``) inside a shock episode or within 12 months after
its end (:mod:`hallyu_forecast.episodes`), next year's calendar total (``T = Y + 1``) is::

    g0        = log(last three months / the same months of the reference year)   # the newest gap
    log A_T   = log A_ref + drift * (T - ref) + c * g0                         # c: the gap left after a year

``A`` are calendar-year totals of the monthly series (``log(x + 1)``), ``ref`` the episode's
pre-shock reference year, ``drift`` the pooled median yearly log change of the complete years
known at the origin (COVID years left out). The remaining share of the gap ``c`` is learned
from the *training points*: the same calendar month ``m`` of every year inside or just after
every episode that **ended before the origin**, whose target year is complete at the origin,
each with its newest gap ``g0`` and the realised next-year gap ``G``. Default
(``estimator="share"``): ``c`` = median of ``G / g0`` clipped to [0, 1], predictive sd
``sqrt((g0 sd_share)^2 + noise^2)``; ``estimator="ls"``: least-squares slope of ``G`` on ``g0``,
sd ``sqrt(s^2 + g0^2 se_c^2)`` (:func:`fit_closing`). Normal 80%/95% intervals. With fewer than
``MIN_POINTS`` training points ``c`` falls back to 0.5 with sd ``|g0| / 2`` (stated; the first
episodes in the data have nothing earlier to learn from).

Everything is computed from the monthly data cut at the origin (episodes are found again on it),
so no month after the origin can change a forecast (a test perturbs them).

Comparators in :func:`backtest_episodes` (same rows, same scale): ``back`` (the pre-shock level
``log A_ref``), ``stay`` (the origin year's total ``log A_Y``), ``gap_stays`` (``c = 1``) and
``anchor``, the forecaster's annual COVID rule with the episode's reference year in place of 2019:
``y_ref + (T - ref) drift + rho (y_Y - y_ref - (Y - ref) drift)``, ``rho`` the pooled AR(1) of
pre-2020 annual deviations from each country's mean plus the drift path, from years known at the
origin (as ``HallyuForecaster._estimate_rho``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hallyu_forecast.conventions import COVID_YEARS
from hallyu_forecast.episodes import find_episodes, stamp_of
from hallyu_forecast.errors import ConfigError
from hallyu_forecast.evaluation import bootstrap_ratio
from hallyu_forecast.monthly import load_monthly, wide

MIN_POINTS = 3           # training points below which c falls back to FALLBACK_C
MIN_GAP = 0.1            # points with a smaller gap carry no information on the share that closes
ESTIMATORS = ("share", "ls")
FALLBACK_C = 0.5         # half the gap left after a year: a stated prior, used only without past episodes
AFTER_MONTHS = 12        # an origin up to 12 months after an episode's end is "just after" it
Z = {0.8: 1.2815515655446004, 0.95: 1.959963984540054}   # normal quantiles of the intervals
METHODS = ("recovery", "back", "stay", "gap_stays", "anchor")
FORECAST_COLUMNS = ["iso3", "episode", "origin", "target_year", "reference_year", "g0", "c", "se_c", "s", "sd",
                    "prediction", "lower", "upper", "lower_95", "upper_95", "n_points", "n_episodes", "fallback",
                    "back", "stay", "gap_stays", "anchor", "rho", "drift"]


def _annual(w: pd.DataFrame) -> pd.Series:
    """log(calendar-year total + 1) of complete years, indexed by (iso3, year)."""
    full = w.dropna()
    return np.log(full.sum(axis=1) + 1.0)


def _gap(w: pd.DataFrame, iso3: str, stamp: int, ref_year: int) -> float:
    """log of the three months ending at ``stamp`` over the same months of ``ref_year``."""
    now = before = 0.0
    for s in (stamp - 2, stamp - 1, stamp):
        y, m = divmod(s, 12)
        if (iso3, y) not in w.index or (iso3, ref_year) not in w.index:
            return np.nan
        a, b = w.loc[(iso3, y)].iloc[m], w.loc[(iso3, ref_year)].iloc[m]
        if not (np.isfinite(a) and np.isfinite(b)):
            return np.nan
        now, before = now + a, before + b
    return float(np.log((now + 1.0) / (before + 1.0)))


def pooled_drift(annual: pd.Series, last_year: int) -> float:
    """Median yearly log change of complete years up to ``last_year`` (COVID years on neither side)."""
    a = annual.rename("y").reset_index()
    a = a[a["year"] <= last_year].sort_values(["iso3", "year"])
    a["prev"] = a.groupby("iso3")["y"].shift(1)
    ok = (a.groupby("iso3")["year"].diff() == 1) & ~a["year"].isin(COVID_YEARS) & ~(a["year"] - 1).isin(COVID_YEARS)
    change = (a["y"] - a["prev"])[ok]
    return float(change.median()) if len(change) else 0.0


def annual_rho(annual: pd.Series, last_year: int, drift: float) -> float:
    """Pooled AR(1) of pre-2020 annual deviations from country mean + drift path (the anchor rule's rho)."""
    lv = annual.rename("y").reset_index()
    lv = lv[(lv["year"] <= last_year) & (lv["year"] < min(COVID_YEARS))].copy()
    if lv.empty:
        return 0.5
    lv["d"] = lv["y"] - drift * lv["year"]
    lv["d"] -= lv.groupby("iso3")["d"].transform("mean")
    lv = lv.sort_values(["iso3", "year"])
    prev = lv.groupby("iso3")["d"].shift(1)
    consecutive = lv.groupby("iso3")["year"].diff() == 1
    x, y = prev[consecutive].to_numpy(), lv.loc[consecutive, "d"].to_numpy()
    if len(x) < 10 or float(x @ x) == 0:
        return 0.5
    return float(np.clip((x @ y) / (x @ x), 0.0, 1.0))


def _origins_of(episode, month: int, last_stamp: int) -> list[int]:
    """Origin stamps at calendar ``month`` inside or up to AFTER_MONTHS after ``episode``."""
    start = int(episode.onset_stamp)
    stop = int(episode.end_stamp) + AFTER_MONTHS if np.isfinite(episode.end_stamp) else last_stamp
    stop = min(stop, last_stamp)
    return [s for s in range(start, stop + 1) if s % 12 == month - 1]


def training_points(monthly_known: pd.DataFrame, origin_stamp: int, month: int, column: str = "arrivals_0_30",
                    exclude: tuple[str, ...] = ()) -> pd.DataFrame:
    """(episode, origin, g0, G) of every episode ended before ``origin_stamp``, at calendar ``month``.

    ``monthly_known`` must already be cut at the origin; ``G`` needs the target year complete in it.
    ``exclude``: episode ids left out (the backtest's held-out episode).
    """
    w = wide(monthly_known, column)
    annual = _annual(w)
    drift = pooled_drift(annual, origin_stamp // 12)
    eps = find_episodes(monthly_known, column=column)
    eps = eps[eps["end_stamp"].notna() & (eps["end_stamp"] < origin_stamp) & ~eps["episode"].isin(list(exclude))]
    rows = []
    for ep in eps.itertuples(index=False):
        for s in _origins_of(ep, month, origin_stamp):
            target = s // 12 + 1
            if (ep.iso3, target) not in annual.index or (ep.iso3, ep.reference_year) not in annual.index:
                continue
            g0 = _gap(w, ep.iso3, s, ep.reference_year)
            if not np.isfinite(g0):
                continue
            ref = ep.reference_year
            big = annual[(ep.iso3, target)] - annual[(ep.iso3, ref)] - drift * (target - ref)  # the gap left
            rows.append({"episode": ep.episode, "iso3": ep.iso3, "origin_stamp": s, "g0": g0, "G": float(big)})
    return pd.DataFrame(rows, columns=["episode", "iso3", "origin_stamp", "g0", "G"])


def fit_closing(points: pd.DataFrame, estimator: str = "share", noise: float = 0.0) -> dict:
    """Remaining share of the gap ``c`` and the predictive sd's parts, from training points.

    ``estimator="share"`` (default): ``c`` is the median over points of ``G / g0`` (points with
    ``|g0| >= MIN_GAP``), clipped to [0, 1]; the sd of a forecast is
    ``sqrt((g0 * sd_share)^2 + noise^2)`` (``sd_share`` the sd of the shares, ``noise`` the sd of
    normal yearly changes): the error grows with the gap. ``estimator="ls"`` (the first
    specification, kept for comparison): least-squares slope of ``G`` on ``g0`` without intercept,
    unclipped, sd ``sqrt(s^2 + g0^2 se_c^2)``.
    """
    if estimator not in ESTIMATORS:
        raise ConfigError(f"`estimator` must be one of {list(ESTIMATORS)}. Got {estimator!r}.")
    n = len(points)
    episodes = int(points["episode"].nunique()) if n else 0
    fallback = {"c": FALLBACK_C, "se_c": np.nan, "s": np.nan, "sd_share": 0.5, "noise": noise, "n_points": n,
                "n_episodes": episodes, "fallback": True, "estimator": estimator}
    x, y = points["g0"].to_numpy(float), points["G"].to_numpy(float)
    if estimator == "share":
        keep = np.abs(x) >= MIN_GAP
        if keep.sum() < MIN_POINTS:
            return fallback
        share = y[keep] / x[keep]
        return {**fallback, "c": float(np.clip(np.median(share), 0.0, 1.0)), "sd_share": float(np.std(share, ddof=1)),
                "fallback": False}
    sxx = float(x @ x)
    if n < MIN_POINTS or sxx == 0:
        return fallback
    c = float(x @ y / sxx)
    resid = y - c * x
    s = float(np.sqrt(resid @ resid / max(n - 1, 1)))
    return {**fallback, "c": c, "se_c": s / np.sqrt(sxx), "s": s, "fallback": False}


def forecast_sd(fit: dict, g0: float) -> float:
    """Predictive sd of a forecast with newest gap ``g0`` (see :func:`fit_closing`)."""
    if fit["fallback"]:
        return float(np.hypot(abs(g0) / 2.0, fit["noise"]))  # half the gap either way: the prior's spread
    if fit["estimator"] == "share":
        return float(np.hypot(g0 * fit["sd_share"], fit["noise"]))
    return float(np.sqrt(fit["s"] ** 2 + (g0 * fit["se_c"]) ** 2))


def normal_noise(annual: pd.Series, last_year: int) -> float:
    """sd of yearly log changes of complete years up to ``last_year`` before 2020 (normal-year noise)."""
    a = annual.rename("y").reset_index()
    a = a[(a["year"] <= last_year) & (a["year"] < min(COVID_YEARS))].sort_values(["iso3", "year"])
    change = a.groupby("iso3")["y"].diff()[a.groupby("iso3")["year"].diff() == 1]
    return float(change.std()) if len(change) > 2 else 0.15


def _check_origin(origin) -> tuple[int, int]:
    if isinstance(origin, bool):
        raise ConfigError(f"`origin` must be a year or 'YYYY-MM'. Got {origin!r}.")
    if isinstance(origin, (int, np.integer)):
        return int(origin), 12  # an annual origin Y is December of Y
    text = str(origin).strip()
    parts = text.split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or not 1 <= int(parts[1]) <= 12:
        raise ConfigError(f"`origin` must be a year or 'YYYY-MM' (e.g. '2021-12'). Got {origin!r}.")
    return int(parts[0]), int(parts[1])


def recovery_forecast(origin, monthly: pd.DataFrame | None = None, countries=None, column: str = "arrivals_0_30",
                      exclude: tuple[str, ...] = (), estimator: str = "share") -> pd.DataFrame:
    """Next calendar year's total for countries inside or just after a shock episode at ``origin``.

    Parameters
    ----------
    origin : int or str
        A year (December of that year) or ``"YYYY-MM"``.
    monthly : DataFrame, optional
        The monthly panel (default :func:`hallyu_forecast.monthly.load_monthly`); cut at the origin here.
    countries : list of str, optional
        ISO3 codes (default every country in or just after an episode at the origin).
    exclude : tuple of str
        Episode ids never used as training episodes.
    estimator : {"share", "ls"}
        How ``c`` and its uncertainty are estimated (:func:`fit_closing`).

    Returns
    -------
    DataFrame
        iso3, episode, origin, target_year, reference_year, g0, c, se_c, s, sd, prediction
        (log(total + 1) of ``column`` in the target year), lower, upper (80%), lower_95, upper_95,
        n_points, n_episodes (training points and episodes behind ``c``), fallback, and the
        comparators back, stay, gap_stays, anchor (module docstring).
    """
    year, month = _check_origin(origin)
    monthly = load_monthly() if monthly is None else monthly
    stamp = stamp_of(year, month)
    known = monthly[monthly["year"] * 12 + monthly["month"] - 1 <= stamp]
    if known.empty:
        raise ConfigError(f"No monthly data up to the origin {year}-{month:02d}; use a later origin.")
    w = wide(known, column)
    annual = _annual(w)
    drift = pooled_drift(annual, year)
    rho = annual_rho(annual, year, drift)
    fit = fit_closing(training_points(known, stamp, month, column=column, exclude=exclude), estimator,
                      noise=normal_noise(annual, year))
    eps = find_episodes(known, column=column)
    live = eps[(eps["onset_stamp"] <= stamp)
               & (eps["end_stamp"].isna() | (eps["end_stamp"] + AFTER_MONTHS >= stamp))]
    if countries is not None:
        live = live[live["iso3"].isin(list(countries))]
    live = live.sort_values("onset_stamp").groupby("iso3").tail(1)  # the newest episode per country
    rows = []
    target = year + 1
    for ep in live.itertuples(index=False):
        ref = int(ep.reference_year)
        if (ep.iso3, ref) not in annual.index:
            continue
        g0 = _gap(w, ep.iso3, stamp, ref)
        if not np.isfinite(g0):
            continue
        base = float(annual[(ep.iso3, ref)]) + drift * (target - ref)
        sd = forecast_sd(fit, g0)
        pred = base + fit["c"] * g0
        y_origin = float(annual.get((ep.iso3, year), np.nan)) if month == 12 else np.nan
        anchor = base + rho * (y_origin - float(annual[(ep.iso3, ref)]) - drift * (year - ref))
        rows.append({"iso3": ep.iso3, "episode": ep.episode, "origin": f"{year}-{month:02d}", "target_year": target,
                     "reference_year": ref, "g0": g0, "c": fit["c"], "se_c": fit["se_c"], "s": fit["s"], "sd": sd,
                     "prediction": pred, "lower": pred - Z[0.8] * sd, "upper": pred + Z[0.8] * sd,
                     "lower_95": pred - Z[0.95] * sd, "upper_95": pred + Z[0.95] * sd,
                     "n_points": fit["n_points"], "n_episodes": fit["n_episodes"], "fallback": fit["fallback"],
                     "back": float(annual[(ep.iso3, ref)]), "stay": y_origin, "gap_stays": base + g0,
                     "anchor": anchor, "rho": rho, "drift": drift})
    return pd.DataFrame(rows, columns=FORECAST_COLUMNS)


# --------------------------------------------------------------------------------- backtest
def backtest_episodes(monthly: pd.DataFrame | None = None, column: str = "arrivals_0_30",
                      estimator: str = "share") -> pd.DataFrame:
    """Leave-one-episode-out: each episode's next years from December origins, earlier episodes only.

    The origins of an episode are the Decembers from its onset year to 12 months after its end (or
    the last observed month) whose next calendar year is complete in the data. At each origin the
    model sees the data cut there (so only episodes that ended before it) and never the held-out
    episode itself.

    Returns
    -------
    DataFrame
        one row per (episode, origin): the :func:`recovery_forecast` columns plus ``actual``.
    """
    monthly = load_monthly() if monthly is None else monthly
    w = wide(monthly, column)
    annual = _annual(w)
    last = int((monthly["year"] * 12 + monthly["month"] - 1).max())
    eps = find_episodes(monthly, column=column)
    parts = []
    for ep in eps.itertuples(index=False):
        for s in _origins_of(ep, 12, last):
            target = s // 12 + 1
            if (ep.iso3, target) not in annual.index:
                continue
            out = recovery_forecast(f"{s // 12}-12", monthly, countries=[ep.iso3], column=column,
                                    exclude=(ep.episode,), estimator=estimator)
            out = out[out["episode"] == ep.episode]  # the episode as seen at the origin (same onset)
            if out.empty:
                continue
            parts.append(out.assign(actual=float(annual[(ep.iso3, target)]), event=ep.event or "other",
                                    recovery=out["prediction"]))
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True)


def score_backtest(bt: pd.DataFrame, reps: int = 1000) -> pd.DataFrame:
    """RMSE of every method and its ratio to each comparator, with 95% episode-bootstrap intervals.

    Rows: all origins and per event group; ratios are RMSE(recovery) / RMSE(comparator), episodes
    resampled with replacement (:func:`hallyu_forecast.evaluation.bootstrap_ratio`).
    """
    rows = []
    groups = [("all", bt)] + [(name, g) for name, g in bt.groupby("event", sort=False)]
    for name, g in groups:
        g = g.dropna(subset=[*METHODS, "actual"])
        if g.empty:
            continue
        row = {"rows": name, "n": len(g), "episodes": g["episode"].nunique()}
        err = {m: g["actual"] - g[m] for m in METHODS}
        for m in METHODS:
            row[f"rmse_{m}"] = float(np.sqrt((err[m] ** 2).mean()))
        for m in METHODS[1:]:
            ratio, lo, hi = bootstrap_ratio(err["recovery"], err[m], g["episode"], reps=reps)
            row[f"vs_{m}"] = ratio
            row[f"vs_{m}_lo"], row[f"vs_{m}_hi"] = lo, hi
        for lv, (lo, hi) in {0.8: ("lower", "upper"), 0.95: ("lower_95", "upper_95")}.items():
            row[f"coverage_{lv * 100:g}"] = float(((g["actual"] >= g[lo]) & (g["actual"] <= g[hi])).mean())
        row["width_80"] = float((g["upper"] - g["lower"]).median())  # coverage means little without the width
        rows.append(row)
    return pd.DataFrame(rows)


def coverage_per_episode(bt: pd.DataFrame) -> pd.DataFrame:
    """Per episode: origins scored, share of actuals inside the 80% and 95% intervals, mean error."""
    tmp = bt.assign(in80=(bt["actual"] >= bt["lower"]) & (bt["actual"] <= bt["upper"]),
                    in95=(bt["actual"] >= bt["lower_95"]) & (bt["actual"] <= bt["upper_95"]),
                    error=bt["actual"] - bt["prediction"])
    return (tmp.groupby(["episode", "event"], sort=False)
            .agg(origins=("origin", "size"), coverage_80=("in80", "mean"), coverage_95=("in95", "mean"),
                 mean_error=("error", "mean"), c=("c", "mean")).reset_index())
