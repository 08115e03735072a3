"""Foreign visitor arrivals to Korea by nationality and age (KTO, via KOSIS), annual.

Both raw files are copies of one KOSIS table, "외래객 입국-연령별/국적별" (visitor arrivals by age and
nationality), published by the Korea Tourism Organization, at two vintages:

* ``tourists.csv`` (stiles/data): monthly, 2010-01 … 2017-12, English country names, six age groups
  plus an official ``Total`` row per country-month (``Total`` also covers visitors of unknown age
  and crew, so the age groups add up to only ~79 % of it on average, 97–98 % for China and Japan).
* ``entrance.rda`` (statgarten/datatoys): monthly, 2017-07 … 2023-06 in the original, Korean country
  names, the six age groups only (no Total row).

Output: one row per (iso3, calendar year); unit persons per calendar year.

Quirks handled, and how
-----------------------
1. **Broken month column in tourists.csv.** Every row of a year says "1/1/YYYY". The month is
   recovered from the row id: rows come in blocks of 357 (51 countries × 7 ages), 12 blocks per
   year, so ``month = ((id-1)//357) % 12 + 1`` (and ``year = 2010 + (id-1)//(357*12)``). The loader
   checks that the id-implied year equals the year of the month column for every row, and raises
   :class:`DataError` otherwise (renumbered ids would make the recovery wrong).
2. **Overlap Jul–Dec 2017.** Both files hold it, and they agree. tourists.csv is used for 2017
   (it has the Total row); the loader asserts that the age-group sums of the two files agree
   within 0.5 % for every (country, month) of the overlap and raises :class:`DataError` otherwise.
   entrance.rda supplies every (country, month) that tourists.csv does not have.
3. **Country names.** "Itary", "South Africa Union" and the Korean names of entrance.rda go
   through :func:`hallyu_forecast.countries.to_iso3` (source ``kto_arrivals``). Türkiye appears as
   터키 (to 2021) and 튀르키예 (from 2022): both map to TUR and are summed; the loader raises if two
   raw names of one country ever report the same month (that would double-count).
4. **Aggregates are dropped deliberately:** the ``Total`` country of tourists.csv (all
   nationalities) and, via ``to_iso3`` returning ``None``, GCC and the residual groups
   아시아 기타, 미주 기타, 구주 기타, 대양주 기타, 아프리카 기타. Any other unresolved name raises
   :class:`UnknownCountryError`.
5. **Absent cells.** entrance.rda omits a few (country, month, age) cells (e.g. Macao in 2022);
   KOSIS omits zero cells, so an absent age group counts as 0 and the month still counts as observed.
6. **Partial years.** A country-year with fewer than 12 observed months (2017 for countries only in
   entrance.rda, 2023-H1 in the full file) gets NaN for every arrival variable, keeping
   ``arrivals_months``: a half-year sum would look like a collapse of demand.
7. **Development extract.** The mirror holds an extract (some countries and every month after
   2022-12 withheld); nothing here assumes which countries or years are present.
8. **Total vs age sums.** ``arrivals_total`` (official level, incl. unknown age) exists only for
   years covered by tourists.csv (2010–2017) and is NaN after; ``arrivals_age_sum`` is the
   continuous 2010– series (sum of the six age groups in both files).

COVID years (2020–2022) collapse to near zero: a real shock, not a data error.

The months themselves are a data product too: :func:`hallyu_forecast.monthly.build_monthly` turns
:func:`_monthly` into the monthly arrivals panel (``hf.load_monthly()``), keeping partial years
month by month.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hallyu_forecast.countries import to_iso3
from hallyu_forecast.errors import DataError
from hallyu_forecast.sources._base import RawFile, Source, Variable
from hallyu_forecast.sources._io import read_csv, read_rda

TOURISTS = "tourists.csv"
ENTRANCE = "entrance.rda"

AGES: tuple[str, ...] = ("0-20", "21-30", "31-40", "41-50", "51-60", "61+")
_ENTRANCE_AGES = {
    "0-20세": "0-20",
    "21-30세": "21-30",
    "31-40세": "31-40",
    "41-50세": "41-50",
    "51-60세": "51-60",
    "61세 이상": "61+",
}
_BLOCK = 357  # rows per month in the original tourists.csv: 51 countries x 7 ages
_FIRST_YEAR = 2010  # first year of tourists.csv (id 1 = January 2010)
_OVERLAP_TOLERANCE = 0.005  # relative; the two vintages agree exactly in practice
_SOURCE_NAME = "kto_arrivals"


def _country_data_dir(folder: Path) -> Path | None:
    """Mirror holding countrycode/ and kdiplo/ for ``to_iso3``: the source's parent if it has them."""
    parent = Path(folder).parent
    return parent if (parent / "countrycode").is_dir() else None


