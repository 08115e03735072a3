"""kdiplo: Korea's bilateral trade and the two Koreas' diplomatic ties, per partner country-year.

Source: Kadir Jun Ayhan's ``kdiplo`` R package data (GitHub ``kjayhan/kdiplo`` at commit
``effe959``), files ``data-raw/trade_data.csv`` and ``data-raw/diplo_ties_data.csv``.
``data-raw/iso3c_data.csv`` (Korean country name -> ISO3) is declared too, because
:mod:`hallyu_forecast.countries` reads it directly; this loader does not use it.

Variables (per partner ``iso3`` x ``year``, 1990 on; trade to 2023, ties to 2025):

- ``kor_exports_usd`` / ``kor_imports_usd``: Korea's exports to / imports from the partner,
  current US dollars, from the KOSIS columns ``export_kosis`` / ``import_kosis``.
- ``kor_trade_usd``: exports + imports; a missing side counts as 0 unless both are
  missing (then NaN).
- ``ties_south`` / ``ties_north``: 1 if the partner has diplomatic ties with South / North
  Korea that year, else 0 (kdiplo's year-by-year ``diplomatic_ties`` series).
- ``ties_south_years``: years since the start of the current uninterrupted spell of ties
  with South Korea (``year - spell start``; 0 in the establishment year and whenever
  ``ties_south`` is 0).

Choices and caveats handled:

- **KOSIS/COW break.** kdiplo's ``export``/``import`` columns are KOSIS values with gaps
  filled from Correlates of War (COW), whose series ends in 2014. From 1990 on the two
  columns equal ``export_kosis``/``import_kosis`` except for 80 COW-filled cells (mostly
  zeros; North Korea, Cuba, Albania, ...) that all stop in 2014 — keeping them would add a
  level break at 2014 for exactly those partners. We therefore use the KOSIS-only columns:
  one consistent series 1990-2023; the 80 COW-only cells become NaN.
- **Legacy partner codes.** Codes go through ``to_iso3(kind="iso3")``; ANT (Netherlands
  Antilles, defunct) is dropped by it. KOSIS still books tiny flows under historical
  partner labels; those with one successor are folded into it by summing (New Hebrides
  NHB->VUT, South Yemen YMD->YEM, Metropolitan France FXX->FRA, Canton & Enderbury
  CTE->KIR, Panama Canal Zone PCZ->PAN, Johnston/Midway/Wake JTN/MID/WAK->UMI); the two
  without a single successor (Pacific Islands Trust Territory PCI, Saudi-Iraqi Neutral Zone
  NTZ) are dropped. Sums keep NaN when every summed cell is NaN.
- **Establishment dates.** kdiplo's ``date`` column sometimes predates the Republic of
  Korea (USA 1882, Italy 1884: Joseon-era treaties) or disagrees with the year-by-year
  series (Kiribati, Nauru, Tonga, Tuvalu, Comoros, Samoa, Vanuatu, Slovakia). We use the
  year-by-year series only, so ``ties_south_years`` counts from the first year the series
  shows ties (1948 for countries with ties from the ROK's founding), restarting after a cut
  (Viet Nam, Laos, Cambodia, Benin, Togo, Madagascar, Afghanistan, Congo, Mauritania,
  Seychelles, Cuba 2024). This uses no future information: each value depends only on the
  ties in that year and earlier.
- Korea itself (KOR) is dropped; North Korea (PRK) is kept with ``ties_south`` = 0 and
  ``ties_north`` = NaN (a state has no ties with itself). Years before 1990 are dropped;
  rows where every variable is missing (territories with no recorded trade) are dropped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hallyu_forecast.countries import to_iso3
from hallyu_forecast.errors import DataError
from hallyu_forecast.sources._base import RawFile, Source, Variable
from hallyu_forecast.sources._io import read_csv

_URL = "https://raw.githubusercontent.com/kjayhan/kdiplo/effe959172fadc9f858a372a8fe6757c67089f22/data-raw/{}"
FIRST_YEAR = 1990
TRADE_FILE = "trade_data.csv"
TIES_FILE = "diplo_ties_data.csv"
NAMES_FILE = "iso3c_data.csv"

#: KOSIS historical partner labels -> successor ISO3 (None: no single successor, dropped).
LEGACY_PARTNERS: dict[str, str | None] = {
    "NHB": "VUT",
    "YMD": "YEM",
    "FXX": "FRA",
    "CTE": "KIR",
    "PCZ": "PAN",
    "JTN": "UMI",
    "MID": "UMI",
    "WAK": "UMI",
    "PCI": None,
    "NTZ": None,
}

VARIABLES = (
    "kor_exports_usd",
    "kor_imports_usd",
    "kor_trade_usd",
    "ties_south",
    "ties_north",
    "ties_south_years",
)


def _country_data_dir(folder: Path) -> Path | None:
    """Mirror holding countrycode/ and kdiplo/ for ``to_iso3``: the source's parent if it has them."""
    parent = Path(folder).parent
    return parent if (parent / "countrycode").is_dir() else None


