"""Our World in Data (OWID) grapher CSVs: ICT adoption counts, broadband per 100, trade openness, tertiary enrolment.

OWID republishes ITU (ICT), World Bank WDI (trade) and UNESCO UIS (enrolment) series as long CSVs
``Entity, Code, Year, <value columns>``. They fill series the staged WDI release lacks.

Variables (``iso3`` × ``year``, 1990 on):

- ``mobile_subs``, ``broadband_subs``, ``fixed_tel_subs``, ``internet_users_n``: mobile cellular,
  fixed broadband and fixed telephone subscriptions and number of internet users — ABSOLUTE
  COUNTS (ITU via OWID ``ict-adoption.csv``, to 2022; 2022 covers fewer countries). Divide by a
  population series (e.g. WDI ``population_wdi``) for per-capita rates; ITU's own per-100 figures
  use ITU population estimates and will differ slightly.
- ``broadband_per100``: fixed broadband subscriptions per 100 people (1998–2021).
- ``trade_pct_gdp``: exports + imports of goods and services, % of GDP (WDI NE.TRD.GNFS.ZS, OWID
  2025 build, to 2024).
- ``tertiary_enrol_pct``: gross enrolment ratio, tertiary, both sexes, % (old OWID build, to 2014;
  stale — a fallback only).

Choices:

- **Join on ``Code``.** ISO3 codes are checked with ``to_iso3(kind="iso3")``. ``OWID_KOS`` → XKX
  (Kosovo). Other ``OWID_`` codes (``OWID_WRL`` = World) are aggregates and dropped on purpose; an
  ``OWID_`` code not listed in :data:`OWID_CODES` raises.
- **Empty codes.** OWID leaves ``Code`` empty for regions, income groups and the EU — and also for
  "Faeroe Islands" in two files. Rows with an empty code are therefore resolved by ``Entity`` name
  with ``to_iso3(kind="name")``: recognised aggregates (listed in :data:`AGGREGATE_ENTITIES`) are
  dropped; Faeroe Islands becomes FRO; anything else unresolved raises. In ``ict-adoption.csv``
  the Faroe Islands appear twice ("Faeroe Islands" without code: telephone, broadband, mobile;
  "Faroe Islands"/FRO: internet users only); the two rows of a year are combined cell by cell
  (raising if both fill the same cell).
- Integrity: each file must contain rows for Zimbabwe (ZWE), its last entity in alphabetical
  order; a cut file lacks them and raises.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hallyu_forecast.countries import to_iso3
from hallyu_forecast.errors import DataError, UnknownCountryError
from hallyu_forecast.sources._base import RawFile, Source, Variable
from hallyu_forecast.sources._io import read_csv

FIRST_YEAR = 1990
ROLE = "local_conditions"

#: OWID's own codes: Kosovo -> XKX; World is an aggregate (None = dropped on purpose).
OWID_CODES: dict[str, str | None] = {"OWID_KOS": "XKX", "OWID_WRL": None}

#: Entities with an empty Code that are regions, income groups or unions (dropped on purpose).
AGGREGATE_ENTITIES: frozenset[str] = frozenset({
    "Africa", "Asia", "Europe", "North America", "Oceania", "South America",
    "Arab World", "Euro area", "European Union", "European Union (27)", "OECD members",
    "East Asia & Pacific", "East Asia & Pacific (all income levels)",
    "East Asia and Pacific (WB)", "Europe & Central Asia", "Europe & Central Asia (all income levels)",
    "Europe and Central Asia (WB)", "Latin America & Caribbean", "Latin America & Caribbean (all income levels)",
    "Latin America and Caribbean (WB)", "Middle East & North Africa", "Middle East & North Africa (all income levels)",
    "Middle East and North Africa (WB)", "Middle East, North Africa, Afghanistan and Pakistan (WB)",
    "North America (WB)", "South Asia", "South Asia (WB)", "Sub-Saharan Africa",
    "Sub-Saharan Africa (all income levels)", "Sub-Saharan Africa (WB)",
    "High income", "High-income countries", "Low income", "Low-income countries", "Lower middle income",
    "Lower-middle-income countries", "Middle income", "Middle-income countries", "Upper middle income",
    "Upper-middle-income countries", "Low & middle income", "Heavily indebted poor countries (HIPC)",
    "Least developed countries: UN classification",
})

# file, repo, commit, path in repo, sha256, {value column: (variable, unit, description)}
FILES: tuple[tuple[str, str, str, str, str, dict[str, tuple[str, str, str]]], ...] = (
    ("ict-adoption.csv", "vicho-bece/internetusers-for-years", "30153f39eb7375fb7e24213af3b6b0a866dc3fec",
     "ict-adoption.csv", "7462a2937e44519587a57f2883d3ab0fbea8e5346041466d332c30ca410317aa", {
         "Mobile cellular subscriptions": ("mobile_subs", "subscriptions (count)",
                                           "Mobile cellular subscriptions, absolute count (ITU via OWID; to 2022)"),
         "Fixed broadband subscriptions": ("broadband_subs", "subscriptions (count)",
                                           "Fixed broadband subscriptions, absolute count (ITU via OWID; to 2022)"),
         "Number of Internet users": ("internet_users_n", "persons",
                                      "Number of internet users, absolute count (ITU via OWID; to 2022)"),
         "Fixed telephone subscriptions": ("fixed_tel_subs", "subscriptions (count)",
                                           "Fixed telephone subscriptions, absolute count (ITU via OWID; to 2022)"),
     }),
    ("broadband-penetration-by-country.csv", "vicho-bece/internetusers-for-years",
     "30153f39eb7375fb7e24213af3b6b0a866dc3fec", "broadband-penetration-by-country.csv",
     "d990b01889849b2ecc880d0aa6b3b4214e5f03529b2244d065b607f855d9ce70", {
         "Fixed broadband subscriptions (per 100 people)": (
             "broadband_per100", "subscriptions per 100 people",
             "Fixed broadband subscriptions per 100 people (ITU via OWID; 1998-2021)"),
     }),
    ("trade-as-share-of-gdp.csv", "jakob0299/InformationVisualization", "0d158bd179f023704fb6ddac53abbce67f69b23d",
     "datasets/trade-as-share-of-gdp.csv", "d497310bcbd58424969c3ea062870890b4784b5234b946d1e7ad5e9780e2c959", {
         "Trade (% of GDP)": ("trade_pct_gdp", "% of GDP",
                              "Trade = exports + imports of goods and services, % of GDP (WDI NE.TRD.GNFS.ZS via OWID)"),
     }),
    ("gross-enrollment-ratio-in-tertiary-education.csv", "PilliSiddharth/My_repository",
     "a338390a9184c77cbd5a6ab0fecfc856844650f8", "gross-enrollment-ratio-in-tertiary-education.csv",
     "5d257f9a447019d15ace63434611ae3e9085080a9fe77d4e7bd86b5479344db0", {
         "Gross enrolment ratio, tertiary, both sexes (%) (%)": (
             "tertiary_enrol_pct", "% gross",
             "Gross enrolment ratio, tertiary education, both sexes, % (UNESCO UIS via OWID, c. 2020 build; to 2014)"),
     }),
)
VARIABLE_NAMES = tuple(v[0] for f in FILES for v in f[5].values())


def _fix() -> str:
    return "Restore the original file with `hallyu-forecast data pull` or from the mirror (HALLYU_DATA_DIR)."


def _iso3(raw: pd.DataFrame, path: Path) -> pd.Series:
    """ISO3 per row (None for aggregates), from Code, OWID_ codes or (empty Code) the Entity name."""
    code = raw["Code"].astype(str).str.strip().where(raw["Code"].notna(), "")
    out = pd.Series(None, index=raw.index, dtype=object)

    owid = code.str.startswith("OWID_")
    unknown_owid = sorted(set(code[owid]) - set(OWID_CODES))
    if unknown_owid:
        raise UnknownCountryError({"owid": [f"{c!r} (OWID code not in owid.OWID_CODES)" for c in unknown_owid]})
    out[owid] = code[owid].map(OWID_CODES)

    iso = (code != "") & ~owid
    if iso.any():
        mapped = to_iso3(code[iso], source="owid", kind="iso3")
        differs = mapped.astype(object).ne(code[iso])
        if differs.any():
            raise DataError(f"{path}: codes {sorted(set(code[iso][differs]))} are not ISO3 codes. {_fix()}")
        out[iso] = mapped

    empty = code == ""
    entity = raw["Entity"].astype(str).str.strip()
    agg = empty & entity.isin(AGGREGATE_ENTITIES)
    named = empty & ~agg
    if named.any():
        out[named] = to_iso3(entity[named], source="owid", kind="name")
    return out


def _read(folder: Path, file: str, columns: dict[str, tuple[str, str, str]]) -> pd.DataFrame:
    path = folder / file
    raw = read_csv(path, columns=["Entity", "Code", "Year", *columns], keys=("Entity", "Year"))
    if not (raw["Code"] == "ZWE").any():
        raise DataError(
            f"{path}: no rows for Zimbabwe (ZWE), the last country in the file; the file looks truncated. {_fix()}"
        )
    years = pd.to_numeric(raw["Year"], errors="coerce")
    if years.isna().any():
        raise DataError(f"{path}: empty or non-numeric `Year` values; the file is damaged. {_fix()}")
    out = pd.DataFrame({"iso3": _iso3(raw, path), "year": years.astype("int64")})
    for col, (name, _unit, _desc) in columns.items():
        values = pd.to_numeric(raw[col], errors="coerce")
        if (values.isna() & raw[col].notna()).any():
            raise DataError(f"{path}: non-numeric values in column `{col}`; the file is damaged. {_fix()}")
        out[name] = values.astype("float64")
    out = out[out["iso3"].notna() & (out["year"] >= FIRST_YEAR)]
    return _combine_duplicates(out, path)


def _combine_duplicates(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Merge rows of one country-year that come from two spellings of the same entity.

    OWID's ict-adoption.csv holds the Faroe Islands twice: "Faeroe Islands" (no Code; telephone,
    broadband and mobile counts) and "Faroe Islands" (FRO; internet users only). Such rows are
    combined cell by cell; if both rows fill the same cell, the file is ambiguous and we raise.
    """
    keys = ["iso3", "year"]
    dup = frame.duplicated(keys, keep=False)
    if not dup.any():
        return frame
    values = [c for c in frame.columns if c not in keys]
    clash = frame[dup].groupby(keys)[values].count().gt(1).any(axis=1)
    if clash.any():
        raise DataError(
            f"{path}: two rows fill the same cells for {clash[clash].index[:5].tolist()} after mapping to ISO3; "
            "check owid.AGGREGATE_ENTITIES and the entity names."
        )
    merged = frame[dup].groupby(keys, as_index=False)[values].first()
    return pd.concat([frame[~dup], merged], ignore_index=True)


