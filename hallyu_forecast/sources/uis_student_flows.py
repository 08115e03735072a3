"""Internationally mobile tertiary students going to Korea, by origin (UNESCO UIS via 360info), annual.

Raw files (360info "Global education" report, ``data/`` folder, tidied from the UIS bulk download):

* ``popular-destinations-by-origin.csv``: for each origin country and year, its top-10 study
  destinations (others lumped as "Other countries"), students in persons (ISCED 5-8).
* ``popular-origins-by-destination.csv``: for each destination and year, its top-10 origins.

Output: one row per (origin iso3, year) with a known flow to Korea, 1998-2019:

* ``uis_students_to_kor``: students from the origin enrolled in the Republic of Korea (persons). Taken
  from the origin's top-10 destination list (``dest_country_lumped == "Republic of Korea"``); where
  Korea is not in the origin's top 10 but the origin is in KOREA's top-10 origins
  (popular-origins-by-destination.csv, e.g. the United States), the value comes from that file.
  The loader checks that the two files agree exactly (±0.5 person) where both report a pair.
* ``uis_kor_rank``: Korea's rank among the origin's destinations, 1 = top, by ``value_lumped``
  excluding "Other countries" (ties share the best rank). NaN for values filled from the
  origins-by-destination file, where Korea is outside the origin's listed destinations (rank > 10).

**Censoring, not zero:** a missing ``uis_students_to_kor`` means Korea was neither in the origin's
top 10 nor the origin in Korea's top 10 — the flow is unobserved (small), NOT zero. Treat the series
as censored, or use the rank. Degree-seeking students only (no D-4 language trainees). Years after 2019
have no Korea rows.

Origin names are UN/UIS style ("Viet Nam", "Venezuala", "Micronesia") and go through
:func:`hallyu_forecast.countries.to_iso3` (source ``uis_student_flows``); "Other countries" and the UIS
residual groups ("Asia: unknown countries", …) are aggregates and dropped deliberately. Only the
origins with a Korea row are mapped: names elsewhere in the files are irrelevant to this source.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hallyu_forecast.countries import to_iso3
from hallyu_forecast.errors import DataError
from hallyu_forecast.sources._base import RawFile, Source, Variable
from hallyu_forecast.sources._io import read_csv

DESTINATIONS = "popular-destinations-by-origin.csv"
ORIGINS = "popular-origins-by-destination.csv"
KOREA = "Republic of Korea"
OTHER = "Other countries"
_SOURCE_NAME = "uis_student_flows"
_AGREE_TOLERANCE = 0.5  # persons
_URL = "https://raw.githubusercontent.com/360-info/report-global-education/b09bb22ac7ef73d980891d8990cf4d0c4b5f3b94/data/"


def _country_data_dir(folder: Path) -> Path | None:
    parent = Path(folder).parent
    return parent if (parent / "countrycode").is_dir() else None


def _read(path: Path, name_cols: list[str]) -> pd.DataFrame:
    raw = read_csv(path, columns=["year", *name_cols, "value_lumped"])
    year = pd.to_numeric(raw["year"], errors="coerce")
    value = pd.to_numeric(raw["value_lumped"], errors="coerce")
    bad = year.isna() | (year % 1 != 0) | value.isna() | (value < 0)
    if bad.any():
        row = raw.loc[bad].iloc[0].to_dict()
        raise DataError(
            f"{path}: {int(bad.sum())} row(s) with a missing/non-numeric `year` or a missing, non-numeric or "
            f"negative `value_lumped`, e.g. {row}; the file may be truncated or corrupt. Restore the original file."
        )
    frame = pd.DataFrame({"year": year.astype("int64"), "value": value.astype("float64")})
    for col in name_cols:
        frame[col] = raw[col].astype(str).str.strip()
    dup = frame.duplicated(["year", *name_cols], keep=False)
    if dup.any():
        sample = frame.loc[dup, ["year", *name_cols]].drop_duplicates().head(5).to_dict("records")
        raise DataError(f"{path}: duplicate rows for {sample}. Restore the original file.")
    return frame


def _map(frame: pd.DataFrame, column: str, folder: Path) -> pd.DataFrame:
    names = pd.Series(pd.unique(frame[column]), dtype=object)
    mapping = dict(zip(names, to_iso3(names, source=_SOURCE_NAME, data_dir=_country_data_dir(folder))))
    out = frame.assign(iso3=frame[column].map(mapping))
    out = out[out["iso3"].notna()]  # "Other countries", "… : unknown countries": aggregates
    dup = out.duplicated(["iso3", "year"], keep=False)
    if dup.any():
        sample = out.loc[dup, [column, "iso3", "year"]].head(6).to_dict("records")
        raise DataError(
            f"{Path(folder)}: two origin names map to the same ISO3 in one year, e.g. {sample}; check "
            "hallyu_forecast/data/country_aliases.csv."
        )
    return out


def _korea_from_destinations(folder: Path) -> pd.DataFrame:
    """Origins with Korea in their top-10 destinations: origin, year, value, rank."""
    path = Path(folder) / DESTINATIONS
    frame = _read(path, ["origin_country_name", "dest_country_lumped"])
    listed = frame[frame["dest_country_lumped"] != OTHER].copy()
    listed["rank"] = listed.groupby(["year", "origin_country_name"])["value"].rank(ascending=False, method="min")
    korea = listed[listed["dest_country_lumped"] == KOREA]
    return korea[["origin_country_name", "year", "value", "rank"]].reset_index(drop=True)


def _korea_from_origins(folder: Path) -> pd.DataFrame:
    """Korea's top-10 origins: origin, year, value."""
    path = Path(folder) / ORIGINS
    frame = _read(path, ["dest_country_name", "origin_country_lumped"])
    korea = frame[(frame["dest_country_name"] == KOREA) & (frame["origin_country_lumped"] != OTHER)]
    return korea[["origin_country_lumped", "year", "value"]].reset_index(drop=True)


