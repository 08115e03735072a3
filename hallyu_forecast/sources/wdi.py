"""World Bank World Development Indicators (WDI): 19 economy-level indicators per country-year.

Raw files are the World Bank's per-indicator bulk CSVs (``API_<CODE>_DS2_en_csv_v2_<n>.csv``),
each with its ``Metadata_Indicator_…`` file, plus one ``Metadata_Country_…`` file (World Bank
region and income group per economy). Eighteen indicators come from the April 2025 WDI release
(``"Last Updated Date","2025-04-15"``), GDP per capita PPP (NY.GDP.PCAP.PP.KD, constant 2021
international $) from the July 2025 release.

File layout handled: UTF-8 with BOM, CRLF, a 4-line preamble (read with ``skiprows=4``), one wide
row per economy or aggregate with year columns ``1960`` … ``2024`` and an empty trailing column
(dropped).

Choices (also in ``SOURCE.notes``):

- **Aggregates.** Only codes whose ``Region`` is non-empty in the Metadata_Country file are kept
  (217 economies). That rule, not a list of names, drops the 48 aggregates (WLD, EAS, HIC, …) and
  ``INX`` ("Not classified", absent from the metadata file).
- **Codes.** Every kept code must be an ISO3 code that :func:`~hallyu_forecast.countries.to_iso3`
  (``kind="iso3"``) maps to itself; ``XKX`` (Kosovo) is the World Bank's code and is kept as is.
  ``CHI`` (Channel Islands = Jersey + Guernsey) has no ISO 3166 alpha-3 code (and ``CHI`` is Chile
  in other code schemes), so it is dropped on purpose: 216 economies remain.
- **Integrity checks.** Each API_ file's ``Indicator Code`` must equal the code its variable is
  declared with (a swapped or mislabelled file raises); each Metadata_Indicator file must name the
  same code; every economy of the metadata file must appear in every API_ file and every code of
  an API_ file must be in the metadata file (except ``INX``) — otherwise the file is truncated or
  from another release.
- **Years.** 1990 on (the WDI columns run to 2024; most series stop in 2023). Rows where all 19
  variables are missing are dropped.
- **Two vintages.** April 2025 (18 indicators) and July 2025 (``gdp_pc_ppp``) are mixed; revisions
  between them are small.
- Literacy (``literacy_pct``) is sparse (about 86 % missing 1995–2024) and enrolment series
  (UNESCO UIS) have many gaps; they are kept as published.

:func:`country_metadata` exposes the World Bank region and (single, current FY2025) income group of
each economy for the country table; it is not part of the loader output.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from hallyu_forecast.countries import to_iso3
from hallyu_forecast.errors import DataError
from hallyu_forecast.sources._base import RawFile, Source, Variable
from hallyu_forecast.sources._io import read_csv, require_columns

FIRST_YEAR = 1990
ROLE = "local_conditions"
METADATA_COUNTRY = "Metadata_Country_API_NY.GDP.PCAP.CD_DS2_en_csv_v2_391545.csv"
#: Codes in the API_ files that are in no metadata row: "Not classified" (INX).
UNCLASSIFIED = frozenset({"INX"})
#: Economies with a World Bank region but no ISO3 code, dropped on purpose.
NON_ISO_ECONOMIES: dict[str, str] = {"CHI": "Channel Islands (Jersey + Guernsey): no ISO 3166 alpha-3 code"}

_REPO_B = (
    "https://raw.githubusercontent.com/ajaitly11/Beauty-Consumption-Analysis/"
    "6fc3d5be2c78e5bddeedad24d2122f7690677f6b/data/raw/worldbank/GDP%20per%20capita/"
)

# name, WDI code, file suffix (the `_DS2_en_csv_v2_<n>` number), unit, description
INDICATORS: tuple[tuple[str, str, str, str, str], ...] = (
    ("gdp_pc_usd", "NY.GDP.PCAP.CD", "391545", "current US$", "GDP per capita, current US dollars (WDI NY.GDP.PCAP.CD)"),
    ("gdp_usd", "NY.GDP.MKTP.CD", "391573", "current US$", "GDP, current US dollars (WDI NY.GDP.MKTP.CD)"),
    ("gni_pc_usd", "NY.GNP.PCAP.CD", "384120", "current US$",
     "GNI per capita, Atlas method, current US dollars (WDI NY.GNP.PCAP.CD)"),
    ("population_wdi", "SP.POP.TOTL", "391465", "persons", "Population, total, mid-year (WDI SP.POP.TOTL)"),
    ("pop_growth_pct", "SP.POP.GROW", "391189", "% per year", "Population growth, annual % (WDI SP.POP.GROW)"),
    ("pop_15_64_pct", "SP.POP.1564.TO.ZS", "390976", "% of total population",
     "Population ages 15-64, % of total population (WDI SP.POP.1564.TO.ZS)"),
    ("pop_65_pct", "SP.POP.65UP.TO.ZS", "380040", "% of total population",
     "Population ages 65 and above, % of total population (WDI SP.POP.65UP.TO.ZS)"),
    ("urban_pct", "SP.URB.TOTL.IN.ZS", "380445", "% of total population",
     "Urban population, % of total population (WDI SP.URB.TOTL.IN.ZS)"),
    ("internet_pct", "IT.NET.USER.ZS", "384634", "% of population",
     "Individuals using the Internet, % of population (WDI IT.NET.USER.ZS, from ITU; 2024 patchy)"),
    ("inflation_pct", "FP.CPI.TOTL.ZG", "390884", "% per year",
     "Inflation, consumer prices, annual % (WDI FP.CPI.TOTL.ZG)"),
    ("unemployment_pct", "SL.UEM.TOTL.ZS", "391267", "% of labour force",
     "Unemployment, total, % of total labour force, modelled ILO estimate (WDI SL.UEM.TOTL.ZS)"),
    ("labour_participation_pct", "SL.TLF.CACT.ZS", "390772", "% of population ages 15+",
     "Labour force participation rate, % of population ages 15+, modelled ILO estimate (WDI SL.TLF.CACT.ZS)"),
    ("enrol_secondary_pct", "SE.SEC.ENRR", "85430", "% gross",
     "School enrolment, secondary, % gross (WDI SE.SEC.ENRR, UNESCO UIS; many gaps)"),
    ("enrol_primary_pct", "SE.PRM.ENRR", "85429", "% gross",
     "School enrolment, primary, % gross (WDI SE.PRM.ENRR, UNESCO UIS; many gaps)"),
    ("literacy_pct", "SE.ADT.LITR.ZS", "391551", "% of people ages 15+",
     "Literacy rate, adult total, % of people ages 15 and above (WDI SE.ADT.LITR.ZS; sparse)"),
    ("fdi_inflows_usd", "BX.KLT.DINV.CD.WD", "390497", "current US$",
     "Foreign direct investment, net inflows, balance of payments, current US dollars (WDI BX.KLT.DINV.CD.WD)"),
    ("life_expectancy", "SP.DYN.LE00.IN", "391571", "years",
     "Life expectancy at birth, total, years (WDI SP.DYN.LE00.IN)"),
    ("electricity_pct", "EG.ELC.ACCS.ZS", "390382", "% of population",
     "Access to electricity, % of population (WDI EG.ELC.ACCS.ZS)"),
    ("gdp_pc_ppp", "NY.GDP.PCAP.PP.KD", "20423", "constant 2021 international $",
     "GDP per capita, PPP, constant 2021 international dollars (WDI NY.GDP.PCAP.PP.KD, July 2025 release)"),
)
VARIABLE_NAMES: tuple[str, ...] = tuple(i[0] for i in INDICATORS)

_SHA256: dict[str, str] = {
    "API_BX.KLT.DINV.CD.WD_DS2_en_csv_v2_390497.csv": "3b6f4b09ab7596ebfcd46cf5331b0401645878f0a536264e7157f4d186dfdca1",
    "API_EG.ELC.ACCS.ZS_DS2_en_csv_v2_390382.csv": "b79db04778948fdac3ea9a6bb12f75143661181498629d2455efaa33848344d5",
    "API_FP.CPI.TOTL.ZG_DS2_en_csv_v2_390884.csv": "7ca1aba97faf8e46f8a53bfcf4f7f60ac92357099f5b95a9ed849c055b07835f",
    "API_IT.NET.USER.ZS_DS2_en_csv_v2_384634.csv": "c2f967954b6ab82e69dbfd2e80deedf59bf7641a4b8050d2670b83379cdb0947",
    "API_NY.GDP.MKTP.CD_DS2_en_csv_v2_391573.csv": "ca21ae1578755ce04d47f12b833ca024993b2047c4166a57d7b483301cbb739c",
    "API_NY.GDP.PCAP.CD_DS2_en_csv_v2_391545.csv": "62d55f216cadd7e135c8bbf25575a50fded960934a76cb52f3d18e6f2c284c73",
    "API_NY.GDP.PCAP.PP.KD_DS2_en_csv_v2_20423.csv": "ed7cc445887141d24d534aca13789f16671af194ce7f03cc021a923592c487dd",
    "API_NY.GNP.PCAP.CD_DS2_en_csv_v2_384120.csv": "58b295e9ac20b23e2835b91b159f25680afe41c8889a585a7524ae13674744a8",
    "API_SE.ADT.LITR.ZS_DS2_en_csv_v2_391551.csv": "0cc6f90c7b15422f922382fac9cfeceea95bd7589ebd936d6568269143ae393c",
    "API_SE.PRM.ENRR_DS2_en_csv_v2_85429.csv": "d53abd7b006e8ad3ca46b5718379165acbe5126a12f2f75cba00c4ca89ab0964",
    "API_SE.SEC.ENRR_DS2_en_csv_v2_85430.csv": "589716cc9689503767b0e00bba6e894ccd290ccf98d708a81dc7cae294bde8f3",
    "API_SL.TLF.CACT.ZS_DS2_en_csv_v2_390772.csv": "e8a5d166f6df5ed05721c8c30009b0a3f1362960e5981de21781344a9a9ac9a5",
    "API_SL.UEM.TOTL.ZS_DS2_en_csv_v2_391267.csv": "a009fb59ef0aa8d3301c44c0afba856bbf8a747e7f068d617c8f7a8621dd4d1f",
    "API_SP.DYN.LE00.IN_DS2_en_csv_v2_391571.csv": "a282a6aa89e1888c1b65faf5d146e660681b86fe450d5d22a748096e4c05edfe",
    "API_SP.POP.1564.TO.ZS_DS2_en_csv_v2_390976.csv": "d37fa0d6acd97e1b813cd417b32fcb52ab005d08e09702d0f99ce839011069d3",
    "API_SP.POP.65UP.TO.ZS_DS2_en_csv_v2_380040.csv": "4664b80239da3619fca925afab7a1462f8c273003d01aa8a5bbb7a60c1f85dde",
    "API_SP.POP.GROW_DS2_en_csv_v2_391189.csv": "df347ef5db58c3ae97e9ebd7200ca1c568022c77c0b6c84a03e5e1d3024d9916",
    "API_SP.POP.TOTL_DS2_en_csv_v2_391465.csv": "20589dc10d3cfdddbe8b7af4dc9e45d1dc33b5b805c270059bed0a3a19e005c6",
    "API_SP.URB.TOTL.IN.ZS_DS2_en_csv_v2_380445.csv": "ef7c8c3f873c8b36bcc5f1b5409c4a2a4da3c9bf97e1d86efe3781f45f67f16c",
    METADATA_COUNTRY: "6b2ae6b5065e22cdfee33c9670b54063866bd3b4413de4bf90efebf84a80cb98",
    "Metadata_Indicator_API_BX.KLT.DINV.CD.WD_DS2_en_csv_v2_390497.csv": "d0ce5aa76148147c7ec9e348e947a49f3975546bbc8b5dd249c88fef02f57155",
    "Metadata_Indicator_API_EG.ELC.ACCS.ZS_DS2_en_csv_v2_390382.csv": "ef25d83b9f1d62c0df3512c69e4f65b606fc4935db3202d9085e32ed09d0071a",
    "Metadata_Indicator_API_FP.CPI.TOTL.ZG_DS2_en_csv_v2_390884.csv": "31d3abf857bec84f73b1624d6547d6dde1ee856192efb0f964f0d45ae01de7c7",
    "Metadata_Indicator_API_IT.NET.USER.ZS_DS2_en_csv_v2_384634.csv": "0e36248af54e11e15b8c1e41ca544169d9f8923c34b617a31759745be04f0364",
    "Metadata_Indicator_API_NY.GDP.MKTP.CD_DS2_en_csv_v2_391573.csv": "0db1c27182f9a575fb7a7285483e667f32b9bdf68bfe432d1a37405acb9d4672",
    "Metadata_Indicator_API_NY.GDP.PCAP.CD_DS2_en_csv_v2_391545.csv": "5b9be49b6288f4987b51be7c784368da8cee0dad874085e572aabd87705e51b1",
    "Metadata_Indicator_API_NY.GDP.PCAP.PP.KD_DS2_en_csv_v2_20423.csv": "8b273d77abd40b61499ac2e939887e9ce7c079f8d6d87af3145aff12240befa4",
    "Metadata_Indicator_API_NY.GNP.PCAP.CD_DS2_en_csv_v2_384120.csv": "9575fc2653d413d27e7e5b85f65964abb01bb9af91c6c7ffd396a542965c65ff",
    "Metadata_Indicator_API_SE.ADT.LITR.ZS_DS2_en_csv_v2_391551.csv": "02cfd87245d3aed53689b7433fe02fad2967d2d1f00adaae525eb9e792b9ef00",
    "Metadata_Indicator_API_SE.PRM.ENRR_DS2_en_csv_v2_85429.csv": "b24b5685293249ada74d234187d4484345fa4a8f9a3935423f1b0b451286e516",
    "Metadata_Indicator_API_SE.SEC.ENRR_DS2_en_csv_v2_85430.csv": "2713a6d61d7a7393817a41f53a3e6e938e5c09e46500e05762f3de304e6d88d4",
    "Metadata_Indicator_API_SL.TLF.CACT.ZS_DS2_en_csv_v2_390772.csv": "4ab2519bd692d019e09be562ca98cc0f2f35482162324919648f3fe78e92e64b",
    "Metadata_Indicator_API_SL.UEM.TOTL.ZS_DS2_en_csv_v2_391267.csv": "5d3737926db5d842ab9323814df77bbb6351b58e21cda3514249e277a864526b",
    "Metadata_Indicator_API_SP.DYN.LE00.IN_DS2_en_csv_v2_391571.csv": "773a1c5ca714af46f0ff51723ff872844500ba8f8a34843434544697d137eeeb",
    "Metadata_Indicator_API_SP.POP.1564.TO.ZS_DS2_en_csv_v2_390976.csv": "64c952e5eacece5b14d96abd8cce7ea50f031f19eb268f213533473f036aba5a",
    "Metadata_Indicator_API_SP.POP.65UP.TO.ZS_DS2_en_csv_v2_380040.csv": "0a6b3059d2ff1cac2c8e8233a9ea72715cf7d118b1e85be3770fd7246909a494",
    "Metadata_Indicator_API_SP.POP.GROW_DS2_en_csv_v2_391189.csv": "2f0fa4b5868fbb33acf516be5d0c5179b1950207315a108a36b6e6477d23a83a",
    "Metadata_Indicator_API_SP.POP.TOTL_DS2_en_csv_v2_391465.csv": "a28c42d57dd63d39f9637fa97aea770da797d8e93d96eccdf0a86253119147f1",
    "Metadata_Indicator_API_SP.URB.TOTL.IN.ZS_DS2_en_csv_v2_380445.csv": "949f202e7cdd9670572c9df0a6ad60a251ad23306c623e0072d65614237585d7",
}


def api_file(code: str, suffix: str) -> str:
    """File name of the bulk CSV of indicator ``code``."""
    return f"API_{code}_DS2_en_csv_v2_{suffix}.csv"


def indicator_metadata_file(code: str, suffix: str) -> str:
    """File name of the Metadata_Indicator CSV of indicator ``code``."""
    return f"Metadata_Indicator_{api_file(code, suffix)}"


def _fix() -> str:
    return (
        "Restore the original World Bank file (`hallyu-forecast data pull` or the mirror in "
        "HALLYU_DATA_DIR)."
    )


def _read_country_metadata(folder: Path) -> pd.DataFrame:
    """The Metadata_Country file, with ``Region`` etc. as stripped strings (empty -> NA)."""
    path = Path(folder) / METADATA_COUNTRY
    meta = read_csv(path, columns=["Country Code", "Region", "IncomeGroup"], encoding="utf-8-sig", dtype=str)
    for col in ("Country Code", "Region", "IncomeGroup"):
        stripped = meta[col].str.strip()
        meta[col] = stripped.where(stripped != "")
    if meta["Country Code"].isna().any() or meta["Country Code"].duplicated().any():
        raise DataError(f"{path}: column `Country Code` has empty or duplicated codes; the file is damaged. {_fix()}")
    if meta["Region"].notna().sum() == 0:
        raise DataError(f"{path}: no economy has a `Region`; this is not a WDI Metadata_Country file. {_fix()}")
    return meta


def _economy_codes(meta: pd.DataFrame, path: Path) -> pd.Series:
    """Kept economy codes (non-empty Region), minus the non-ISO ones; validated with to_iso3."""
    codes = meta.loc[meta["Region"].notna(), "Country Code"]
    codes = codes[~codes.isin(list(NON_ISO_ECONOMIES))].reset_index(drop=True)
    iso = to_iso3(codes, source="wdi", kind="iso3")
    bad = codes[iso.astype(object).ne(codes).to_numpy()]
    if len(bad):
        raise DataError(
            f"{path}: economy code(s) {sorted(bad)} do not map to themselves as ISO3 "
            f"(to_iso3 gives {sorted(set(iso[bad.index].astype(str)))}); decide how to handle them "
            "in hallyu_forecast/sources/wdi.py (NON_ISO_ECONOMIES)."
        )
    return codes


def country_metadata(folder: str | Path) -> pd.DataFrame:
    """World Bank region and income group of each kept economy.

    Returns
    -------
    pandas.DataFrame
        Columns ``iso3``, ``wb_region``, ``income_group`` (strings; ``income_group`` is missing
        for Venezuela, which the World Bank leaves unclassified). 216 rows: the 217 economies
        with a Region minus CHI (Channel Islands, no ISO3). Income groups are the single
        July-2024 (FY2025) snapshot, not year-specific.
    """
    folder = Path(folder)
    meta = _read_country_metadata(folder)
    codes = _economy_codes(meta, folder / METADATA_COUNTRY)
    out = meta[meta["Country Code"].isin(codes)].rename(
        columns={"Country Code": "iso3", "Region": "wb_region", "IncomeGroup": "income_group"}
    )[["iso3", "wb_region", "income_group"]]
    return out.sort_values("iso3").reset_index(drop=True)


def _check_indicator_metadata(folder: Path, code: str, suffix: str) -> None:
    path = folder / indicator_metadata_file(code, suffix)
    meta = read_csv(path, columns=["INDICATOR_CODE"], encoding="utf-8-sig", dtype=str)
    found = sorted(set(meta["INDICATOR_CODE"].dropna().str.strip()))
    if found != [code]:
        raise DataError(f"{path}: INDICATOR_CODE is {found}, expected [{code!r}]. {_fix()}")


def _read_indicator(folder: Path, name: str, code: str, suffix: str, economies: set[str]) -> pd.DataFrame:
    """One API_ file -> long frame (code, year, <name>) for the kept economies, years >= 1990."""
    path = folder / api_file(code, suffix)
    id_cols = ["Country Name", "Country Code", "Indicator Name", "Indicator Code"]
    raw = read_csv(path, columns=id_cols, skiprows=4, encoding="utf-8-sig")
    found = sorted(set(raw["Indicator Code"].dropna().astype(str).str.strip()))
    if found != [code]:
        raise DataError(
            f"{path}: `Indicator Code` is {found}, expected [{code!r}] (variable `{name}`). The file "
            "was swapped or altered; restore the World Bank file for this indicator."
        )
    year_cols = [c for c in raw.columns if re.fullmatch(r"\d{4}", str(c))]
    expected = [str(y) for y in range(FIRST_YEAR, 2024)]
    require_columns(raw, expected, path)
    junk = [c for c in raw.columns if c not in id_cols and c not in year_cols]
    if any(raw[c].notna().any() for c in junk):
        raise DataError(f"{path}: unexpected non-empty column(s) {junk}; the file layout changed. {_fix()}")
    codes = raw["Country Code"].astype(str).str.strip()
    file_codes = set(codes)
    missing = sorted(economies - file_codes)
    if missing:
        raise DataError(
            f"{path}: economies {missing[:10]}{' …' if len(missing) > 10 else ''} ({len(missing)} in all) of the "
            f"Metadata_Country file are missing; the file looks truncated. {_fix()}"
        )
    if codes.duplicated().any():
        raise DataError(f"{path}: duplicated `Country Code` rows {sorted(set(codes[codes.duplicated()]))[:10]}. {_fix()}")
    keep = raw[codes.isin(economies).to_numpy()]
    years = [c for c in year_cols if int(c) >= FIRST_YEAR]
    values = keep[years].apply(pd.to_numeric, errors="coerce")
    bad = values.isna() & keep[years].notna()
    if bad.to_numpy().any():
        col = years[int(bad.any(axis=0).to_numpy().argmax())]
        raise DataError(f"{path}: non-numeric value(s) in column {col!r}; the file is damaged. {_fix()}")
    values.insert(0, "iso3", keep["Country Code"].astype(str).str.strip().to_numpy())
    long = values.melt(id_vars="iso3", var_name="year", value_name=name)
    long["year"] = long["year"].astype("int64")
    long[name] = long[name].astype("float64")
    return long


def _check_metadata_covers(folder: Path, meta: pd.DataFrame) -> None:
    """Every code of an API_ file must be in the Metadata_Country file (except INX)."""
    name, code, suffix = INDICATORS[0][:3]
    path = folder / api_file(code, suffix)
    raw = read_csv(path, columns=["Country Code"], skiprows=4, encoding="utf-8-sig", usecols=["Country Code"])
    unknown = sorted(set(raw["Country Code"].astype(str).str.strip()) - set(meta["Country Code"]) - UNCLASSIFIED)
    if unknown:
        raise DataError(
            f"{folder / METADATA_COUNTRY}: codes {unknown[:10]} of {path.name} have no row; the metadata file "
            f"looks truncated or from another release. {_fix()}"
        )


def load(folder: Path) -> pd.DataFrame:
    """Read the 19 WDI indicators: tidy frame ``iso3, year, <19 variables>`` (1990 on)."""
    folder = Path(folder)
    meta = _read_country_metadata(folder)
    _check_metadata_covers(folder, meta)
    economies = set(_economy_codes(meta, folder / METADATA_COUNTRY))
    frame: pd.DataFrame | None = None
    for name, code, suffix, _unit, _desc in INDICATORS:
        _check_indicator_metadata(folder, code, suffix)
        long = _read_indicator(folder, name, code, suffix, economies)
        frame = long if frame is None else frame.merge(long, on=["iso3", "year"], how="outer")
    assert frame is not None
    frame = frame.dropna(subset=list(VARIABLE_NAMES), how="all")
    return frame.sort_values(["iso3", "year"]).reset_index(drop=True)


#: The World Bank ZIPs (April 2025 release) as committed to saeed-amiri/CrossBorderML: the 18
#: source-A CSVs are members of these archives, extracted unchanged (wdi/PROVENANCE.md).
_REPO_A_ZIPS = (
    "https://raw.githubusercontent.com/saeed-amiri/CrossBorderML/"
    "9086f44304ecb6ead630efa26a5528cbe6b59f8c/data/raw/"
)
_ZIP_OF_CODE: dict[str, str] = {
    "NY.GDP.PCAP.CD": "gdp_per_capita.zip", "NY.GDP.MKTP.CD": "gdp.zip", "NY.GNP.PCAP.CD": "gni_per_capita.zip",
    "SP.POP.TOTL": "population_total.zip", "SP.POP.GROW": "population_growth.zip",
    "SP.POP.1564.TO.ZS": "population_15_64_pct.zip", "SP.POP.65UP.TO.ZS": "population_65_plus_pct.zip",
    "SP.URB.TOTL.IN.ZS": "urban_population_pct.zip", "IT.NET.USER.ZS": "internet_users_pct.zip",
    "FP.CPI.TOTL.ZG": "inflation.zip", "SL.UEM.TOTL.ZS": "unemployment_total.zip",
    "SL.TLF.CACT.ZS": "labor_participation_rate.zip", "SE.SEC.ENRR": "school_enrollment_secondary.zip",
    "SE.PRM.ENRR": "school_enrollment_primary.zip", "SE.ADT.LITR.ZS": "adult_literacy_rate.zip",
    "BX.KLT.DINV.CD.WD": "fdi_inflows.zip", "SP.DYN.LE00.IN": "life_expectancy.zip",
    "EG.ELC.ACCS.ZS": "access_to_electricity.zip",
}


def _raw_files() -> tuple[RawFile, ...]:
    files: list[RawFile] = []
    for _name, code, suffix, _unit, _desc in INDICATORS:
        for fname in (api_file(code, suffix), indicator_metadata_file(code, suffix)):
            url = _REPO_B + fname if code == "NY.GDP.PCAP.PP.KD" else None
            archive = _REPO_A_ZIPS + _ZIP_OF_CODE[code] if code in _ZIP_OF_CODE else None
            files.append(RawFile(fname, _SHA256[fname], url, archive=archive))
    files.append(RawFile(METADATA_COUNTRY, _SHA256[METADATA_COUNTRY], None,
                         archive=_REPO_A_ZIPS + _ZIP_OF_CODE["NY.GDP.PCAP.CD"]))
    return tuple(files)


SOURCE = Source(
    name="wdi",
    title="World Development Indicators (per-indicator bulk CSVs)",
    publisher="The World Bank",
    license="CC BY 4.0",
    citation="World Bank, World Development Indicators (April 2025 and July 2025 releases). "
    "https://databank.worldbank.org/source/world-development-indicators",
    homepage="https://data.worldbank.org/",
    files=_raw_files(),
    variables=tuple(Variable(name, unit, desc, ROLE) for name, _code, _sfx, unit, desc in INDICATORS),
    loader=load,
    static=False,
    notes=(
        "Bulk CSVs as served by the World Bank per indicator "
        "(https://api.worldbank.org/v2/en/indicator/<CODE>?downloadformat=csv returns a ZIP holding the "
        "API_, Metadata_Indicator_ and Metadata_Country_ CSVs; indicator pages "
        "https://data.worldbank.org/indicator/<CODE>). 18 indicators (April 2025 release, Last Updated "
        "2025-04-15) are members of those ZIPs as stored in github.com/saeed-amiri/CrossBorderML at commit "
        "9086f44304ecb6ead630efa26a5528cbe6b59f8c (data/raw/<name>.zip), extracted unchanged (CRC checked); "
        "no public URL serves these exact CSV bytes, so their url is None and `data pull` downloads the ZIP "
        "(RawFile.archive) and extracts the member. NY.GDP.PCAP.PP.KD (July 2025 "
        "release) and its Metadata_Indicator file are stored as CSVs in "
        "github.com/ajaitly11/Beauty-Consumption-Analysis at commit 6fc3d5be2c78e5bddeedad24d2122f7690677f6b. "
        "Aggregates are dropped by keeping only codes with a non-empty Region in the Metadata_Country file "
        "(217 economies); INX (Not classified) has no metadata row. CHI (Channel Islands) has no ISO3 code "
        "and is dropped on purpose (216 economies remain); XKX (Kosovo) is kept. Each file's Indicator Code "
        "is checked against the declared code. Years 1990 on; rows with all variables missing dropped. "
        "Two WDI vintages are mixed (April and July 2025). Literacy is sparse; enrolment has many gaps; "
        "internet_pct 2024 covers few countries. Region and income group (single FY2025 snapshot) are "
        "available from wdi.country_metadata(folder), not in the panel."
    ),
)