def _map_countries(names: pd.Series, folder: Path) -> pd.Series:
    unique = pd.Series(pd.unique(names.astype(object)), dtype=object)
    codes = to_iso3(unique, source=_SOURCE_NAME, data_dir=_country_data_dir(folder))
    return names.astype(object).map(dict(zip(unique, codes)))


def _numeric(values: pd.Series, path: Path, column: str) -> pd.Series:
    out = pd.to_numeric(values, errors="coerce")
    bad = out.isna() | (out < 0)
    if bad.any():
        raise DataError(
            f"{path}: column `{column}` has {int(bad.sum())} missing, non-numeric or negative value(s) "
            f"(first at row {int(np.flatnonzero(bad.to_numpy())[0]) + 2}); the file may be truncated or "
            "corrupt. Restore the original file from the mirror (HALLYU_DATA_DIR)."
        )
    return out.astype("float64")


def _check_unique(frame: pd.DataFrame, keys: list[str], path: Path, what: str) -> None:
    dup = frame.duplicated(keys, keep=False)
    if dup.any():
        sample = frame.loc[dup, keys].drop_duplicates().head(5).to_dict("records")
        raise DataError(f"{path}: duplicate {what}, e.g. {sample}. Restore the original file.")


def _tourists_monthly(folder: Path) -> pd.DataFrame:
    """tourists.csv as a tidy monthly frame: country, iso3, year, month, age, visitors.

    Includes the ``Total`` age rows; excludes the ``Total`` country (all nationalities).
    """
    path = Path(folder) / TOURISTS
    raw = read_csv(path, columns=["id", "country", "age", "month", "visitors"])
    ids = pd.to_numeric(raw["id"], errors="coerce")
    if ids.isna().any() or (ids < 1).any() or (ids % 1 != 0).any():
        raise DataError(f"{path}: column `id` must hold positive integer row ids; the file may be corrupt. "
                        "Restore the original file.")
    ids = ids.astype("int64")
    stamp = raw["month"].astype(str).str.extract(r"^\s*\d{1,2}/\d{1,2}/(\d{4})\s*$")[0]
    if stamp.isna().any():
        first = raw.loc[stamp.isna(), "month"].iloc[0]
        raise DataError(f"{path}: column `month` should read 'M/D/YYYY'; found {first!r}. Restore the original file.")
    frame = pd.DataFrame(
        {
            "country": raw["country"].astype(str).str.strip(),
            "age": raw["age"].astype(str).str.strip(),
            "year": _FIRST_YEAR + (ids - 1) // (_BLOCK * 12),
            "month": (ids - 1) // _BLOCK % 12 + 1,
            "visitors": _numeric(raw["visitors"], path, "visitors"),
        }
    )
    # The month column is corrupted (always January) but its year is right: it must agree with the
    # year implied by the row id, otherwise the id-based month recovery cannot be trusted.
    wrong = frame["year"] != stamp.astype("int64")
    if wrong.any():
        row = raw.loc[wrong].iloc[0]
        raise DataError(
            f"{path}: row id {row['id']} implies year {frame.loc[wrong, 'year'].iloc[0]} but its month column says "
            f"{row['month']!r}. Months are recovered from ids (blocks of {_BLOCK} rows per month from January "
            f"{_FIRST_YEAR}), so the ids must be the original ones. Restore the original file."
        )
    unknown_ages = sorted(set(frame["age"]) - set(AGES) - {"Total"})
    if unknown_ages:
        raise DataError(f"{path}: unexpected age group(s) {unknown_ages}; expected {list(AGES)} and 'Total'.")
    _check_unique(frame, ["country", "year", "month", "age"], path, "country-month-age rows")

    # A KOSIS export is a complete country x age x month table: a hole means a truncated/damaged file.
    periods = frame[["year", "month"]].drop_duplicates()
    expected = len(periods) * (len(AGES) + 1) * frame["country"].nunique()
    if len(frame) != expected:
        cells = frame.groupby(["country", "year", "month"]).size()
        short = cells[cells != len(AGES) + 1]
        per_country = frame.groupby("country")[["year", "month"]].apply(lambda g: len(g.drop_duplicates()))
        detail = (
            f"{len(short)} country-month(s) lack age rows, e.g. {list(short.index[:3])}"
            if len(short)
            else f"countries cover different months: {per_country[per_country != len(periods)].head(5).to_dict()}"
        )
        raise DataError(
            f"{path}: not a complete country x age x month table ({len(frame)} rows, expected {expected}); "
            f"{detail}. The file is probably truncated. Restore the original file."
        )

    frame = frame[frame["country"] != "Total"]  # all nationalities: an aggregate, dropped on purpose
    frame["iso3"] = _map_countries(frame["country"], folder)
    frame = frame[frame["iso3"].notna()].copy()
    _check_unique(frame, ["iso3", "year", "month", "age"], path, "country-month-age rows after ISO3 mapping")
    return frame[["country", "iso3", "year", "month", "age", "visitors"]].reset_index(drop=True)


