"""CEPII GeoDist: distance and contiguity to Korea, and capital-city geography.

Time-invariant cross-section (GeoDist has not been updated since 2011), read from the two data
frames of the CRAN package ``cepiigeodist`` 0.1 (byte-for-byte copies of its ``data/*.rda``).

From ``dist_cepii`` (rows with ``iso_o == "KOR"``, one per destination):

- ``dist_seoul_km``: CEPII ``dist``, great-circle km between the most populated cities of the two
  countries (Seoul and, e.g., Tokyo). JPN 1,156.7; USA 11,065.7; FRA 8,981.5.
- ``distw_seoul_km``: CEPII ``distw``, population-weighted distance (km) between the main cities of
  both countries. Stored as text in the ``.rda``; CEPII's missing marker ``"."`` (CCK, CXR, MAC, MSR,
  PCN as seen from KOR) becomes NaN.
- ``contig_kor``: 1 if the country shares a land border with Korea (only PRK).

From ``geo_cepii`` (capital rows, ``cap == 1``; one per code; other main-city rows are ignored):

- ``area_km2``, ``landlocked`` (0/1), ``capital_lat``, ``capital_lon`` (degrees, rounded by CEPII to
  about 0.1 degree), ``english_official`` (1 if any of ``langoff_1..3`` is ``"English"``),
  ``great_circle_seoul_km``: haversine distance (Earth radius 6,371 km) from the capital to Seoul at
  37.5 N, 127.0 E (the coordinates of CEPII's own KOR capital row).

Choices, all deliberate:

- ``great_circle_seoul_km`` is kept as its own variable and is NOT used to fill
  ``dist_seoul_km``: the two measure different city pairs (capital vs most populated city), e.g.
  USA 11,065.7 by ``dist`` (New York) but about 11,200 capital-to-capital (Washington). The only
  code in ``geo`` but not in ``dist`` is ATF (French Southern Territories), which therefore has
  NaN ``dist_seoul_km``/``distw_seoul_km``/``contig_kor`` and a valid great-circle distance.
- CEPII's 2011 codes are mapped through :func:`hallyu_forecast.countries.to_iso3` (``kind="iso3"``),
  which recodes the legacy codes ROM->ROU, ZAR->COD, TMP->TLS, YUG->SRB (Serbia and Montenegro is
  attributed to Serbia, its legal successor; Montenegro, Kosovo and South Sudan are absent) and
  PAL->PSE.
- ANT (Netherlands Antilles, dissolved in 2010) is dropped: its successors (CUW, SXM, BES) have
  no single ISO3 to attribute it to.
- KOR itself is dropped: Korea is the destination of Hallyu flows, not an origin
  (its "distance to itself" 118.6 km is CEPII's internal distance).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hallyu_forecast.countries import to_iso3
from hallyu_forecast.errors import DataError
from hallyu_forecast.sources._base import RawFile, Source, Variable
from hallyu_forecast.sources._io import read_rda

SEOUL_LAT = 37.5
SEOUL_LON = 127.0
EARTH_RADIUS_KM = 6371.0
#: Codes dropped on purpose (see the module docstring).
DROPPED_CODES = {"ANT": "Netherlands Antilles, dissolved 2010; no single successor ISO3",
                 "KOR": "Korea is the destination, not an origin"}

_BASE_URL = ("https://raw.githubusercontent.com/cran/cepiigeodist/"
             "d66e4d69dbbd5dc15b79944b259250a57a657a8b/data/")

DIST_COLUMNS = ("iso_o", "iso_d", "contig", "dist", "distw")
GEO_COLUMNS = ("iso3", "area", "landlocked", "lat", "lon", "cap", "langoff_1", "langoff_2", "langoff_3")


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km between points given in decimal degrees (vectorised)."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(v, dtype="float64")) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _to_number(series: pd.Series, path: Path, column: str) -> pd.Series:
    """Numbers stored as text; CEPII's "." means missing. Anything else unparsable is an error."""
    text = series.astype("string").str.strip()
    out = pd.to_numeric(text.where(text != "."), errors="coerce")
    bad = out.isna() & text.notna() & (text != ".")
    if bad.any():
        raise DataError(f"{path}: column `{column}` has non-numeric value(s) "
                        f"{sorted(text[bad].unique())[:5]}. Restore the original file.")
    return out.astype("float64")


def _map_codes(codes: pd.Series) -> pd.Series:
    return to_iso3(codes, source="cepii", kind="iso3")


