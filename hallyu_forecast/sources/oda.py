"""Korea's official development assistance (ODA) by recipient country, 2019 (static).

Source: ODA Korea statistics portal (Government of the Republic of Korea,
https://stats.odakorea.go.kr), recipient x sector table for 2019 as downloaded on 2023-07-09
by Kadir Jun Ayhan for the book "R for Korean Studies" (GitHub ``kjayhan/R4KS`` at commit
``6fa5aef``, ``data/korea_total_aid_2019_230709.xlsx``), sheet "통계양식". One row per
recipient (Korean name, ``country_kr``) x sector (Korean CRS purpose label).

Variables (per recipient ``iso3``; static = one value per country, for 2019 only):

- ``oda_2019_disbursed_usd``: sum over sectors of ``total_usd`` (총지출액, gross disbursements), US$.
- ``oda_2019_grant_usd``: sum over sectors of ``grant_usd`` (증여등가액, grant equivalent), US$.
- ``oda_2019_projects``: sum over sectors of ``사업개수`` (number of projects). A project
  reported under several sectors is counted once per sector.

Choices:

- Recipient names are mapped with ``to_iso3`` (Korean names). "서안지구 및 가자지구" (West Bank
  and Gaza) is Palestine (PSE). Regional/unallocated labels ("아시아 지역 (미배분)", ...,
  "그외 지역 또는 다수국가 (미배분)") and "다자기구 지역미배분" (multilateral, unallocated; 606 m
  US$, 23 % of the total) are aggregates and dropped, as are the two recipient labels that are
  bare numeric codes, "387" and "831" (one small project each, 0.13 m and 0.02 m US$; they look
  like DAC recipient codes but the file does not say which) — all via
  ``country_aliases.csv`` (AGGREGATE). The 2.658 bn US$ total therefore does not equal the
  sum over countries.
- One year only: use as a cross-sectional prior (the panel builder decides how; a static value
  observed in 2019 is known only from 2019 on). Countries that received no Korean ODA in 2019
  (all high-income countries) are absent here, not 0; the panel builder decides.
- License: the file is redistributed by R4KS under CC BY-NC-ND 3.0 US (figures are Korean
  government statistics); keep the raw file unmodified — features are derived in code.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hallyu_forecast.countries import to_iso3
from hallyu_forecast.errors import DataError
from hallyu_forecast.sources._base import RawFile, Source, Variable
from hallyu_forecast.sources._io import read_excel

FILE = "korea_total_aid_2019_230709.xlsx"
SHEET = "통계양식"
URL = (
    "https://raw.githubusercontent.com/kjayhan/R4KS/6fa5aefdb165f28422ffbb7a519e9121bccb3491/"
    "data/korea_total_aid_2019_230709.xlsx"
)
PROJECTS = "사업개수"
COLUMNS = ["country_kr", "sector", PROJECTS, "total_usd", "grant_usd"]
VARIABLES = ("oda_2019_disbursed_usd", "oda_2019_grant_usd", "oda_2019_projects")


def _country_data_dir(folder: Path) -> Path | None:
    """Mirror holding countrycode/ and kdiplo/ for ``to_iso3``: the source's parent if it has them."""
    parent = Path(folder).parent
    return parent if (parent / "countrycode").is_dir() else None


def load(folder: Path) -> pd.DataFrame:
    """Return iso3 and 2019 ODA totals per recipient country (static)."""
    path = Path(folder) / FILE
    raw = read_excel(path, SHEET, columns=COLUMNS, dtype={"country_kr": str})
    values = raw[[PROJECTS, "total_usd", "grant_usd"]].apply(pd.to_numeric, errors="coerce")
    bad = values.isna().any(axis=1) | raw["country_kr"].isna()
    if bad.any():
        raise DataError(
            f"{path}: {int(bad.sum())} row(s) of sheet {SHEET!r} have an empty or non-numeric recipient, "
            f"`{PROJECTS}`, `total_usd` or `grant_usd` (first at data row {int(bad.idxmax()) + 2}); the "
            "original has no gaps. Restore the original file."
        )
    if (values < 0).any().any():
        raise DataError(
            f"{path}: negative values in `{PROJECTS}`, `total_usd` or `grant_usd` (gross amounts cannot be "
            "negative); the columns may have been shifted (net disbursements can be negative). Restore "
            "the original file."
        )
    frame = pd.DataFrame(
        {
            "iso3": to_iso3(
                raw["country_kr"].astype(str).str.strip(), source="oda", kind="name", data_dir=_country_data_dir(folder)
            ),
            "oda_2019_disbursed_usd": values["total_usd"].astype("float64"),
            "oda_2019_grant_usd": values["grant_usd"].astype("float64"),
            "oda_2019_projects": values[PROJECTS].astype("float64"),
        }
    )
    frame = frame[frame["iso3"].notna()]
    out = frame.groupby("iso3", as_index=False)[list(VARIABLES)].sum()
    out["iso3"] = out["iso3"].astype(str)
    return out[["iso3", *VARIABLES]].sort_values("iso3").reset_index(drop=True)


SOURCE = Source(
    name="oda",
    title="Korea's ODA by recipient and sector, 2019 (ODA Korea statistics portal)",
    publisher="Government of the Republic of Korea, ODA Korea statistics portal; file via K. J. Ayhan, R4KS",
    license="CC BY-NC-ND 3.0 US (R4KS repository); underlying figures are Korean government statistics",
    citation=(
        "ODA Korea statistics portal (2023), Korea's ODA by recipient and sector 2019, "
        "https://stats.odakorea.go.kr; file from Ayhan, Kadir Jun, R for Korean Studies (R4KS), "
        "https://github.com/kjayhan/R4KS"
    ),
    homepage="https://stats.odakorea.go.kr/portal/odakorea/detail",
    files=(RawFile(FILE, sha256="9130187aa3dbf84986dedf1e81b76d6186ca51a5f42e070905eab747e1748b26", url=URL),),
    variables=(
        Variable(
            "oda_2019_disbursed_usd",
            "current US$",
            "Korea's gross ODA disbursements to the recipient in 2019 (sum of 총지출액 over sectors)",
            "government_support",
        ),
        Variable(
            "oda_2019_grant_usd",
            "current US$",
            "Grant equivalent of Korea's 2019 ODA to the recipient (sum of 증여등가액 over sectors)",
            "government_support",
        ),
        Variable(
            "oda_2019_projects",
            "count",
            "Number of Korean ODA projects in the recipient in 2019 (sum over sectors; a multi-sector "
            "project counts once per sector)",
            "government_support",
        ),
    ),
    loader=load,
    static=True,
    notes=(
        "Single year (2019), static. Korean recipient names -> ISO3; regional/multilateral '미배분' "
        "(unallocated) labels and the bare numeric labels '387' and '831' are aggregates (dropped), so "
        "country sums are below the 2.658 bn US$ total. Countries without Korean ODA in 2019 are absent "
        "(not 0). Raw file kept unmodified (CC BY-NC-ND)."
    ),
)