def _entrance_monthly(folder: Path) -> pd.DataFrame:
    """entrance.rda as a tidy monthly frame: country (Korean), iso3, year, month, age, visitors."""
    path = Path(folder) / ENTRANCE
    raw = read_rda(path, "entrance", columns=["연령", "시점", "국가", "외래객"])
    when = raw["시점"].astype(str).str.extract(r"^\s*(\d{4})\.(\d{2})\s*$")
    if when.isna().any().any():
        first = raw.loc[when.isna().any(axis=1), "시점"].iloc[0]
        raise DataError(f"{path}: column `시점` should read 'YYYY.MM'; found {first!r}. Restore the original file.")
    ages = raw["연령"].astype(str).str.strip().map(_ENTRANCE_AGES)
    if ages.isna().any():
        bad = sorted(raw.loc[ages.isna(), "연령"].astype(str).unique())
        raise DataError(f"{path}: unexpected age group(s) {bad} in `연령`; expected {list(_ENTRANCE_AGES)}.")
    frame = pd.DataFrame(
        {
            "country": raw["국가"].astype(str).str.strip(),
            "year": when[0].astype("int64"),
            "month": when[1].astype("int64"),
            "age": ages.astype(str),
            "visitors": _numeric(raw["외래객"], path, "외래객"),
        }
    )
    if not frame["month"].between(1, 12).all():
        raise DataError(f"{path}: column `시점` holds a month outside 01-12. Restore the original file.")
    _check_unique(frame, ["country", "year", "month", "age"], path, "country-month-age rows")
    frame["iso3"] = _map_countries(frame["country"], folder)
    frame = frame[frame["iso3"].notna()].copy()  # GCC and the residual '… 기타' groups: aggregates
    # 터키 and 튀르키예 are one country; they must never report the same month (double count).
    names = frame.groupby(["iso3", "year", "month"])["country"].nunique()
    if (names > 1).any():
        clash = names[names > 1].index[:5].tolist()
        raise DataError(
            f"{path}: two country names map to the same ISO3 in the same month, e.g. {clash}; summing them "
            "would double-count. Check the name mapping in hallyu_forecast/data/country_aliases.csv."
        )
    return frame[["country", "iso3", "year", "month", "age", "visitors"]].reset_index(drop=True)


