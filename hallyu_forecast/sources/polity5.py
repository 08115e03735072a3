"""Polity5 Annual Time-Series (Center for Systemic Peace): the revised combined Polity score.

File ``p5v2018.csv``: the official ``p5v2018.xls`` exported to CSV (all 37 columns) by a third
party. One row per polity-year, identified by ``scode`` (Polity alpha code, *not* ISO3: ROK = South
Korea, TAW = Taiwan, UKG = United Kingdom) and ``ccode`` (COW numeric).

Variable (``iso3`` × ``year``, 1990–2018):

- ``polity2``: revised combined Polity score, −10 (full autocracy) to +10 (full democracy). The
  special codes of ``polity`` (−66 interruption, −77 interregnum, −88 transition) are already
  converted/interpolated in ``polity2``, which is the series meant for time-series use.

Choices:

- **Ends in 2018.** Polity5 stops in 2018 (2019–2020 hold one addendum row each, for the USA only;
  they are kept as published). About six years of a 1995–2024 window are missing: prefer V-Dem or
  Freedom House as the main regime measure. Only states with population > 500,000 are coded.
- **Years**: 1990 on.
- **Codes → ISO3** with ``to_iso3(kind="p5c")``, except the Polity codes of historical or
  renumbered polities in :data:`POLITY_CODES` (countrycode's concordance has no p5c for them, and
  ``CZE`` is Czechoslovakia in Polity but Czechia in ISO): ETH (Ethiopia to 1993) → ETH, SUD (Sudan
  to 2011) → SDN, KOS → XKX, YGS (Yugoslavia/Serbia and Montenegro 1991–2006) → SRB,
  USR (USSR 1990–1991) → RUS (the continuing state; Polity's RUS starts in 1992). Dissolved or
  merged states are dropped: CZE (Czechoslovakia 1990–1992), YUG (SFRY 1990–1991), GDR/GFR
  (the two Germanies, 1990; the unified GMY has its own 1990 row), YAR/YPR (the two Yemens, 1990;
  YEM has its own 1990 row).
- **Transition years.** Where two polities of one country share a year (ETH/ETI 1993, YGS/SER 2006,
  SUD/SDN 2011), the row of the newer polity (the code whose series starts later) is kept, so each
  country-year appears once.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hallyu_forecast.countries import to_iso3
from hallyu_forecast.errors import DataError
from hallyu_forecast.sources._base import RawFile, Source, Variable
from hallyu_forecast.sources._io import read_csv

FIRST_YEAR = 1990
LAST_YEAR = 2018
ROLE = "local_conditions"
FILE = "p5v2018.csv"

#: Polity codes countrycode does not resolve (or resolves wrongly); None = dropped on purpose.
POLITY_CODES: dict[str, str | None] = {
    "ETH": "ETH",  # Ethiopia before the 1993 polity change (ETI afterwards)
    "SUD": "SDN",  # Sudan to 2011 (SDN "Sudan-North" afterwards)
    "KOS": "XKX",  # Kosovo
    "YGS": "SRB",  # Yugoslavia (FRY) 1991-2002, Serbia and Montenegro 2003-2006
    "USR": "RUS",  # USSR 1990-1991; Polity's RUS starts 1992
    "CZE": None,  # Czechoslovakia 1990-1992 (not Czechia: Polity codes Czechia CZR)
    "YUG": None,  # Socialist Federal Republic of Yugoslavia 1990-1991
    "GDR": None,  # German Democratic Republic, 1990
    "GFR": None,  # Federal Republic of Germany, 1990 (GMY covers 1990 on)
    "YAR": None,  # North Yemen, 1990 (YEM covers 1990 on)
    "YPR": None,  # South Yemen, 1990
}


def _fix() -> str:
    return "Restore the original file with `hallyu-forecast data pull` or from the mirror (HALLYU_DATA_DIR)."


def load(folder: Path) -> pd.DataFrame:
    """Polity5 ``polity2`` per ``iso3, year`` (1990–2018, plus the USA's 2019–2020 addendum)."""
    path = Path(folder) / FILE
    cols = ["ccode", "scode", "country", "year", "polity", "polity2"]
    raw = read_csv(path, columns=cols, keys=("scode", "year"))
    # `scode`, `year` and `polity` are never empty in the original: gaps mean a cut/damaged file.
    if raw[["scode", "year", "polity"]].isna().any().any():
        raise DataError(f"{path}: empty `scode`, `year` or `polity` cells (the original has none); "
                        f"the file looks truncated or damaged. {_fix()}")
    year = pd.to_numeric(raw["year"], errors="coerce")
    polity2 = pd.to_numeric(raw["polity2"], errors="coerce")
    if year.isna().any() or (polity2.isna() & raw["polity2"].notna()).any():
        raise DataError(f"{path}: non-numeric `year` or `polity2` values; the file is damaged. {_fix()}")
    if not polity2.dropna().between(-10, 10).all():
        raise DataError(f"{path}: `polity2` outside -10..10; the column was altered. {_fix()}")
    if year.max() < LAST_YEAR or not (raw["scode"] == "ZIM").any():
        raise DataError(f"{path}: the file should run to {LAST_YEAR} and end with Zimbabwe (ZIM); it looks "
                        f"truncated. {_fix()}")
    frame = pd.DataFrame({"scode": raw["scode"].astype(str).str.strip(), "year": year.astype("int64"),
                          "polity2": polity2.astype("float64")})
    first_year = frame.groupby("scode")["year"].transform("min")
    frame = frame[frame["year"] >= FIRST_YEAR].assign(_start=first_year)
    special = frame["scode"].isin(list(POLITY_CODES))
    iso3 = pd.Series(None, index=frame.index, dtype=object)
    iso3[special] = frame.loc[special, "scode"].map(POLITY_CODES)
    if (~special).any():
        iso3[~special] = to_iso3(frame.loc[~special, "scode"], source="polity5", kind="p5c")
    frame["iso3"] = iso3
    frame = frame[frame["iso3"].notna()]
    # Transition years: keep the newer polity's row.
    frame = frame.sort_values(["iso3", "year", "_start"]).drop_duplicates(["iso3", "year"], keep="last")
    return frame[["iso3", "year", "polity2"]].sort_values(["iso3", "year"]).reset_index(drop=True)


SOURCE = Source(
    name="polity5",
    title="Polity5: Political Regime Characteristics and Transitions, 1800-2018 (annual time series)",
    publisher="Center for Systemic Peace (CSP), Polity5 Project",
    license="No formal license; free for non-commercial research use with citation",
    citation="Marshall, M. G. and Gurr, T. R. (2020). Polity5: Political Regime Characteristics and "
    "Transitions, 1800-2018. Dataset Users' Manual. Center for Systemic Peace. "
    "https://www.systemicpeace.org/inscrdata.html",
    homepage="https://www.systemicpeace.org/inscrdata.html",
    files=(
        RawFile(FILE, "bc58a058bab72bafd5046b9ad56c29f448ea6753dd24853464f8227eedd78172",
                "https://raw.githubusercontent.com/hengyix/DAP2-FINAL/"
                "e8504c5b981aaca487f0fe85d0b50cfe7174c7b3/data/p5v2018.csv"),
    ),
    variables=(
        Variable("polity2", "score -10..10 (higher = more democratic)",
                 "Revised combined Polity score (Polity5 polity2: democ - autoc with special codes converted); "
                 "ends in 2018 (USA to 2020)", ROLE),
    ),
    loader=load,
    static=False,
    notes=(
        "CSV export of the official https://www.systemicpeace.org/inscr/p5v2018.xls (all 37 columns), as "
        "committed to github.com/hengyix/DAP2-FINAL. The series ENDS IN 2018 (2019-2020: USA only), so "
        "about six years of a 1995-2024 window are missing; prefer V-Dem or Freedom House as the main regime "
        "measure. scode -> ISO3 via to_iso3(kind='p5c'); historical codes handled in polity5.POLITY_CODES "
        "(ETH, SUD->SDN, KOS->XKX, YGS->SRB, USR->RUS; CZE=Czechoslovakia, YUG, GDR, GFR, YAR, YPR dropped). "
        "In transition years the newer polity's row is kept. Years 1990 on."
    ),
)
