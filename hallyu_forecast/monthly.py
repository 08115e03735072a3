"""The monthly arrivals panel, month-aware features, the recovery rule and in-year nowcasts.

The KTO table is monthly; the annual panel keeps only complete calendar years. This module keeps
the months:

* :func:`load_monthly` -- one row per observed (iso3, year, month): arrivals by age group, their
  sum, and the official total where tourists.csv has it (2010-2017). Built by
  :func:`build_monthly` from the same loader as the annual panel
  (:mod:`hallyu_forecast.sources.kto_arrivals`) and shipped as ``data/monthly.parquet``.

  - **Partial years** are kept month by month (``months_in_year`` says how many months the
    country has in that year); the annual panel, in contrast, gives them no annual value.
  - **COVID months** (2020-2022) are kept as data; the rules below detect them as a shock.
  - Absent KOSIS cells are zeros (as in the annual loader); a month is observed when the
    country has any age cell in it.

* **Normal years and shocks** (:func:`normal_years`): a complete year is *normal* when none of
  its quarters is below half of the same quarter of the previous normal year (the first
  complete year is normal; a reference older than ``MAX_REFERENCE_AGE`` years is replaced, so a
  permanent fall eventually becomes the new normal). A *shock month* is a month below half of
  the same month of the last normal year before it. Everything is computed from months up to
  the year in question, so it is causal.

* **Month-aware features** at an annual origin (December of year t), see
  :func:`annual_month_features`.

* **Recovery** (:func:`recovery_forecast`): from a (year, month) origin, each future month is the
  same month of the last normal year, moved by the pooled annual drift, times
  ``exp(gap0 * rho ** k)`` where ``gap0`` is the log ratio of the last three months to the same
  months of the last normal year and ``k`` the months ahead; ``rho`` (monthly persistence of
  the gap) is estimated from data known at the origin (:func:`estimate_gap_persistence`).

* **Nowcasts** (:func:`nowcast`): the current year's total from January..m, divided by the share
  of January..m in the last normal years (seasonal shares known at the origin); in a year after
  a shock the remaining months come from the recovery rule instead.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from hallyu_forecast.errors import ConfigError, DataError
from hallyu_forecast.panel import _embedded
from hallyu_forecast.sources import resolve_data_dir
from hallyu_forecast.sources.kto_arrivals import _monthly

AGE_COLUMNS = {
    "0-20": "arrivals_0_20", "21-30": "arrivals_21_30", "31-40": "arrivals_31_40",
    "41-50": "arrivals_41_50", "51-60": "arrivals_51_60", "61+": "arrivals_61_plus",
}
MONTHLY_COLUMNS = ["iso3", "year", "month", *AGE_COLUMNS.values(), "arrivals_0_30", "arrivals_age_sum",
                   "arrivals_total", "months_in_year"]
SHOCK_RATIO = 0.5          # below half of the normal level: a collapse, not noise
MAX_REFERENCE_AGE = 5      # years; an older "last normal year" is replaced (a permanent fall is the new normal)
SHARE_YEARS = 3            # normal years averaged for the seasonal shares of a nowcast
EMBEDDED = "monthly.parquet"


# --------------------------------------------------------------------------- the data product
def build_monthly(data_dir: str | Path | None = None) -> pd.DataFrame:
    """Build the monthly arrivals panel from the raw ``kto_arrivals`` files.

    Parameters
    ----------
    data_dir : path, optional
        Raw-data mirror (default ``HALLYU_DATA_DIR``); reads ``<data_dir>/kto_arrivals``.

    Returns
    -------
    DataFrame
        ``MONTHLY_COLUMNS``, one row per observed (iso3, year, month), sorted.
    """

    root = resolve_data_dir(data_dir)
    tidy = _monthly(root / "kto_arrivals")
    keys = ["iso3", "year", "month"]
    ages = (tidy[tidy["age"] != "Total"].pivot_table(index=keys, columns="age", values="visitors", aggfunc="sum")
            .reindex(columns=list(AGE_COLUMNS)).fillna(0.0).rename(columns=AGE_COLUMNS))
    out = ages.copy()
    out["arrivals_0_30"] = out["arrivals_0_20"] + out["arrivals_21_30"]
    out["arrivals_age_sum"] = ages.sum(axis=1)
    total = tidy[tidy["age"] == "Total"].groupby(keys)["visitors"].sum()
    out["arrivals_total"] = total.reindex(out.index)
    out = out.reset_index()
    out["months_in_year"] = out.groupby(["iso3", "year"])["month"].transform("nunique")
    out[MONTHLY_COLUMNS[3:]] = out[MONTHLY_COLUMNS[3:]].astype("float64")
    out["year"] = out["year"].astype("int64")
    out["month"] = out["month"].astype("int64")
    out["iso3"] = out["iso3"].astype(str)
    out.columns.name = None
    return out[MONTHLY_COLUMNS].sort_values(keys).reset_index(drop=True)


def write_monthly(frame: pd.DataFrame, dest: str | Path | None = None) -> Path:
    """Write the monthly panel to ``dest`` (a folder; default the package's data folder)."""
    dest = Path(dest) if dest is not None else Path(str(resources.files("hallyu_forecast.data").joinpath(EMBEDDED))).parent
    dest.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(dest / EMBEDDED, index=False, compression="zstd")
    return dest / EMBEDDED


def load_monthly(path: str | Path | None = None) -> pd.DataFrame:
    """The monthly arrivals panel (embedded default, or a parquet written by ``data build``).

    One row per observed (iso3, year, month): arrivals by KTO age group (``arrivals_0_20`` ...
    ``arrivals_61_plus``), ``arrivals_0_30``, ``arrivals_age_sum`` (sum of the six groups),
    ``arrivals_total`` (official total incl. unknown age, 2010-2017 only) and ``months_in_year``.

    Examples
    --------
    >>> import hallyu_forecast as hf
    >>> m = hf.load_monthly()
    >>> m[(m.iso3 == "JPN") & (m.year == 2019)][["month", "arrivals_0_30"]].head(3)  # doctest: +SKIP
    """

    source = Path(path) if path is not None else _embedded(EMBEDDED)
    try:
        with source.open("rb") as fh:
            return pd.read_parquet(fh)
    except FileNotFoundError:
        raise DataError(f"Monthly panel {source} not found. Run `hallyu-forecast data build` "
                        "or reinstall the package.") from None


# ------------------------------------------------------------------------------ building blocks
def wide(monthly: pd.DataFrame, column: str = "arrivals_0_30") -> pd.DataFrame:
    """(iso3, year) x months 1..12 of ``column`` (NaN for unobserved months)."""
    if column not in monthly.columns:
        raise ConfigError(f"`{column}` is not a column of the monthly panel; use one of {MONTHLY_COLUMNS[3:-1]}.")
    out = monthly.pivot_table(index=["iso3", "year"], columns="month", values=column, aggfunc="sum")
    out = out.reindex(columns=range(1, 13))
    out.columns = list(range(1, 13))
    return out.sort_index()


def _quarters(values: np.ndarray) -> np.ndarray:
    return values.reshape(4, 3).sum(axis=1)  # NaN if any month is missing


def normal_years(monthly_wide: pd.DataFrame) -> dict[str, list[int]]:
    """Complete years that are *normal* per country (see the module docstring); causal."""
    out: dict[str, list[int]] = {}
    codes = monthly_wide.index.get_level_values("iso3")
    years = monthly_wide.index.get_level_values("year").to_numpy()
    values = monthly_wide.to_numpy(float)
    # one pass over numpy rows per country (the rule is sequential: each year is compared with the
    # last normal one), not pandas rows: iterrows made every year-month origin cost seconds (issue 16)
    complete = ~np.isnan(values).any(axis=1)
    quarters = values.reshape(len(values), 4, 3).sum(axis=2)
    for iso3, rows in pd.Series(np.arange(len(values))).groupby(codes, sort=False):
        normal, last, last_q = [], None, None
        for i in rows.to_numpy():
            if not complete[i]:
                continue
            year, q = int(years[i]), quarters[i]
            if last is None or year - last > MAX_REFERENCE_AGE or not (q < SHOCK_RATIO * last_q).any():
                normal.append(year)
                last, last_q = year, q
        out[str(iso3)] = normal
    return out


def _last_normal_before(normal: list[int], year: int) -> int | None:
    before = [y for y in normal if y < year]
    return before[-1] if before else None


def _log_ratio(a, b):
    return np.log((np.asarray(a, float) + 1.0) / (np.asarray(b, float) + 1.0))


def annual_month_features(monthly: pd.DataFrame, column: str = "arrivals_0_30") -> pd.DataFrame:
    """Month-aware features known in December of each year ``t`` (one row per iso3, year).

    Columns
    -------
    q4_yoy
        log of October-December of t over October-December of t-1.
    h2_vs_h1
        log(H2/H1) of t minus log(H2/H1) of t-1: the in-year turn net of the country's seasonality.
    months_since_shock
        months from the first month of the most recent shock run to December t (NaN: no shock seen).
    q4_gap_to_normal
        log of October-December of t over the same months of the last normal year before t.

    Each value uses months of years <= t only (``+1`` inside the logs keeps zero months finite).
    """
    w = wide(monthly, column)
    normal = normal_years(w)
    rows = []
    for iso3, part in w.groupby(level="iso3", sort=False):
        years = part.index.get_level_values("year").to_numpy()
        values = {int(y): part.loc[(iso3, y)].to_numpy(float) for y in years}
        onset, in_shock = None, False
        for year in sorted(values):
            v = values[year]
            prev = values.get(year - 1)
            ref_year = _last_normal_before(normal[str(iso3)], year)
            ref = values.get(ref_year) if ref_year is not None else None
            # shock runs, month by month, against the last normal year before this one
            if ref is not None:
                for m in range(12):
                    if np.isnan(v[m]):
                        continue
                    shock = v[m] < SHOCK_RATIO * ref[m]
                    if shock:
                        if onset is None or not in_shock:
                            onset = (year, m + 1)
                        in_shock = True
                    else:
                        in_shock = False
            else:
                in_shock = False
            q4, h1, h2 = v[9:12].sum(), v[0:6].sum(), v[6:12].sum()
            row = {"iso3": str(iso3), "year": year, "q4_yoy": np.nan, "h2_vs_h1": np.nan,
                   "months_since_shock": np.nan, "q4_gap_to_normal": np.nan}
            if prev is not None:
                row["q4_yoy"] = float(_log_ratio(q4, prev[9:12].sum()))
                row["h2_vs_h1"] = float(_log_ratio(h2, h1) - _log_ratio(prev[6:12].sum(), prev[0:6].sum()))
            if ref is not None:
                row["q4_gap_to_normal"] = float(_log_ratio(q4, ref[9:12].sum()))
            if onset is not None:
                row["months_since_shock"] = float(12 * year + 12 - (12 * onset[0] + onset[1]))
            rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------- origins
def parse_origin(origin) -> tuple[int, int]:
    """``"2022-06"`` -> (2022, 6); raises :class:`ConfigError` naming the format otherwise."""
    match = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", str(origin))
    if not match:
        raise ConfigError(f"A year-month `origin` must read 'YYYY-MM' (e.g. '2022-06'). Got {origin!r}.")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise ConfigError(f"The month of `origin` must be between 1 and 12. Got {month} in {origin!r}.")
    return year, month


def check_origin(monthly: pd.DataFrame, year: int, month: int, countries) -> None:
    """Refuse a year-month origin the monthly data cannot answer (clear errors naming the fix)."""
    stamp = monthly["year"] * 12 + monthly["month"]
    last = int(stamp.max())
    if year * 12 + month > last:
        ly, lm = divmod(last - 1, 12)
        raise ConfigError(f"`origin` {year}-{month:02d} is after the last observed month ({ly}-{lm + 1:02d}); "
                          f"use an origin up to {ly}-{lm + 1:02d}.")
    have = set(monthly["iso3"])
    lacking = [c for c in countries if c not in have]
    if lacking:
        raise ConfigError(f"No monthly arrivals for {lacking}; a year-month origin needs monthly data. "
                          "Use an annual origin (e.g. origin=2022) for these countries.")
    sub = monthly[monthly["iso3"].isin(list(countries)) & (monthly["year"] == year) & (monthly["month"] <= month)]
    counts = sub.groupby("iso3")["month"].nunique().reindex(list(countries), fill_value=0)
    partial = counts[counts < month]
    if len(partial):
        raise ConfigError(f"Months January..{month:02d} of {year} are not all observed for {list(partial.index)} "
                          f"(partial months); use an earlier origin or an annual origin.")


# -------------------------------------------------------------------------------------- recovery
def _truncate(monthly: pd.DataFrame, year: int, month: int) -> pd.DataFrame:
    return monthly[monthly["year"] * 12 + monthly["month"] <= year * 12 + month]


def _gaps(w: pd.DataFrame, normal: dict[str, list[int]]) -> pd.DataFrame:
    """Monthly log gap of every month to the same month of the last normal year before its year."""
    codes = w.index.get_level_values("iso3").astype(str).to_numpy()
    years = w.index.get_level_values("year").to_numpy().astype(int)
    values = w.to_numpy(float)
    row_of = {(c, int(y)): i for i, (c, y) in enumerate(zip(codes, years))}
    ref_rows = np.full(len(values), -1)
    for i, (iso3, year) in enumerate(zip(codes, years)):
        ref_year = _last_normal_before(normal.get(iso3, []), int(year))
        if ref_year is not None:
            ref_rows[i] = row_of.get((iso3, ref_year), -1)
    keep = np.flatnonzero(ref_rows >= 0)
    gap = _log_ratio(values[keep], values[ref_rows[keep]])  # rows x 12, row-major as before
    r, m = np.nonzero(np.isfinite(gap))
    return pd.DataFrame({"iso3": codes[keep][r], "stamp": years[keep][r] * 12 + m, "gap": gap[r, m]},
                        columns=["iso3", "stamp", "gap"])


def estimate_gap_persistence(monthly: pd.DataFrame, year: int, month: int, rate: str = "recent",
                             column: str = "arrivals_0_30") -> float:
    """Monthly persistence ``rho`` of gaps to the last normal year, from data known at the origin.

    ``rate="recent"``: pooled AR(1) (no intercept) of the gaps over the 12 months up to the origin.
    ``rate="past"``: pooled AR(1) of the gaps of earlier shocks (months before 2020 whose previous
    month was at least 30% below normal: MERS 2015, THAAD 2017...), how fast past shortfalls closed.
    Clipped to [0, 1].
    """
    if rate not in ("recent", "past"):
        raise ConfigError(f"`rate` must be 'recent' or 'past'. Got {rate!r}.")
    known = _truncate(monthly, year, month)
    w = wide(known, column)
    gaps = _gaps(w, normal_years(w)).sort_values(["iso3", "stamp"])
    gaps["prev"] = gaps.groupby("iso3")["gap"].shift(1)
    gaps = gaps[gaps.groupby("iso3")["stamp"].diff() == 1]
    if rate == "recent":
        stamp = year * 12 + month - 1
        gaps = gaps[gaps["stamp"] > stamp - 12]
    else:
        gaps = gaps[(gaps["stamp"] < 2020 * 12) & (gaps["prev"] < np.log(0.7))]
    x, y = gaps["prev"].to_numpy(), gaps["gap"].to_numpy()
    if len(x) < 10 or float(x @ x) == 0:
        return 0.9  # too few shock months to estimate; a slow default, stated in the docstring
    return float(np.clip((x @ y) / (x @ x), 0.0, 1.0))


def recovery_forecast(monthly: pd.DataFrame, year: int, month: int, target_years, drift: float = 0.0,
                      rho: float | None = None, rate: str = "recent", column: str = "arrivals_0_30",
                      countries=None) -> pd.DataFrame:
    """Full-year totals of ``target_years`` from a (year, month) origin with each country's own path.

    Returns
    -------
    DataFrame
        iso3, target_year, log_total (log of the forecast calendar-year total of ``column``),
        known_months (months of the target year already observed at the origin), gap0, rho,
        reference_year (last normal year).
    """
    known = _truncate(monthly, year, month)
    if countries is not None:
        known = known[known["iso3"].isin(list(countries))]
    if rho is None:
        rho = estimate_gap_persistence(monthly, year, month, rate=rate, column=column)
    w = wide(known, column)
    normal = normal_years(w)
    origin_stamp = year * 12 + month - 1
    rows = []
    for iso3, part in w.groupby(level="iso3", sort=False):
        # reference: the last normal year that is complete at the origin
        ref_year = _last_normal_before(normal[str(iso3)], year + (1 if month == 12 else 0))
        if ref_year is None:
            continue
        ref = part.loc[(iso3, ref_year)].to_numpy(float)
        recent = []
        for k in range(3):
            y_, m_ = divmod(origin_stamp - k, 12)
            if (iso3, y_) in part.index:
                recent.append((part.loc[(iso3, y_)].to_numpy(float)[m_], ref[m_]))
        recent = [(a, b) for a, b in recent if np.isfinite(a)]
        if not recent:
            continue
        gap0 = float(_log_ratio(sum(a for a, _ in recent), sum(b for _, b in recent)))
        for target in target_years:
            total, n_known = 0.0, 0
            for m in range(12):
                stamp = target * 12 + m
                if stamp <= origin_stamp:
                    value = part.loc[(iso3, target)].to_numpy(float)[m] if (iso3, target) in part.index else np.nan
                    if not np.isfinite(value):
                        total = np.nan
                        break
                    total += value
                    n_known += 1
                else:
                    k = stamp - origin_stamp
                    total += (ref[m] + 1.0) * np.exp(drift * (target - ref_year) + gap0 * rho ** k) - 1.0
            rows.append({"iso3": str(iso3), "target_year": int(target), "log_total": float(np.log(max(total, 1.0))),
                         "known_months": n_known, "gap0": gap0, "rho": float(rho), "reference_year": ref_year})
    return pd.DataFrame(rows, columns=["iso3", "target_year", "log_total", "known_months", "gap0", "rho",
                                       "reference_year"])


# -------------------------------------------------------------------------------------- nowcasts
def seasonal_share(w: pd.DataFrame, normal: dict[str, list[int]], iso3: str, year: int, month: int,
                   years: int = SHARE_YEARS) -> float:
    """Mean share of January..``month`` in the annual total over the last ``years`` normal years before ``year``."""
    refs = [y for y in normal.get(iso3, []) if y < year][-years:]
    shares = []
    for ref in refs:
        v = w.loc[(iso3, ref)].to_numpy(float)
        if v.sum() > 0:
            shares.append(v[:month].sum() / v.sum())
    return float(np.mean(shares)) if shares else np.nan


def nowcast(monthly: pd.DataFrame, year: int, month: int, countries=None, column: str = "arrivals_0_30",
            share_years: int = SHARE_YEARS, drift: float = 0.0, rate: str = "recent") -> pd.DataFrame:
    """Forecast the calendar-year total of ``year`` from January..``month`` (known at the origin).

    After a normal year the total is the year-to-date sum over the mean seasonal share of
    January..month in the last ``share_years`` normal years; after a shock (the last normal year is
    older than ``year - 1``) the remaining months follow :func:`recovery_forecast`.

    Returns
    -------
    DataFrame
        iso3, year, month, ytd, log_total, method ("seasonal_share" or "recovery").
    """
    if not 1 <= int(month) <= 12:
        raise ConfigError(f"`month` must be between 1 and 12. Got {month}.")
    known = _truncate(monthly, year, month)
    if countries is not None:
        known = known[known["iso3"].isin(list(countries))]
    w = wide(known, column)
    normal = normal_years(w)
    rows, shocked = [], []
    for iso3 in w.index.get_level_values("iso3").unique():
        if (iso3, year) not in w.index:
            continue
        v = w.loc[(iso3, year)].to_numpy(float)[:month]
        if np.isnan(v).any():
            continue
        ytd = float(v.sum())
        last = _last_normal_before(normal[str(iso3)], year)
        if last is None:
            continue
        if last < year - 1:
            shocked.append(str(iso3))
            continue
        share = seasonal_share(w, normal, str(iso3), year, month, share_years)
        total = ytd / share if share and share > 0 else np.nan
        rows.append({"iso3": str(iso3), "year": year, "month": month, "ytd": ytd,
                     "log_total": float(np.log(total)) if total and total > 0 else np.nan,
                     "method": "seasonal_share"})
    if shocked:
        rec = recovery_forecast(monthly, year, month, [year], drift=drift, rate=rate, column=column,
                                countries=shocked)
        for r in rec.itertuples(index=False):
            ytd = float(w.loc[(r.iso3, year)].to_numpy(float)[:month].sum())
            rows.append({"iso3": r.iso3, "year": year, "month": month, "ytd": ytd, "log_total": r.log_total,
                         "method": "recovery"})
    return pd.DataFrame(rows, columns=["iso3", "year", "month", "ytd", "log_total", "method"])


def naive_nowcast(monthly: pd.DataFrame, year: int, month: int, column: str = "arrivals_0_30") -> pd.DataFrame:
    """The naive rule: same months as last year scaled to last year's total (YTD / YTD_{t-1} x total_{t-1})."""
    w = wide(_truncate(monthly, year, month), column)
    rows = []
    for iso3 in w.index.get_level_values("iso3").unique():
        if (iso3, year) not in w.index or (iso3, year - 1) not in w.index:
            continue
        now, prev = w.loc[(iso3, year)].to_numpy(float), w.loc[(iso3, year - 1)].to_numpy(float)
        if np.isnan(now[:month]).any() or np.isnan(prev).any() or prev[:month].sum() <= 0:
            continue
        total = now[:month].sum() / prev[:month].sum() * prev.sum()
        rows.append({"iso3": str(iso3), "year": year, "month": month,
                     "log_total": float(np.log(total)) if total > 0 else np.nan})
    return pd.DataFrame(rows, columns=["iso3", "year", "month", "log_total"])


def backtest_nowcast(monthly: pd.DataFrame | None = None, years=range(2011, 2020), months=range(1, 12),
                     column: str = "arrivals_0_30", share_years: int = SHARE_YEARS) -> pd.DataFrame:
    """Nowcast errors (log of the annual total) for every month m of every given year, vs the naive rule.

    Returns
    -------
    DataFrame
        iso3, year, month, actual, nowcast, naive (log totals) -- errors are ``nowcast - actual``.
    """
    monthly = load_monthly() if monthly is None else monthly
    w = wide(monthly, column)
    actual = w.dropna().sum(axis=1)
    parts = []
    for year in years:
        for month in months:
            a = nowcast(monthly, year, month, column=column, share_years=share_years)
            b = naive_nowcast(monthly, year, month, column=column)
            both = a[["iso3", "year", "month", "log_total"]].rename(columns={"log_total": "nowcast"}).merge(
                b.rename(columns={"log_total": "naive"}), on=["iso3", "year", "month"], how="inner")
            parts.append(both)
    if not parts:
        return pd.DataFrame(columns=["iso3", "year", "month", "actual", "nowcast", "naive"])
    out = pd.concat(parts, ignore_index=True)
    truth = np.log(actual.where(actual > 0)).rename("actual").reset_index()
    out = out.merge(truth, on=["iso3", "year"], how="inner")
    return out.dropna(subset=["actual", "nowcast", "naive"])[["iso3", "year", "month", "actual", "nowcast", "naive"]]
