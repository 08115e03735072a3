"""Negative contra-flow events: China's unofficial Hallyu ban and the Japan-Korea trade dispute, 2010-2025.

Source: ``contraflow_events_from_pages.csv``, compiled by hand from public pages (Korea Herald
via chinatravelblog, Wikipedia "Hallyu ban" and "Japan-South Korea trade dispute", nextshark,
Taiwan News, CRI); every row cites its page. The file exists only in the mirror (url=None).

Variables (per ``iso3`` x ``year``, 2010-2025; rows only for CHN and JPN — every other country
had no such event, which the panel builder fills with 0):

- ``china_content_restriction`` (CHN; 0 for JPN): share of the calendar year under China's
  unofficial restrictions on Korean content (rows with ``event_type`` =
  "restriction_on_korean_content"). Start: 2016-07 (month precision -> 2016-07-01), so 2016 =
  184/366 = 0.503. China never announced the ban and no end date is established (only partial
  easing was reported), so the restriction is kept at 1 through 2025, the last year of the
  range. This is a documented assumption: if the ban is judged to have eased, later years
  overstate it.
- ``japan_trade_dispute`` (JPN; 0 for CHN): share of the calendar year within the
  Japan-South Korea trade dispute (``event_type`` = "trade_dispute"), 2019-07-01 to
  2023-03-23 inclusive: 2019 = 184/365, 2020-2022 = 1, 2023 = 82/365.

Shares count days (start and end dates inclusive). Dates with month precision start on the
first of the month. Several rows of the same event type are merged (union of their periods);
rows of other types (triggers, single measures, Korea's countermeasure) are context only.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hallyu_forecast.errors import DataError
from hallyu_forecast.sources._base import RawFile, Source, Variable
from hallyu_forecast.sources._io import read_csv

FILE = "contraflow_events_from_pages.csv"
YEARS = range(2010, 2026)
#: variable -> (iso3, event_type)
EVENTS: dict[str, tuple[str, str]] = {
    "china_content_restriction": ("CHN", "restriction_on_korean_content"),
    "japan_trade_dispute": ("JPN", "trade_dispute"),
}
VARIABLES = tuple(EVENTS)


def _parse_date(value: object, path: Path, column: str) -> pd.Timestamp:
    """YYYY-MM-DD or YYYY-MM (first of month) or YYYY (1 January)."""
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%Y-%m", "%Y"):
        try:
            return pd.to_datetime(text, format=fmt)
        except ValueError:
            continue
    raise DataError(f"{path}: column `{column}` has an unreadable date {text!r}; use YYYY, YYYY-MM or YYYY-MM-DD.")


def _year_share(periods: list[tuple[pd.Timestamp, pd.Timestamp]], year: int) -> float:
    """Share of days of `year` covered by the union of closed periods."""
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    covered = pd.Series(False, index=days)
    for start, end in periods:
        covered |= (days >= start) & (days <= end)
    return float(covered.mean())


def load(folder: Path) -> pd.DataFrame:
    """Return iso3 (CHN, JPN), year (2010-2025) and the two event-share variables."""
    path = Path(folder) / FILE
    raw = read_csv(path, columns=["iso3c", "start_date", "end_date", "event_type", "source_url"])
    if raw[["iso3c", "start_date", "event_type", "source_url"]].isna().any().any():
        raise DataError(
            f"{path}: columns `iso3c`/`start_date`/`event_type`/`source_url` are empty in some rows although "
            "the original file has no gaps there; the file looks truncated or damaged. Restore it from the "
            "mirror (HALLYU_DATA_DIR)."
        )
    open_end = pd.Timestamp(f"{YEARS[-1]}-12-31")
    out = pd.DataFrame(
        [{"iso3": iso, "year": year} for iso in sorted({iso for iso, _ in EVENTS.values()}) for year in YEARS]
    )
    for variable, (iso3, event_type) in EVENTS.items():
        sel = raw[(raw["iso3c"].str.strip() == iso3) & (raw["event_type"].str.strip() == event_type)]
        if sel.empty:
            raise DataError(
                f"{path}: no {event_type!r} event for {iso3}; the file looks damaged or the event types were "
                "renamed. Restore the original file or update events.EVENTS."
            )
        periods = []
        for start, end in zip(sel["start_date"], sel["end_date"]):
            begin = _parse_date(start, path, "start_date")
            finish = open_end if pd.isna(end) or str(end).strip() == "" else _parse_date(end, path, "end_date")
            periods.append((begin, finish))
        share = {year: _year_share(periods, year) for year in YEARS}
        out[variable] = [share[y] if iso == iso3 else 0.0 for iso, y in zip(out["iso3"], out["year"])]
    out[list(VARIABLES)] = out[list(VARIABLES)].astype("float64")
    out["iso3"] = out["iso3"].astype(str)
    out["year"] = out["year"].astype("int64")
    return out[["iso3", "year", *VARIABLES]]


SOURCE = Source(
    name="events",
    title="Negative contra-flow events: China's Hallyu ban and the Japan-Korea trade dispute (compiled from pages)",
    publisher="Facts from news and reference pages (Korea Herald, Wikipedia, Taiwan News, CRI); "
    "compilation: hallyu_forecast",
    license="Facts from public pages; compilation CC0 (hallyu_forecast mirror)",
    citation=(
        "hallyu_forecast (2026). Contra-flow events compiled from public pages; each row cites its source "
        "page (contraflow_events_from_pages.csv)."
    ),
    homepage="https://en.wikipedia.org/wiki/Hallyu_ban",
    files=(RawFile(FILE, sha256="b152e69c683b025c2ea8ca56db517661d00ff0a2150d5756b075b591a9e264d7", url=None),),
    variables=(
        Variable(
            "china_content_restriction",
            "share of year (0-1)",
            "Share of the year under China's unofficial restrictions on Korean content (Hallyu ban, from "
            "2016-07; no official end, kept at 1 through 2025); 0 for other countries",
            "regime",
        ),
        Variable(
            "japan_trade_dispute",
            "share of year (0-1)",
            "Share of the year within the Japan-South Korea trade dispute (2019-07-01 to 2023-03-23); "
            "0 for other countries",
            "regime",
        ),
    ),
    loader=load,
    notes=(
        "Compiled by hand from public pages (file exists only in the mirror; url=None). Rows for CHN and JPN "
        "only, 2010-2025 (others = 0 in the panel). China's ban (from 2016-07, month precision -> 07-01) has "
        "no official end and is kept at 1 through 2025 (assumption). Japan dispute 2019-07-01..2023-03-23. "
        "Values are shares of days of the calendar year."
    ),
)