def load(folder: Path) -> pd.DataFrame:
    """Students from each origin to Korea and Korea's destination rank; see the module docstring."""
    folder = Path(folder)
    by_origin = _map(_korea_from_destinations(folder), "origin_country_name", folder)
    by_dest = _map(_korea_from_origins(folder), "origin_country_lumped", folder)
    both = by_origin.merge(by_dest, on=["iso3", "year"], how="inner", suffixes=("", "_dest"))
    gap = (both["value"] - both["value_dest"]).abs()
    if (gap > _AGREE_TOLERANCE).any():
        sample = both.loc[gap > _AGREE_TOLERANCE, ["iso3", "year", "value", "value_dest"]].head(5).to_dict("records")
        raise DataError(
            f"{folder / DESTINATIONS} and {folder / ORIGINS} disagree on students to Korea for {sample} "
            "(value, value_dest). Both are cuts of one UIS table; restore the original files."
        )
    keys = ["iso3", "year"]
    extra = by_dest.merge(by_origin[keys], on=keys, how="left", indicator=True)
    extra = extra[extra["_merge"] == "left_only"]
    out = pd.concat(
        [
            by_origin[keys + ["value", "rank"]],
            extra[keys + ["value"]].assign(rank=float("nan")),  # Korea outside the origin's top 10
        ],
        ignore_index=True,
    ).rename(columns={"value": "uis_students_to_kor", "rank": "uis_kor_rank"})
    out = out.astype({"uis_students_to_kor": "float64", "uis_kor_rank": "float64"})
    out = out[out["year"] >= 1990]
    return out.sort_values(keys).reset_index(drop=True)


SOURCE = Source(
    name="uis_student_flows",
    title="Internationally mobile tertiary students to the Republic of Korea by origin (top-10 lumped)",
    publisher="UNESCO Institute for Statistics (UIS); tidied and lumped by 360info (Global education report)",
    license="CC BY 4.0 (360info repository); attribute UNESCO UIS as the original source",
    citation=(
        "UNESCO Institute for Statistics, inbound internationally mobile students by country of origin "
        "(OPRI bulk data download, http://data.uis.unesco.org), as tidied by 360info, "
        "360-info/report-global-education (J. Goldie), data/popular-destinations-by-origin.csv and "
        "data/popular-origins-by-destination.csv, commit b09bb22."
    ),
    homepage="https://github.com/360-info/report-global-education",
    files=(
        RawFile(
            DESTINATIONS,
            sha256="743fc0426e3793c31f428ae097be025310de011666ec23ba069a14cd1820fb18",
            url=_URL + DESTINATIONS,
        ),
        RawFile(
            ORIGINS,
            sha256="6ea8ad10e62823763547339f02b525d4279a5cddc8a87c600b57bc81ea339819",
            url=_URL + ORIGINS,
        ),
    ),
    variables=(
        Variable(
            "uis_students_to_kor",
            "persons",
            "Internationally mobile tertiary students (ISCED 5-8) from the origin country enrolled in the "
            "Republic of Korea (UIS). Observed only when Korea is in the origin's top-10 destinations or the "
            "origin in Korea's top-10 origins; missing = censored (small), NOT zero. 1998-2019",
            "target",
        ),
        Variable(
            "uis_kor_rank",
            "rank (1 = top destination)",
            "Korea's rank among the origin's study destinations by number of students, excluding 'Other "
            "countries', ties share the best rank; NaN when Korea is outside the origin's listed top 10",
            "target",
        ),
    ),
    loader=load,
    static=False,
    notes=(
        "Censored top-10 data: absence of a flow means 'below the top 10', NOT zero. Values come from "
        "popular-destinations-by-origin.csv (Korea in the origin's top 10, rank computed there) and are "
        "completed from popular-origins-by-destination.csv (origin in Korea's top 10; rank NaN); the loader "
        "raises DataError if the two disagree where both report. Origin names (UN style, incl. 360info's "
        "'Venezuala', 'Micronesia') go through countries.to_iso3; 'Other countries' and UIS 'unknown "
        "countries' groups are aggregates, dropped deliberately. Only origins with a Korea row are mapped. "
        "URL path: PROVENANCE names the repo and HEAD commit but not the folder; data/<file> is assumed (the "
        "repo keeps both files in data/, with older copies in out/data/). For popular-destinations-by-origin.csv "
        "an indexed copy of data/ at commit 8d32193 has the mirror file's character count; the origins file could "
        "not be matched byte for byte. Degree students only."
    ),
)