def _require_complete(frame: pd.DataFrame, column: str, path: Path) -> None:
    """A column that is never empty in the original: gaps mean a truncated/damaged file."""
    if frame[column].isna().any():
        rows = int(frame[column].isna().sum())
        raise DataError(
            f"{path}: column `{column}` is empty in {rows} row(s) although the original file has "
            "no gaps; the file looks truncated or damaged. Re-download it with "
            "`hallyu-forecast data pull` or restore it from the mirror (HALLYU_DATA_DIR)."
        )


def _partner_iso3(codes: pd.Series, folder: Path) -> pd.Series:
    iso = to_iso3(codes, source="kdiplo", kind="iso3", data_dir=_country_data_dir(folder))
    legacy = codes.map(LEGACY_PARTNERS)
    is_legacy = codes.isin(list(LEGACY_PARTNERS))
    return iso.where(~is_legacy, legacy).astype(object)


def _trade(folder: Path) -> pd.DataFrame:
    path = folder / TRADE_FILE
    raw = read_csv(path, columns=["iso3c", "year", "export_kosis", "import_kosis", "updated_at"],
                   keys=("iso3c", "year"))
    _require_complete(raw, "updated_at", path)
    raw = raw[raw["iso3c"].notna()].copy()
    raw["iso3"] = _partner_iso3(raw["iso3c"], folder)
    raw = raw[raw["iso3"].notna() & (raw["iso3"] != "KOR")]
    raw = raw[raw["year"] >= FIRST_YEAR]
    out = (
        raw.groupby(["iso3", "year"], as_index=False)
        .agg(
            kor_exports_usd=("export_kosis", lambda s: s.sum(min_count=1)),
            kor_imports_usd=("import_kosis", lambda s: s.sum(min_count=1)),
        )
    )
    out["kor_trade_usd"] = out[["kor_exports_usd", "kor_imports_usd"]].sum(axis=1, min_count=1)
    return out


def _spell_years(group: pd.DataFrame) -> pd.Series:
    """Years since the start of the current run of ties == 1 (0 when no ties)."""
    ties = group["diplomatic_ties"].to_numpy()
    years = group["year"].to_numpy()
    out = np.zeros(len(ties), dtype=float)
    start = None
    for i, (tie, year) in enumerate(zip(ties, years)):
        if tie == 1:
            if start is None or (i > 0 and ties[i - 1] != 1):
                start = year
            out[i] = year - start
        else:
            start = None
    return pd.Series(out, index=group.index)


def _ties(folder: Path) -> pd.DataFrame:
    path = folder / TIES_FILE
    raw = read_csv(path, columns=["iso3c", "south_north", "year", "diplomatic_ties", "updated_at"],
                   keys=("iso3c", "south_north", "year"))
    _require_complete(raw, "updated_at", path)
    sides = set(raw["south_north"].dropna().unique())
    if not {"South Korea", "North Korea"} <= sides:
        raise DataError(
            f"{path}: column `south_north` should hold 'South Korea' and 'North Korea'; found "
            f"{sorted(sides)}. Restore the original file."
        )
    bad = ~raw["diplomatic_ties"].isin([0, 1])
    if bad.any():
        raise DataError(
            f"{path}: column `diplomatic_ties` must be 0 or 1; found "
            f"{sorted(raw.loc[bad, 'diplomatic_ties'].astype(str).unique())[:10]}. Restore the original file."
        )
    raw = raw[raw["iso3c"].notna()].copy()
    raw["iso3"] = _partner_iso3(raw["iso3c"], folder)
    raw = raw[raw["iso3"].notna() & (raw["iso3"] != "KOR")]
    raw = raw.sort_values(["south_north", "iso3", "year"])

    south = raw[raw["south_north"] == "South Korea"].copy()
    south["ties_south_years"] = south.groupby("iso3", group_keys=False)[["year", "diplomatic_ties"]].apply(
        _spell_years
    )
    south = south.rename(columns={"diplomatic_ties": "ties_south"})[["iso3", "year", "ties_south", "ties_south_years"]]
    north = raw[(raw["south_north"] == "North Korea") & (raw["iso3"] != "PRK")]
    north = north.rename(columns={"diplomatic_ties": "ties_north"})[["iso3", "year", "ties_north"]]
    ties = south.merge(north, on=["iso3", "year"], how="outer")
    ties = ties[ties["year"] >= FIRST_YEAR]
    for col in ("ties_south", "ties_north", "ties_south_years"):
        ties[col] = ties[col].astype("float64")
    return ties


