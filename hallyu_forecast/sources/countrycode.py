"""countrycode 1.7.0 concordance: the hub that maps every source's names/codes to ISO3.

``codelist.rda`` (292 current and historical entities x 625 columns) is read by
:mod:`hallyu_forecast.countries` to resolve names and codes; ``codelist_panel.rda`` (which codes
existed in which year) is declared so that it is pulled, checksummed and cited with the package,
but no loader reads it.

As a panel source this module contributes only one numeric key column, ``continent_id``
(countrycode's ``continent``): 1 Africa, 2 Americas, 3 Asia, 4 Europe, 5 Oceania; NaN for
Antarctica and for the seven remote territories countrycode leaves without a continent
(BVT, IOT, CCK, ATF, HMD, SGS, UMI). The string attributes
(names, continent, World Bank region) are served by :func:`country_table` for the country table.

Rows: every codelist row with a non-null ``iso3c`` (249), plus Kosovo, which countrycode keeps
without an ISO3 (ISO 3166 has no alpha-3 for it) but with World Bank code ``XKX``; the package's
alias table resolves "Kosovo" to XKX, so it is added with that code and continent Europe
(hand-filled; countrycode has none). Historical entities without ISO3 (Yugoslavia,
Czechoslovakia, German states, ...) are left out.

Korean names (``name_ko``) are CLDR short names (``cldr.short.ko``), falling back to the CLDR
full name; the three ISO3 rows with neither (FSM, MAF, UMI) are filled by hand from CLDR's
Korean locale: FSM "미크로네시아", MAF "생마르탱", UMI "미국령 해외 제도".
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hallyu_forecast.errors import DataError
from hallyu_forecast.sources._base import RawFile, Source, Variable
from hallyu_forecast.sources._io import read_rda

FILE = "codelist.rda"
PANEL_FILE = "codelist_panel.rda"
CONTINENT_IDS: dict[str, int] = {"Africa": 1, "Americas": 2, "Asia": 3, "Europe": 4, "Oceania": 5}
#: Korean names missing from countrycode's CLDR columns, filled by hand.
NAME_KO_FILL: dict[str, str] = {"FSM": "미크로네시아", "MAF": "생마르탱", "UMI": "미국령 해외 제도"}
#: Entities countrycode keeps without ISO3 that the package keys by another code.
EXTRA_CODES: dict[str, dict[str, str]] = {
    "Kosovo": {"iso3": "XKX", "continent": "Europe"},
}
COLUMNS = ("iso3c", "country.name.en", "cldr.short.ko", "cldr.name.ko", "continent", "region", "wb")

_BASE_URL = ("https://raw.githubusercontent.com/cran/countrycode/"
             "01f1ad5fce6d5103e53074ca01af5a4bc0b0a748/data/")


def _strings(series: pd.Series) -> pd.Series:
    out = series.astype("string").str.strip()
    return out.where(out != "")


def country_table(folder: Path) -> pd.DataFrame:
    """One row per country/territory: ``iso3, name, name_ko, continent, region`` (strings).

    ``name`` is countrycode's ``country.name.en``; ``name_ko`` the CLDR Korean short name;
    ``continent`` is Africa/Americas/Asia/Europe/Oceania/Antarctica or missing; ``region`` the
    World Bank region (7 regions) or missing for territories the World Bank does not classify.

    Parameters
    ----------
    folder : path
        The ``countrycode`` folder of the raw data mirror.
    """
    path = Path(folder) / FILE
    raw = read_rda(path, "codelist", columns=COLUMNS)
    iso3 = _strings(raw["iso3c"])
    name = _strings(raw["country.name.en"])
    extra = name.isin(list(EXTRA_CODES)) & iso3.isna()
    for entity, spec in EXTRA_CODES.items():
        iso3 = iso3.mask(extra & (name == entity), spec["iso3"])
    keep = iso3.notna()
    table = pd.DataFrame({
        "iso3": iso3[keep],
        "name": name[keep],
        "name_ko": _strings(raw.loc[keep, "cldr.short.ko"]).fillna(_strings(raw.loc[keep, "cldr.name.ko"])),
        "continent": _strings(raw.loc[keep, "continent"]),
        "region": _strings(raw.loc[keep, "region"]),
    })
    for entity, spec in EXTRA_CODES.items():
        table.loc[(table["name"] == entity) & table["continent"].isna(), "continent"] = spec["continent"]
    table["name_ko"] = table["name_ko"].fillna(table["iso3"].map(NAME_KO_FILL)).astype("string")
    if table.empty:
        raise DataError(f"{path}: no rows with an ISO3 code (`iso3c`). Restore the original file.")
    bad = ~table["iso3"].str.fullmatch(r"[A-Z]{3}")
    if bad.any():
        raise DataError(f"{path}: invalid `iso3c` value(s) {sorted(table.loc[bad, 'iso3'].unique())[:10]}.")
    dup = table["iso3"].duplicated(keep=False)
    if dup.any():
        raise DataError(f"{path}: duplicated `iso3c` {sorted(table.loc[dup, 'iso3'].unique())}.")
    return table.sort_values("iso3").reset_index(drop=True)


def load(folder: Path) -> pd.DataFrame:
    table = country_table(folder)
    continent_id = table["continent"].map(CONTINENT_IDS).astype("float64")
    return pd.DataFrame({"iso3": table["iso3"], "continent_id": continent_id.to_numpy()})


SOURCE = Source(
    name="countrycode",
    title="countrycode: country code and name concordance (R package, version 1.7.0)",
    publisher="Vincent Arel-Bundock, Nils Enevoldsen, CJ Yetman (CRAN package countrycode)",
    license="GPL-3",
    citation=("Arel-Bundock, V., Enevoldsen, N. & Yetman, C.J. (2018). countrycode: An R package to "
              "convert country names and country codes. Journal of Open Source Software 3(28), 848."),
    homepage="https://vincentarelbundock.github.io/countrycode/",
    files=(
        RawFile(FILE,
                sha256="5c59d1528e7c6dc3e6959b918cc1e911bec388d2cb0d9a0cf51632b7594ef257",
                url=_BASE_URL + FILE),
        RawFile(PANEL_FILE,
                sha256="6f1f058d23ae9373ce1486152c68760e185f776ec3459ca66afec4ceff82e2cb",
                url=_BASE_URL + PANEL_FILE),
    ),
    variables=(
        Variable("continent_id", "code",
                 "Continent (countrycode `continent`): 1 Africa, 2 Americas, 3 Asia, 4 Europe, 5 Oceania; "
                 "NaN for Antarctica and territories without a continent", "key"),
    ),
    loader=load,
    static=True,
    notes=("Rows: codelist entries with an ISO3 code (249) plus Kosovo as XKX (World Bank code; continent "
           "Europe hand-filled). continent_id codes: 1 Africa, 2 Americas, 3 Asia, 4 Europe, 5 Oceania. "
           "country_table(folder) gives names (English, CLDR Korean; FSM, MAF and UMI Korean names hand-filled), "
           "continent and World Bank region as strings. codelist_panel.rda is declared but not read by the "
           "loader."),
)
