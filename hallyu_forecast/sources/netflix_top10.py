"""Korean titles in the Netflix weekly TV Top 10 per country, 2021-07-04 ... 2022-11-13 (a cross-section).

Raw files: ``all-weeks-countries.xlsx`` (Netflix Top 10, copy in demiladeolabode/Anikulapo): one row per
country x week x category x rank (94 countries, 72 weeks); and two Kaggle title lookups (copies in
hollyyph/NetflixProject): ``netflix_titles.csv`` (``country`` names, to ~2021) and ``titles.csv``
(``production_countries`` ISO2 lists, to ~mid-2022).

Classification of a charting TV title (matched on the title, case and punctuation ignored):

1. the reviewed list ``hallyu_forecast/data/netflix_titles_reviewed.csv`` (title, korean yes/no,
   reason) decides first — it covers the most frequent titles the lookups miss or contradict;
2. otherwise the lookups' TV entries with a non-empty country field: Korean if all of them list
   Korea, not Korean if none does;
3. otherwise (absent from both lookups, or the lookups disagree, e.g. a Korean and a US title with
   the same name) the title is **unclassified**.

Output: one row per country for the **year 2022** (the period holds 45 of its 72 weeks in 2022; the
value is the whole-period share — the panel is annual and this is a cross-section, not a series):

- ``kdrama_top10_share``: share of weekly TV top-10 slots held by titles classified Korean — a
  LOWER BOUND (unclassified titles may be Korean);
- ``kdrama_top10_unclassified_share``: share of TV slots held by unclassified titles (so the
  share lies between the lower bound and lower bound + this);
- ``netflix_top10_weeks``: weeks with a TV top 10 for the country.

Korea (KR) is included (its own share is high); ``country_iso2`` goes through
:func:`hallyu_forecast.countries.to_iso3` (``kind="iso2"``); an unknown code raises naming the row.
"""

from __future__ import annotations

import re
import unicodedata
from importlib import resources
from pathlib import Path

import pandas as pd

from hallyu_forecast.countries import to_iso3
from hallyu_forecast.errors import DataError, UnknownCountryError
from hallyu_forecast.sources._base import RawFile, Source, Variable
from hallyu_forecast.sources._io import read_csv, require_columns, require_rows
from hallyu_forecast.sources.kpop_artists import validate_reviewed

CHART = "all-weeks-countries.xlsx"
TITLES_A = "netflix_titles.csv"
TITLES_B = "titles.csv"
REVIEWED_FILE = "netflix_titles_reviewed.csv"
PERIOD_YEAR = 2022
_CHART_COLUMNS = ["country_iso2", "week", "category", "weekly_rank", "show_title"]


def title_key(title: object) -> str:
    """Normalise a title for matching (NFKC, case-folded, no spaces or punctuation)."""
    text = unicodedata.normalize("NFKC", str(title)).casefold()
    return re.sub(r"[\s.,'’`\-_:!?]+", "", text)


def read_chart(folder: Path) -> pd.DataFrame:
    """The weekly Top 10 (all categories), validated; ``iso3`` added."""

    path = Path(folder) / CHART
    try:
        raw = pd.read_excel(path, engine="calamine", dtype={"country_iso2": str, "show_title": str})
    except Exception as exc:  # calamine raises its own error types for corrupt workbooks
        raise DataError(f"{path}: could not be read as an Excel workbook ({exc}). Restore the original file.") from exc
    require_rows(require_columns(raw, _CHART_COLUMNS, path), path)
    codes = raw["country_iso2"].astype(str).str.strip()
    iso = {}
    parent = Path(folder).parent
    data_dir = parent if (parent / "countrycode").is_dir() else None
    for code in pd.unique(codes):
        try:
            iso[code] = to_iso3([code], source="netflix_top10", kind="iso2", data_dir=data_dir).iloc[0]
        except UnknownCountryError:
            line = int((codes == code).to_numpy().nonzero()[0][0]) + 2  # spreadsheet row, after the header
            raise DataError(f"{path}, row {line}: unknown country_iso2 {code!r}. Restore the original file, or "
                            "map the code in hallyu_forecast/data/country_aliases.csv (alias,iso3,kind=iso2).") from None
    raw["iso3"] = codes.map(iso)
    if raw["iso3"].isna().any():
        raise DataError(f"{path}: country_iso2 resolves to an aggregate for some rows; the file should list "
                        "countries only. Restore the original file.")
    rank = pd.to_numeric(raw["weekly_rank"], errors="coerce")
    if not rank.between(1, 10).all():
        line = int((~rank.between(1, 10)).to_numpy().nonzero()[0][0]) + 2
        raise DataError(f"{path}, row {line}: weekly_rank must be 1-10. Restore the original file.")
    return raw


