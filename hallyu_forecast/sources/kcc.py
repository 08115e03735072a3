"""Korean Cultural Centres (KCC, 재외한국문화원) open per country-year, 1979-2024.

Source: ``kcc_openings_from_pages.csv``, one row per centre (35 centres on the 2024 list,
31 ISO3 codes; Hong Kong kept separate from China), compiled by hand from public pages
(KOCIS/MCST facts reported by Yonhap, Korea Herald, korea.net, encykorea, KCC websites,
Wikipedia and mirrors); every row cites its page. ``kcc_counts_from_pages.csv`` holds national
totals (centres, countries) at 13 dates; it is declared and used by the tests to check the
per-country sums, not by the loader. Both files exist only in the mirror (url=None).

Variables (per ``iso3`` x ``year``, 1979-2024, for the 31 places that ever have a centre;
every other country has no centre, which the panel builder fills with 0):

- ``kcc_count``: centres open at the end of the year (opening year <= year).
- ``kcc_present``: 1 if ``kcc_count`` > 0, else 0.

Centres are never closed in the data (relocations and re-openings — Paris 2019, Budapest
2019, Moscow's upgrade — keep the original year; "opening" of Moscow 1995 is the Korea
information office that became the KCC).

**Unknown opening years (12 centres).** Rule: a centre without an opening year counts from
the *latest* year consistent with the compiled evidence — the first dated page that names
it, or the first national total (``kcc_counts_from_pages.csv``) that cannot be reached without
it (worldwide ordinal numbers fix the order). So a centre never counts before there is
evidence that it exists (no look-ahead), at the cost of possibly starting late:

- USA Washington D.C. -> 1998: named among the 8 centres of the 1998-07-30 Hankook Ilbo article.
- GBR London, DEU Berlin -> 2009: named as existing before Warsaw opened (2010-01-27).
- JPN Osaka, CHN Shanghai, VNM Hanoi, KAZ Astana -> 2010: the January 2011 total of 16
  centres in 12 countries is reached only with all four open (the 12 centres with known or
  earlier-imputed years plus these four; Viet Nam and Kazakhstan are the 11th/12th countries).
- ARE Abu Dhabi (#29), EGY Cairo, ITA Rome, HKG Hong Kong (#32) -> 2019: none is on the
  2016-01-23 list of 28 (which matches the 28 centres with known/imputed years exactly); the
  2019-11-18 total of 32 (and 2020-03 total of 32 in 27 countries) requires all four. The
  Hong Kong page's path (magazine issue 2018-03, "opened Jan 24") hints at 2018 and the UAE
  MOU of 2015 planned a 2015 opening, but neither year is stated.
- ZAF Pretoria (#33) -> 2023: the 2023-03-13 total (33 centres in 28 countries) requires it.

With this rule the per-country sums equal the national totals at every comparable date from
2011 on (16 in Jan 2011, 21 in Dec 2011, 24 in Dec 2012, 28 in Jan 2016, 32 in 2019-2020,
35 in May 2023); the 1998 (8) and 2008 (12) totals are higher than the sums because the
early KOIS-era centres' years are not known; the 2024 page says 37 centres but lists 35.
An unknown-year centre not covered by the table above raises :class:`DataError`.

**Onsets for causal use** (the country's *first* centre; used by :mod:`hallyu_forecast.causal`):

- ``kcc_open_share``: share of the year with at least one centre open (0..1). In the opening
  year it is the share of days from the opening date to 31 December (``date_precision`` day;
  month precision: from the 1st of the month; year precision: 0.5, the expected share under
  an unknown date); 1 in later years.
- ``kcc_onset_year``: the first year in which the first centre was open for most of the
  year... precisely: the opening year if it opened in January-September, the next year if it
  opened in October-December (same rule as the working-holiday onsets), year-only dates count
  in their year. 0 = no centre or unknown onset.
- ``kcc_onset_unknown``: 1 where the country's first centre has an *imputed* year (an upper
  bound from the evidence rule above, not a date: GBR, DEU, VNM, KAZ, ARE, EGY, ITA, HKG,
  ZAF), 0 otherwise. Event studies exclude these countries (neither treated nor control).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hallyu_forecast.errors import DataError
from hallyu_forecast.sources._base import RawFile, Source, Variable
from hallyu_forecast.sources._io import read_csv

OPENINGS_FILE = "kcc_openings_from_pages.csv"
COUNTS_FILE = "kcc_counts_from_pages.csv"
YEARS = range(1979, 2025)
VARIABLES = ("kcc_count", "kcc_present", "kcc_open_share", "kcc_onset_year", "kcc_onset_unknown")
#: An opening in this month or later moves the onset to the next year.
LATE_MONTH = 10

#: (iso3, city) -> (imputed opening year, evidence). See the module docstring for the rule.
IMPUTED_YEARS: dict[tuple[str, str], tuple[int, str]] = {
    ("USA", "Washington D.C."): (1998, "named among 8 centres, Hankook Ilbo 1998-07-30"),
    ("GBR", "London"): (2009, "existed before Warsaw opened 2010-01-27"),
    ("DEU", "Berlin"): (2009, "existed before Warsaw opened 2010-01-27"),
    ("JPN", "Osaka"): (2010, "needed for the Jan-2011 total of 16 centres in 12 countries"),
    ("CHN", "Shanghai"): (2010, "needed for the Jan-2011 total of 16 centres in 12 countries"),
    ("VNM", "Hanoi"): (2010, "needed for the Jan-2011 total of 16 centres in 12 countries"),
    ("KAZ", "Astana"): (2010, "needed for the Jan-2011 total of 16 centres in 12 countries"),
    ("ARE", "Abu Dhabi"): (2019, "#29, after the 2016-01-23 list; needed for the 2019-11-18 total of 32"),
    ("EGY", "Cairo"): (2019, "not on the 2016-01-23 list; needed for the 2019-11-18 total of 32"),
    ("ITA", "Rome"): (2019, "not on the 2016-01-23 list; needed for the 2019-11-18 total of 32"),
    ("HKG", "Hong Kong"): (2019, "#32; needed for the 2019-11-18 total of 32"),
    ("ZAF", "Pretoria"): (2023, "#33; needed for the 2023-03-13 total of 33"),
}
COLUMNS = ["iso3c", "city", "opened_date", "opened_year", "date_precision", "listed_2016_01", "listed_2024"]


def opening_years(folder: Path) -> pd.DataFrame:
    """One row per centre: iso3, city, year (observed or imputed) and whether it was imputed."""
    path = Path(folder) / OPENINGS_FILE
    raw = read_csv(path, columns=COLUMNS)
    if raw["iso3c"].isna().any() or raw["city"].isna().any() or raw["date_precision"].isna().any():
        raise DataError(
            f"{path}: columns `iso3c`/`city`/`date_precision` are empty in some rows although the "
            "original file has no gaps there; the file looks truncated or damaged. Restore it from "
            "the mirror (HALLYU_DATA_DIR)."
        )
    year = pd.to_numeric(raw["opened_year"], errors="coerce")
    if (raw["opened_year"].notna() & year.isna()).any():
        raise DataError(
            f"{path}: column `opened_year` holds non-numeric values "
            f"{sorted(raw.loc[raw['opened_year'].notna() & year.isna(), 'opened_year'].astype(str))[:10]}. "
            "Restore the original file."
        )
    out = pd.DataFrame({"iso3": raw["iso3c"].str.strip(), "city": raw["city"].str.strip(), "year": year,
                        "date": raw["opened_date"].astype("string"), "precision": raw["date_precision"].str.strip()})
    out["imputed"] = out["year"].isna()
    missing = []
    for idx in out.index[out["imputed"]]:
        key = (out.at[idx, "iso3"], out.at[idx, "city"])
        if key not in IMPUTED_YEARS:
            missing.append(key)
        else:
            out.at[idx, "year"] = IMPUTED_YEARS[key][0]
    if missing:
        raise DataError(
            f"{path}: centre(s) {missing} have no opening year and no imputation rule; add them to "
            "kcc.IMPUTED_YEARS with the evidence that bounds their opening."
        )
    out["year"] = out["year"].astype("int64")
    return out


def first_centres(centres: pd.DataFrame) -> pd.DataFrame:
    """First centre per country: iso3, year, share (of the opening year open), onset_year, imputed."""
    centres = centres.copy()
    date = pd.to_datetime(centres["date"].where(centres["precision"].isin(["day", "month"])), errors="coerce",
                          format="mixed")
    month = date.dt.month
    end = pd.to_datetime(centres["year"].astype(int).astype(str) + "-12-31")
    days = 365 + end.dt.is_leap_year.astype(int)
    share = ((end - date).dt.days + 1) / days
    centres["share"] = share.fillna(0.5).where(~centres["imputed"], 0.5)
    centres["late"] = month.fillna(1) >= LATE_MONTH
    centres = centres.assign(order=date.fillna(pd.Timestamp("2100-01-01"))).sort_values(["iso3", "year", "order"])
    first = centres.groupby("iso3", as_index=False).first()
    first["onset_year"] = (first["year"] + first["late"].astype(int)).where(~first["imputed"], 0)
    first["imputed"] = first["imputed"].astype(float)
    return first[["iso3", "year", "share", "onset_year", "imputed"]]


def load(folder: Path) -> pd.DataFrame:
    """Return iso3, year (1979-2024), kcc_count and kcc_present for every place with a centre."""
    centres = opening_years(folder)
    grid = pd.MultiIndex.from_product(
        [sorted(centres["iso3"].unique()), list(YEARS)], names=["iso3", "year"]
    ).to_frame(index=False)
    opened = centres.groupby(["iso3", "year"]).size().rename("opened").reset_index()
    grid = grid.merge(opened, on=["iso3", "year"], how="left")
    grid["opened"] = grid["opened"].fillna(0)
    # Centres opened before the first grid year would be lost by the cumulative sum.
    early = centres[centres["year"] < YEARS.start]
    if not early.empty:
        raise DataError(
            f"{Path(folder) / OPENINGS_FILE}: opening years before {YEARS.start} are outside the grid: "
            f"{early.to_dict('records')}. Extend kcc.YEARS."
        )
    grid["kcc_count"] = grid.groupby("iso3")["opened"].cumsum().astype("float64")
    grid["kcc_present"] = (grid["kcc_count"] > 0).astype("float64")
    first = first_centres(centres).set_index("iso3")
    opened = grid["iso3"].map(first["year"])
    share = grid["iso3"].map(first["share"])
    grid["kcc_open_share"] = (
        (grid["year"] > opened).astype(float) + (grid["year"] == opened) * share
    ).astype("float64")
    grid["kcc_onset_year"] = grid["iso3"].map(first["onset_year"]).astype("float64")
    grid["kcc_onset_unknown"] = grid["iso3"].map(first["imputed"]).astype("float64")
    grid["iso3"] = grid["iso3"].astype(str)
    grid["year"] = grid["year"].astype("int64")
    return grid[["iso3", "year", *VARIABLES]]


SOURCE = Source(
    name="kcc",
    title="Korean Cultural Centres abroad: openings and national totals (compiled from public pages)",
    publisher="Facts: Korean Culture and Information Service (KOCIS), Ministry of Culture, Sports and "
    "Tourism, as reported by Yonhap, Korea Herald, korea.net, encykorea and others; compilation: hallyu_forecast",
    license="Facts from public pages; compilation CC0 (hallyu_forecast mirror)",
    citation=(
        "hallyu_forecast (2026). Korean Cultural Centres openings compiled from public pages; each row "
        "cites its source page (kcc_openings_from_pages.csv)."
    ),
    homepage="https://www.kocis.go.kr",
    files=(
        RawFile(OPENINGS_FILE, sha256="0a61272658ef731f02a554e58f4a2868a225ef03d8b8111914560541d4b5ea60", url=None),
        RawFile(COUNTS_FILE, sha256="c4e20c481aafce7ef1c4830d9176d15ecceef837c357b78c70d15c85ceb22d04", url=None),
    ),
    variables=(
        Variable(
            "kcc_count",
            "count",
            "Number of Korean Cultural Centres open in the country at the end of the year (12 opening "
            "years imputed as the latest year consistent with the evidence)",
            "government_support",
        ),
        Variable(
            "kcc_present",
            "1/0",
            "1 if at least one Korean Cultural Centre is open in the country at the end of the year",
            "government_support",
        ),
        Variable(
            "kcc_open_share",
            "share 0-1",
            "Share of the year with at least one Korean Cultural Centre open (opening year: days from "
            "the opening date; 0.5 where only the year is known)",
            "government_support",
        ),
        Variable(
            "kcc_onset_year",
            "year",
            "Year the first Korean Cultural Centre counts as open for causal use (openings in "
            "October-December count from the next year); 0 = none or onset unknown",
            "government_support",
        ),
        Variable(
            "kcc_onset_unknown",
            "1/0",
            "1 if the country's first centre has only an imputed (upper-bound) year: excluded from event studies",
            "government_support",
        ),
    ),
    loader=load,
    notes=(
        "Compiled by hand from public pages (files exist only in the mirror; url=None). Rows only for the "
        "31 places that ever have a centre (others = 0 in the panel); Hong Kong separate from China. "
        "Unknown opening years -> latest year consistent with evidence: Washington 1998; London, Berlin "
        "2009; Osaka, Shanghai, Hanoi, Astana 2010; Abu Dhabi, Cairo, Rome, Hong Kong 2019; Pretoria 2023. "
        "Per-country sums then match the national totals of kcc_counts_from_pages.csv from 2011 on."
    ),
)
