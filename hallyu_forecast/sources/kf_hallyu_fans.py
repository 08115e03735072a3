"""Korea Foundation Hallyu fan-club members per country (compiled from press; validation only).

Raw file: ``kf_hallyu_fans_from_press.csv`` (88 rows, hand-compiled from news pages, one row per reported
figure with its URL; see the mirror's PROVENANCE.md). Only the **country** rows with measure ``members``
are used: 2021 for China, USA, Thailand, Russia, Argentina, Vietnam and Japan; 2020 for the USA; 2023 for
China. That is not a panel: the figures serve to validate the Hallyu index (Spearman correlation), never
as a model input. KF counts are online club memberships reported by Korean missions (double counting,
jumps when a large online fandom is added).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hallyu_forecast.errors import DataError
from hallyu_forecast.sources._base import RawFile, Source, Variable
from hallyu_forecast.sources._io import read_csv

FILE = "kf_hallyu_fans_from_press.csv"
_COLUMNS = ["ref_year", "geo_level", "iso3c", "measure", "value", "source_url"]


def load(folder: Path) -> pd.DataFrame:
    """Fan-club members per (iso3, year) for the country rows; duplicates raise naming the lines."""
    path = Path(folder) / FILE
    raw = read_csv(path, columns=_COLUMNS, dtype=str, keep_default_na=False)
    rows = raw[(raw["geo_level"] == "country") & (raw["measure"] == "members")].copy()
    value = pd.to_numeric(rows["value"], errors="coerce")
    year = pd.to_numeric(rows["ref_year"], errors="coerce")
    bad = value.isna() | year.isna() | (value < 0)
    if bad.any():
        line = int(rows.index[bad][0]) + 2
        raise DataError(f"{path}, line {line}: `ref_year` and `value` must be numbers >= 0 for member counts. "
                        "Fix the row or restore the original file.")
    out = pd.DataFrame({"iso3": rows["iso3c"].str.strip(), "year": year.astype("int64"),
                        "kf_fan_club_members": value.astype("float64")})
    dup = out.duplicated(["iso3", "year"], keep="first")
    if dup.any():
        line = int(out.index[dup][0]) + 2
        raise DataError(f"{path}, line {line}: a second `members` figure for {out.loc[dup, 'iso3'].iloc[0]} "
                        f"{int(out.loc[dup, 'year'].iloc[0])}; keep one figure per country and year.")
    return out.reset_index(drop=True)


SOURCE = Source(
    name="kf_hallyu_fans",
    title="Korea Foundation Global Hallyu Status: Hallyu fan-club members per country (compiled from press)",
    publisher="Korea Foundation (KF, 한국국제교류재단) with the Ministry of Foreign Affairs, as reported by news sites; compilation: hallyu_forecast",
    license="Facts from news articles; compilation CC0 (hallyu_forecast mirror)",
    citation=(
        "Korea Foundation, 지구촌 한류현황 (Analysis of Global Hallyu Status), 2012-2023 editions, figures as reported "
        "in the press; hallyu_forecast (2026) compilation kf_hallyu_fans_from_press.csv, each row citing its page."
    ),
    homepage="https://www.kf.or.kr",
    files=(RawFile(FILE, sha256="1105eaedc120820fe606c337e4ddc0dc607ccca9267dfe6143281d776a44066b", url=None),),
    variables=(
        Variable("kf_fan_club_members", "persons",
                 "Hallyu fan-club members counted by the Korea Foundation (online club memberships reported by Korean "
                 "missions), country rows reported in the press: 7 countries in 2021, USA 2020, China 2023. "
                 "Validation only", "context"),
    ),
    loader=load,
    static=False,
    notes="Not a panel: 9 country figures from press reports; used only to validate the Hallyu index.",
)
