"""Gapminder "Fast Track" country-year series: population, GDP per capita PPP, internet use, age shares.

Gapminder's DDF export (github.com/open-numbers/ddf--gapminder--fasttrack) is used mainly to cover
Taiwan (TWN), which the World Bank does not publish, with series close to WDI for other countries.
Long CSVs ``<key>, time, <indicator>``; keys are lower-case Gapminder geo ids.

Variables (``iso3`` × ``year``, 1990–2024):

- ``population_gm``: total population, persons (UN WPP-based, Gapminder v8).
- ``gdp_pc_ppp_2017``: GDP per capita, PPP, constant **2017** international $ — the previous file
  version (concept v31, repo commit f437e069, 2024-10-28). This is the series to use, in particular
  for TWN.
- ``gdp_pc_ppp_gm2021``: GDP per capita, PPP, labelled constant 2021 international $ — the current
  file (concept v32). **Do not use it for TWN**: PROVENANCE caveat 1 shows TWN's values there are
  not constant-price (the HEAD/v31 ratio drifts from 0.84 in 2005 to 1.30 in 2024 while it is flat
  ≈1.095 for KOR); for other countries it equals WDI NY.GDP.PCAP.PP.KD from 2010 on. It is kept
  only for comparison.
- ``internet_pct_gm``: individuals using the internet, % of population = ``100 - non_net_users_prc``
  (PROVENANCE caveat 3; ``net_users_num / pop`` does not reproduce it). Ends in 2019 (an early-2021
  vintage). TWN jumps 2016→2017 (a source/method break, not a trend).
- ``pop_0_14_pct_gm`` / ``pop_65_pct_gm``: population aged 0–14 / 65+, % of total.

Choices:

- **Keys → ISO3** via ``ddf--entities--geo--country.csv`` column ``iso3166_1_alpha3`` (``hos`` → VAT,
  ``gbg`` → GGY, ``gbm`` → IMN, ``nld_curacao`` → CUW, ``stbar`` → BLM all come from that file).
  ``kos`` (Kosovo) has no alpha-3 there and is mapped to ``XKX`` (World Bank code) explicitly. Any
  other key without an alpha-3 raises :class:`~hallyu_forecast.errors.UnknownCountryError`.
- **Years.** Only 1990–2024 are emitted. The files run to 2100; years after 2024 are UN WPP
  medium-variant projections (and Gapminder's GDP extrapolations), not data.
- The ``net_users_num`` file is declared (mirrored) but not used (caveat 3).
- Integrity: every datapoint file must have no empty cells (the originals have none) and end with
  a complete final line; a cut file raises :class:`~hallyu_forecast.errors.DataError`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hallyu_forecast.errors import DataError, UnknownCountryError
from hallyu_forecast.sources._base import RawFile, Source, Variable
from hallyu_forecast.sources._io import read_csv

FIRST_YEAR = 1990
LAST_YEAR = 2024
ROLE = "local_conditions"
HEAD_COMMIT = "10e24e0e54b7c228642260f3b93d3d94131e23a5"
V31_COMMIT = "f437e069ab2400596cd9b2e3e194f2f98e99a331"
V31_DIR = "gdp_pcap_v31_2024-10-28"
ENTITIES = "ddf--entities--geo--country.csv"
_URL = "https://raw.githubusercontent.com/open-numbers/ddf--gapminder--fasttrack/{commit}/{path}"

#: Gapminder geo ids without an ISO3 in the entities file, mapped explicitly.
EXTRA_KEYS: dict[str, str] = {"kos": "XKX"}

# variable, file (relative to folder), key column, indicator column, unit, description
SERIES: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("population_gm", "ddf--datapoints--pop--by--country--time.csv", "country", "pop", "persons",
     "Total population (Gapminder pop v8, based on UN World Population Prospects)"),
    ("gdp_pc_ppp_2017", f"{V31_DIR}/ddf--datapoints--gdp_pcap--by--country--time.csv", "country", "gdp_pcap",
     "constant 2017 international $",
     "GDP per capita, PPP, constant 2017 international dollars (Gapminder gdp_pcap v31, 2024-10-28); "
     "use this series for Taiwan"),
    ("gdp_pc_ppp_gm2021", "ddf--datapoints--gdp_pcap--by--country--time.csv", "country", "gdp_pcap",
     "constant 2021 international $ (as labelled)",
     "GDP per capita, PPP, labelled constant 2021 international dollars (Gapminder gdp_pcap v32). "
     "Equals WDI NY.GDP.PCAP.PP.KD from 2010 for WDI countries; NOT constant-price for TWN - do not use for TWN"),
    ("internet_pct_gm", "ddf--datapoints--non_net_users_prc--by--country--time.csv", "country",
     "non_net_users_prc", "% of population",
     "Individuals using the internet = 100 - non_net_users_prc (Gapminder v6, early-2021 vintage; ends 2019)"),
    ("pop_0_14_pct_gm", "ddf--datapoints--population_aged_0_14_years_both_sexes_percent--by--geo--time.csv",
     "geo", "population_aged_0_14_years_both_sexes_percent", "% of total population",
     "Population aged 0-14, % of total (Gapminder, UN WPP-based)"),
    ("pop_65_pct_gm", "ddf--datapoints--population_aged_65plus_years_both_sexes_percent--by--geo--time.csv",
     "geo", "population_aged_65plus_years_both_sexes_percent", "% of total population",
     "Population aged 65+, % of total (Gapminder, UN WPP-based)"),
)
VARIABLE_NAMES = tuple(s[0] for s in SERIES)
UNUSED_FILE = "ddf--datapoints--net_users_num--by--country--time.csv"

_SHA256 = {
    "ddf--concepts.csv": "e52061e9ad02be204c1a627d06230c5c903a6e4583e7bbfe12e718e7a94da5d4",
    "ddf--datapoints--gdp_pcap--by--country--time.csv": "0474f3fe4e77035308f66d59c82dc27e4ed1138109a58e6aed85fae5a39cd764",
    UNUSED_FILE: "c1570a69b4cf300464ab7e749b9c564d0cec60cce72b232a02126c682a80b208",
    "ddf--datapoints--non_net_users_prc--by--country--time.csv": "86bb27313619ffa56f37d645e2102406c1d7685ce3cf9086ad0fb51032314415",
    "ddf--datapoints--pop--by--country--time.csv": "87e96a3555f00437e1fcd85c715f8be029de64ac100d2c32085f97d25aa4f491",
    "ddf--datapoints--population_aged_0_14_years_both_sexes_percent--by--geo--time.csv": "dab22c5d1bda643fa5ff73caefa287ff2567ca623fef62d2baf7e0a54f061781",
    "ddf--datapoints--population_aged_65plus_years_both_sexes_percent--by--geo--time.csv": "7e0144875baf498fb831840d658a65c15cee796caf6938f3dcc8e01ed805c086",
    ENTITIES: "0b24dc8a3bc6c35991f695fb8ede4c4bb1c63af822554b7683fb1f510c1654da",
    f"{V31_DIR}/ddf--concepts.csv": "9b7feb58d467643c0619e6ef8656f1ad0a23d890cb52a84bb4159e3c15de07ee",
    f"{V31_DIR}/ddf--datapoints--gdp_pcap--by--country--time.csv": "a04ee640c1b44ec433cd034e403eec4e08024ff57cd1e9a11e6f5f6a547508b2",
}


def _url(path: str) -> str:
    """Raw GitHub URL of a mirrored file at the commit it was copied from."""
    commit = V31_COMMIT if path.startswith(V31_DIR + "/") else HEAD_COMMIT
    name = path.split("/")[-1]
    repo_path = f"countries_etc_datapoints/{name}" if name.startswith("ddf--datapoints--") else name
    return _URL.format(commit=commit, path=repo_path)


def _fix() -> str:
    return "Restore the original file with `hallyu-forecast data pull` or from the mirror (HALLYU_DATA_DIR)."


def _key_map(folder: Path) -> dict[str, str]:
    path = folder / ENTITIES
    ent = read_csv(path, columns=["country", "iso3166_1_alpha3"], dtype=str, keep_default_na=False)
    mapping = {
        k.strip(): v.strip().upper()
        for k, v in zip(ent["country"], ent["iso3166_1_alpha3"])
        if v.strip()
    }
    mapping.update(EXTRA_KEYS)
    return mapping


def _read_series(folder: Path, name: str, file: str, key: str, column: str, mapping: dict[str, str]) -> pd.DataFrame:
    path = folder / file
    raw = read_csv(path, columns=[key, "time", column], keys=(key, "time"))
    with open(path, "rb") as fh:
        fh.seek(-1, 2)
        complete = fh.read(1) == b"\n"
    if not complete or raw[[key, "time", column]].isna().any().any():
        raise DataError(
            f"{path}: the file has empty cells or an incomplete last line (the original has neither); "
            f"it looks truncated or damaged. {_fix()}"
        )
    values = pd.to_numeric(raw[column], errors="coerce")
    years = pd.to_numeric(raw["time"], errors="coerce")
    if values.isna().any() or years.isna().any():
        raise DataError(f"{path}: non-numeric values in `time` or `{column}`; the file is damaged. {_fix()}")
    keys = raw[key].astype(str).str.strip().str.lower()
    unknown = sorted(set(keys) - set(mapping))
    if unknown:
        raise UnknownCountryError({"gapminder": [f"{k!r} (geo id without iso3166_1_alpha3)" for k in unknown]})
    out = pd.DataFrame({"iso3": keys.map(mapping), "year": years.astype("int64"), name: values.astype("float64")})
    out = out[(out["year"] >= FIRST_YEAR) & (out["year"] <= LAST_YEAR)]
    if out.duplicated(["iso3", "year"]).any():
        dup = out.loc[out.duplicated(["iso3", "year"]), ["iso3", "year"]].head(5).to_dict("records")
        raise DataError(f"{path}: duplicate country-years after mapping to ISO3, e.g. {dup}. {_fix()}")
    if name == "internet_pct_gm":
        out[name] = 100.0 - out[name]
    return out


def load(folder: Path) -> pd.DataFrame:
    """Read the Gapminder series: ``iso3, year`` (1990–2024) plus six variables."""
    folder = Path(folder)
    mapping = _key_map(folder)
    frame: pd.DataFrame | None = None
    for name, file, key, column, _unit, _desc in SERIES:
        part = _read_series(folder, name, file, key, column, mapping)
        frame = part if frame is None else frame.merge(part, on=["iso3", "year"], how="outer")
    assert frame is not None
    frame = frame.dropna(subset=list(VARIABLE_NAMES), how="all")
    return frame.sort_values(["iso3", "year"]).reset_index(drop=True)


SOURCE = Source(
    name="gapminder",
    title="Gapminder Fast Track indicators (population, GDP per capita PPP, internet users, age structure)",
    publisher="Gapminder Foundation",
    license="CC BY 4.0",
    citation="Free data from Gapminder, www.gapminder.org (Fast Track DDF export, "
    "github.com/open-numbers/ddf--gapminder--fasttrack); underlying sources: UN World Population "
    "Prospects, World Bank WDI, ITU.",
    homepage="https://www.gapminder.org/data/",
    files=tuple(RawFile(p, h, _url(p)) for p, h in _SHA256.items()),
    variables=tuple(Variable(n, unit, desc, ROLE) for n, _f, _k, _c, unit, desc in SERIES),
    loader=load,
    static=False,
    notes=(
        "Files from github.com/open-numbers/ddf--gapminder--fasttrack at HEAD "
        f"{HEAD_COMMIT}; the v31 GDP file and its concepts from commit {V31_COMMIT} (2024-10-28). "
        "Geo ids map to ISO3 via ddf--entities--geo--country.csv (iso3166_1_alpha3); kos -> XKX "
        "explicitly. Years 1990-2024 only (later years are projections). gdp_pc_ppp_2017 (v31, constant "
        "2017 int$) is the series to use; gdp_pc_ppp_gm2021 (v32 HEAD) must not be used for TWN because "
        "TWN's values there are not constant-price (PROVENANCE caveat 1). internet_pct_gm = 100 - "
        "non_net_users_prc, ends 2019, TWN break 2016->2017. net_users_num is mirrored but unused. "
        "Concept files are declared for documentation only."
    ),
)