def load_reviewed(path: str | Path | None = None) -> pd.DataFrame:
    """The reviewed title list (default: the packaged one); duplicates and bad yes/no raise with the line."""

    if path is None:
        with resources.files("hallyu_forecast.data").joinpath(REVIEWED_FILE).open("rb") as fh:
            table = pd.read_csv(fh, dtype=str, keep_default_na=False, encoding="utf-8")
        where = f"hallyu_forecast/data/{REVIEWED_FILE}"
    else:
        table = read_csv(path, columns=["title", "korean", "reason"], dtype=str, keep_default_na=False)
        where = str(path)
    table = validate_reviewed(table, where, key="title", yes_no="korean")
    keys = table["title"].map(title_key)
    dup = keys.duplicated()
    if dup.any():
        first = table.index[dup][0]
        raise DataError(f"{where}, line {first + 2}: title {table.at[first, 'title']!r} is the same title as an "
                        "earlier row once case and punctuation are ignored. Keep one row.")
    return table.assign(key=keys)


def lookup_status(folder: Path) -> pd.Series:
    """Lookup verdict per title key: 'korean', 'not_korean' or 'conflict' (TV entries with a country)."""
    folder = Path(folder)
    a = read_csv(folder / TITLES_A, columns=["type", "title", "country"], dtype=str, keep_default_na=False)
    b = read_csv(folder / TITLES_B, columns=["type", "title", "production_countries"], dtype=str, keep_default_na=False)
    a = a[(a["type"] == "TV Show") & (a["country"].str.strip() != "")]
    b = b[(b["type"] == "SHOW") & (~b["production_countries"].str.strip().isin(["", "[]"]))]
    look = pd.concat([
        pd.DataFrame({"key": a["title"].map(title_key), "kr": a["country"].str.contains("South Korea", regex=False)}),
        pd.DataFrame({"key": b["title"].map(title_key), "kr": b["production_countries"].str.contains("'KR'", regex=False)}),
    ])
    agg = look.groupby("key")["kr"].agg(["all", "any"])
    return pd.Series(
        ["korean" if r.all else ("conflict" if r.any else "not_korean") for r in agg.itertuples()],
        index=agg.index, name="status")


def classify_titles(titles: pd.Series, folder: Path, reviewed: pd.DataFrame | None = None) -> pd.DataFrame:
    """title, status ('korean', 'not_korean', 'unclassified') and how it was decided ('reviewed', 'lookup', '')."""
    reviewed = reviewed if reviewed is not None else load_reviewed()
    status = lookup_status(folder)
    decided = dict(zip(reviewed["key"], reviewed["korean"]))
    rows = []
    for title in pd.unique(titles):
        key = title_key(title)
        if key in decided:
            rows.append((title, "korean" if decided[key] else "not_korean", "reviewed"))
        elif status.get(key) in ("korean", "not_korean"):
            rows.append((title, status[key], "lookup"))
        else:
            rows.append((title, "unclassified", ""))
    return pd.DataFrame(rows, columns=["title", "status", "decided_by"])


def tv_slots(folder: Path) -> pd.DataFrame:
    """Every TV top-10 slot with its title's classification: iso3, week, weekly_rank, show_title, status."""
    chart = read_chart(folder)
    tv = chart[chart["category"].astype(str).str.strip() == "TV"]
    if tv.empty:
        raise DataError(f"{Path(folder) / CHART}: no rows with category 'TV'. Restore the original file.")
    classes = classify_titles(tv["show_title"], folder).rename(columns={"title": "show_title"})
    return tv[["iso3", "week", "weekly_rank", "show_title"]].merge(classes, on="show_title", how="left")


