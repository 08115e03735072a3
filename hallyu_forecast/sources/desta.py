"""DESTA: Korea's preferential trade agreements (PTAs) per partner country-year, 1990-2023.

Source: Design of Trade Agreements (DESTA) list of treaties v2.02, dyadic version
(``desta_list_of_treaties_02_02_dyads.csv``: one row per country pair x treaty, including
accessions and consolidated versions), mirrored from GitHub ``elpepebenitez/trade-dissertation``
at commit ``8c4a6b5``. The treaty-level file ``desta_list_of_treaties_02_02.csv`` is declared
for provenance; the loader does not need it.

Rows where ``country1`` or ``country2`` is "South Korea" are kept; the partner is the other
side, identified by its ISO 3166 *numeric* code (``iso1``/``iso2`` -> ``to_iso3(kind="iso3n")``).

Variables (per partner ``iso3`` x ``year``, 1990-2023):

- ``fta_signed``: 1 if at least one Korea PTA covering this partner was signed (DESTA
  ``year``) in or before that year, else 0.
- ``fta_in_force``: 1 if at least one was in force (DESTA ``entryforceyear`` <= year),
  else 0. A missing entry-into-force year means "not (yet) in force" (Korea-Philippines,
  signed 2023).
- ``n_ptas_in_force``: number of distinct base treaties (DESTA ``base_treaty``) in force;
  accessions and consolidated versions count under their base treaty (ASEAN-Korea 2006 and
  its 2007 consolidated version = 1; Korea-UK 2019 is coded by DESTA as a consolidated
  version of EU-Korea, base 815 = 1). For a partner joining by accession (China to the
  Bangkok Agreement 2001, Mongolia to APTA 2013) the accession's years are used.
- ``fta_post1990_in_force``: like ``fta_in_force`` but counting only agreements whose base
  treaty was signed in 1990 or later (a later accession to an older scheme stays "old").
  DESTA's list includes three old partial-scope preferential schemes among developing
  countries (Protocol on Trade Negotiations 1971, Bangkok Agreement 1975, Global System of
  Trade Preferences 1988) that make ``fta_in_force`` = 1 for ~50 developing countries
  (including North Korea via GSTP) all through the panel; this variable isolates the modern
  agreements (APTA 2005, Chile 2004, EFTA, ASEAN, US, EU, ..., RCEP): 60 partners in 2023.

Output is the full partner x year grid for the 93 partners that ever appear in a Korea row.
Countries never in a Korea row are absent here (NaN in the panel); the panel builder treats
them as 0 (no agreement), which is what DESTA implies.

Documented caveats (DESTA values kept as they are):

- Canada-Korea: DESTA gives entry into force 2017; a Korean page lists January 2015. DESTA's
  2017 is kept (so ``fta_in_force`` for CAN is 0 in 2015-2016).
- EU-Korea: DESTA's 2011 is the provisional-application year (full ratification 2015); kept.
- GSTP membership of "Serbia" (ISO 688) is DESTA's coding of Yugoslavia's membership; kept.
- Version 02_02 predates 02_03; post-2023 agreements are not covered.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hallyu_forecast.countries import to_iso3
from hallyu_forecast.errors import DataError
from hallyu_forecast.sources._base import RawFile, Source, Variable
from hallyu_forecast.sources._io import read_csv

_URL = (
    "https://raw.githubusercontent.com/elpepebenitez/trade-dissertation/"
    "8c4a6b58f150377e488c679ac8fe67f8a9f1b18d/data/raw_data/pta/{}"
)
DYADS_FILE = "desta_list_of_treaties_02_02_dyads.csv"
TREATIES_FILE = "desta_list_of_treaties_02_02.csv"
KOREA = "South Korea"
KOREA_ISO3N = 410
YEARS = range(1990, 2024)
MODERN_FROM = 1990
VARIABLES = ("fta_signed", "fta_in_force", "n_ptas_in_force", "fta_post1990_in_force")
COLUMNS = ["country1", "country2", "iso1", "iso2", "base_treaty", "year", "entryforceyear"]



def _country_data_dir(folder: Path) -> Path | None:
    """Mirror holding countrycode/ and kdiplo/ for ``to_iso3``: the source's parent if it has them."""
    parent = Path(folder).parent
    return parent if (parent / "countrycode").is_dir() else None

def _korea_dyads(folder: Path) -> pd.DataFrame:
    path = folder / DYADS_FILE
    # The file starts with a UTF-8 byte-order mark: utf-8-sig strips it from `country1`.
    raw = read_csv(path, columns=COLUMNS, encoding="utf-8-sig")
    if raw["base_treaty"].isna().any() or raw["year"].isna().any():
        raise DataError(
            f"{path}: columns `base_treaty`/`year` are empty in some rows although the original file "
            "has no gaps there; the file looks truncated or damaged. Re-download it with "
            "`hallyu-forecast data pull` or restore it from the mirror (HALLYU_DATA_DIR)."
        )
    first = raw["country1"] == KOREA
    second = raw["country2"] == KOREA
    korea = raw[first | second].copy()
    if korea.empty:
        raise DataError(
            f"{path}: no row has {KOREA!r} in `country1` or `country2`; the country naming may have "
            "changed. Update the loader's KOREA constant or restore the original file."
        )
    korea["partner_code"] = korea["iso2"].where(first[korea.index], korea["iso1"])
    korea_code = korea["iso1"].where(first[korea.index], korea["iso2"])
    if not (pd.to_numeric(korea_code, errors="coerce") == KOREA_ISO3N).all():
        raise DataError(
            f"{path}: rows naming {KOREA!r} do not all carry ISO numeric code {KOREA_ISO3N}; "
            "`iso1`/`iso2` may be in another scheme. Restore the original file."
        )
    codes = pd.to_numeric(korea["partner_code"], errors="coerce").astype("Int64").astype(str)
    korea["iso3"] = to_iso3(codes, source="desta", kind="iso3n", data_dir=_country_data_dir(folder))
    korea = korea[korea["iso3"].notna()]
    korea["signed"] = pd.to_numeric(korea["year"], errors="coerce")
    korea["in_force"] = pd.to_numeric(korea["entryforceyear"], errors="coerce")
    return korea


