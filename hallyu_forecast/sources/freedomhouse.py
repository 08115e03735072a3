"""Freedom House, Freedom in the World (FIW): aggregate score, political-rights and civil-liberties ratings.

Two workbooks:

- ``Country_and_Territory_Ratings_and_Statuses_FIW_1973-2024.xlsx``, sheet
  ``"Country Ratings, Statuses "`` (the trailing space is in the file): wide, one row per country,
  a ``PR / CL / Status`` triplet per survey edition; row 1 holds the year under review.
- ``All_data_FIW_2013-2024.xlsx`` (despite its name it holds editions 2013–2025), sheet
  ``FIW13-25``: one row per country/territory and edition, with the 0–100 ``Total`` score.

Variables (``iso3`` × ``year``; the year is the calendar year under review):

- ``fh_total``: aggregate score 0–100 (higher = freer), 2012–2024, from the All_data file with
  ``year = Edition - 1`` (an FIW edition rates the previous calendar year). FH's discretionary
  political-rights question subtracts up to 4 points, so the published score can be negative
  (Syria 2014–2017: −1); values are kept as published.
- ``fh_pr`` / ``fh_cl``: political rights / civil liberties ratings, 1 (most free) to 7 (least free),
  1990–2024. 1990–2023 come from the 1973–2024 ratings file (year under review); ``-`` (not rated)
  becomes NaN. Year 2024 (edition 2025) is not in that file and is taken from the All_data file's
  ``PR rating`` / ``CL rating`` — the two files agree on every country-year they share (2012–2023).
- ``fh_status``: freedom status encoded F = 2, PF = 1, NF = 0 (same sources as the ratings).

Choices:

- **Countries only**: ``C/T == "c"`` rows of the All_data file and the country sheet of the ratings
  file. Hong Kong is on the country sheet of the ratings file but flagged ``t`` in the All_data
  file; it is kept in both (:data:`KEPT_TERRITORIES`) so its series is consistent. Other territories
  (Tibet, Crimea, Abkhazia, West Bank, Puerto Rico, …) are not used.
- **Years**: 1990 on. Earlier editions have multi-year periods under review ("Nov.1988-Dec.1989").
- **Names → ISO3** with ``to_iso3(kind="name")``, except historical states (:data:`HISTORICAL`):
  Yugoslavia 1992–2002 is the Federal Republic of Yugoslavia (Serbia and Montenegro), mapped to its
  successor SRB like "Serbia and Montenegro" (2003–2005); Yugoslavia 1990–1991 (the SFRY),
  the USSR (1990) and Czechoslovakia (1990–1992) were dissolved and are dropped. Pre-1990 states
  (East/West Germany, North/South Yemen, North/South Vietnam) have no ratings from 1990 on.
- Cell values other than 1–7, F/PF/NF or ``-`` raise :class:`~hallyu_forecast.errors.DataError`
  (footnoted values such as ``2(5)`` occur only in 1972).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hallyu_forecast.countries import to_iso3
from hallyu_forecast.errors import DataError
from hallyu_forecast.sources._base import RawFile, Source, Variable
from hallyu_forecast.sources._io import read_excel

FIRST_YEAR = 1990
ROLE = "local_conditions"
RATINGS_FILE = "Country_and_Territory_Ratings_and_Statuses_FIW_1973-2024.xlsx"
RATINGS_SHEET = "Country Ratings, Statuses "  # trailing space as in the workbook
ALL_DATA_FILE = "All_data_FIW_2013-2024.xlsx"
ALL_DATA_SHEET = "FIW13-25"
STATUS_CODES: dict[str, float] = {"F": 2.0, "PF": 1.0, "NF": 0.0}
#: Territories (C/T == "t") kept because the ratings file lists them on its country sheet.
KEPT_TERRITORIES: frozenset[str] = frozenset({"Hong Kong"})
#: name -> (first year, last year, ISO3 or None) for historical states, checked before to_iso3.
HISTORICAL: dict[str, tuple[tuple[int, int, str | None], ...]] = {
    "Yugoslavia": ((1900, 1991, None), (1992, 2002, "SRB")),
    "USSR": ((1900, 1991, None),),
    "Czechoslovakia": ((1900, 1992, None),),
}
VARIABLES: tuple[tuple[str, str, str], ...] = (
    ("fh_total", "score 0-100 (higher = freer; can dip below 0, see description)",
     "Freedom in the World aggregate score (political rights 0-40 + civil liberties 0-60), year under review "
     "= edition - 1; 2012-2024. The discretionary political-rights question can subtract up to 4 points, so a "
     "few values are negative (Syria 2014-2017: -1)"),
    ("fh_pr", "rating 1-7 (1 = most free)", "Freedom in the World political rights rating, year under review; "
     "1990-2024"),
    ("fh_cl", "rating 1-7 (1 = most free)", "Freedom in the World civil liberties rating, year under review; "
     "1990-2024"),
    ("fh_status", "code: 2 = Free, 1 = Partly Free, 0 = Not Free",
     "Freedom in the World status (F/PF/NF) encoded 2/1/0, year under review; 1990-2024"),
)
VARIABLE_NAMES = tuple(v[0] for v in VARIABLES)


def _fix() -> str:
    return "Restore the original Freedom House workbook (`hallyu-forecast data pull` or the mirror in HALLYU_DATA_DIR)."


def _rating(values: pd.Series, path: Path, what: str) -> pd.Series:
    text = values.astype(object).map(lambda v: str(v).strip() if pd.notna(v) else "-")
    out = pd.to_numeric(text.where(text != "-"), errors="coerce")
    bad = (out.isna() & (text != "-")) | ~(out.isna() | out.between(1, 7))
    if bad.any():
        raise DataError(f"{path}: unexpected {what} value(s) {sorted(set(text[bad]))[:5]} (expected 1-7 or '-'). {_fix()}")
    return out.astype("float64")


def _status(values: pd.Series, path: Path) -> pd.Series:
    text = values.astype(object).map(lambda v: str(v).strip() if pd.notna(v) else "-")
    bad = ~text.isin(list(STATUS_CODES) + ["-"])
    if bad.any():
        raise DataError(f"{path}: unexpected Status value(s) {sorted(set(text[bad]))[:5]} (expected F, PF, NF or '-'). {_fix()}")
    return text.map(STATUS_CODES).astype("float64")


def _ratings_file(folder: Path) -> pd.DataFrame:
    """Long frame name, year, fh_pr, fh_cl, fh_status from the wide 1973-2024 ratings sheet (>= 1990)."""
    path = folder / RATINGS_FILE
    raw = read_excel(path, RATINGS_SHEET, header=None)
    if raw.shape[0] < 4 or str(raw.iat[1, 0]).strip() != "Year(s) Under Review":
        raise DataError(
            f"{path}: sheet {RATINGS_SHEET!r} does not have the expected layout (row 2 should start with "
            f"'Year(s) Under Review'; found {raw.iat[1, 0] if raw.shape[0] > 1 else None!r}). {_fix()}"
        )
    years = raw.iloc[1].ffill()
    kinds = raw.iloc[2].astype(object).map(lambda v: str(v).strip() if pd.notna(v) else "")
    names = raw.iloc[3:, 0].astype(object).map(lambda v: str(v).strip() if pd.notna(v) else "")
    body = raw.iloc[3:][names != ""]
    names = names[names != ""]
    parts = []
    for year in sorted({int(y) for y in years.iloc[1:] if str(y).strip().isdigit()}):
        if year < FIRST_YEAR:
            continue
        cols = {kinds[j]: j for j in range(1, raw.shape[1]) if str(years[j]).strip() == str(year)}
        if set(cols) != {"PR", "CL", "Status"}:
            raise DataError(
                f"{path}: year {year} should have PR, CL and Status columns; found {sorted(cols)}. "
                f"The layout changed or the file is damaged. {_fix()}"
            )
        parts.append(pd.DataFrame({
            "name": names.to_numpy(),
            "year": year,
            "fh_pr": _rating(body[cols["PR"]], path, "PR").to_numpy(),
            "fh_cl": _rating(body[cols["CL"]], path, "CL").to_numpy(),
            "fh_status": _status(body[cols["Status"]], path).to_numpy(),
        }))
    if not parts:
        raise DataError(f"{path}: no year under review >= {FIRST_YEAR} found in row 2. {_fix()}")
    out = pd.concat(parts, ignore_index=True)
    return out.dropna(subset=["fh_pr", "fh_cl", "fh_status"], how="all")


def _all_data_file(folder: Path) -> pd.DataFrame:
    """Long frame name, year, fh_total, fh_pr, fh_cl, fh_status from the 2013-2025 All_data sheet."""
    path = folder / ALL_DATA_FILE
    cols = ["Country/Territory", "C/T", "Edition", "Status", "PR rating", "CL rating", "Total"]
    raw = read_excel(path, ALL_DATA_SHEET, columns=cols, header=1)
    name = raw["Country/Territory"].astype(str).str.strip()
    ct = raw["C/T"].astype(str).str.strip().str.lower()
    if not ct.isin(["c", "t"]).all():
        raise DataError(f"{path}: column `C/T` should hold only 'c' or 't'; found {sorted(set(ct))[:5]}. {_fix()}")
    keep = (ct == "c") | name.isin(KEPT_TERRITORIES)
    raw, name = raw[keep], name[keep]
    edition = pd.to_numeric(raw["Edition"], errors="coerce")
    total = pd.to_numeric(raw["Total"], errors="coerce")
    if edition.isna().any() or total.isna().any() or not total.between(-4, 100).all():
        raise DataError(f"{path}: `Edition` or `Total` is empty, non-numeric or outside -4..100 in some rows. {_fix()}")
    return pd.DataFrame({
        "name": name.to_numpy(),
        "year": (edition - 1).astype("int64").to_numpy(),
        "fh_total": total.astype("float64").to_numpy(),
        "fh_pr": _rating(raw["PR rating"], path, "PR rating").to_numpy(),
        "fh_cl": _rating(raw["CL rating"], path, "CL rating").to_numpy(),
        "fh_status": _status(raw["Status"], path).to_numpy(),
    })


def _iso3(frame: pd.DataFrame) -> pd.Series:
    """ISO3 per row: HISTORICAL by (name, year) first, then to_iso3 on the other names."""
    out = pd.Series(None, index=frame.index, dtype=object)
    hist = frame["name"].isin(list(HISTORICAL))
    for idx in frame.index[hist]:
        name, year = frame.at[idx, "name"], int(frame.at[idx, "year"])
        spans = [iso for lo, hi, iso in HISTORICAL[name] if lo <= year <= hi]
        if not spans:
            raise DataError(f"Freedom House: {name!r} is rated in {year}, outside the spans in freedomhouse.HISTORICAL; "
                            "decide which state that year belongs to.")
        out[idx] = spans[0]
    if (~hist).any():
        out[~hist] = to_iso3(frame.loc[~hist, "name"], source="freedomhouse", kind="name")
    return out


def load(folder: Path) -> pd.DataFrame:
    """FH score (2012–2024) and ratings/status (1990–2024) per ``iso3, year``."""
    folder = Path(folder)
    ratings = _ratings_file(folder)
    alldata = _all_data_file(folder)
    # Ratings: the long 1973-2024 file first; All_data only for years it does not cover (2024).
    later = alldata[alldata["year"] > ratings["year"].max()][["name", "year", "fh_pr", "fh_cl", "fh_status"]]
    ratings = pd.concat([ratings, later], ignore_index=True)
    frame = ratings.merge(alldata[["name", "year", "fh_total"]], on=["name", "year"], how="outer")
    frame = frame[frame["year"] >= FIRST_YEAR]
    frame["iso3"] = _iso3(frame)
    frame = frame[frame["iso3"].notna()]
    dup = frame.duplicated(["iso3", "year"], keep=False)
    if dup.any():
        sample = frame.loc[dup, ["name", "iso3", "year"]].head(6).to_dict("records")
        raise DataError(f"Freedom House: two names map to one country-year, e.g. {sample}; review freedomhouse.HISTORICAL.")
    frame = frame[["iso3", "year", *VARIABLE_NAMES]].dropna(subset=list(VARIABLE_NAMES), how="all")
    frame["year"] = frame["year"].astype("int64")
    return frame.sort_values(["iso3", "year"]).reset_index(drop=True)


SOURCE = Source(
    name="freedomhouse",
    title="Freedom in the World: country ratings and statuses 1973-2024 and aggregate scores 2013-2025",
    publisher="Freedom House",
    license="Freedom House terms of use (non-commercial use with attribution; no open data license)",
    citation="Freedom House, Freedom in the World (editions 1973-2025). https://freedomhouse.org/report/freedom-world",
    homepage="https://freedomhouse.org/report/freedom-world",
    files=(
        RawFile(RATINGS_FILE, "47a98eb8ed1081802f14ab01582a3dd0b5b7a8706124bbd7bc98a121f65fb964",
                "https://raw.githubusercontent.com/TdeKoning21/Ukraine-Trade-Shift-Project/"
                "36c25e1028b35c9617ec8cfacf1afad4d9ee7aff/Data/"
                "Country_and_Territory_Ratings_and_Statuses_FIW_1973-2024.xlsx"),
        RawFile(ALL_DATA_FILE, "4e2d5ee26964b9eed2cb1da5a1f6d3eba8b493915b54c9c53a45df397786e919",
                "https://raw.githubusercontent.com/VizualOptima/Freedom_Index/"
                "c22bf3bd32829b860d440e3a813736cdb76580e5/All_data_FIW_2013-2024.xlsx"),
    ),
    variables=tuple(Variable(n, u, d, ROLE) for n, u, d in VARIABLES),
    loader=load,
    static=False,
    notes=(
        "Publisher downloads: freedomhouse.org/sites/default/files/2024-02/Country_and_Territory_Ratings_and_"
        "Statuses_FIW_1973-2024.xlsx and .../2025-02/All_data_FIW_2013-2025.xlsx (mirrored from GitHub copies; "
        "the All_data copy keeps the old file name but holds editions 2013-2025). Year = year under review = "
        "edition - 1. fh_total 2012-2024; fh_pr/fh_cl/fh_status 1990-2023 from the ratings file and 2024 from "
        "the All_data file (both agree on all 2012-2023 country-years). '-' = not rated -> NaN. Status F/PF/NF "
        "-> 2/1/0. Countries only (C/T == 'c', country sheet), plus Hong Kong, which the ratings file lists "
        "as a country. Yugoslavia 1992-2002 (FRY) -> SRB; SFRY 1990-1991, USSR 1990 and Czechoslovakia "
        "1990-1992 dropped (dissolved states). Years 1990 on."
    ),
)