def load(folder: Path) -> pd.DataFrame:
    """Whole-period shares per country, as year 2022; see the module docstring."""
    slots = tv_slots(folder)
    out = slots.groupby("iso3").agg(
        slots=("status", "size"),
        korean=("status", lambda s: (s == "korean").sum()),
        unclassified=("status", lambda s: (s == "unclassified").sum()),
        netflix_top10_weeks=("week", "nunique"),
    ).reset_index()
    out["kdrama_top10_share"] = out["korean"] / out["slots"]
    out["kdrama_top10_unclassified_share"] = out["unclassified"] / out["slots"]
    out["netflix_top10_weeks"] = out["netflix_top10_weeks"].astype("float64")
    out["year"] = PERIOD_YEAR
    return out[["iso3", "year", "kdrama_top10_share", "kdrama_top10_unclassified_share", "netflix_top10_weeks"]]


_LOOKUP_URL = "https://raw.githubusercontent.com/hollyyph/NetflixProject/365397ad25ff076488dfb0c9df0189d8904ba96e/data/"

SOURCE = Source(
    name="netflix_top10",
    title="Korean titles in the Netflix weekly TV Top 10 per country (2021-07 to 2022-11)",
    publisher="Netflix (Top 10, top10.netflix.com); title lookups from Kaggle (S. Bansal; V. Soeiro)",
    license="Netflix Top 10: published openly, no licence stated (cite Netflix Top 10); Kaggle lookups: licence unknown",
    citation=(
        "Netflix Top 10, all-weeks-countries (weeks 2021-07-04 to 2022-11-13), copy in demiladeolabode/Anikulapo "
        "(commit b6073a7); title lookups: Kaggle 'Netflix Movies and TV Shows' (S. Bansal) and 'Netflix TV Shows "
        "and Movies' (V. Soeiro), copies in hollyyph/NetflixProject (commit 365397a)."
    ),
    homepage="https://top10.netflix.com",
    files=(
        RawFile(CHART, sha256="5a809c16bf7b21a9748b3639c5ba24753a42edf504a9d469d804eb0080d235a5",
                url="https://raw.githubusercontent.com/demiladeolabode/Anikulapo/"
                    "b6073a77d0a61af7da250ab9264b83ba9efc8797/all-weeks-countries.xlsx"),
        RawFile(TITLES_A, sha256="df1f4ad2027a5a14c3a33932ef0d4054565ff88adf92b7f263601b70fdc6f3f3",
                url=_LOOKUP_URL + TITLES_A),
        RawFile(TITLES_B, sha256="6302b7ba8c43a3bb48e79e5ca55ac0425965a344f48efda03c4192c8d03c0a11",
                url=_LOOKUP_URL + TITLES_B),
    ),
    variables=(
        Variable("kdrama_top10_share", "share 0-1",
                 "Share of Netflix weekly TV top-10 slots held by Korean titles, 2021-07-04 to 2022-11-13, stored as "
                 "year 2022 (cross-section). LOWER BOUND: titles the lookups and the reviewed list cannot classify "
                 "are not counted", "target"),
        Variable("kdrama_top10_unclassified_share", "share 0-1",
                 "Share of Netflix weekly TV top-10 slots held by unclassified titles (the Korean share lies between "
                 "kdrama_top10_share and kdrama_top10_share + this), same period", "context"),
        Variable("netflix_top10_weeks", "weeks",
                 "Weeks with a Netflix TV top 10 for the country in 2021-07-04 to 2022-11-13 (72 at most)", "context"),
    ),
    loader=load,
    static=False,
    notes=(
        "Direct drama-consumption signal, one cross-section (16 months) stored as year 2022: not a series to "
        "forecast. Ranks only (no viewing hours). Classification by the reviewed list "
        "(hallyu_forecast/data/netflix_titles_reviewed.csv), then by the Kaggle lookups; titles in neither are "
        "unclassified, so the share is a lower bound reported with the unclassified share."
    ),
)
