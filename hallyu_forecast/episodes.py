"""Shock episodes in the monthly arrivals panel, found by one stated rule.

The rule (all thresholds are module constants, stated in :func:`find_episodes`):

* Each month of a country is compared with the **same month of its reference year**: the last
  complete *normal* year before it (a year with no episode month in it). During an episode the
  reference stays fixed at the year before the shock, so recovery is measured against the
  pre-shock level, not against the shock itself.
* **Onset**: the first of at least ``MIN_MONTHS`` (3) consecutive months below ``BELOW`` (70%) of
  the same months of the reference year. Months whose reference value is under ``MIN_LEVEL``
  (50 arrivals) are not judged (tiny series are noise).
* **Trough**: the month of the lowest ratio between onset and end; ``depth`` is 1 minus that
  ratio (0.9: a 90% fall).
* **End**: the first month from the onset's third month on whose trailing three months (the
  month and the two before it) are back within ``RECOVERED`` (90%) of the same three months of
  the reference year (three months, so one good month in a still-depressed season does not end it).
* An episode not recovered within ``MAX_OPEN_YEARS`` (3) years of its reference year is closed as
  a ``"new normal"`` in the January after (China's 2017 fall closes in 2020-01); the last complete
  year then becomes the reference of the months after it. An episode still open at the last
  observed month is ``"ongoing"``.

Everything is causal: whether month ``t`` is in an episode depends only on months up to ``t``
(a test checks that cutting the data at a month never changes the episodes seen before it,
except that an episode then open becomes "ongoing").

Examples
--------
>>> from hallyu_forecast.episodes import find_episodes
>>> find_episodes()[["iso3", "onset", "trough", "end", "depth", "status"]].head()  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hallyu_forecast.errors import ConfigError
from hallyu_forecast.monthly import load_monthly, wide

BELOW = 0.7            # a month below 70% of the same month of the reference year is "below"
MIN_MONTHS = 3         # consecutive below months that make an episode (one bad month is noise)
RECOVERED = 0.9        # the trailing three months back within 10% of the reference: recovered
MIN_LEVEL = 50.0       # reference months under 50 arrivals are not judged
MAX_OPEN_YEARS = 3     # an episode unrecovered this many years after its reference year is a new normal

EPISODE_COLUMNS = ["episode", "iso3", "event", "reference_year", "onset", "trough", "end", "months",
                   "depth", "trough_ratio", "status", "onset_stamp", "trough_stamp", "end_stamp"]

#: Named events by onset window (year-month, inclusive). Only labels: episodes are found by the rule
#: above, never by these dates. MERS: Korea's outbreak of May-July 2015; China: the group-tour ban
#: of March 2017; COVID: border closures from February 2020.
EVENTS = (
    ("MERS 2015", (2015, 5), (2015, 9)),
    ("China 2017", (2017, 2), (2017, 7)),
    ("COVID 2020", (2020, 1), (2020, 12)),
)


def stamp_of(year: int, month: int) -> int:
    """Months since year 0 (``12 * year + month - 1``): consecutive months differ by 1."""
    return 12 * int(year) + int(month) - 1


def month_text(stamp) -> str:
    """``"YYYY-MM"`` of a month stamp (empty for a missing one)."""
    if stamp is None or (isinstance(stamp, float) and not np.isfinite(stamp)):
        return ""
    year, m = divmod(int(stamp), 12)
    return f"{year}-{m + 1:02d}"


def _event(stamp: int) -> str:
    for name, start, end in EVENTS:
        if stamp_of(*start) <= stamp <= stamp_of(*end):
            return name
    return ""


def _check(value: float, name: str, low: float, high: float) -> None:
    if not low < value < high:
        raise ConfigError(f"`{name}` must be between {low} and {high} (exclusive). Got {value}.")


def _country_episodes(iso3: str, series: pd.DataFrame, below: float, recovered: float, min_months: int,
                      min_level: float, max_open_years: int) -> list[dict]:
    """Episodes of one country; ``series`` is its (year x 1..12) block of :func:`wide`."""
    values = {int(y): row.to_numpy(float) for y, row in series.iterrows()}
    complete = {y for y, v in values.items() if not np.isnan(v).any()}
    months = sorted(stamp_of(y, m + 1) for y, v in values.items() for m in range(12) if np.isfinite(v[m]))
    value = {s: values[s // 12][s % 12] for s in months}
    episodes: list[dict] = []
    touched: set[int] = set()        # years with an episode month: not normal
    normal: list[int] = []           # complete normal years, in order
    run: list[int] = []              # current run of below months (before an episode starts)
    open_ep: dict | None = None
    floor = -1                       # after a "new normal" close, only years after it may be references
    for s in months:
        year = s // 12
        # a year becomes a possible reference once it is complete and untouched (known in its
        # December); a year holding the months of a pending run waits until the run breaks
        pending = {t // 12 for t in run}
        for y in sorted(complete):
            if (floor < y < year and y not in touched and y not in pending and y not in normal
                    and (not normal or y > normal[-1])):
                normal.append(y)
        if open_ep is not None:
            ref = values[open_ep["reference_year"]]
            ratio = (value[s] + 1.0) / (ref[s % 12] + 1.0)
            if ratio < open_ep["trough_ratio"]:
                open_ep.update(trough_ratio=float(ratio), trough_stamp=s)
            touched.add(year)
            trail = [t for t in (s - 2, s - 1, s) if t in value]
            if s - open_ep["onset_stamp"] >= 2 and len(trail) == 3:
                now = sum(value[t] for t in trail)
                before = sum(ref[t % 12] for t in trail)
                if (now + 1.0) / (before + 1.0) >= recovered:
                    open_ep.update(end_stamp=s, status="recovered")
                    episodes.append(open_ep)
                    open_ep = None
                    continue
            if year - open_ep["reference_year"] > max_open_years:
                open_ep.update(end_stamp=s, status="new normal")
                episodes.append(open_ep)
                open_ep = None
                # the level of the last complete year is the new normal: it becomes the reference
                if year - 1 in complete:
                    normal.append(year - 1)
                floor = year - 2
            continue
        refs = [y for y in normal if floor < y < year]
        if not refs:
            run = []
            continue
        ref_year = refs[-1]
        ref_value = values[ref_year][s % 12]
        if ref_value < min_level:
            run = []
            continue
        ratio = (value[s] + 1.0) / (ref_value + 1.0)
        if ratio < below and (not run or run[-1] == s - 1):
            run.append(s)
        elif ratio < below:
            run = [s]
        else:
            run = []
        if len(run) >= min_months:
            onset = run[0]
            ref = values[ref_year]
            ratios = {t: (value[t] + 1.0) / (ref[t % 12] + 1.0) for t in run}
            trough = min(ratios, key=ratios.get)
            open_ep = {"iso3": iso3, "reference_year": ref_year, "onset_stamp": onset, "trough_stamp": trough,
                       "trough_ratio": float(ratios[trough]), "end_stamp": np.nan, "status": "ongoing"}
            touched.update(t // 12 for t in run)
            run = []
    if open_ep is not None:
        episodes.append(open_ep)
    return episodes


def find_episodes(monthly: pd.DataFrame | None = None, column: str = "arrivals_0_30", below: float = BELOW,
                  recovered: float = RECOVERED, min_months: int = MIN_MONTHS, min_level: float = MIN_LEVEL,
                  max_open_years: int = MAX_OPEN_YEARS) -> pd.DataFrame:
    """Shock episodes of every country, as a tidy table (one row per episode).

    Parameters
    ----------
    monthly : DataFrame, optional
        The monthly panel (:func:`hallyu_forecast.monthly.load_monthly`, the default), or any frame
        with iso3, year, month and ``column``.
    column : str
        The monthly series (default youth arrivals, ages 0-30: the default target's numerator).
    below, recovered, min_months, min_level, max_open_years
        The rule's thresholds (module docstring); defaults ``BELOW`` = 0.7, ``RECOVERED`` = 0.9,
        ``MIN_MONTHS`` = 3, ``MIN_LEVEL`` = 50, ``MAX_OPEN_YEARS`` = 3.

    Returns
    -------
    DataFrame
        episode ("ISO3 YYYY-MM" of the onset), iso3, event (a label by onset window: "MERS 2015",
        "China 2017", "COVID 2020" or ""), reference_year (the pre-shock normal year), onset,
        trough, end ("YYYY-MM"; end empty while ongoing), months (onset to end, or to the last
        observed month), depth (1 - trough ratio), trough_ratio, status ("recovered", "ongoing",
        "new normal") and the month stamps (``12 * year + month - 1``) of onset, trough and end.
    """
    _check(below, "below", 0.0, 1.0)
    _check(recovered, "recovered", 0.0, 1.5)
    if isinstance(min_months, bool) or not isinstance(min_months, (int, np.integer)) or min_months < 1:
        raise ConfigError(f"`min_months` must be a whole number >= 1. Got {min_months!r}.")
    monthly = load_monthly() if monthly is None else monthly
    w = wide(monthly, column)
    rows = []
    for iso3, part in w.groupby(level="iso3", sort=True):
        block = part.droplevel("iso3")
        rows += _country_episodes(str(iso3), block, below, recovered, int(min_months), min_level,
                                  int(max_open_years))
    out = pd.DataFrame(rows, columns=["iso3", "reference_year", "onset_stamp", "trough_stamp", "trough_ratio",
                                      "end_stamp", "status"])
    if out.empty:
        return pd.DataFrame(columns=EPISODE_COLUMNS)
    last_country = monthly.assign(s=monthly["year"] * 12 + monthly["month"] - 1).groupby("iso3")["s"].max()
    stop = out["end_stamp"].where(out["end_stamp"].notna(), out["iso3"].map(last_country))
    out["months"] = (stop - out["onset_stamp"]).astype(int) + out["end_stamp"].isna().astype(int)
    out["depth"] = 1.0 - out["trough_ratio"]
    out["onset"] = out["onset_stamp"].map(month_text)
    out["trough"] = out["trough_stamp"].map(month_text)
    out["end"] = out["end_stamp"].map(month_text)
    out["event"] = out["onset_stamp"].map(_event)
    out["episode"] = out["iso3"] + " " + out["onset"]
    out["reference_year"] = out["reference_year"].astype(int)
    return out[EPISODE_COLUMNS].sort_values(["onset_stamp", "iso3"]).reset_index(drop=True)


def episode_summary(episodes: pd.DataFrame) -> pd.DataFrame:
    """Episodes per event label: count, median depth and months, how many recovered."""
    label = episodes["event"].replace("", "other")
    g = episodes.assign(event=label, recovered=episodes["status"] == "recovered").groupby("event", sort=False)
    return g.agg(episodes=("episode", "size"), median_depth=("depth", "median"),
                 median_months=("months", "median"), recovered=("recovered", "sum")).reset_index()