def load(folder: Path) -> pd.DataFrame:
    """Read the four OWID files: ``iso3, year`` plus eight variables (1990 on)."""
    folder = Path(folder)
    frame: pd.DataFrame | None = None
    for file, _repo, _commit, _path, _sha, columns in FILES:
        part = _read(folder, file, columns)
        frame = part if frame is None else frame.merge(part, on=["iso3", "year"], how="outer")
    assert frame is not None
    frame = frame.dropna(subset=list(VARIABLE_NAMES), how="all")
    return frame.sort_values(["iso3", "year"]).reset_index(drop=True)


SOURCE = Source(
    name="owid",
    title="Our World in Data: ICT adoption, broadband penetration, trade openness, tertiary enrolment",
    publisher="Our World in Data (data from ITU, World Bank WDI, UNESCO UIS)",
    license="CC BY 4.0",
    citation="Our World in Data (ourworldindata.org), grapher charts ict-adoption, "
    "broadband-penetration-by-country, trade-as-share-of-gdp, gross-enrollment-ratio-in-tertiary-education; "
    "underlying data: ITU World Telecommunication/ICT Indicators; World Bank WDI; UNESCO UIS.",
    homepage="https://ourworldindata.org/",
    files=tuple(
        RawFile(file, sha, f"https://raw.githubusercontent.com/{repo}/{commit}/{rpath}")
        for file, repo, commit, rpath, sha, _cols in FILES
    ),
    variables=tuple(
        Variable(name, unit, desc, ROLE) for f in FILES for (name, unit, desc) in f[5].values()
    ),
    loader=load,
    static=False,
    notes=(
        "OWID grapher CSVs as committed to public GitHub repositories (ict-adoption and broadband: "
        "vicho-bece/internetusers-for-years@30153f3, 2024-06-02; trade: jakob0299/InformationVisualization"
        "@0d158bd, 2025-11-28; tertiary: PilliSiddharth/My_repository@a338390, 2020-08-06). Joined on Code; "
        "OWID_KOS -> XKX, OWID_WRL dropped; empty-Code rows resolved by Entity name (regions, income groups "
        "and EU dropped on purpose; Faeroe Islands -> FRO, combined cell by cell with the FRO rows). ICT series are absolute counts, not per 100. "
        "Tertiary enrolment is a stale build (to 2014). Years 1990 on."
    ),
)