def load(folder: Path) -> pd.DataFrame:
    """Read kdiplo trade and diplomatic-ties files; return iso3, year and the six variables."""
    folder = Path(folder)
    out = _trade(folder).merge(_ties(folder), on=["iso3", "year"], how="outer")
    out = out.dropna(subset=list(VARIABLES), how="all")
    out["year"] = out["year"].astype("int64")
    out["iso3"] = out["iso3"].astype(str)
    return out[["iso3", "year", *VARIABLES]].sort_values(["iso3", "year"]).reset_index(drop=True)


SOURCE = Source(
    name="kdiplo",
    title="kdiplo: Datasets and Tools to Analyze Korean Diplomacy (trade and diplomatic ties)",
    publisher="Kadir Jun Ayhan (data from KOSIS, Correlates of War, Ministry of Foreign Affairs of Korea)",
    license="MIT",
    citation=(
        "Ayhan, Kadir Jun (2025). kdiplo: Datasets and Tools to Analyze Korean Diplomacy. "
        "R package version 0.2.x. https://github.com/kjayhan/kdiplo"
    ),
    homepage="https://github.com/kjayhan/kdiplo",
    files=(
        RawFile(
            TRADE_FILE,
            sha256="2cdff06db04c3619a35b9e472b9955041da9c30152de071c3418eff3c9a838cf",
            url=_URL.format(TRADE_FILE),
        ),
        RawFile(
            TIES_FILE,
            sha256="6884189bac8078c1f2f285d17b1111b673162ff71b9880b36e8053f3fb7f4844",
            url=_URL.format(TIES_FILE),
        ),
        RawFile(
            NAMES_FILE,
            sha256="0ab52516e3a6aeeec676e0538f79cffca4300e93b9f7651251c2f183c8d39bb6",
            url=_URL.format(NAMES_FILE),
        ),
    ),
    variables=(
        Variable(
            "kor_exports_usd",
            "current US$",
            "Korea's merchandise exports to the partner (KOSIS export by country, via kdiplo "
            "`export_kosis`; COW-imputed cells excluded)",
            "government_support",
        ),
        Variable(
            "kor_imports_usd",
            "current US$",
            "Korea's merchandise imports from the partner (KOSIS import by country, via kdiplo "
            "`import_kosis`; COW-imputed cells excluded)",
            "government_support",
        ),
        Variable(
            "kor_trade_usd",
            "current US$",
            "Korea's total merchandise trade with the partner: exports + imports (NaN only if both are missing)",
            "government_support",
        ),
        Variable(
            "ties_south",
            "1/0",
            "1 if the partner has diplomatic ties with South Korea in that year (kdiplo diplomatic_ties)",
            "government_support",
        ),
        Variable(
            "ties_north",
            "1/0",
            "1 if the partner has diplomatic ties with North Korea in that year (kdiplo diplomatic_ties); "
            "NaN for North Korea itself",
            "government_support",
        ),
        Variable(
            "ties_south_years",
            "years",
            "Years since the current uninterrupted spell of diplomatic ties with South Korea began "
            "(year minus first year of the spell; 0 when there are no ties)",
            "government_support",
        ),
    ),
    loader=load,
    notes=(
        "Trade uses KOSIS-only columns (export_kosis/import_kosis): kdiplo's export/import fill KOSIS "
        "gaps with COW values that end in 2014, which would create a level break at 2014 for 80 "
        "partner-year cells after 1990. Legacy KOSIS partner labels are folded into their successor "
        "(NHB->VUT, YMD->YEM, FXX->FRA, CTE->KIR, PCZ->PAN, JTN/MID/WAK->UMI) or dropped (PCI, NTZ, ANT). "
        "ties_south_years is computed from the year-by-year ties series (not kdiplo's `date`, which "
        "predates the ROK for USA/ITA and disagrees with the series for 9 countries) and restarts after "
        "a cut. KOR dropped; PRK kept with ties_north NaN. Years 1990 on (trade to 2023, ties to 2025)."
    ),
)