def _check_overlap(tourists: pd.DataFrame, entrance: pd.DataFrame, folder: Path) -> None:
    """Both vintages must agree (age-group sums, per country-month) where they overlap."""
    keys = ["iso3", "year", "month"]
    a = tourists[tourists["age"] != "Total"].groupby(keys)["visitors"].sum()
    b = entrance.groupby(keys)["visitors"].sum()
    both = pd.concat({"tourists": a, "entrance": b}, axis=1, join="inner")
    if both.empty:
        return
    gap = (both["tourists"] - both["entrance"]).abs()
    bad = gap > _OVERLAP_TOLERANCE * both.max(axis=1)
    if bad.any():
        sample = both[bad].head(5).reset_index().to_dict("records")
        raise DataError(
            f"{Path(folder) / TOURISTS} and {Path(folder) / ENTRANCE} disagree by more than "
            f"{_OVERLAP_TOLERANCE:.1%} on {int(bad.sum())} overlapping country-month(s) (age-group sums), "
            f"e.g. {sample}. They are two vintages of one KOSIS table and should agree; one file is damaged "
            "or the month recovery of tourists.csv is off. Restore the original files."
        )


def _monthly(folder: Path) -> pd.DataFrame:
    """Combined tidy monthly frame: iso3, year, month, age (six groups + 'Total'), visitors, file.

    tourists.csv wins where both files cover a country-month (checked to agree first).
    """
    tourists = _tourists_monthly(folder)
    entrance = _entrance_monthly(folder)
    _check_overlap(tourists, entrance, folder)
    keys = ["iso3", "year", "month"]
    covered = pd.MultiIndex.from_frame(tourists[keys].drop_duplicates())
    extra = entrance[~pd.MultiIndex.from_frame(entrance[keys]).isin(covered)]
    combined = pd.concat(
        [tourists.assign(file=TOURISTS), extra.assign(file=ENTRANCE)], ignore_index=True
    )
    # 터키 + 튀르키예 (and any other synonyms) -> one row per iso3-month-age
    combined = combined.groupby(keys + ["age", "file"], as_index=False)["visitors"].sum()
    return combined


def load(folder: Path) -> pd.DataFrame:
    """Annual arrivals per (iso3, year); see the module docstring for the choices made."""
    monthly = _monthly(folder)
    keys = ["iso3", "year"]
    months = monthly.groupby(keys)["month"].nunique().rename("arrivals_months")
    ages = (
        monthly[monthly["age"] != "Total"]
        .pivot_table(index=keys, columns="age", values="visitors", aggfunc="sum")
        .reindex(columns=list(AGES))
        .fillna(0.0)  # absent KOSIS cells are zeros
    )
    totals = monthly[monthly["age"] == "Total"].groupby(keys)["visitors"].agg(["sum", "count"])
    out = pd.DataFrame(index=months.index)
    out["arrivals_0_20"] = ages["0-20"]
    out["arrivals_21_30"] = ages["21-30"]
    out["arrivals_0_30"] = ages["0-20"] + ages["21-30"]
    out["arrivals_age_sum"] = ages.sum(axis=1)
    # official Total only when all 12 months of the year come from tourists.csv
    total = totals["sum"].where(totals["count"] == 12)
    out["arrivals_total"] = total.reindex(out.index)
    out["arrivals_months"] = months.astype("float64")
    partial = out["arrivals_months"] < 12
    value_cols = [c for c in out.columns if c != "arrivals_months"]
    out.loc[partial, value_cols] = np.nan
    out = out.astype("float64").reset_index()
    out = out[out["year"] >= 1990]
    return out.sort_values(keys).reset_index(drop=True)


