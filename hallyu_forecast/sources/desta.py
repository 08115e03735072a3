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

**Korea's FTAs for causal use** (``fta_korea_in_force``, ``fta_korea_years``,
``fta_korea_onset_year``): only Korea's bilateral and regional free-trade agreements count
(:data:`KOREA_FTAS`, DESTA base treaty numbers, entry into force as DESTA gives it):
Chile 2004, Singapore 2006, EFTA 2006 (Iceland, Liechtenstein, Norway, Switzerland),
ASEAN 2007, India 2010 (CEPA), EU 2011 (the 27 members at signing; Croatia from its EU
accession, 2013; the United Kingdom keeps 2011 and its 2021 bilateral continuity agreement
changes nothing), Peru 2011, United States 2012, Turkey 2013, Australia 2014, China 2015,
New Zealand 2015, Vietnam 2015, Colombia 2016, Canada 2017 (DESTA; a Korean page says
2015-01), Central America 2019 (DESTA codes all five partners 2019 although ratifications were
staggered to 2021), RCEP 2022 (first FTA with Japan: DESTA lists Japan as an RCEP member but has no Korea-Japan dyad, so
it is added by hand), Cambodia 2022, Israel 2022, Indonesia
CEPA 2023 (already covered by ASEAN/RCEP). Not counted: the 1971-88 partial-scope schemes
among developing countries (PTN 1971, Bangkok Agreement 1975 and its China accession, GSTP
1988) and the Asia-Pacific Trade Agreement (the amended Bangkok Agreement, 2005; Mongolia's
accession 2013), and the Korea-Philippines FTA (signed 2023, not in force in DESTA).

- ``fta_korea_in_force``: share of the year with a Korea FTA in force (0..1). DESTA gives
  only the year, so the entry year counts 0.5 (the expected share under an unknown date) and
  later years 1.
- ``fta_korea_years``: years since the first Korea FTA entered into force (0 in that year and
  without one).
- ``fta_korea_onset_year``: the first entry-into-force year (0 = never), the event-study onset.
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
VARIABLES = ("fta_signed", "fta_in_force", "n_ptas_in_force", "fta_post1990_in_force",
             "fta_korea_in_force", "fta_korea_years", "fta_korea_onset_year")
#: Korea's bilateral and regional FTAs: DESTA base treaty number -> name (see the module docstring).
KOREA_FTAS: dict[int, str] = {
    72: "ASEAN-Korea", 208: "Chile-Korea", 384: "EFTA-Korea", 489: "India-Korea CEPA",
    550: "Korea-Singapore", 551: "Korea-US", 808: "Colombia-Korea", 815: "EU-Korea (and Korea-UK)",
    830: "Korea-Peru", 831: "Korea-Turkey", 852: "Canada-Korea", 909: "China-Korea",
    911: "Australia-Korea", 912: "Korea-New Zealand", 913: "Korea-Vietnam", 914: "Indonesia-Korea CEPA",
    931: "Central America-Korea", 1044: "RCEP", 1072: "Cambodia-Korea", 1076: "Israel-Korea",
}
#: Partners covered by a Korea FTA through a later accession to the partner bloc that DESTA's dyads do
#: not list: iso3 -> (base treaty, entry year). Croatia joined the EU (and EU-Korea) on 2013-07-01;
#: DESTA lists Japan among RCEP's members (its Japan-ASEAN/China/... dyads) but has no Korea-Japan row.
ACCESSIONS: dict[str, tuple[int, int]] = {"HRV": (815, 2013), "JPN": (1044, 2022)}
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


def korea_fta_onsets(korea: pd.DataFrame) -> pd.DataFrame:
    """First entry into force of a Korea FTA (:data:`KOREA_FTAS`) per partner: iso3, onset_year, treaty."""
    fta = korea[korea["base_treaty"].isin(list(KOREA_FTAS)) & korea["in_force"].notna()]
    rows = fta[["iso3", "base_treaty", "in_force"]].rename(columns={"in_force": "onset_year"})
    extra = pd.DataFrame(
        [{"iso3": k, "base_treaty": b, "onset_year": y} for k, (b, y) in ACCESSIONS.items()]
    )
    rows = pd.concat([rows, extra], ignore_index=True).sort_values(["iso3", "onset_year"])
    first = rows.groupby("iso3", as_index=False).first()
    first["treaty"] = first["base_treaty"].map(KOREA_FTAS)
    first["onset_year"] = first["onset_year"].astype("int64")
    return first[["iso3", "onset_year", "treaty"]]


def _korea_fta_columns(korea: pd.DataFrame) -> pd.DataFrame:
    onsets = korea_fta_onsets(korea)
    grid = onsets.merge(pd.DataFrame({"year": list(YEARS)}), how="cross")
    on = grid["year"] >= grid["onset_year"]
    grid["fta_korea_in_force"] = on * 1.0 - (grid["year"] == grid["onset_year"]) * 0.5
    grid["fta_korea_years"] = (grid["year"] - grid["onset_year"]).where(on, 0).astype("float64")
    grid["fta_korea_onset_year"] = grid["onset_year"].astype("float64")
    return grid[["iso3", "year", "fta_korea_in_force", "fta_korea_years", "fta_korea_onset_year"]]


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
    out = out.merge(_korea_fta_columns(korea), on=["iso3", "year"], how="outer")
    for col in VARIABLES:
        out[col] = out[col].fillna(0.0).astype("float64")
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
        Variable(
            "fta_korea_in_force",
            "share 0-1",
            "Share of the year with one of Korea's bilateral/regional FTAs in force (Chile 2004 ... RCEP "
            "2022; no PTN/Bangkok/GSTP/APTA); DESTA entry year counts 0.5",
            "government_support",
        ),
        Variable(
            "fta_korea_years",
            "years",
            "Years since the first of Korea's bilateral/regional FTAs entered into force (0 without one)",
            "government_support",
        ),
        Variable(
            "fta_korea_onset_year",
            "year",
            "Entry-into-force year of the partner's first Korea bilateral/regional FTA (0 = none)",
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
