"""World Religion Project (COW World Religion Data v1.1), national religious composition, 1990-2010.

5-yearly estimates of adherents per state. The staged file is a student re-publication of COW's
``WRP_national.csv`` with renamed columns and only the count columns (the ``...pct`` columns are
gone), so shares are computed here as ``count / population in independent states``:

- ``christian_share`` = ``total christians`` / population
- ``muslim_share`` = ``total muslims`` / population
- ``buddhist_share`` = ``total buddhists`` / population
- ``hindu_share`` = ``total hindus`` / population
- ``nonreligious_share`` = ``non religious`` / population

Each share lies in [0, 1]; they need not sum to 1 (COW counts dual affiliation, e.g. Japan's
Shinto-Buddhists, so its ``total`` column reaches 1.68). A share outside [0, 1] raises DataError.
Years kept: 1990, 1995, 2000, 2005, 2010 (earlier waves are outside the package's range). Values
are NOT carried forward to other years here; the panel builder does that.

States are keyed by the COW numeric code ``state`` (not the alpha ``name``: COW alpha codes clash
with ISO3, e.g. COW ``CZE`` is Czechoslovakia and ``PAL`` is Palau) via
``to_iso3(kind="cown")``. Deliberate exceptions, applied before mapping (:data:`SPECIAL_CASES`):

- 255 GMY (Germany) -> DEU for all years. 260 GFR (West Germany) 1990 is dropped: COW already
  carries unified Germany (255) in 1990.
- 315 CZE (Czechoslovakia) 1990 dropped: an aggregate of today's CZE and SVK (316 CZR and 317 SLO
  start in 1995).
- 345 YUG: 1990 (SFR Yugoslavia, all six republics) dropped; 1995-2005 (FR Yugoslavia / Serbia and
  Montenegro) and 2010 (Serbia alone, with Montenegro 341 and Kosovo 347 separate) -> SRB,
  Serbia being the legal successor. 341 MNG -> MNE.
- 678 YAR / 680 YPR (North / South Yemen) 1990 dropped: COW also carries unified Yemen (679) in
  1990.
- 365 RUS 1990 dropped: its population (281 million) is the whole Soviet Union; the other
  successor states start in 1995. 365 -> RUS from 1995.
- 347 KOS (Kosovo, 2010 only) -> XKX, the World Bank's code for Kosovo (not an ISO 3166 code).
- 713 TAW -> TWN, 860 ETM -> TLS, 986 PAL -> PLW (Palau) go through the normal mapping.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hallyu_forecast.countries import to_iso3
from hallyu_forecast.errors import DataError
from hallyu_forecast.sources._base import RawFile, Source, Variable
from hallyu_forecast.sources._io import read_csv

FILE = "WRP_national.csv"
YEARS = (1990, 1995, 2000, 2005, 2010)
POPULATION = "population in independent states"
SHARES: dict[str, str] = {
    "christian_share": "total christians",
    "muslim_share": "total muslims",
    "buddhist_share": "total buddhists",
    "hindu_share": "total hindus",
    "nonreligious_share": "non religious",
}

#: (COW state code, year or None for every year) -> ISO3, or None to drop the row. Checked first.
SPECIAL_CASES: dict[tuple[int, int | None], str | None] = {
    (260, 1990): None,   # West Germany; unified Germany (255) is also present in 1990
    (255, None): "DEU",
    (315, 1990): None,   # Czechoslovakia (CZE + SVK)
    (345, 1990): None,   # SFR Yugoslavia (all republics)
    (345, None): "SRB",  # FR Yugoslavia / Serbia and Montenegro 1995-2005, Serbia 2010
    (341, None): "MNE",
    (678, 1990): None,   # Yemen Arab Republic; unified Yemen (679) also present in 1990
    (680, 1990): None,   # People's Democratic Republic of Yemen; idem
    (365, 1990): None,   # Soviet Union population, not Russia's
    (347, None): "XKX",  # Kosovo (World Bank code)
}


def _special(state: int, year: int) -> tuple[bool, str | None]:
    for key in ((state, year), (state, None)):
        if key in SPECIAL_CASES:
            return True, SPECIAL_CASES[key]
    return False, None


def load(folder: Path) -> pd.DataFrame:
    path = Path(folder) / FILE
    raw = read_csv(path, columns=("year", "state", "name", POPULATION, *SHARES.values()), keys=("state", "year"))
    numeric = ["year", "state", POPULATION, *SHARES.values()]
    for col in numeric:
        values = pd.to_numeric(raw[col], errors="coerce")
        if values.isna().any():
            bad = raw.loc[values.isna(), col].astype(str).unique()[:5].tolist()
            raise DataError(f"{path}: column `{col}` has missing or non-numeric value(s) {bad}; the file "
                            "may be truncated or corrupt. Restore the original file.")
        raw[col] = values
    raw = raw.loc[raw["year"].isin(YEARS)].copy()
    if raw.empty:
        raise DataError(f"{path}: no rows for the years {YEARS}. Restore the original file.")
    raw["year"] = raw["year"].astype("int64")
    raw["state"] = raw["state"].astype("int64")
    if (raw[POPULATION] <= 0).any():
        raise DataError(f"{path}: non-positive `{POPULATION}` for "
                        f"{raw.loc[raw[POPULATION] <= 0, ['year', 'name']].to_dict('records')[:5]}.")

    special = [_special(s, y) for s, y in zip(raw["state"], raw["year"])]
    is_special = np.array([hit for hit, _ in special], dtype=bool)
    iso3 = pd.Series([code for _, code in special], index=raw.index, dtype="object")
    rest = raw.loc[~is_special, "state"]
    if len(rest):
        iso3.loc[rest.index] = to_iso3(rest, source="religion", kind="cown").to_numpy()
    raw["iso3"] = iso3
    raw = raw.loc[raw["iso3"].notna()].copy()

    out = pd.DataFrame({"iso3": raw["iso3"].astype("string"), "year": raw["year"]})
    for name, col in SHARES.items():
        share = (raw[col] / raw[POPULATION]).astype("float64")
        bad = (share < 0) | (share > 1)
        if bad.any():
            raise DataError(f"{path}: `{col}` exceeds `{POPULATION}` for "
                            f"{raw.loc[bad, ['year', 'name']].to_dict('records')[:5]}. Restore the original file.")
        out[name] = share
    dup = out.duplicated(["iso3", "year"], keep=False)
    if dup.any():
        raise DataError(f"{path}: several COW states map to the same country-year "
                        f"{out.loc[dup, ['iso3', 'year']].drop_duplicates().to_dict('records')[:10]}; "
                        "extend SPECIAL_CASES in hallyu_forecast/sources/religion.py.")
    return out.sort_values(["iso3", "year"]).reset_index(drop=True)


SOURCE = Source(
    name="religion",
    title="World Religion Project: national religion data 1945-2010 (COW World Religion Data v1.1)",
    publisher="Correlates of War Project (Maoz & Henderson); file re-published on GitHub by 10515546",
    license="COW data: free to use with citation (no open licence stated; the GitHub copy has no licence file)",
    citation=("Maoz, Z. & Henderson, E.A. (2013). The World Religion Dataset, 1945-2010: Logic, Estimates, "
              "and Trends. International Interactions 39(3)."),
    homepage="https://correlatesofwar.org/data-sets/world-religion-data/",
    files=(
        RawFile(FILE,
                sha256="a79d395595067c2f59cb3fd43b48f67a86e5c7225614a3a6be23c91fbd18d65e",
                url=("https://raw.githubusercontent.com/10515546/World-Religion-Population/"
                     "26637ede067d55df9e7dbb8a9dd870fbc48294da/WRP_national.csv")),
    ),
    variables=(
        Variable("christian_share", "share of population (0-1)",
                 "Christians (all denominations) / population (COW WRP national)", "local_conditions"),
        Variable("muslim_share", "share of population (0-1)",
                 "Muslims (all branches) / population (COW WRP national)", "local_conditions"),
        Variable("buddhist_share", "share of population (0-1)",
                 "Buddhists (all schools) / population (COW WRP national)", "local_conditions"),
        Variable("hindu_share", "share of population (0-1)",
                 "Hindus / population (COW WRP national)", "local_conditions"),
        Variable("nonreligious_share", "share of population (0-1)",
                 "Non-religious people / population (COW WRP national)", "local_conditions"),
    ),
    loader=load,
    static=False,
    notes=("5-yearly, years 1990-2010 only; the panel builder carries values forward. Shares computed as "
           "count / 'population in independent states' (the mirror dropped COW's pct columns). Keyed on "
           "COW numeric codes. Dropped: 1990 West Germany (260), Czechoslovakia (315), SFR Yugoslavia (345), "
           "North/South Yemen (678/680) and USSR (365) rows. 345 1995-2010 -> SRB (Serbia and Montenegro, "
           "then Serbia), 341 -> MNE, 347 Kosovo -> XKX, 255 -> DEU, 986 (COW 'PAL') -> PLW Palau."),
)