def load(folder: Path) -> pd.DataFrame:
    """Return iso3, year (1990-2023) and Korea PTA indicators for every partner in DESTA."""
    korea = _korea_dyads(Path(folder))
    # One row per partner x base treaty: earliest signature / entry into force among the
    # base treaty, its accessions and consolidated versions for that partner.
    per_treaty = korea.groupby(["iso3", "base_treaty"], as_index=False).agg(
        signed=("signed", "min"), in_force=("in_force", "min")
    )
    # Signature year of the base treaty itself (over all its Korea rows), so that a late
    # accession to an old scheme (China to the 1975 Bangkok Agreement in 2001) stays "old".
    base_signed = korea.groupby("base_treaty")["signed"].min().rename("base_signed")
    per_treaty = per_treaty.merge(base_signed, left_on="base_treaty", right_index=True, how="left")
    years = pd.DataFrame({"year": list(YEARS)})
    grid = per_treaty.merge(years, how="cross")
    grid["is_signed"] = grid["signed"] <= grid["year"]
    grid["is_in_force"] = grid["in_force"].notna() & (grid["in_force"] <= grid["year"])
    grid["is_modern_in_force"] = grid["is_in_force"] & (grid["base_signed"] >= MODERN_FROM)
    out = grid.groupby(["iso3", "year"], as_index=False).agg(
        fta_signed=("is_signed", "max"),
        fta_in_force=("is_in_force", "max"),
        n_ptas_in_force=("is_in_force", "sum"),
        fta_post1990_in_force=("is_modern_in_force", "max"),
    )
    for col in VARIABLES:
        out[col] = out[col].astype("float64")
    out["iso3"] = out["iso3"].astype(str)
    out["year"] = out["year"].astype("int64")
    return out[["iso3", "year", *VARIABLES]].sort_values(["iso3", "year"]).reset_index(drop=True)


SOURCE = Source(
    name="desta",
    title="Design of Trade Agreements (DESTA) database, list of treaties v2.02 (dyadic)",
    publisher="DESTA project (Dür, Baccini & Elsig)",
    license="Free for research use with citation (no license stated in the mirror repository)",
    citation=(
        "Dür, Andreas, Leonardo Baccini and Manfred Elsig (2014). The design of international trade "
        "agreements: Introducing a new dataset. Review of International Organizations 9(3): 353-375. "
        "DESTA list of treaties v2.02."
    ),
    homepage="https://www.designoftradeagreements.org",
    files=(
        RawFile(
            DYADS_FILE,
            sha256="3cb437c03e5408a83978aa924a7febb96b49a3878f8d5795f02d45da38df9168",
            url=_URL.format(DYADS_FILE),
        ),
        RawFile(
            TREATIES_FILE,
            sha256="1e9b0abadb73eae74a2cc12233c856c74dcbb528ffa018c9ef6bfe195f5160c4",
            url=_URL.format(TREATIES_FILE),
        ),
    ),
    variables=(
        Variable(
            "fta_signed",
            "1/0",
            "1 if a preferential trade agreement between Korea and the partner (DESTA, incl. "
            "plurilateral/region agreements and accessions) was signed in or before that year",
            "government_support",
        ),
        Variable(
            "fta_in_force",
            "1/0",
            "1 if a Korea-partner preferential trade agreement was in force (DESTA entryforceyear <= "
            "year; missing entry year = not in force)",
            "government_support",
        ),
        Variable(
            "n_ptas_in_force",
            "count",
            "Number of distinct Korea-partner agreements (DESTA base treaties) in force that year",
            "government_support",
        ),
        Variable(
            "fta_post1990_in_force",
            "1/0",
            "1 if a Korea-partner agreement whose base treaty was signed in 1990 or later was in force "
            "(excludes the 1971 PTN, 1975 Bangkok Agreement and 1988 GSTP partial-scope schemes, "
            "including later accessions to them)",
            "government_support",
        ),
    ),
    loader=load,
    notes=(
        "Korea rows of the DESTA 02_02 dyad file; partner ISO numeric -> ISO3. Full grid 1990-2023 for "
        "the 93 partners ever in a Korea row; countries absent from DESTA's Korea rows are NaN here and "
        "should be read as 0 (the panel builder does so). DESTA years kept as published: Canada-Korea "
        "entry into force 2017 (a Korean page says 2015); EU-Korea 2011 = provisional application (full "
        "ratification 2015). Korea-Philippines (signed 2023) has no entry year -> not in force. "
        "n_ptas_in_force counts base treaties (accessions/consolidated versions merged; Korea-UK is "
        "coded by DESTA under EU-Korea's base treaty). fta_post1990_in_force excludes PTN/Bangkok/GSTP."
    ),
)