def load(folder: Path) -> pd.DataFrame:
    folder = Path(folder)
    dist_path = folder / "dist_cepii.rda"
    geo_path = folder / "geo_cepii.rda"
    dist = read_rda(dist_path, "dist_cepii", columns=DIST_COLUMNS)
    geo = read_rda(geo_path, "geo_cepii", columns=GEO_COLUMNS)

    # --- distances from Korea -------------------------------------------------------------
    kor = dist.loc[dist["iso_o"].astype("string") == "KOR"].copy()
    if kor.empty:
        raise DataError(f"{dist_path}: no rows with iso_o == 'KOR'. Restore the original file.")
    kor = pd.DataFrame({
        "code": kor["iso_d"].astype("string").str.strip(),
        "dist_seoul_km": pd.to_numeric(kor["dist"], errors="coerce").astype("float64"),
        "distw_seoul_km": _to_number(kor["distw"], dist_path, "distw"),
        "contig_kor": pd.to_numeric(kor["contig"], errors="coerce").astype("float64"),
    })
    if kor["code"].duplicated().any():
        raise DataError(f"{dist_path}: duplicated KOR dyads "
                        f"{sorted(kor.loc[kor['code'].duplicated(), 'code'].unique())}.")

    # --- capital-city geography -----------------------------------------------------------
    cap = geo.loc[pd.to_numeric(geo["cap"], errors="coerce") == 1].copy()
    if cap["iso3"].duplicated().any():
        raise DataError(f"{geo_path}: several capital rows (cap == 1) for "
                        f"{sorted(cap.loc[cap['iso3'].duplicated(), 'iso3'].unique())}.")
    langs = cap[["langoff_1", "langoff_2", "langoff_3"]].astype("string").apply(lambda s: s.str.strip())
    lat = pd.to_numeric(cap["lat"], errors="coerce").astype("float64")
    lon = pd.to_numeric(cap["lon"], errors="coerce").astype("float64")
    capital = pd.DataFrame({
        "code": cap["iso3"].astype("string").str.strip(),
        "area_km2": pd.to_numeric(cap["area"], errors="coerce").astype("float64"),
        "landlocked": pd.to_numeric(cap["landlocked"], errors="coerce").astype("float64"),
        "capital_lat": lat,
        "capital_lon": lon,
        "english_official": langs.eq("English").any(axis=1).astype("float64"),
        "great_circle_seoul_km": haversine_km(lat, lon, SEOUL_LAT, SEOUL_LON),
    })

    frame = kor.merge(capital, on="code", how="outer")
    frame = frame.loc[~frame["code"].isin(list(DROPPED_CODES))].reset_index(drop=True)
    iso3 = _map_codes(frame["code"])
    frame.insert(0, "iso3", iso3.to_numpy())
    frame = frame.loc[frame["iso3"].notna()].drop(columns="code")
    frame["iso3"] = frame["iso3"].astype("string")
    dup = frame["iso3"].duplicated(keep=False)
    if dup.any():
        raise DataError(f"{folder}: CEPII codes map to the same ISO3 {sorted(frame.loc[dup, 'iso3'].unique())}; "
                        "fix the alias table (hallyu_forecast/data/country_aliases.csv).")
    return frame.sort_values("iso3").reset_index(drop=True)


SOURCE = Source(
    name="cepii",
    title="CEPII GeoDist: bilateral distances and country geography",
    publisher="CEPII (Mayer & Zignago); repackaged in the CRAN package cepiigeodist 0.1 by M. Vargas",
    license="Etalab Open Licence 2.0 (CEPII); CC0 (CRAN repackaging)",
    citation=("Mayer, T. & Zignago, S. (2011). Notes on CEPII's distances measures: the GeoDist "
              "Database. CEPII Working Paper 2011-25."),
    homepage="https://www.cepii.fr/CEPII/en/bdd_modele/bdd_modele_item.asp?id=6",
    files=(
        RawFile("dist_cepii.rda",
                sha256="5d38f8c769ab5aa2769a20995b2547fa719b98138150b5764d045436ff9394b9",
                url=_BASE_URL + "dist_cepii.rda"),
        RawFile("geo_cepii.rda",
                sha256="ef537279e0f82969274be0dc6da547c67a22d4d0df6f90f5b52a543fb30e46c3",
                url=_BASE_URL + "geo_cepii.rda"),
    ),
    variables=(
        Variable("dist_seoul_km", "km",
                 "Great-circle distance between the most populated city of the country and Seoul "
                 "(CEPII GeoDist `dist`, origin KOR)", "local_conditions"),
        Variable("distw_seoul_km", "km",
                 "Population-weighted distance between the main cities of the country and of Korea "
                 "(CEPII GeoDist `distw`); NaN where CEPII has none", "local_conditions"),
        Variable("contig_kor", "0/1",
                 "1 if the country shares a land border with the Republic of Korea (CEPII `contig`)",
                 "local_conditions"),
        Variable("area_km2", "km2", "Land area (CEPII geo_cepii `area`)", "local_conditions"),
        Variable("landlocked", "0/1", "1 if the country is landlocked (CEPII geo_cepii)", "local_conditions"),
        Variable("capital_lat", "degrees north", "Latitude of the capital (CEPII geo_cepii, cap == 1)",
                 "local_conditions"),
        Variable("capital_lon", "degrees east", "Longitude of the capital (CEPII geo_cepii, cap == 1)",
                 "local_conditions"),
        Variable("english_official", "0/1",
                 "1 if English is an official language (any of CEPII langoff_1..3)", "local_conditions"),
        Variable("great_circle_seoul_km", "km",
                 "Haversine distance (R = 6,371 km) from the capital to Seoul (37.5 N, 127.0 E)",
                 "local_conditions"),
    ),
    loader=load,
    static=True,
    notes=("Time-invariant (GeoDist 2011). Distances are from Korea (iso_o == 'KOR'). "
           "Legacy CEPII codes recoded ROM->ROU, ZAR->COD, TMP->TLS, YUG->SRB (Serbia and Montenegro "
           "attributed to Serbia), PAL->PSE. ANT (Netherlands Antilles, dissolved) dropped. KOR dropped "
           "(destination, not origin). great_circle_seoul_km (capital to Seoul) is a separate variable "
           "and does not fill dist_seoul_km (most-populated-city distance); ATF has only the former. "
           "distw '.' (CCK, CXR, MAC, MSR, PCN) -> NaN. South Sudan, Kosovo, Montenegro are absent."),
)