SOURCE = Source(
    name="kto_arrivals",
    title="Foreign visitor arrivals to Korea by nationality and age (외래객 입국-연령별/국적별)",
    publisher="Korea Tourism Organization (한국관광공사), disseminated by Statistics Korea (KOSIS)",
    license=(
        "KOSIS public statistics. tourists.csv (stiles/data): no license stated; "
        "entrance.rda (statgarten/datatoys): CC0"
    ),
    citation=(
        "Korea Tourism Organization, 외래객 입국-연령별/국적별 (Visitor arrivals by age and nationality), "
        "KOSIS tables DT_AGE_ENT_AGG_MONTH (copy in Matt Stiles, stiles/data, commit 566a35e, downloaded "
        "2018-02-15) and DT_TRD_AGE_ENT_AGG_MONTH (copy in statgarten/datatoys `entrance`, commit 3127be5)."
    ),
    homepage="https://kosis.kr/statHtml/statHtml.do?orgId=314&tblId=DT_TRD_AGE_ENT_AGG_MONTH",
    files=(
        RawFile(
            "tourists.csv",
            sha256="d5074a2a5b6f7ead82ce6b929c024129e7de94ffa3bbd139488a145e3bfe2c81",
            url=(
                "https://raw.githubusercontent.com/stiles/data/566a35e372b1e25e5ceeecdd179bfe926f2b16e4/"
                "south-korea-tourists-by-country/tourists.csv"
            ),
        ),
        RawFile(
            "entrance.rda",
            sha256="e099ee3f4588ea7cea38b92a079839a11cd6a58c3c42ae3207650042ce743c28",
            url=(
                "https://raw.githubusercontent.com/statgarten/datatoys/3127be5ce86488b299408031cc36182a93a51ac5/"
                "data/entrance.rda"
            ),
        ),
    ),
    variables=(
        Variable(
            "arrivals_0_20",
            "persons per calendar year",
            "Foreign visitor arrivals to Korea aged 0-20, by nationality (KTO/KOSIS age group 0-20); "
            "NaN for years with fewer than 12 observed months",
            "target",
        ),
        Variable(
            "arrivals_21_30",
            "persons per calendar year",
            "Foreign visitor arrivals to Korea aged 21-30, by nationality; NaN for partial years",
            "target",
        ),
        Variable(
            "arrivals_0_30",
            "persons per calendar year",
            "Foreign visitor arrivals aged 0-30 (= arrivals_0_20 + arrivals_21_30), the youth segment most "
            "exposed to Hallyu; NaN for partial years",
            "target",
        ),
        Variable(
            "arrivals_age_sum",
            "persons per calendar year",
            "Sum of the six KTO age groups (0-20 … 61+); excludes visitors of unknown age and crew, so it is "
            "~79 % of the official total on average (97-98 % for China, Japan). Continuous 2010- series; "
            "NaN for partial years",
            "target",
        ),
        Variable(
            "arrivals_total",
            "persons per calendar year",
            "Official total foreign visitor arrivals by nationality (KTO 'Total' age row, incl. unknown age), "
            "from tourists.csv only: 2010-2017; NaN afterwards and for partial years",
            "target",
        ),
        Variable(
            "arrivals_months",
            "months (0-12)",
            "Number of calendar months with arrival data for the country in that year; arrival variables "
            "are NaN when it is below 12",
            "target",
        ),
    ),
    loader=load,
    static=False,
    notes=(
        "The mirror holds a DEVELOPMENT EXTRACT of both files (some countries and every month after 2022-12 "
        "withheld for forecast evaluation; format, columns and tourists.csv row ids unchanged), so their "
        "SHA-256 checksums differ from the upstream originals at the URLs; nothing assumes which countries or "
        "years are present. tourists.csv's month column is broken (always 1/1/YYYY): month = "
        "((id-1)//357) % 12 + 1, validated against the year of the column and against entrance.rda. "
        "Jul-Dec 2017 is in both files: tourists.csv is used and the loader raises DataError if the two "
        "disagree by more than 0.5% on any country-month. 'Itary', 'South Africa Union', Korean names and "
        "터키/튀르키예 (merged into TUR) go through countries.to_iso3; the 'Total' country, GCC and the "
        "residual '… 기타' groups are aggregates and dropped deliberately. Absent entrance.rda cells are zeros. "
        "Country-years with fewer than 12 observed months (e.g. 2017 for Macao/Cambodia, 2023-H1) have NaN "
        "arrival variables (kept arrivals_months): a partial-year sum would look like a collapse. "
        "arrivals_total exists 2010-2017 only; use arrivals_age_sum for a continuous series. 2017 China fall "
        "(THAAD) and 2020-2022 COVID collapse are real."
    ),
)
