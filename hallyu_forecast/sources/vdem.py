"""Varieties of Democracy (V-Dem) v14 country-year indices (via the ``vdemlite`` extract).

Main file: ``vdemlite.rda`` (R package vdemlite by E. Teitelbaum, commit a992948), which is
``vdemdata::vdem`` — the V-Dem **v14** release (March 2024) — filtered to 1970+ with every
variable of V-Dem's v14 "Structure of Aggregation". Data end in 2023.

Variables (``iso3`` × ``year``, 1990 on):

- ``polyarchy`` (v2x_polyarchy), ``libdem`` (v2x_libdem), ``freexp_altinf`` (v2x_freexp_altinf),
  ``civlib`` (v2x_civlib): indices 0–1, higher = more democratic / freer.
- ``corruption`` (v2x_corr, political corruption index): 0–1, **higher = more corrupt**.
- ``internet_censorship`` (v2mecenefi) and ``media_censorship`` (v2mecenefm): latent-scale
  point estimates (about −4.5 … 4), **higher = less censorship** (V-Dem orders these so that high
  values are more democratic).
- ``regime_row`` (v2x_regime, Regimes of the World): 0 closed autocracy, 1 electoral autocracy,
  2 electoral democracy, 3 liberal democracy.
- ``polyarchy_v15``: v2x_polyarchy from the **v15** release (March 2025), 1990–2024, read from the
  supplementary ``vdem3.csv`` (a student project that joined V-Dem v15 onto WDI rows). It is a
  separate column on purpose: V-Dem revises back years between releases (KOR 2023 polyarchy is
  0.703 in v14 and 0.733 in v15), so v15 values are NOT spliced into the v14 ``polyarchy`` series.
  Use one release per model; ``polyarchy_v15`` gives 2024 and lacks TWN, PSE, Somaliland and Zanzibar
  (dropped by that project's join on WDI codes).

Country codes (``country_text_id``, mostly ISO3) go through ``to_iso3(kind="iso3")`` except the
V-Dem-specific units in :data:`VDEM_UNITS`:

- ``PSE`` is "Palestine/West Bank" (1970–2023) and ``PSG`` "Palestine/Gaza" (2007–2023, under
  separate de facto rule). Both would map to ISO3 PSE; we keep West Bank (the Palestinian
  Authority, full series) as PSE and drop Gaza on purpose — averaging two separately coded
  regimes would describe neither.
- ``SML`` (Somaliland) and ``ZZB`` (Zanzibar) are sub-national units (of Somalia and Tanzania,
  which V-Dem codes separately): dropped on purpose.
- ``DDR`` (German Democratic Republic, to 1990), ``YMD`` (South Yemen, to 1990) and ``VDR``
  (Republic of Vietnam, to 1975) are historical states; their 1990 rows would duplicate the
  unified states' rows and are dropped.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hallyu_forecast.countries import to_iso3
from hallyu_forecast.errors import DataError
from hallyu_forecast.sources._base import RawFile, Source, Variable
from hallyu_forecast.sources._io import check_duplicate_rows, read_csv, read_rda

FIRST_YEAR = 1990
ROLE = "local_conditions"
LITE = "vdemlite.rda"
V15 = "vdem3.csv"

#: V-Dem units that are not (or not uniquely) ISO3 countries; None = dropped on purpose.
VDEM_UNITS: dict[str, str | None] = {
    "PSG": None,  # Palestine/Gaza: PSE is kept for Palestine/West Bank
    "SML": None,  # Somaliland: part of Somalia (SOM)
    "ZZB": None,  # Zanzibar: part of Tanzania (TZA)
    "DDR": None,  # German Democratic Republic, ends 1990
    "YMD": None,  # South Yemen, ends 1990
    "VDR": None,  # Republic of Vietnam, ends 1975
}

# variable, V-Dem column, unit, description
COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("polyarchy", "v2x_polyarchy", "index 0-1 (higher = more democratic)",
     "Electoral democracy index (V-Dem v14 v2x_polyarchy)"),
    ("libdem", "v2x_libdem", "index 0-1 (higher = more democratic)",
     "Liberal democracy index (V-Dem v14 v2x_libdem)"),
    ("freexp_altinf", "v2x_freexp_altinf", "index 0-1 (higher = freer)",
     "Freedom of expression and alternative sources of information index (V-Dem v14 v2x_freexp_altinf)"),
    ("civlib", "v2x_civlib", "index 0-1 (higher = freer)", "Civil liberties index (V-Dem v14 v2x_civlib)"),
    ("corruption", "v2x_corr", "index 0-1 (higher = more corrupt)",
     "Political corruption index (V-Dem v14 v2x_corr)"),
    ("internet_censorship", "v2mecenefi", "latent scale, about -4.5..4 (higher = less censorship)",
     "Internet censorship effort (V-Dem v14 v2mecenefi, measurement-model point estimate; higher = less censorship)"),
    ("media_censorship", "v2mecenefm", "latent scale, about -4.5..4 (higher = less censorship)",
     "Government censorship effort - media (V-Dem v14 v2mecenefm, point estimate; higher = less censorship)"),
    ("regime_row", "v2x_regime", "category 0-3",
     "Regimes of the World (V-Dem v14 v2x_regime): 0 closed autocracy, 1 electoral autocracy, "
     "2 electoral democracy, 3 liberal democracy"),
)
V15_VARIABLE = ("polyarchy_v15", "v2x_polyarchy", "index 0-1 (higher = more democratic)",
                "Electoral democracy index from the V-Dem v15 release (2025), 1990-2024, via vdem3.csv; "
                "a separate release - do not splice with `polyarchy` (v14)")
VARIABLE_NAMES = tuple(c[0] for c in COLUMNS) + (V15_VARIABLE[0],)


def _fix() -> str:
    return "Restore the original file with `hallyu-forecast data pull` or from the mirror (HALLYU_DATA_DIR)."


def _iso3(codes: pd.Series) -> pd.Series:
    codes = codes.astype(str).str.strip()
    special = codes.isin(list(VDEM_UNITS))
    out = pd.Series(None, index=codes.index, dtype=object)
    out[special] = codes[special].map(VDEM_UNITS)
    if (~special).any():
        out[~special] = to_iso3(codes[~special], source="vdem", kind="iso3")
    return out


def _years(frame: pd.DataFrame, path: Path) -> pd.Series:
    years = pd.to_numeric(frame["year"], errors="coerce")
    if years.isna().any() or (years % 1 != 0).any():
        raise DataError(f"{path}: empty or non-integer `year` values; the file is damaged. {_fix()}")
    return years.astype("int64")


def _finish(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    frame = frame[frame["iso3"].notna() & (frame["year"] >= FIRST_YEAR)]
    dup = frame.duplicated(["iso3", "year"])
    if dup.any():
        raise DataError(
            f"{path}: duplicate country-years after mapping to ISO3, e.g. "
            f"{frame.loc[dup, ['iso3', 'year']].head(5).to_dict('records')}; review vdem.VDEM_UNITS."
        )
    return frame


def _v14(folder: Path) -> pd.DataFrame:
    path = folder / LITE
    cols = [c[1] for c in COLUMNS]
    raw = read_rda(path, "vdemlite", columns=["country_text_id", "year", *cols])
    out = pd.DataFrame({"iso3": _iso3(raw["country_text_id"]), "year": _years(raw, path)})
    for name, col, _unit, _desc in COLUMNS:
        out[name] = pd.to_numeric(raw[col], errors="coerce").astype("float64")
    bad = ~out["regime_row"].dropna().isin([0.0, 1.0, 2.0, 3.0])
    if bad.any():
        raise DataError(f"{path}: v2x_regime has values outside 0-3. {_fix()}")
    return _finish(out, path)


def _v15(folder: Path) -> pd.DataFrame:
    path = folder / V15
    raw = read_csv(path, columns=["country_text_id", "country_id", "year", "v2x_polyarchy"])
    # The project right-joined V-Dem onto WDI rows: rows without a V-Dem `country_id` are WDI-only
    # (aggregates such as WLD, or economies V-Dem does not code) and carry no V-Dem values.
    raw = raw[raw["country_id"].notna()]
    raw = check_duplicate_rows(raw, ["country_text_id", "year"], path, line_offset=2)
    if raw.empty:
        raise DataError(f"{path}: no row has a V-Dem `country_id`; the file is damaged. {_fix()}")
    values = pd.to_numeric(raw["v2x_polyarchy"], errors="coerce")
    if (values.isna() & raw["v2x_polyarchy"].notna()).any():
        raise DataError(f"{path}: non-numeric `v2x_polyarchy` values; the file is damaged. {_fix()}")
    out = pd.DataFrame({"iso3": _iso3(raw["country_text_id"]), "year": _years(raw, path),
                        V15_VARIABLE[0]: values.astype("float64")})
    return _finish(out.dropna(subset=[V15_VARIABLE[0]]), path)


def load(folder: Path) -> pd.DataFrame:
    """V-Dem v14 indices (1990–2023) plus the separate v15 polyarchy series (1990–2024)."""
    folder = Path(folder)
    frame = _v14(folder).merge(_v15(folder), on=["iso3", "year"], how="outer")
    frame = frame.dropna(subset=list(VARIABLE_NAMES), how="all")
    return frame.sort_values(["iso3", "year"]).reset_index(drop=True)


SOURCE = Source(
    name="vdem",
    title="Varieties of Democracy (V-Dem) Country-Year dataset v14 (vdemlite extract), plus v15 polyarchy",
    publisher="V-Dem Institute, University of Gothenburg",
    license="CC BY-SA 4.0",
    citation="Coppedge, M. et al. (2024). V-Dem [Country-Year] Dataset v14. Varieties of Democracy (V-Dem) "
    "Project, https://doi.org/10.23696/mcwt-fr58; Pemstein, D. et al. (2024). The V-Dem Measurement Model. "
    "Extract: Teitelbaum, E., vdemlite R package. polyarchy_v15: Coppedge et al. (2025), V-Dem Dataset v15.",
    homepage="https://v-dem.net/data/the-v-dem-dataset/",
    files=(
        RawFile(LITE, "634ee6731c6cc33bb6b3b9c54172fd7e0ef1422344718ab66e576b0793d4ba1c",
                "https://raw.githubusercontent.com/eteitelbaum/vdemlite/"
                "a992948a1cf30282f6ccac4a06f9e53222ce1006/data/vdemlite.rda"),
        RawFile(V15, "f9132693b408c69b131443b2649f6979fea563c5620c9d973307281a5abb305b",
                "https://raw.githubusercontent.com/ES-1085/f2025-ds1-project-f4/"
                "f4e1a8e33eca0a216b6ccd0cd97ecff2571844f4/data/vdem3.csv"),
    ),
    variables=tuple(Variable(n, u, d, ROLE) for n, _c, u, d in COLUMNS)
    + (Variable(V15_VARIABLE[0], V15_VARIABLE[2], V15_VARIABLE[3], ROLE),),
    loader=load,
    static=False,
    notes=(
        "Main series: V-Dem v14 via vdemlite.rda (to 2023). vdem3.csv (a student project joining V-Dem v15 "
        "onto WDI rows; no license file) is used only for the separate column polyarchy_v15 (1990-2024); v15 "
        "values are never spliced into the v14 columns because V-Dem revises back years between releases "
        "(KOR 2023: 0.703 v14 vs 0.733 v15). Codes via to_iso3(kind='iso3'); PSE = Palestine/West Bank kept, "
        "PSG (Palestine/Gaza, 2007-2023) dropped to avoid two regimes under one ISO3; Somaliland (SML) and "
        "Zanzibar (ZZB) are sub-national units, dropped; historical DDR, YMD, VDR dropped. Years 1990 on. "
        "corruption: higher = more corrupt; censorship variables: higher = less censorship."
    ),
)
